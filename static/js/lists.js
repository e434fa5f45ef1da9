// Lists people can work with: clean URLs for the search and filter forms, no duplicate history entries,
// the top bar's search dropdown, and the filters folded behind one button on a phone.
(function () {
  "use strict";

  // A GET form's empty fields stay out of the URL (htmx requests and the pushed address alike).
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.verb !== "get") return;
    var params = event.detail.parameters;
    var names = [];
    if (params && typeof params.keys === "function") {
      for (var key of params.keys()) names.push(key);
    } else if (params) {
      names = Object.keys(params);
    }
    names.forEach(function (name) {
      var value = params[name];
      if (value === "" || value === undefined || (Array.isArray(value) && value.every(function (v) { return v === ""; }))) {
        delete params[name];
      }
    });
  });

  // Apply after a filter already applied by its change asks for the address the page shows: the history
  // keeps one entry for it (replaced, not pushed twice), so Back goes to the previous filters.
  document.addEventListener("htmx:beforeHistoryUpdate", function (event) {
    var update = event.detail.history;
    if (!update || update.type !== "push") return;
    var here = window.location.pathname + window.location.search;
    var there = new URL(update.path, window.location.href);
    if (there.pathname + there.search === here) update.type = "replace";
  });

  // A plain submit (no htmx, or htmx not loaded yet) leaves empty fields out too.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || (form.method || "").toLowerCase() !== "get" || event.defaultPrevented) return;
    if (form.hasAttribute("hx-get")) return;
    Array.prototype.forEach.call(form.elements, function (field) {
      if (field.name && !field.disabled && field.value === "" && field.type !== "submit") {
        field.disabled = true;
        window.setTimeout(function () { field.disabled = false; }, 0);
      }
    });
  });

  // The top bar's search: Escape or a click elsewhere closes the dropdown.
  function closeDropdown() {
    var box = document.getElementById("topbar-search-results");
    if (box) box.innerHTML = "";
  }
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && event.target && event.target.id === "topbar-q") closeDropdown();
  });
  document.addEventListener("click", function (event) {
    if (!event.target.closest || !event.target.closest(".topbar-search")) closeDropdown();
  });

  // On a phone the image filters fold behind one button, which says how many are set.
  function foldFilters(root) {
    (root || document).querySelectorAll("[data-filter-fold]").forEach(function (button) {
      if (button.dataset.ready) return;
      button.dataset.ready = "1";
      var form = document.getElementById(button.getAttribute("aria-controls"));
      if (!form) return;
      button.hidden = false;  // without script the filters simply stay open
      form.classList.add("foldable");
      button.addEventListener("click", function () {
        var open = button.getAttribute("aria-expanded") !== "true";
        button.setAttribute("aria-expanded", open ? "true" : "false");
        form.classList.toggle("unfolded", open);
        if (open) { var first = form.querySelector("input:not([type=hidden]), select"); if (first) first.focus(); }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { foldFilters(document); });
})();
