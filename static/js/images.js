// Image browser behaviours (no inline scripts: CSP). htmx does the requests; this adds small comforts.
(function () {
  "use strict";

  // The project switcher goes to the chosen project as soon as it changes.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.matches && select.matches("select[data-autosubmit]") && select.form) select.form.submit();
  });

  // Destructive forms ask first: <form data-confirm="..."> or a submit button with data-confirm.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var question = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (!question) return;
    if (form.hasAttribute("data-confirm-bulk") && !form.ownerDocument.querySelector('input[name="ids"][form="' + form.id + '"]:checked')) return;
    if (!window.confirm(question)) event.preventDefault();
  }, true);

  // A control disabled by a state rule does nothing when clicked; its title says why.
  document.addEventListener("click", function (event) {
    var control = event.target.closest ? event.target.closest('[aria-disabled="true"]') : null;
    if (control) event.preventDefault();
  });

  // One open row menu at a time.
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!menu.matches || !menu.matches("details.row-menu") || !menu.open) return;
    document.querySelectorAll("details.row-menu[open]").forEach(function (other) {
      if (other !== menu) other.open = false;
    });
  }, true);
})();
