// Member list selection: the bulk bar shows while rows are ticked, "select all" ticks the shown rows,
// and "every member in this list" makes the action apply to the whole list (the server's filter).
// Without this file the checkboxes and the bulk bar still work as a plain form.
"use strict";

(function () {
  function rowBoxes() {
    return Array.from(document.querySelectorAll('input[type="checkbox"][name="ids"][form="bulk-form"]'));
  }

  function refresh() {
    const bar = document.querySelector("[data-bulk-bar]");
    if (!bar) return;
    const boxes = rowBoxes();
    const ticked = boxes.filter((b) => b.checked);
    const matching = bar.querySelector("[data-select-matching]");
    const everyone = Boolean(matching && matching.checked);
    bar.hidden = ticked.length === 0 && !everyone;
    const count = bar.querySelector("[data-selected-count]");
    const total = document.getElementById("member-count");
    if (count) count.textContent = everyone ? (total ? total.textContent.trim() : "All") : String(ticked.length);
    boxes.forEach((b) => b.closest("tr")?.classList.toggle("selected", b.checked));
    const all = document.querySelector("[data-select-all]");
    if (all) {
      all.checked = ticked.length > 0 && ticked.length === boxes.length;
      all.indeterminate = ticked.length > 0 && ticked.length < boxes.length;
    }
  }

  document.addEventListener("change", (event) => {
    const target = event.target;
    if (!(target instanceof HTMLInputElement)) return;
    if (target.matches("[data-select-all]")) {
      rowBoxes().forEach((b) => { b.checked = target.checked; });
    }
    if (target.matches("[data-select-all], [data-select-matching], input[name='ids']")) refresh();
  });

  // New rows (infinite scroll) and new results (search) arrive through htmx.
  document.addEventListener("htmx:afterSettle", refresh);
  document.addEventListener("DOMContentLoaded", refresh);
  if (document.readyState !== "loading") refresh();
})();
