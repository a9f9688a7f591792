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
  // A refused form: the page comes back with a summary at the top; bring it
  // into view (on a phone it may be screens away) and give it focus.
  var summary = document.querySelector(".error-summary");
  if (summary) { summary.setAttribute("tabindex", "-1"); summary.scrollIntoView({block: "start"}); summary.focus({preventScroll: true}); }
  // Attendance: "all present" checks the first choice of every row; the
  // teacher then changes the few who are not.
  document.querySelectorAll("[data-all-present]").forEach(function (btn) {
    btn.hidden = false;
    btn.addEventListener("click", function () {
      btn.form.querySelectorAll('input[type="radio"][value="' + btn.dataset.allPresent + '"]').forEach(function (r) { r.checked = true; });
    });
  });
  // Print buttons (the print stylesheet leaves only the page's content).
  document.querySelectorAll("[data-print]").forEach(function (btn) {
    btn.hidden = false;
    btn.addEventListener("click", function () { window.print(); });
  });
  // QR codes: an element with data-qr="<text>" shows the text as a QR code.
  if (typeof qrcode !== "undefined") {
    document.querySelectorAll("[data-qr]").forEach(function (el) {
      var qr = qrcode(0, "M");
      qr.addData(el.dataset.qr);
      qr.make();
      el.innerHTML = qr.createSvgTag({cellSize: 4, margin: 2, scalable: true, alt: el.dataset.qrAlt || ""});
    });
  }
});
