// Passkeys: forms marked data-passkey="register" or "authenticate" ask the server for WebAuthn
// options, let the browser create or use a passkey, put its answer in the form's hidden
// "credential" field and submit the form as usual (the server answers with a page).
"use strict";

(function () {
  function toBytes(base64url) {
    const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  function toBase64url(buffer) {
    let text = "";
    new Uint8Array(buffer).forEach((b) => { text += String.fromCharCode(b); });
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map((c) => Object.assign({}, c, { id: toBytes(c.id) }));
  }

  function creationOptions(json) {
    return Object.assign({}, json, {
      challenge: toBytes(json.challenge),
      user: Object.assign({}, json.user, { id: toBytes(json.user.id) }),
      excludeCredentials: withIds(json.excludeCredentials),
    });
  }

  function requestOptions(json) {
    return Object.assign({}, json, { challenge: toBytes(json.challenge), allowCredentials: withIds(json.allowCredentials) });
  }

  function credentialJSON(credential) {
    const r = credential.response;
    const response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
    }
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: response,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
    };
  }

  async function fetchOptions(form) {
    const token = form.querySelector("[name=csrf_token]");
    const answer = await fetch(form.dataset.optionsUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": token ? token.value : "" },
    });
    if (!answer.ok) throw new Error("The server did not start the passkey request (" + answer.status + ").");
    return answer.json();
  }

  function showError(form, message) {
    const box = form.querySelector("[data-passkey-error]");
    if (box) { box.textContent = message; box.hidden = false; }
  }

  async function run(form) {
    const options = await fetchOptions(form);
    const credential = form.dataset.passkey === "register"
      ? await navigator.credentials.create({ publicKey: creationOptions(options) })
      : await navigator.credentials.get({ publicKey: requestOptions(options) });
    form.querySelector("[name=credential]").value = JSON.stringify(credentialJSON(credential));
    form.querySelectorAll("[data-copy-checkbox]").forEach((input) => {
      const box = document.getElementById(input.dataset.copyCheckbox);
      input.value = box && box.checked ? "y" : "";
    });
    form.submit();
  }

  function setUp(form) {
    if (!window.PublicKeyCredential || !navigator.credentials) {
      const note = form.querySelector("[data-passkey-unsupported]");
      if (note) note.hidden = false;
      return;
    }
    form.hidden = false;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const nameField = form.querySelector("[name=name]");
      if (nameField && !nameField.value.trim()) {
        form.submit(); // the server says the name is missing, next to the field
        return;
      }
      run(form).catch((err) => {
        showError(form, err && err.name === "NotAllowedError"
          ? "The passkey request was cancelled or timed out."
          : (err && err.name === "SecurityError"
            ? "Passkeys need this site's own address: " + (err.message || "")
            : (err && err.message) || "The passkey did not work."));
      });
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("form[data-passkey]").forEach(setUp);
  });
})();
