// Image browser behaviours (no inline scripts: CSP). htmx does the requests; this adds small comforts.
(function () {
  "use strict";

  // The project switcher goes to the chosen project as soon as it changes.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.matches && select.matches("select[data-autosubmit]") && select.form) select.form.submit();
  });

  // A control disabled by a state rule does nothing when clicked; its title says why.
  document.addEventListener("click", function (event) {
    var control = event.target.closest ? event.target.closest('[aria-disabled="true"]') : null;
    if (control) event.preventDefault();
  });
})();

// Tag rows: Add tag copies an empty row (up to data-max), Remove clears and drops a row. Without
// this script the page offers empty rows and a cleared row removes its tag.
(function () {
  "use strict";

  function renumber(box) {
    box.querySelectorAll("[data-tag-row]").forEach(function (row, index) {
      var n = index + 1;
      row.querySelector('[name="tag-key"]').setAttribute("aria-label", "Key of tag " + n);
      row.querySelector('[name="tag-value"]').setAttribute("aria-label", "Value of tag " + n);
      var remove = row.querySelector("[data-tag-remove]");
      if (remove) remove.setAttribute("aria-label", "Remove tag " + n);
    });
    var add = box.querySelector("[data-tag-add]");
    if (add) add.disabled = box.querySelectorAll("[data-tag-row]").length >= parseInt(box.getAttribute("data-max") || "10", 10);
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!target.closest) return;
    var box = target.closest("[data-tag-rows]");
    if (!box) return;
    if (target.closest("[data-tag-add]")) {
      var rows = box.querySelectorAll("[data-tag-row]");
      var copy = rows[rows.length - 1].cloneNode(true);
      copy.querySelectorAll("input").forEach(function (input) {
        input.value = "";
        input.removeAttribute("aria-invalid");
        input.removeAttribute("aria-describedby");
      });
      copy.querySelectorAll(".field-error").forEach(function (message) { message.remove(); });
      copy.classList.remove("row-error");
      rows[rows.length - 1].parentNode.appendChild(copy);
      renumber(box);
      copy.querySelector('[name="tag-key"]').focus();
    } else if (target.closest("[data-tag-remove]")) {
      var row = target.closest("[data-tag-row]");
      if (box.querySelectorAll("[data-tag-row]").length > 1) row.remove();
      else row.querySelectorAll("input").forEach(function (input) { input.value = ""; });
      renumber(box);
      var first = box.querySelector('[name="tag-key"]');
      if (first) first.focus();
    }
  });

  function enhance(root) {
    root.querySelectorAll("[data-tag-rows] [data-enhanced][hidden]").forEach(function (control) { control.hidden = false; });
    root.querySelectorAll("[data-tag-rows]").forEach(renumber);
  }
  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSettle", function (event) { enhance(event.target); });
})();
