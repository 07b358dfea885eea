// Drag a local branch onto a remote branch to push it there (its upstream stays as it is).
// A drop, or the keyboard's "To another remote branch" form, fills the real form in the
// #dragpush dialog and opens it; the dialog asks for a dry run first (htmx), then Push or Cancel.
(function () {
  "use strict";
  var dragged = null; // the local branch being dragged

  // Fill the dialog's form for pushing `branch` to `to` ("remote/branch") and open it.
  function ask(branch, to) {
    var dialog = document.getElementById("dragpush");
    var slash = to.indexOf("/"); // remote names have no "/"; branch names may
    if (!dialog || !branch || slash < 1 || slash === to.length - 1) { return false; }
    var form = dialog.querySelector("form");
    form.elements.branch.value = branch;
    form.elements.remote.value = to.slice(0, slash);
    form.elements.remote_branch.value = to.slice(slash + 1);
    dialog.querySelector("h2").textContent = "Push " + branch + " to " + to + "? Upstream is not changed.";
    var preview = dialog.querySelector(".dragpush-preview");
    preview.textContent = "Dry run: looking at " + to + "…";
    dialog.showModal();
    document.getElementById("dragpush-cancel").focus(); // the safe choice has the focus
    if (window.htmx) { window.htmx.trigger(preview, "dragpush-preview"); }
    return true;
  }

  document.addEventListener("dragstart", function (event) {
    var row = event.target.closest && event.target.closest("tr[draggable][data-branch]");
    if (!row) { return; }
    dragged = row.getAttribute("data-branch");
    event.dataTransfer.setData("text/plain", dragged);
    event.dataTransfer.effectAllowed = "copy";
  });
  document.addEventListener("dragend", function () { dragged = null; });

  function target(event) {
    return dragged && event.target.closest ? event.target.closest("li[data-push-to]") : null;
  }
  // A remote branch under a dragged local branch takes the drop (and shows it).
  document.addEventListener("dragover", function (event) {
    var li = target(event);
    if (!li) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    li.classList.add("drop-here");
  });
  document.addEventListener("dragleave", function (event) {
    var li = target(event);
    if (li) { li.classList.remove("drop-here"); }
  });
  document.addEventListener("drop", function (event) {
    var li = target(event);
    if (!li) { return; }
    event.preventDefault();
    li.classList.remove("drop-here");
    ask(dragged, li.getAttribute("data-push-to"));
  });

  // The keyboard's way: the branch's "To another remote branch" form opens the same dialog.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("dragpush-pick")) { return; }
    if (ask(form.elements.branch.value, form.elements.to.value.trim())) { event.preventDefault(); }
  });
})();
