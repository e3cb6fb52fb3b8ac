// Inbox enhancements: keyboard shortcuts, thread scrolling, older messages on scroll up,
// and the live poll's parameters. The inbox works without this file (links and forms).
"use strict";

(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  function messages() { return $("#messages"); }

  function nearBottom(el) { return el.scrollHeight - el.scrollTop - el.clientHeight < 120; }

  function scrollToBottom() {
    const box = messages();
    if (box) box.scrollTop = box.scrollHeight;
  }

  // The poll appends new items; a reply response appends too. Keep the last copy of each id.
  function dedupe() {
    const box = messages();
    if (!box) return;
    const seen = new Set();
    $$(".msg[id]", box).reverse().forEach((el) => {
      if (seen.has(el.id)) el.remove(); else seen.add(el.id);
    });
  }

  function maxId(attr) {
    let max = 0;
    $$("[" + attr + "]", messages() || document.createElement("div")).forEach((el) => {
      max = Math.max(max, parseInt(el.getAttribute(attr), 10) || 0);
    });
    return max;
  }

  function markActive() {
    const box = messages();
    const id = box ? box.dataset.conversationId : null;
    $$(".conv-row").forEach((row) => row.classList.toggle("active", row.dataset.conversationId === id));
    const inbox = $("#inbox");
    if (inbox) inbox.classList.toggle("thread-open", Boolean(id));
  }

  // Poll parameters that depend on what is on screen right now.
  document.addEventListener("htmx:configRequest", (evt) => {
    if (evt.detail.elt.id !== "inbox-poll") return;
    const params = evt.detail.parameters;
    const box = messages();
    const rows = $$(".conv-row", $("#conv-rows") || document);
    if (rows.length) params.until = rows[rows.length - 1].dataset.cursor;
    if (box) {
      params.conversation_id = box.dataset.conversationId;
      params.after = String(maxId("data-message-id"));
      params.note_after = String(maxId("data-note-id"));
      const reply = $("#reply-box");
      params.blocked = reply ? reply.dataset.blocked : "0";
    }
  });

  let stickToBottom = true;
  let focusedRow = null;
  let olderHeight = null;

  document.addEventListener("htmx:beforeSwap", (evt) => {
    const box = messages();
    stickToBottom = box ? nearBottom(box) : true;
    if (evt.detail.target && evt.detail.target.id === "load-older" && box) olderHeight = box.scrollHeight;
  });
  document.addEventListener("htmx:oobBeforeSwap", () => {
    const box = messages();
    stickToBottom = box ? nearBottom(box) : true;
    const active = document.activeElement;
    focusedRow = active && active.classList && active.classList.contains("conv-row") ? active.dataset.conversationId : null;
  });

  // A searched list's poll puts the rows that moved back at the top: order them by cursor
  // (ISO time in one offset, so text order is time order; then id).
  function newerFirst(a, b) {
    const [atA, idA] = a.dataset.cursor.split("_");
    const [atB, idB] = b.dataset.cursor.split("_");
    if (atA !== atB) return atA < atB ? 1 : -1;
    return (parseInt(idB, 10) || 0) - (parseInt(idA, 10) || 0);
  }

  document.addEventListener("htmx:oobAfterSwap", (evt) => {
    const list = evt.detail.target;
    if (!list || list.id !== "conv-rows") return;
    const rows = $$(".conv-row", list);
    if (!rows.length) return;
    $$(".conv-empty", list).forEach((el) => el.remove());
    const more = $(".conv-more", list);
    rows.sort(newerFirst).forEach((row) => list.insertBefore(row, more));
  });

  document.addEventListener("htmx:afterSettle", (evt) => {
    const target = evt.detail.target;
    dedupe();
    if (target && target.id === "thread") {
      markActive();
      scrollToBottom();
      return;
    }
    if (target && target.id === "load-older") return;
    const box = messages();
    if (box && stickToBottom) scrollToBottom();
    if (focusedRow) {
      const row = document.getElementById("conv-" + focusedRow);
      if (row) row.focus();
      focusedRow = null;
    }
  });

  // Reply and note forms: a successful send leaves an empty box ready for the next one.
  document.addEventListener("htmx:afterRequest", (evt) => {
    if (evt.detail.successful && evt.detail.elt.id === "reply-box") scrollToBottom();
  });

  // Older messages load when the thread is scrolled near its top. The request is made here rather
  // than by triggering the sentinel, so a scroll that lands while htmx is still settling the
  // previous page (before the new sentinel is processed) is not lost.
  let loadingOlder = false;

  function loadOlderIfAtTop() {
    const box = messages();
    const sentinel = box && $("#load-older", box);
    if (!sentinel || loadingOlder || box.scrollTop >= 80) return;
    loadingOlder = true;
    htmx.ajax("GET", sentinel.getAttribute("hx-get"), { source: sentinel, target: sentinel, swap: "outerHTML" });
  }

  document.addEventListener("htmx:afterSwap", () => {
    if (olderHeight === null) return;
    // Keep the message that was at the top where it was, now that older ones sit above it.
    const box = messages();
    if (box) box.scrollTop += box.scrollHeight - olderHeight;
    olderHeight = null;
    loadingOlder = false;
    loadOlderIfAtTop();
  });

  document.addEventListener("htmx:afterRequest", (evt) => {
    if (!evt.detail.successful && evt.detail.elt && evt.detail.elt.id === "load-older") loadingOlder = false;
  });

  function watchOlder() {
    const box = messages();
    if (!box || box.dataset.watching) return;
    box.dataset.watching = "1";
    box.addEventListener("scroll", loadOlderIfAtTop, { passive: true });
  }

  document.addEventListener("htmx:load", watchOlder);

  // Keyboard shortcuts ------------------------------------------------------------------
  function typing(target) {
    return target.closest && target.closest("input, textarea, select, [contenteditable=true]");
  }

  function moveSelection(step) {
    const rows = $$(".conv-row");
    if (!rows.length) return;
    let index = rows.indexOf(document.activeElement);
    if (index < 0) index = rows.findIndex((row) => row.classList.contains("active"));
    const next = index < 0 ? (step > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, index + step));
    rows[next].focus();
    rows[next].scrollIntoView({ block: "nearest" });
  }

  function clickShortcut(name) {
    const button = $('[data-shortcut="' + name + '"]');
    if (button) button.click();
  }

  function showShortcuts() {
    const dialog = $("#shortcuts");
    if (dialog && !dialog.open) dialog.showModal();
  }

  document.addEventListener("keydown", (evt) => {
    if (evt.key === "Enter" && (evt.ctrlKey || evt.metaKey) && evt.target.id === "reply-body") {
      evt.preventDefault();
      evt.target.form.requestSubmit();
      return;
    }
    if (evt.ctrlKey || evt.metaKey || evt.altKey || typing(evt.target)) return;
    if ($("#shortcuts") && $("#shortcuts").open) return;
    switch (evt.key) {
      case "j": moveSelection(1); break;
      case "k": moveSelection(-1); break;
      case "r": {
        const reply = $("#reply-body");
        if (!reply || reply.disabled) return;
        reply.focus();
        break;
      }
      case "e": clickShortcut("close"); break;
      case "u": clickShortcut("unread"); break;
      case "/": {
        const search = $('#inbox-filters input[name="q"]');
        if (!search) return;
        search.focus();
        break;
      }
      case "?": showShortcuts(); break;
      default: return;
    }
    evt.preventDefault();
  });

  document.addEventListener("click", (evt) => {
    if (evt.target.closest("[data-shortcuts-open]")) showShortcuts();
  });

  document.addEventListener("DOMContentLoaded", () => {
    markActive();
    scrollToBottom();
    watchOlder();
  });
})();
