// The migration page's charts: per read path, the shadow comparisons' mismatch rate and both
// stores' mean read latency, minute by minute. Data from the page's JSON block (no inline script:
// the Content-Security-Policy allows scripts from this origin only).
(function () {
  "use strict";
  const source = document.getElementById("migration-data");
  if (!source || typeof Plotly === "undefined") return;
  const data = JSON.parse(source.textContent);
  const colors = ["#4f46e5", "#0ea5e9", "#059669", "#f59e0b"];
  const config = { displayModeBar: false, responsive: true };
  // Minutes come in UTC ("...+00:00"): drawn as UTC wall-clock times, the axis says so.
  const utc = function (iso) { return iso.slice(0, 19); };
  const shift = function (naive, minutes) { return new Date(Date.parse(naive + "Z") + minutes * 60000).toISOString().slice(0, 19); };
  const every = [].concat.apply([], data.paths.map(function (p) { return p.minutes; }));
  const empty = every.length === 0;
  const last = empty ? null : every.map(function (m) { return utc(m.minute); }).sort().pop();
  const xaxis = { automargin: true, type: "date", tickformat: "%H:%M" };
  if (last) xaxis.range = [shift(last, -30), shift(last, 1)];  // the last half hour
  const layout = function (title, ymax) {
    return {
      margin: { t: 10, r: 15, b: 40, l: 55 },
      font: { family: "system-ui", size: 12 },
      legend: { orientation: "h", y: -0.18 },
      xaxis: xaxis,
      yaxis: Object.assign({ title: { text: title }, rangemode: "tozero", automargin: true }, empty ? { range: [0, 1] } : ymax ? { range: [0, ymax] } : {}),
      annotations: empty ? [{ text: "no shadow reads yet", showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5, font: { color: "#5d6679" } }] : [],
    };
  };
  const minutes = function (p) { return p.minutes.map(function (m) { return utc(m.minute); }); };

  // Rates are small when all is well: the axis shows at least 0-5% so a few mismatches stand out.
  const worst = Math.max.apply(null, [0].concat(every.map(function (m) { return m.mismatch_rate * 100; })));
  Plotly.newPlot("chart-mismatches", data.paths.map(function (p, i) {
    return {
      x: minutes(p), y: p.minutes.map(function (m) { return m.mismatch_rate * 100; }),
      customdata: p.minutes.map(function (m) { return m.mismatches + " of " + m.reads; }),
      hovertemplate: "%{y:.1f}% (%{customdata} reads)<extra>" + p.path + "</extra>",
      name: p.path, type: "scatter", mode: "lines+markers", line: { color: colors[i % colors.length] }, marker: { size: 8 },
    };
  }), layout("% of reads mismatched", Math.max(5, worst * 1.2)), config);

  const latency = [];
  data.paths.forEach(function (p, i) {
    const color = colors[i % colors.length];
    latency.push({
      x: minutes(p), y: p.minutes.map(function (m) { return m.postgres_avg_ms; }), name: p.path + " · PostgreSQL",
      type: "scatter", mode: "lines+markers", line: { color: color }, marker: { size: 8 },
    });
    latency.push({
      x: minutes(p), y: p.minutes.map(function (m) { return m.mongo_avg_ms; }), name: p.path + " · MongoDB",
      type: "scatter", mode: "lines+markers", line: { color: color, dash: "dot" }, marker: { symbol: "diamond", size: 8 },
    });
  });
  Plotly.newPlot("chart-latency", latency, layout("ms", null), config);
})();
