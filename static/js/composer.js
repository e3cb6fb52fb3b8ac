// Composer enhancements: template insertion, member chips, and showing only the timing fields
// that apply. The composer works without this file (templates load through a link, every
// timing field is shown, search results are plain checkboxes).
"use strict";

(function () {
  function body() {
    return document.getElementById("body");
  }

  // Insert a saved template or a merge field at the cursor, then let htmx recount ("input" triggers the counter).
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a.template-insert, button.merge-insert");
    var textarea = body();
    if (!link || !textarea) return;
    event.preventDefault();
    var text = link.getAttribute("data-body") || link.getAttribute("data-insert") || "";
    var start = textarea.selectionStart || 0;
    var end = textarea.selectionEnd || 0;
    textarea.value = textarea.value.slice(0, start) + text + textarea.value.slice(end);
    textarea.focus();
    textarea.selectionStart = textarea.selectionEnd = start + text.length;
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
    var picker = document.getElementById("templates-picker");
    if (picker) picker.open = false;
  });

  // Replace smart quotes, dashes and odd spaces in the message box, with the table the server uses
  // (on the button), at once and in place: the counter panel holding the button is re-rendered as
  // the text changes, and a request from it could be lost with it. The counter then recounts.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("#fix-quotes");
    var textarea = body();
    if (!button || !textarea) return;
    event.preventDefault();
    var table = JSON.parse(button.getAttribute("data-replacements") || "{}");
    textarea.value = Array.from(textarea.value)
      .map(function (ch) {
        return Object.prototype.hasOwnProperty.call(table, ch) ? table[ch] : ch;
      })
      .join("");
    textarea.focus();
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  });

  // A checked search result becomes a chip that survives the next search; an unchecked chip goes.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("input[name=member_ids]")) return;
    var chip = box.closest(".chip");
    var chips = document.getElementById("member-chips");
    if (!chip || !chips) return;
    if (box.checked && chip.parentElement !== chips) {
      var already = chips.querySelector("input[value='" + box.value + "']");
      if (already) chip.remove();
      else chips.appendChild(chip);
    } else if (!box.checked && chip.parentElement === chips) {
      chip.remove();
    }
  });

  // Enter in the people search must not submit the whole composer.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.id === "member-search") event.preventDefault();
  });

  function showTiming() {
    var form = document.getElementById("composer-form");
    if (!form) return;
    var checked = form.querySelector("input[name=when]:checked");
    var when = checked ? checked.value : "now";
    var repeat = document.getElementById("repeat-options");
    if (repeat) repeat.hidden = when !== "repeat";
    ["send_date-field", "send_time-field"].forEach(function (id) {
      var el = document.getElementById(id);
      if (el) el.hidden = when === "now";
    });
    var freq = form.querySelector("input[name=repeat_freq]:checked");
    var weekly = !freq || freq.value === "weekly";
    var days = document.getElementById("weekdays-field");
    var monthDay = document.getElementById("month_day-field");
    if (days) days.hidden = !weekly;
    if (monthDay) monthDay.hidden = weekly;
  }

  document.addEventListener("change", function (event) {
    if (event.target.name === "when" || event.target.name === "repeat_freq") showTiming();
    // The last submit's timing errors are stale once the timing changes: the live check
    // (#when-check, re-rendered by the server) says what still applies.
    var fieldset = event.target.closest && event.target.closest("#when-fieldset");
    if (!fieldset) return;
    fieldset.querySelectorAll(".field > .error").forEach(function (el) { el.remove(); });
    fieldset.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
    fieldset.querySelectorAll("[aria-invalid=true]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
  });
  document.addEventListener("DOMContentLoaded", showTiming);
})();
