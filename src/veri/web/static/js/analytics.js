// The analytics page's charts, drawn from the series embedded in the page (no inline script:
// the Content-Security-Policy allows scripts from this origin only).
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
  const source = document.getElementById("series-data");
  if (!source || typeof Plotly === "undefined") return;
  const data = JSON.parse(source.textContent);
  const days = data.days.map(d => d.day);
  // An empty series would get Plotly's default -1..1 axes: start them at zero instead.
  const empty = days.length === 0;
  const axis = (title, extra) => Object.assign({title: {text: title}, rangemode: "tozero", automargin: true}, empty ? {range: [0, 1]} : {}, extra || {});
  const layout = (extra) => Object.assign({margin: {t: 10, r: 70, b: 50, l: 70}, legend: {orientation: "h"}, font: {family: "system-ui"}, xaxis: {automargin: true}}, extra);
  const config = {responsive: true, displaylogo: false};
  Plotly.newPlot("chart-views", [
    {x: days, y: data.days.map(d => d.views), type: "bar", name: "views", marker: {color: "#6366f1"}},
    {x: days, y: data.days.map(d => d.views ? d.engagement_rate * 100 : null), type: "scatter", mode: "lines+markers", connectgaps: false, name: "engagement %", yaxis: "y2", line: {color: "#059669"}},
  ], layout({yaxis: axis("views"), yaxis2: axis("engagement %", {overlaying: "y", side: "right"})}), config);
  Plotly.newPlot("chart-deals", [
    {x: days, y: data.days.map(d => d.deals_accepted), type: "bar", name: "accepted", marker: {color: "#0ea5e9"}},
    {x: days, y: data.days.map(d => d.deals_completed), type: "bar", name: "completed", marker: {color: "#8b5cf6"}},
    {x: days, y: data.days.map(d => d.earnings_cents / 100), type: "scatter", mode: "lines+markers", name: "earnings ($)", yaxis: "y2", line: {color: "#f59e0b"}},
  ], layout({barmode: "group", yaxis: axis("deals"), yaxis2: axis("earnings ($)", {overlaying: "y", side: "right"})}), config);
})();
