// The analytics page's charts, drawn from the series and the retention cohorts embedded in the
// page (no inline script: the Content-Security-Policy allows scripts from this origin only).
(function () {
  const form = document.getElementById("range-form");
  const what = document.getElementById("what");
  if (what && form) {
    what.addEventListener("change", function () {
      const [scope, id] = this.value.split(":");
      form.scope.value = scope;
      form.id.value = id;
    });
  }
  if (typeof Plotly === "undefined") return;
  const layout = (extra) => Object.assign({margin: {t: 10, r: 70, b: 50, l: 70}, legend: {orientation: "h"}, font: {family: "system-ui"}, xaxis: {automargin: true}}, extra);
  const config = {responsive: true, displaylogo: false};
  const retention = document.getElementById("retention-data");
  if (retention && document.getElementById("chart-retention")) drawRetention(JSON.parse(retention.textContent));
  const source = document.getElementById("series-data");
  if (!source) return;
  const data = JSON.parse(source.textContent);
  const days = data.days.map(d => d.day);
  // An empty series would get Plotly's default -1..1 axes: start them at zero instead.
  const empty = days.length === 0;
  const axis = (title, extra) => Object.assign({title: {text: title}, rangemode: "tozero", automargin: true}, empty ? {range: [0, 1]} : {}, extra || {});
  Plotly.newPlot("chart-views", [
    {x: days, y: data.days.map(d => d.views), type: "bar", name: "views", marker: {color: "#6366f1"}},
    {x: days, y: data.days.map(d => d.views ? d.engagement_rate * 100 : null), type: "scatter", mode: "lines+markers", connectgaps: false, name: "engagement %", yaxis: "y2", line: {color: "#059669"}},
  ], layout({yaxis: axis("views"), yaxis2: axis("engagement %", {overlaying: "y", side: "right"})}), config);
  Plotly.newPlot("chart-deals", [
    {x: days, y: data.days.map(d => d.deals_accepted), type: "bar", name: "accepted", marker: {color: "#0ea5e9"}},
    {x: days, y: data.days.map(d => d.deals_completed), type: "bar", name: "completed", marker: {color: "#8b5cf6"}},
    {x: days, y: data.days.map(d => d.earnings_cents / 100), type: "scatter", mode: "lines+markers", name: "earnings ($)", yaxis: "y2", line: {color: "#f59e0b"}},
  ], layout({barmode: "group", yaxis: axis("deals"), yaxis2: axis("earnings ($)", {overlaying: "y", side: "right"})}), config);

  // One curve per sign-up cohort (share still active by months since sign-up), the weighted
  // average of all of them, and the retention target as a dashed horizontal line.
  function drawRetention(r) {
    const label = (month) => new Date(month + "T00:00:00Z").toLocaleDateString("en", {month: "short", year: "numeric", timeZone: "UTC"});
    const offsets = (n) => Array.from({length: n}, (_, k) => k);
    const traces = r.cohorts.map(c => ({
      x: offsets(c.retention.length), y: c.retention.map(s => s * 100), type: "scatter", mode: "lines+markers",
      name: `${label(c.month)} (${c.size})`, line: {width: 1.5}, marker: {size: 5},
      customdata: c.active.map(n => `${n} of ${c.size}`), hovertemplate: "%{y:.0f}% (%{customdata})<extra>%{fullData.name}</extra>",
    }));
    traces.push({
      x: offsets(r.average.length), y: r.average.map(s => s * 100), type: "scatter", mode: "lines",
      name: "all cohorts", line: {width: 4, color: "#1d2433"}, hovertemplate: "%{y:.0f}%<extra>all cohorts</extra>",
    });
    const target = r.target * 100;
    Plotly.newPlot("chart-retention", traces, layout({
      xaxis: {title: {text: "months since sign-up"}, dtick: 1, rangemode: "tozero", automargin: true},
      yaxis: {title: {text: "% still active"}, range: [0, 105], automargin: true},
      shapes: [{type: "line", xref: "paper", x0: 0, x1: 1, y0: target, y1: target, line: {color: "#b42318", width: 2, dash: "dash"}}],
      annotations: [{xref: "paper", x: 1, y: target, xanchor: "right", yanchor: "bottom", showarrow: false, text: `target ${target.toFixed(0)}%`, font: {color: "#b42318"}}],
    }), config);
  }
})();
