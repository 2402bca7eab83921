// The dashboard's one script (api/templates/ui): draws each chart from the JSON spec the page carries,
// and on submit of the filter form sends "as_known_at" as Beijing time and leaves empty fields out.
"use strict";
(function () {
  Chart.defaults.font.family = '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif';
  for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
    const spec = JSON.parse(document.getElementById(canvas.dataset.chart).textContent);
    new Chart(canvas, spec);
  }
  for (const row of document.querySelectorAll("tr[data-href]")) {
    row.addEventListener("click", () => { window.location.href = row.dataset.href; });
  }
  for (const form of document.querySelectorAll("form.filters")) {
    form.addEventListener("submit", () => {
      const local = form.querySelector("#known-local");
      const known = form.querySelector("#as-known-at");
      if (local && known) known.value = local.value ? local.value + "+08:00" : "";
      for (const field of form.elements) {
        if (field.name && field.value === "") field.disabled = true;
      }
    });
  }
  window.addEventListener("pageshow", () => {  // back from the next page: the form is usable again
    for (const field of document.querySelectorAll("form.filters [disabled]")) field.disabled = false;
  });
  document.documentElement.dataset.ready = "true";
})();
