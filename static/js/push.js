// Push notifications on this device, from /account/notifications: ask the browser's permission,
// subscribe with Koinonia's VAPID key, and hand the subscription to the server (or take it back).
"use strict";

(function () {
  const section = document.getElementById("push-device");
  if (!section || !section.dataset.vapidKey) return;
  const status = document.getElementById("push-status");
  const enable = document.getElementById("push-enable");
  const disable = document.getElementById("push-disable");
  const csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];

  function say(text) {
    status.textContent = text;
  }

  function show(subscribed) {
    enable.hidden = subscribed;
    disable.hidden = !subscribed;
  }

  function keyBytes(base64url) {
    const base64 = (base64url + "=".repeat((4 - (base64url.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: JSON.stringify(body),
    }).then((response) => {
      if (!response.ok) throw new Error("server answered " + response.status);
      return response.json();
    });
  }

  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    say("This browser cannot receive push notifications. On iPhone and iPad, add Koinonia to your home screen and open it from there.");
    return;
  }
  if (Notification.permission === "denied") {
    say("Notifications are blocked for Koinonia in this browser's settings.");
    return;
  }

  navigator.serviceWorker.ready
    .then((registration) => registration.pushManager.getSubscription())
    .then((subscription) => {
      show(Boolean(subscription));
      say(subscription ? "This device receives push notifications." : "This device does not receive push notifications.");
    })
    .catch(() => say("Push notifications could not be checked on this device."));

  enable.addEventListener("click", () => {
    enable.disabled = true;
    Notification.requestPermission()
      .then((permission) => {
        if (permission !== "granted") throw new Error("permission " + permission);
        return navigator.serviceWorker.ready;
      })
      .then((registration) =>
        registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(section.dataset.vapidKey) })
      )
      .then((subscription) => post(section.dataset.subscribeUrl, subscription.toJSON()))
      .then(() => {
        show(true);
        say("This device receives push notifications.");
      })
      .catch((err) => say(String(err.message).startsWith("permission") ? "Notifications were not allowed." : "Push notifications could not be turned on."))
      .finally(() => {
        enable.disabled = false;
      });
  });

  disable.addEventListener("click", () => {
    disable.disabled = true;
    navigator.serviceWorker.ready
      .then((registration) => registration.pushManager.getSubscription())
      .then((subscription) => {
        if (!subscription) return null;
        return post(section.dataset.unsubscribeUrl, { endpoint: subscription.endpoint }).then(() => subscription.unsubscribe());
      })
      .then(() => {
        show(false);
        say("This device does not receive push notifications.");
      })
      .catch(() => say("Push notifications could not be turned off."))
      .finally(() => {
        disable.disabled = false;
      });
  });
})();
