// Small behaviours of the console; htmx does the rest. No inline scripts (CSP).
(function () {
  "use strict";

  // Upload progress: a <progress data-upload-progress> inside the uploading form follows the bytes sent.
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest ? event.target.closest("form") : null;
    var bar = form && form.querySelector("progress[data-upload-progress]");
    if (!bar || !event.detail.lengthComputable) return;
    bar.hidden = false;
    bar.max = event.detail.total;
    bar.value = event.detail.loaded;
    var label = form.querySelector("[data-upload-percent]");
    if (label) label.textContent = Math.round((100 * event.detail.loaded) / event.detail.total) + "%";
  });

  // A server or network failure during an htmx request becomes a visible message, never silence.
  function showError(text) {
    var box = document.getElementById("messages");
    if (!box) return;
    var div = document.createElement("div");
    div.className = "message message-error";
    div.setAttribute("role", "alert");
    div.textContent = text;
    box.replaceChildren(div);
  }
  document.addEventListener("htmx:responseError", function (event) {
    showError("The server could not complete the request (" + event.detail.xhr.status + "). Please try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    showError("The console could not reach the server. Check your connection and try again.");
  });

  // "Select all" checkboxes for bulk actions: <input type=checkbox data-select-all="name">.
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target.matches || !target.matches("input[data-select-all]")) return;
    var name = target.getAttribute("data-select-all");
    document.querySelectorAll('input[type=checkbox][name="' + name + '"]:not(:disabled)').forEach(function (box) {
      box.checked = target.checked;
    });
  });
})();

// Confirmations: a form (or its submit button) with data-confirm="Question?" asks once, in a modal
// <dialog> that names the thing ({subject} is replaced by data-confirm-subject), before it is sent.
// The dialog traps focus while open (showModal), Escape cancels, and focus returns to the button.
(function () {
  "use strict";

  var dialog = null;

  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-dialog-question");
    dialog.innerHTML = '<form method="dialog"><p id="confirm-dialog-question" class="confirm-question"></p>' +
      '<div class="actions"><button value="cancel" class="button" data-confirm-cancel>Cancel</button>' +
      '<button value="ok" class="button danger" data-confirm-ok></button></div></form>';
    document.body.appendChild(dialog);
    return dialog;
  }

  function question(form, submitter) {
    var source = submitter && submitter.hasAttribute("data-confirm") ? submitter : form;
    var text = source.getAttribute("data-confirm");
    if (!text) return null;
    var subject = source.getAttribute("data-confirm-subject") || "";
    var count = form.id ? document.querySelectorAll('input[name="ids"][form="' + form.id + '"]:checked').length : 0;
    return {
      text: text.replace("{subject}", subject).replace("{count}", String(count)),
      label: source.getAttribute("data-confirm-label") || (submitter && submitter.textContent.trim()) || "Confirm",
    };
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    if (form.dataset.confirmed === "1") { delete form.dataset.confirmed; return; }
    var asked = question(form, submitter);
    if (!asked) return;
    if (form.hasAttribute("data-confirm-bulk") &&
        !document.querySelector('input[name="ids"][form="' + form.id + '"]:checked')) return;
    event.preventDefault();
    event.stopPropagation();
    var box = dialog || build();
    box.querySelector(".confirm-question").textContent = asked.text;
    var ok = box.querySelector("[data-confirm-ok]");
    ok.textContent = asked.label;
    box.returnValue = "";
    box.onclose = function () {
      if (box.returnValue === "ok") {
        form.dataset.confirmed = "1";
        if (form.requestSubmit) form.requestSubmit(submitter || undefined); else form.submit();
      } else if (submitter) {
        submitter.focus();
      }
    };
    box.showModal();
    box.querySelector("[data-confirm-cancel]").focus();
  }, true);
})();

// Back and Forward show what the URL says. htmx keeps no snapshots (historyCacheSize 0) and reloads
// the page from the URL (refreshOnHistoryMiss), so the server renders it; a browser that restores
// typed form values on that reload would still disagree with the URL, so every search form that
// pushes its query (hx-push-url) is set from the URL once the page is loaded.
(function () {
  "use strict";

  function fieldsOf(form) {
    var own = Array.prototype.slice.call(form.elements);
    return own.filter(function (field) { return field.name && field.type !== "hidden" && field.type !== "submit"; });
  }

  function syncFromUrl() {
    var params = new URLSearchParams(window.location.search);
    document.querySelectorAll('form[method=get][hx-push-url="true"]').forEach(function (form) {
      fieldsOf(form).forEach(function (field) {
        var values = params.getAll(field.name);
        if (field.type === "checkbox" || field.type === "radio") {
          field.checked = values.indexOf(field.value) !== -1;
        } else if (field.tagName === "SELECT") {
          var wanted = values.length ? values[0] : "";
          var match = Array.prototype.some.call(field.options, function (o) { return o.value === wanted; });
          if (match) field.value = wanted; else field.selectedIndex = field.querySelector("option[selected]") ? field.querySelector("option[selected]").index : 0;
        } else {
          field.value = values.length ? values[0] : field.defaultValue;
        }
      });
    });
  }

  window.addEventListener("pageshow", syncFromUrl);
  document.addEventListener("htmx:historyRestore", syncFromUrl);
})();
