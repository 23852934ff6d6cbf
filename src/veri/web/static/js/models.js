// The admin page's chart of the ROI model's held-out scores, version after version: the
// compounding of memory, made visible. Data from the page's JSON block, never from HTML.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("models-data").textContent);
  const versions = data.map(function (v) { return "v" + v.version; });
  const line = function (key, name) {
    return { x: versions, y: data.map(function (v) { return v[key]; }), name: name, mode: "lines+markers" };
  };
  Plotly.newPlot("models-chart", [
    line("accuracy", "accuracy (within ±25%)"),
    line("spearman", "Spearman"),
    line("coverage", "80% interval coverage"),
  ], {
    margin: { t: 10, r: 10, b: 30, l: 40 },
    yaxis: { range: [0, 1] },
    legend: { orientation: "h" },
  }, { displayModeBar: false, responsive: true });
})();
