// Jianfu page helpers (no inline scripts: the CSP allows only 'self').
// Charts: an element with data-chart="<id of a JSON script tag>" becomes an
// ECharts chart whose option is that JSON.
document.addEventListener("DOMContentLoaded", function () {
  function draw(root) {
    if (typeof echarts === "undefined") return;
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var src = document.getElementById(el.dataset.chart);
      if (!src) return;
      var chart = echarts.init(el);
      chart.setOption(JSON.parse(src.textContent));
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  draw(document);
  document.body.addEventListener("htmx:afterSwap", function (e) { draw(e.target); });
  document.querySelectorAll("[data-confirm]").forEach(function (el) {
    el.addEventListener("click", function (e) { if (!confirm(el.dataset.confirm)) e.preventDefault(); });
  });
});
