// Passkeys: the glue around django-otp-webauthn's bundled scripts (served from this site; no CDN).
// Their messages are English already: gettext returns its text (no catalogue request).
window.gettext = window.gettext || function (text) { return text; };

// Once the browser has created a passkey and the server has kept it, send its name with it.
document.addEventListener("otp_webauthn.register_complete", function (event) {
  var form = document.getElementById("passkey-name-form");
  if (!form || !event.detail || !event.detail.id) return;
  form.elements.passkey.value = event.detail.id;
  form.submit();
});

// Enter in the name field starts the creation instead of sending a name without a passkey.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.id !== "passkey-name-form" || form.elements.passkey.value) return;
  event.preventDefault();
  var button = document.getElementById("passkey-register-button");
  if (button && !button.disabled) button.click();
});
