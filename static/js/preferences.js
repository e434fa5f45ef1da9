// The person's preferences in the browser: the theme switch, the time zone sent once, copy buttons.
// No inline scripts (CSP); the server already drew the chosen theme (<html data-theme>), so no flash.
(function () {
  "use strict";

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch (error) { return ""; }
  }

  function post(url, fields) {
    var body = new URLSearchParams(fields);
    return fetch(url, { method: "POST", body: body, credentials: "same-origin",
                        headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "fetch" } });
  }

  function browserZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (error) { return ""; }
  }

  // Theme: Auto / Light / Dark, applied at once, remembered for the person by the server.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-theme-switch]")) return;
    var chosen = event.submitter && event.submitter.value;
    if (!chosen || !window.fetch) return;  // without fetch the form posts and comes back
    event.preventDefault();
    document.documentElement.setAttribute("data-theme", chosen);
    form.querySelectorAll("button[name=theme]").forEach(function (button) {
      button.setAttribute("aria-pressed", button.value === chosen ? "true" : "false");
    });
    post(form.action, { theme: chosen });
  });

  document.addEventListener("DOMContentLoaded", function () {
    var zone = browserZone();
    // The sign-in form carries the browser's zone: kept for a person who has none yet.
    document.querySelectorAll("input[name=time_zone][data-browser-zone]").forEach(function (field) { field.value = zone; });
    // Signed in without a zone yet (a second step, an identity provider): sent once.
    var detect = document.body.getAttribute("data-detect-time-zone");
    if (detect && zone && window.fetch) post(detect, { time_zone: zone });
  });

  // Copy: <button data-copy="text"> or data-copy-from="#id" copies; says "Copied" (and reads it out).
  function announce(text) {
    var region = document.getElementById("announcer");
    if (!region) return;
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var done = false;
    try { done = document.execCommand("copy"); } catch (error) { done = false; }
    area.remove();
    return done;
  }

  function textFor(button) {
    var from = button.getAttribute("data-copy-from");
    if (!from) return button.getAttribute("data-copy") || "";
    var source = document.querySelector(from);
    if (!source) return "";
    return (source.matches("input, textarea") ? source.value : source.innerText).trim();
  }

  function shown(button, ok) {
    var state = button.querySelector("[data-copy-state]") || button;
    var label = button.getAttribute("data-label") || state.textContent;
    button.setAttribute("data-label", label);
    state.textContent = ok ? "Copied" : "Select and press Ctrl+C";
    if (ok) button.setAttribute("data-copied", ""); else button.removeAttribute("data-copied");
    announce(ok ? "Copied to the clipboard." : "The browser refused to copy: select the text and press Ctrl+C.");
    window.clearTimeout(button._copyTimer);
    button._copyTimer = window.setTimeout(function () {
      state.textContent = label;
      button.removeAttribute("data-copied");
    }, 2500);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-copy], button[data-copy-from]") : null;
    if (!button) return;
    event.preventDefault();
    var text = textFor(button);
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { shown(button, true); },
                                                function () { shown(button, fallbackCopy(text)); });
    } else {
      shown(button, fallbackCopy(text));
    }
  });
})();
