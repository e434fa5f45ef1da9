// Policy editor behaviours: the line gutter beside the JSON text, jumping to a finding's line,
// and the simulator's subject switch. The server renders everything; this only keeps it in step.
(function () {
  "use strict";

  function editorParts() {
    var text = document.querySelector("textarea[data-policy-text]");
    var gutter = document.getElementById("policy-gutter");
    return text && gutter ? { text: text, gutter: gutter } : null;
  }

  // Keep one gutter line per text line while typing; marks of lines that remain stay until the
  // validator's next answer replaces the gutter.
  function syncGutter() {
    var parts = editorParts();
    if (!parts) return;
    var wanted = parts.text.value.split("\n").length;
    var lines = parts.gutter.children;
    while (lines.length < wanted) {
      var span = document.createElement("span");
      span.className = "gutter-line";
      span.setAttribute("data-line", String(lines.length + 1));
      span.textContent = String(lines.length + 1);
      parts.gutter.appendChild(span);
    }
    while (lines.length > wanted) parts.gutter.removeChild(parts.gutter.lastChild);
    parts.gutter.scrollTop = parts.text.scrollTop;
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("textarea[data-policy-text]")) syncGutter();
  });
  document.addEventListener("scroll", function (event) {
    if (event.target.matches && event.target.matches("textarea[data-policy-text]")) syncGutter();
  }, true);
  document.addEventListener("htmx:afterSettle", syncGutter);
  document.addEventListener("DOMContentLoaded", syncGutter);

  // A finding's line:column button puts the cursor there.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-goto-line]") : null;
    var parts = editorParts();
    if (!button || !parts) return;
    var line = parseInt(button.getAttribute("data-goto-line"), 10);
    var column = parseInt(button.getAttribute("data-goto-column"), 10) || 1;
    var rows = parts.text.value.split("\n");
    var offset = 0;
    for (var i = 0; i < line - 1 && i < rows.length; i++) offset += rows[i].length + 1;
    offset += Math.min(column - 1, (rows[line - 1] || "").length);
    parts.text.focus();
    parts.text.setSelectionRange(offset, offset);
    var lineHeight = parseFloat(window.getComputedStyle(parts.text).lineHeight) || 18;
    parts.text.scrollTop = Math.max(0, (line - 3) * lineHeight);
    syncGutter();
  });

  // The simulator shows the user picker or the policy box, whichever "Decide for" names.
  function syncSubject() {
    var form = document.querySelector("[data-testid=simulator-form]");
    if (!form) return;
    var checked = form.querySelector("input[name=subject]:checked");
    var subject = checked ? checked.value : "user";
    form.querySelector(".subject-user").hidden = subject !== "user";
    form.querySelector(".subject-document").hidden = subject !== "document";
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("input[name=subject]")) syncSubject();
  });
  document.addEventListener("DOMContentLoaded", syncSubject);

  // The simulator's image picker: the image's condition keys replace the ims: lines of the context.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("select[data-fill-context]")) return;
    var option = select.options[select.selectedIndex];
    var box = document.querySelector(select.getAttribute("data-fill-context"));
    if (!box || !option || !option.value) return;
    var kept = box.value.split("\n").filter(function (line) {
      return line.trim() !== "" && line.trim().toLowerCase().indexOf("ims:") !== 0;
    });
    box.value = kept.concat(option.getAttribute("data-context").split("\n")).join("\n");
  });
})();
