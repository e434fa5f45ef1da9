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
