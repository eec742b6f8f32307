// Tessera's passkey ceremonies (WebAuthn). A form marked `data-passkey` names where its options come from
// (`data-options`); its button, hidden until this script finds WebAuthn, asks the server for options (posting
// the form's CSRF token and fields), runs `navigator.credentials.create` (`data-passkey="create"`) or `.get`,
// and submits the form with the ceremony's id and the authenticator's answer as JSON. Everything else on the
// pages works without this script.
"use strict";

(function () {
  function toBytes(text) {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "===".slice((base64.length + 3) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  function toText(buffer) {
    let binary = "";
    new Uint8Array(buffer).forEach((b) => { binary += String.fromCharCode(b); });
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function creationOptions(options) {
    const key = options.publicKey;
    key.challenge = toBytes(key.challenge);
    key.user.id = toBytes(key.user.id);
    (key.excludeCredentials || []).forEach((c) => { c.id = toBytes(c.id); });
    return { publicKey: key };
  }

  function requestOptions(options) {
    const key = options.publicKey;
    key.challenge = toBytes(key.challenge);
    (key.allowCredentials || []).forEach((c) => { c.id = toBytes(c.id); });
    return { publicKey: key };
  }

  function created(credential) {
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: {
        attestationObject: toText(credential.response.attestationObject),
        clientDataJSON: toText(credential.response.clientDataJSON),
      },
      extensions: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
    };
  }

  function asserted(credential) {
    const response = credential.response;
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: {
        authenticatorData: toText(response.authenticatorData),
        clientDataJSON: toText(response.clientDataJSON),
        signature: toText(response.signature),
        userHandle: response.userHandle ? toText(response.userHandle) : null,
      },
      extensions: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
    };
  }

  function say(form, message) {
    const status = form.querySelector("[data-passkey-status]");
    if (status) {
      status.textContent = message;
      status.hidden = false;
    }
  }

  async function run(form) {
    const creating = form.dataset.passkey === "create";
    const fields = new URLSearchParams();
    ["csrf", "request", "app"].forEach((name) => {
      const input = form.querySelector("input[name='" + name + "']");
      if (input) {
        fields.set(name, input.value);
      }
    });
    const answer = await fetch(form.dataset.options, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: fields.toString(),
    });
    if (!answer.ok) {
      throw new Error("options refused");
    }
    const challenge = await answer.json();
    const credential = creating
      ? created(await navigator.credentials.create(creationOptions(challenge.options)))
      : asserted(await navigator.credentials.get(requestOptions(challenge.options)));
    form.querySelector("input[name='ceremony']").value = challenge.ceremony;
    form.querySelector("input[name='credential']").value = JSON.stringify(credential);
    form.submit();
  }

  function start(event) {
    const form = event.currentTarget.form;
    event.preventDefault();
    if (!form.reportValidity()) {
      return;
    }
    run(form).catch(() => say(form, "The passkey did not work. Please try again, or use another way."));
  }

  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }
  document.querySelectorAll("form[data-passkey]").forEach((form) => {
    form.hidden = false;
    form.querySelectorAll("[data-passkey-start]").forEach((button) => {
      button.addEventListener("click", start);
    });
  });
})();
