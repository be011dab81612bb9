// Enhancements only: every page works without this file.
(function () {
  "use strict";
  function each(sel, fn) { Array.prototype.forEach.call(document.querySelectorAll(sel), fn); }

  each(".js-only", function (el) { el.hidden = false; });

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

  // The confirmation page continues by itself.
  each("[data-auto-continue]", function (a) {
    setTimeout(function () { window.location.assign(a.href); }, 2500);
  });

  // While a text message is on its way, look again shortly.
  if (document.querySelector("[data-sending]")) {
    setTimeout(function () { window.location.reload(); }, 2000);
  }

  // The demo phone shows new messages as they arrive.
  if (document.querySelector("[data-live-reload]")) {
    setTimeout(function () { window.location.reload(); }, 3000);
  }
})();
