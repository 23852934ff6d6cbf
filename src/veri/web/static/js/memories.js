// The memory explorer: the timeline chart and the "as of" slider (no inline script: the
// Content-Security-Policy allows scripts from this origin only).
(function () {
  const points = JSON.parse(document.getElementById("timeline-data").textContent);
  if (points.length && document.getElementById("chart-timeline")) {
    const kinds = [...new Set(points.map(p => p.type))];
    Plotly.newPlot("chart-timeline", kinds.map(kind => {
      const mine = points.filter(p => p.type === kind);
      return {x: mine.map(p => p.at), y: mine.map(() => kind.replace("_", " ")), text: mine.map(p => p.text), customdata: mine.map(p => p.id),
              mode: "markers", type: "scatter", name: kind.replace("_", " "), hoverinfo: "text+x",
              marker: {size: mine.map(p => 6 + 14 * p.importance), opacity: 0.7}};
    }), {margin: {t: 10, r: 10, b: 40, l: 130}, showlegend: false, font: {family: "system-ui"}}, {responsive: true, displaylogo: false});
    document.getElementById("chart-timeline").on("plotly_click", e => { window.location = "/memories/" + e.points[0].customdata; });
  }
  const slider = document.getElementById("as-of-slider");
  if (slider) {
    const first = new Date(slider.dataset.firstDay + "T00:00:00Z").getTime(), last = new Date(slider.dataset.lastDay + "T23:59:59Z").getTime();
    const hidden = document.getElementById("as_of"), label = document.getElementById("as-of-label");
    if (hidden.value) slider.value = Math.round(1000 * (new Date(hidden.value).getTime() - first) / (last - first));
    const moment = () => new Date(first + (last - first) * slider.value / 1000);
    slider.addEventListener("input", () => { label.value = slider.value == 1000 ? "now" : moment().toISOString().slice(0, 10); });
    // "now" sends no as_of at all; a past day sends it.
    slider.addEventListener("change", () => { hidden.value = slider.value == 1000 ? "" : moment().toISOString(); hidden.disabled = !hidden.value; document.getElementById("memory-form").submit(); });
    hidden.disabled = !hidden.value;
  }
})();
