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
      '<div class="confirm-review" data-testid="confirm-review" aria-live="polite"></div>' +
      '<div class="actions"><button value="cancel" class="button" data-confirm-cancel>Cancel</button>' +
      '<button value="ok" class="button danger" data-confirm-ok></button></div></form>';
    document.body.appendChild(dialog);
    return dialog;
  }

  // Back to the button that asked; if it sits in a row menu (which closes once an item is chosen, or
  // is about to), to the menu's button: focusing the item of a menu closing a moment later left the
  // focus on the page's body.
  function returnFocus(form, submitter) {
    var from = submitter || form.querySelector("[type=submit]");
    var menu = form.closest("[data-menu]");
    var button = menu && menu.querySelector("[data-menu-button]");
    if (button && (!from || from.closest("[role=menu]") || !from.getClientRects().length)) {
      button.focus();
      return;
    }
    if (from) from.focus();
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
      review: source.getAttribute("data-confirm-review"),
    };
  }

  // data-confirm-review="url": the dialog also shows what the change would do (who gains and who loses),
  // the server's review of the form's own fields (GET url?fields, an htmx fragment). The POST that
  // follows is decided by the server again; without JavaScript the form posts directly.
  function loadReview(box, form, url) {
    var place = box.querySelector(".confirm-review");
    place.innerHTML = "";
    if (!url || !window.htmx) return;
    var query = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrfmiddlewaretoken") query.append(name, value);
    });
    place.textContent = "Working out who gains and who loses\u2026";
    window.htmx.ajax("GET", url + (url.indexOf("?") < 0 ? "?" : "&") + query.toString(),
                     {target: place, swap: "innerHTML"});
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
    loadReview(box, form, asked.review);
    var ok = box.querySelector("[data-confirm-ok]");
    ok.textContent = asked.label;
    box.returnValue = "";
    box.onclose = function () {
      if (box.returnValue === "ok") {
        form.dataset.confirmed = "1";
        if (form.requestSubmit) form.requestSubmit(submitter || undefined); else form.submit();
      } else {
        returnFocus(form, submitter);
      }
    };
    box.showModal();
    box.querySelector("[data-confirm-cancel]").focus();
  }, true);

  // Tab and Shift+Tab go round the dialog's buttons: focus never leaves it while it is open.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Tab" || !dialog || !dialog.open) return;
    var buttons = Array.prototype.slice.call(dialog.querySelectorAll("button"));
    var index = buttons.indexOf(document.activeElement);
    event.preventDefault();
    var next = index === -1 ? 0 : (index + (event.shiftKey ? -1 : 1) + buttons.length) % buttons.length;
    buttons[next].focus();
  }, true);
})();

// Row menus (WAI-ARIA menu button): <div data-menu> holding a <button data-menu-button aria-haspopup=menu>
// and a hidden [role=menu] of [role=menuitem]. Enter, Space or ArrowDown open it on the first item
// (ArrowUp on the last), the arrow keys, Home and End move, Escape closes it and gives focus back to its
// button, Tab leaves it closed. Disabled items stay focusable so their written reason can be read.
(function () {
  "use strict";

  function items(menu) { return Array.prototype.slice.call(menu.querySelectorAll("[role=menuitem]")); }
  function partsOf(node) {
    var root = node && node.closest ? node.closest("[data-menu]") : null;
    return root ? { root: root, button: root.querySelector("[data-menu-button]"), menu: root.querySelector("[role=menu]") } : null;
  }

  function close(parts, refocus) {
    if (!parts || parts.menu.hidden) return;
    parts.menu.hidden = true;
    parts.button.setAttribute("aria-expanded", "false");
    if (refocus) parts.button.focus();
  }

  function closeAll(except) {
    document.querySelectorAll("[data-menu]").forEach(function (root) {
      if (root !== except) close(partsOf(root), false);
    });
  }

  function open(parts, which) {
    closeAll(parts.root);
    parts.menu.hidden = false;
    parts.button.setAttribute("aria-expanded", "true");
    var list = items(parts.menu);
    if (!list.length) return;
    (which === "last" ? list[list.length - 1] : list[0]).focus();
  }

  function move(parts, current, step) {
    var list = items(parts.menu);
    var index = list.indexOf(current);
    if (step === "first") index = 0;
    else if (step === "last") index = list.length - 1;
    else index = (index + step + list.length) % list.length;
    if (list[index]) list[index].focus();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-menu-button]") : null;
    if (button) {
      var parts = partsOf(button);
      if (parts.menu.hidden) open(parts, "first"); else close(parts, true);
      return;
    }
    var item = event.target.closest ? event.target.closest("[data-menu] [role=menuitem]") : null;
    if (item && item.getAttribute("aria-disabled") !== "true") {
      // Chosen: the menu closes once the click has done its work (a link followed, a form submitted).
      var chosen = partsOf(item);
      window.setTimeout(function () { close(chosen, false); }, 0);
      return;
    }
    if (!item) closeAll(null);
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (!target.closest) return;
    if (target.matches("[data-menu-button]")) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        open(partsOf(target), event.key === "ArrowUp" ? "last" : "first");
      }
      return;  // Enter and Space click the button, which opens it on the first item.
    }
    if (!target.matches("[data-menu] [role=menuitem]")) return;
    var parts = partsOf(target);
    switch (event.key) {
      case "ArrowDown": event.preventDefault(); move(parts, target, 1); break;
      case "ArrowUp": event.preventDefault(); move(parts, target, -1); break;
      case "Home": event.preventDefault(); move(parts, target, "first"); break;
      case "End": event.preventDefault(); move(parts, target, "last"); break;
      case "Escape": event.preventDefault(); close(parts, true); break;
      case "Tab": close(parts, false); break;
      case " ":
        // Space activates a link item as Enter does (buttons do it natively).
        if (target.tagName === "A") { event.preventDefault(); target.click(); }
        break;
      default: break;
    }
  });
})();

// After an htmx swap, focus goes where a person expects and what changed is announced:
// - a form answered with errors: its first invalid field (the error is read with it);
// - a new page of results (Previous/Next, a sort): the results, their summary read out;
// - otherwise, if the focused element was swapped away, the same control in the new content.
(function () {
  "use strict";

  var lastFocusKey = null;

  function keyOf(node) {
    if (!node || node === document.body || !node.getAttribute) return null;
    if (node.id) return "#" + CSS.escape(node.id);
    var attributes = ["data-sort", "data-testid", "hx-vals", "rel"];
    for (var i = 0; i < attributes.length; i++) {
      var value = node.getAttribute(attributes[i]);
      if (value) return node.tagName.toLowerCase() + "[" + attributes[i] + '="' + CSS.escape(value) + '"]';
    }
    if (node.name && node.value) return '[name="' + CSS.escape(node.name) + '"][value="' + CSS.escape(node.value) + '"]';
    return null;
  }

  // Where focus goes when the control that had it was swapped away and has no usable twin: the
  // first field of the new content (the policy editor's text or first input), else the content itself.
  function firstField(target) {
    return target.querySelector("textarea, .editor-body input:not([type=hidden]), .editor-body select") ||
      target.querySelector("input:not([type=hidden]):not([disabled]), select, textarea, button:not([disabled]), a[href]");
  }

  function announce(text) {
    var region = document.getElementById("announcer");
    if (!region || !text) return;
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  // The validator's answer in one sentence: its counts by tier and the first finding.
  function findingsSummary(aside) {
    var ok = aside.querySelector("[data-testid=no-findings]");
    if (ok) return ok.textContent.replace("✔", "").trim();
    var counts = Array.prototype.map.call(aside.querySelectorAll("h3"), function (h) { return h.textContent.trim(); });
    var first = aside.querySelector(".finding-message");
    if (!counts.length) return "";
    return "Findings: " + counts.join(", ") + "." + (first ? " First: " + first.textContent.trim() : "");
  }

  // A message shown with a freshly loaded page ("Image … was deleted.") is read out once as well:
  // a live region does not announce what it held when the page loaded.
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("messages");
    if (box && box.textContent.trim()) window.setTimeout(function () { announce(box.textContent.trim().replace(/\s+/g, " ")); }, 300);
  });

  document.addEventListener("htmx:beforeSwap", function () {
    lastFocusKey = keyOf(document.activeElement);
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (!target || !target.isConnected) target = event.detail.elt;
    if (!target || !target.querySelector) return;
    var trigger = event.detail.requestConfig ? event.detail.requestConfig.elt : null;
    var invalid = target.querySelector('[aria-invalid="true"], .field-error, .message-error');
    if (invalid && target.tagName !== "ASIDE") {
      var field = invalid.matches("[aria-invalid]") ? invalid : null;
      if (!field) {
        var box = invalid.closest(".field");
        field = box ? box.querySelector("input, select, textarea") : null;
      }
      if (field && (document.activeElement === document.body || !document.activeElement.isConnected ||
                    (trigger && trigger.tagName === "FORM"))) {
        field.focus();
        return;
      }
    }
    if (target.id === "policy-findings") {
      announce(findingsSummary(target));
      return;
    }
    var paged = trigger && trigger.matches && trigger.matches("a[rel=prev], a[rel=next], a[data-sort]");
    var results = document.querySelector("[data-results]");
    if (paged && results) {
      var summary = results.querySelector("[data-testid=page-summary]");
      var again = lastFocusKey && trigger.matches("a[data-sort]") ? results.querySelector(lastFocusKey) : null;
      if (again) again.focus(); else results.focus();
      if (summary) announce("Showing " + summary.textContent.trim());
      return;
    }
    if (document.activeElement === document.body || !document.activeElement.isConnected) {
      var same = lastFocusKey ? document.querySelector(lastFocusKey) : null;
      if (same && !same.disabled) same.focus();
      else if (lastFocusKey) { var first = firstField(target); if (first) first.focus(); }
    }
  });
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
