// Small progressive enhancements. The pages work without this file.
"use strict";

// The installable app: register the service worker (app shell, offline page, push).
if ("serviceWorker" in navigator && document.body && document.body.dataset.serviceWorker) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register(document.body.dataset.serviceWorker, { scope: "/" }).catch(() => {});
  });
}
