// The progress page's VeriScore history (data from the page's JSON block, never from HTML).
(function () {
  "use strict";
  const node = document.getElementById("veriscore-data");
  if (!node || !document.getElementById("veriscore-chart")) return;
  const data = JSON.parse(node.textContent);
  Plotly.newPlot("veriscore-chart", [{
    x: data.map(function (d) { return d.day; }),
    y: data.map(function (d) { return d.veriscore; }),
    mode: "lines+markers", name: "VeriScore", line: { shape: "hv" },
  }], {
    margin: { t: 10, r: 10, b: 30, l: 40 }, yaxis: { range: [0, 1000] }, showlegend: false,
    // Days, not hours; a single day is shown with a week around it.
    xaxis: data.length > 1 ? { type: "date" } : { type: "date", range: [shift(data[0].day, -3), shift(data[0].day, 3)] },
  }, { displayModeBar: false, responsive: true });

  function shift(day, days) {
    const d = new Date(day + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + days);
    return d.toISOString().slice(0, 10);
  }
})();
