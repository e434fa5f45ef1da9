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
