// Enhancements only: every page works without this file.
(function () {
  "use strict";
  function each(sel, fn) { Array.prototype.forEach.call(document.querySelectorAll(sel), fn); }

  each(".js-only", function (el) { el.hidden = false; });

  // The way back to Microsoft Entra: the answer form sends itself (its button stays for
  // browsers without scripts).
  each("form[data-autosubmit]", function (form) { form.submit(); });

  // How long Entra still waits for this step, counting down (the page says it without this).
  each("[data-countdown]", function (el) {
    var end = Date.now() + 1000 * parseInt(el.getAttribute("data-countdown"), 10);
    var timer = setInterval(function () {
      var left = Math.max(0, Math.round((end - Date.now()) / 1000));
      var s = left % 60;
      el.textContent = Math.floor(left / 60) + ":" + (s < 10 ? "0" : "") + s;
      if (left === 0) { clearInterval(timer); }
    }, 1000);
  });

  // The password form is sent in the background, so that in a rush ("busy", 503) it can be
  // sent again by itself after Retry-After, with the password the person already typed. Any
  // other answer is shown as if the form had been sent the usual way.
  each("form[data-sign-in]", function (form) {
    var notice = document.querySelector("[data-busy-notice]");
    var sending = false;
    function send() {
      fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)),
        credentials: "same-origin", headers: { "x-tweestap-fetch": "1" } })
        .then(function (r) {
          if (r.status === 503 && r.headers.get("retry-after")) {
            if (notice) { notice.hidden = false; }
            setTimeout(send, 1000 * Math.max(1, parseInt(r.headers.get("retry-after"), 10) || 2));
            return;
          }
          if ((r.headers.get("content-type") || "").indexOf("application/json") === 0) {
            return r.json().then(function (j) { window.location.assign(j.location); });
          }
          return r.text().then(function (html) { document.open(); document.write(html); document.close(); });
        })
        .catch(function () { sending = false; form.submit(); });
    }
    form.addEventListener("submit", function (e) {
      if (!window.fetch || !window.URLSearchParams) { return; }
      e.preventDefault();
      if (sending) { return; }
      sending = true;
      send();
    });
  });

  // "Show password" toggle.
  each("[data-show-password]", function (box) {
    var input = document.getElementById(box.getAttribute("data-show-password"));
    box.addEventListener("change", function () { input.type = box.checked ? "text" : "password"; });
  });

  // The code form sends itself when the sixth digit arrives (typed, pasted or autofilled).
  each("[data-otp-form]", function (form) {
    var input = form.querySelector("input[name=code]");
    var sent = false;
    function maybeSubmit() {
      var digits = input.value.replace(/\D/g, "");
      if (digits.length === 6 && !sent) { sent = true; input.value = digits; form.submit(); }
    }
    input.addEventListener("input", maybeSubmit);
    // WebOTP: Android Chrome reads the "@host #code" line of the text message.
    if ("OTPCredential" in window) {
      var ac = new AbortController();
      form.addEventListener("submit", function () { ac.abort(); });
      navigator.credentials.get({ otp: { transport: ["sms"] }, signal: ac.signal })
        .then(function (otp) { if (otp && otp.code) { input.value = otp.code; maybeSubmit(); } })
        .catch(function () {});
    }
  });

  // A resend button counts down instead of being refused by the server.
  each("button[data-wait]", function (btn) {
    var left = parseInt(btn.getAttribute("data-wait"), 10);
    if (!(left > 0)) { return; }
    var label = btn.textContent;
    btn.disabled = true;
    var timer = setInterval(function () {
      left -= 1;
      if (left <= 0) { clearInterval(timer); btn.disabled = false; btn.textContent = label; }
      else { btn.textContent = label + " (" + left + ")"; }
    }, 1000);
    btn.textContent = label + " (" + left + ")";
  });

  // While a text message is on its way, look again shortly.
  if (document.querySelector("[data-sending]")) {
    setTimeout(function () { window.location.reload(); }, 2000);
  }

  // The demo phone shows new messages as they arrive.
  if (document.querySelector("[data-live-reload]")) {
    setTimeout(function () { window.location.reload(); }, 3000);
  }

  // ---- WebAuthn (passkeys and the tweestap app). The server sends webauthn-rs options with
  // binary fields as base64url; the answer goes back as JSON in the form's "response" field.
  function fromB64(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  }
  function toB64(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function publicKey(options) {
    var pk = options.publicKey;
    pk.challenge = fromB64(pk.challenge);
    if (pk.user) { pk.user.id = fromB64(pk.user.id); }
    (pk.excludeCredentials || []).forEach(function (c) { c.id = fromB64(c.id); });
    (pk.allowCredentials || []).forEach(function (c) { c.id = fromB64(c.id); });
    return pk;
  }
  function credentialJson(cred) {
    var r = cred.response, out = {
      id: cred.id, rawId: toB64(cred.rawId), type: cred.type,
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toB64(r.attestationObject);
      if (r.getTransports) { out.response.transports = r.getTransports(); }
    } else {
      out.response.authenticatorData = toB64(r.authenticatorData);
      out.response.signature = toB64(r.signature);
      out.response.userHandle = r.userHandle ? toB64(r.userHandle) : null;
    }
    return JSON.stringify(out);
  }
  function showError(form) {
    var el = document.querySelector("[data-webauthn-error]");
    if (el) { el.hidden = false; }
    each("button", function (b) { b.disabled = false; });
  }
  function ceremony(kind, options) {
    var pk = publicKey(options);
    return kind === "create" ? navigator.credentials.create({ publicKey: pk })
                             : navigator.credentials.get({ publicKey: pk });
  }
  each("form[data-webauthn]", function (form) {
    var kind = form.getAttribute("data-webauthn");
    var busy = false;
    // Browsers without SubmitEvent.submitter: remember which number was tapped.
    var tapped = null;
    each("form[data-webauthn] button[name=number]", function (b) {
      if (b.form === form) { b.addEventListener("click", function () { tapped = b.value; }); }
    });
    form.addEventListener("submit", function (ev) {
      var response = form.querySelector("input[name=response]");
      if (response.value) { return; }
      ev.preventDefault();
      if (busy || !window.PublicKeyCredential) { if (!window.PublicKeyCredential) { showError(form); } return; }
      busy = true;
      // The tweestap app: the picked number travels with the answer.
      var picked = ev.submitter && ev.submitter.name === "number" ? ev.submitter.value : tapped;
      var optionsReady;
      if (kind === "approve") {
        var body = new URLSearchParams(new FormData(form));
        optionsReady = fetch("/app/options", { method: "POST", body: body, credentials: "same-origin" })
          .then(function (r) { if (!r.ok) { throw new Error("options"); } return r.json(); })
          .then(function (j) { form.querySelector("input[name=ceremony]").value = j.ceremony; return j.options; });
      } else {
        optionsReady = Promise.resolve(JSON.parse(form.getAttribute("data-options")));
      }
      optionsReady
        .then(function (options) { return ceremony(kind === "create" ? "create" : "get", options); })
        .then(function (cred) {
          response.value = credentialJson(cred);
          if (picked !== null) {
            var n = document.createElement("input");
            n.type = "hidden"; n.name = "number"; n.value = picked; form.appendChild(n);
          }
          form.submit();
        })
        .catch(function () { busy = false; showError(form); });
    });
  });

  // The sign-in page waiting for the phone: follow the request, continue when approved. (Twice
  // a second: a status check is one indexed read, and the user is waiting.)
  each("[data-push-continue]", function (form) {
    var timer = setInterval(function () {
      fetch("/sign-in/push/status", { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (j) {
          if (j.status === "pending") { return; }
          clearInterval(timer);
          // For Microsoft Entra a "no" on the phone is an answer too (access_denied).
          var answer = j.status === "approved" || (j.status === "denied" && form.hasAttribute("data-entra"));
          if (answer) { form.submit(); } else { window.location.reload(); }
        })
        .catch(function () {});
    }, 500);
  });

  // Linking a phone: the computer's page follows the phone.
  each("[data-link-status]", function (box) {
    var last = box.getAttribute("data-link-status");
    if (last === "approved") { return; }
    var timer = setInterval(function () {
      fetch("/security-info/tweestap-app?json=1", { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (j) {
          if (j.status === last) { return; }
          clearInterval(timer);
          window.location.assign("/security-info/tweestap-app");
        })
        .catch(function () {});
    }, 1500);
  });

  // The phone waits for the computer to say it is the user's: look again shortly.
  if (document.querySelector("[data-link-waiting]")) {
    setTimeout(function () { window.location.reload(); }, 2000);
  }

  // Times on the phone in its own time zone.
  each("time[data-local-time]", function (el) {
    var d = new Date(el.getAttribute("datetime"));
    if (!isNaN(d)) { el.textContent = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }); }
  });

  // The tweestap app: look for new requests while open; offer notifications.
  each("[data-app-requests]", function (box) {
    if (box.getAttribute("data-app-requests") === "0") {
      setTimeout(function () { window.location.reload(); }, 3000);
    }
    if ("serviceWorker" in navigator) { navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).catch(function () {}); }
  });
  each("[data-push-subscribe]", function (btn) {
    if (!("serviceWorker" in navigator) || !("PushManager" in window)) { btn.hidden = true; return; }
    btn.addEventListener("click", function () {
      navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" })
        .then(function () { return navigator.serviceWorker.ready; })
        .then(function (reg) {
          return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: fromB64(btn.getAttribute("data-push-subscribe")) });
        })
        .then(function (sub) {
          return fetch("/app/subscription", {
            method: "POST", credentials: "same-origin",
            headers: { "content-type": "application/json", "x-csrf-token": btn.getAttribute("data-csrf") },
            body: JSON.stringify(sub.toJSON())
          });
        })
        .then(function (r) { if (r.ok) { btn.hidden = true; } })
        .catch(function () { btn.disabled = true; });
    });
  });
})();
