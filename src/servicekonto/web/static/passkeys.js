/*
 * Passkey buttons: registration on the account page, authentication at the second-factor step.
 *
 * Loaded with <script src="/static/passkeys.js" defer>; no inline script anywhere, so the page's
 * CSP can forbid inline scripts. Dependency-free ES2017.
 *
 * A button opts in with data attributes:
 *   data-passkey-action  "register" or "authenticate"
 *   data-options-url     POST here (header X-CSRF-Token) for the options JSON
 *   data-verify-url      POST the credential JSON here (same header); for "register" the
 *                        passkey's name goes along as the query parameter `name`
 *   data-csrf-token      the page's CSRF token
 *   data-next-url        where to go after success
 *   data-name-input      (register) id of the text input holding the passkey's name
 *   data-error-target    id of a hidden element whose server-rendered text explains a failure
 *
 * The server renders these buttons `hidden`; they are shown only where the browser supports
 * WebAuthn, so a page without JavaScript (or without WebAuthn) never offers a dead button.
 *
 * Binary fields travel as base64url strings both ways (W3C WebAuthn Level 3 §5.1.8 / §5.1.10,
 * the JSON forms py_webauthn parses).
 */
(function () {
  "use strict";

  function base64urlToBuffer(value) {
    const base64 = value.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "===".slice((base64.length + 3) % 4);
    const binary = window.atob(padded);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i += 1) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function bufferToBase64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let binary = "";
    for (let i = 0; i < bytes.length; i += 1) {
      binary += String.fromCharCode(bytes[i]);
    }
    return window.btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (descriptor) {
      return Object.assign({}, descriptor, { id: base64urlToBuffer(descriptor.id) });
    });
  }

  function creationOptions(json) {
    return Object.assign({}, json, {
      challenge: base64urlToBuffer(json.challenge),
      user: Object.assign({}, json.user, { id: base64urlToBuffer(json.user.id) }),
      excludeCredentials: descriptors(json.excludeCredentials),
    });
  }

  function requestOptions(json) {
    return Object.assign({}, json, {
      challenge: base64urlToBuffer(json.challenge),
      allowCredentials: descriptors(json.allowCredentials),
    });
  }

  function commonFields(credential) {
    return {
      id: credential.id,
      rawId: bufferToBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
    };
  }

  function registrationJson(credential) {
    const response = credential.response;
    const transports =
      typeof response.getTransports === "function" ? response.getTransports() : [];
    return Object.assign(commonFields(credential), {
      response: {
        clientDataJSON: bufferToBase64url(response.clientDataJSON),
        attestationObject: bufferToBase64url(response.attestationObject),
        transports: transports,
      },
    });
  }

  function authenticationJson(credential) {
    const response = credential.response;
    return Object.assign(commonFields(credential), {
      response: {
        clientDataJSON: bufferToBase64url(response.clientDataJSON),
        authenticatorData: bufferToBase64url(response.authenticatorData),
        signature: bufferToBase64url(response.signature),
        userHandle: response.userHandle ? bufferToBase64url(response.userHandle) : null,
      },
    });
  }

  async function postJson(url, token, body) {
    const response = await window.fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRF-Token": token,
      },
      body: body,
    });
    if (!response.ok) {
      throw new Error("request to " + url + " failed with status " + response.status);
    }
    return response;
  }

  function verifyUrl(button) {
    const url = new URL(button.dataset.verifyUrl, window.location.href);
    if (button.dataset.passkeyAction === "register") {
      const input = document.getElementById(button.dataset.nameInput || "");
      url.searchParams.set("name", input ? input.value : "");
    }
    return url.toString();
  }

  async function runCeremony(button) {
    const register = button.dataset.passkeyAction === "register";
    const token = button.dataset.csrfToken || "";
    const optionsResponse = await postJson(button.dataset.optionsUrl, token, "{}");
    const options = await optionsResponse.json();
    let result;
    if (register) {
      const credential = await navigator.credentials.create({ publicKey: creationOptions(options) });
      result = registrationJson(credential);
    } else {
      const credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
      result = authenticationJson(credential);
    }
    await postJson(verifyUrl(button), token, JSON.stringify(result));
  }

  function errorTarget(button) {
    return document.getElementById(button.dataset.errorTarget || "");
  }

  async function onClick(event) {
    const button = event.currentTarget;
    const error = errorTarget(button);
    if (error) {
      error.hidden = true;
    }
    button.disabled = true;
    try {
      await runCeremony(button);
      window.location.assign(button.dataset.nextUrl || window.location.href);
    } catch (failure) {
      // Cancelled by the user, refused by the authenticator or by the server: the page says
      // what to do in its own words; the details stay in the console.
      if (window.console) {
        window.console.warn("passkey ceremony failed", failure);
      }
      if (error) {
        error.hidden = false;
      }
      button.disabled = false;
    }
  }

  function start() {
    if (!window.PublicKeyCredential || !navigator.credentials) {
      return;
    }
    const buttons = document.querySelectorAll(
      'button[data-passkey-action="register"], button[data-passkey-action="authenticate"]'
    );
    Array.prototype.forEach.call(buttons, function (button) {
      button.addEventListener("click", onClick);
      button.hidden = false;
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
