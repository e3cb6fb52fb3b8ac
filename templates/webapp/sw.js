// Koinonia's service worker: the app shell for offline use, and push notifications.
// It stores only the static shell (CSS, JS, icons, the offline page). Pages and API answers go
// to the network and are never stored: they hold church data, and phones are shared.
"use strict";

const VERSION = {{ version|tojson }};
const CACHE = "koinonia-shell-" + VERSION;
const SHELL = {{ shell|tojson }};
const OFFLINE_URL = {{ offline_url|tojson }};
const ICON_URL = {{ icon_url|tojson }};
const INBOX_URL = {{ inbox_url|tojson }};

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  // A new version drops the shells of the old ones.
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((key) => key.startsWith("koinonia-") && key !== CACHE).map((key) => caches.delete(key))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    // Straight from the network, never stored; the offline page only when that fails.
    event.respondWith(fetch(request).catch(() => caches.match(OFFLINE_URL)));
    return;
  }
  if (url.search === "" && SHELL.includes(url.pathname)) {
    event.respondWith(caches.match(url.pathname).then((hit) => hit || fetch(request)));
  }
  // Everything else (fragments, polls, JSON) is left to the browser and the network.
});

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (err) {
    data = {};
  }
  event.waitUntil(
    self.registration.showNotification(data.title || "Koinonia", {
      body: data.body || "",
      icon: ICON_URL,
      badge: ICON_URL,
      tag: data.tag || undefined,
      renotify: Boolean(data.tag),
      data: { url: data.url || INBOX_URL },
    })
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || INBOX_URL, self.location.origin);
  if (target.origin !== self.location.origin) return; // only ever opens Koinonia's own pages
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      const open = windows.find((client) => new URL(client.url).pathname === target.pathname);
      if (open) return open.focus();
      return self.clients.openWindow(target.href);
    })
  );
});
