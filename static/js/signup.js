// Sign-up: preselect the browser's time zone in the select (still editable). Without this
// file the select keeps its default.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const select = document.querySelector('select[data-guess-timezone="1"]');
  if (!select) return;
  let zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    return;
  }
  if (zone && Array.from(select.options).some((option) => option.value === zone)) {
    select.value = zone;
  }
});
