// IAM console behaviours: the attach picker's filter and scope, the password choice.
(function () {
  "use strict";

  // <input data-filter-rows="selector">: hide the rows whose data-search does not contain the typed text.
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[data-filter-rows]")) return;
    var text = input.value.trim().toLowerCase();
    document.querySelectorAll(input.getAttribute("data-filter-rows")).forEach(function (row) {
      row.hidden = text !== "" && (row.getAttribute("data-search") || "").indexOf(text) === -1;
    });
    var groups = input.getAttribute("data-hide-empty-groups");
    if (groups) document.querySelectorAll(groups).forEach(function (group) {
      group.hidden = !group.querySelector("[data-search]:not([hidden])");
    });
  });

  // The project picker is only for the scope "Region-specific projects".
  function syncScope(root) {
    var picker = root.querySelector("[data-project-picker]");
    var chosen = root.querySelector("input[data-scope-radio]:checked");
    if (!picker) return;
    var projects = chosen && chosen.value === "projects";
    picker.classList.toggle("is-inactive", !projects);
    picker.querySelectorAll("input").forEach(function (box) { box.disabled = !projects; });
  }

  // The two password fields are only for "Set a password now".
  function syncPassword(root) {
    var chosen = root.querySelector("input[name=password_mode]:checked");
    var show = chosen && chosen.value === "set";
    root.querySelectorAll("[data-password-fields]").forEach(function (block) { block.hidden = !show; });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target.matches) return;
    if (target.matches("input[data-scope-radio]")) syncScope(document);
    if (target.matches("input[name=password_mode]")) syncPassword(document);
  });

  // Progressive enhancement: controls that need a script (filters) show only when it runs,
  // also in parts of the page htmx swaps in.
  function enhance(root) {
    root.querySelectorAll("[data-enhanced][hidden]").forEach(function (control) { control.hidden = false; });
  }
  document.addEventListener("htmx:afterSettle", function (event) { enhance(event.target); });

  document.addEventListener("DOMContentLoaded", function () {
    enhance(document);
    syncScope(document);
    if (document.querySelector("input[name=password_mode]")) syncPassword(document);
  });
})();
