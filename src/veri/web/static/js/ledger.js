// The earnings page's chart: per currency, what was earned and paid out each month (data from
// the page's JSON block, never from HTML).
(function () {
  "use strict";
  const node = document.getElementById("earnings-data");
  if (!node || !window.Plotly) return;
  JSON.parse(node.textContent).forEach(function (c) {
    const target = document.getElementById("earnings-chart-" + c.currency);
    if (!target) return;
    Plotly.newPlot(target, [
      { x: c.months, y: c.earned, type: "bar", name: "Earned", marker: { color: "#4f46e5" } },
      { x: c.months, y: c.paid_out, type: "bar", name: "Paid out", marker: { color: "#10b981" } },
    ], {
      barmode: "group",
      margin: { t: 10, r: 10, b: 40, l: 60 },
      xaxis: { type: "category" },
      yaxis: { title: { text: c.currency }, rangemode: "tozero" },
      legend: { orientation: "h", y: 1.12 },
    }, { displayModeBar: false, responsive: true });
  });
})();
