// gitferry's dashboard: the CSRF header on htmx requests, confirmations, and the live jobs table.
(function () {
  "use strict";
  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrf();
  });

  // A form with data-confirm asks before it is sent.
  var leaving = false;  // a form was sent: the page it leads to must not be cut off by a reload of this one
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    } else if (!event.target.hasAttribute("hx-post")) {
      leaving = true;
    }
  });

  // The jobs table follows the jobs: Server-Sent Events say when they change; without them
  // (or when the server has no stream to spare) the table is polled.
  function follow(box) {
    var table = box.getAttribute("data-table");
    var polling = null;
    function reload() {
      var busy = box.ownerDocument.querySelectorAll("#jobs tr.state-queued, #jobs tr.state-running").length;
      var opened = Array.prototype.map.call(document.querySelectorAll("#jobs details[open]"),
        function (d) { return d.getAttribute("data-job"); });
      fetch(table, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null) { return; }
          var current = document.getElementById("jobs");
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var fresh = holder.querySelector("#jobs");
          if (!current || !fresh) { return; }
          current.replaceWith(fresh);
          var still = fresh.querySelectorAll("tr.state-queued, tr.state-running").length;
          // On a repo's page, a job that ended may have moved its branches: show them as they are now
          // (not while a dialog is open: the question it asks would be lost).
          if (document.body.getAttribute("data-page") === "repo" && still < busy && !leaving &&
              !document.querySelector("dialog[open]")) {
            window.location.reload();
            return;
          }
          opened.forEach(function (id) {
            var d = fresh.querySelector('details[data-job="' + id + '"]');
            if (d) { d.open = true; }
          });
        })
        // The page is going away (Firefox rejects the fetches it cancels) or the server is down:
        // the next event, or the next poll, asks again.
        .catch(function () {});
    }
    function poll() {
      if (!polling) { polling = window.setInterval(reload, 2000); }
    }
    if (!window.EventSource) { poll(); return; }
    var source = new EventSource(box.getAttribute("data-stream"));
    source.addEventListener("jobs", reload);
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) { poll(); }
    });
  }

  // The first-run link: /dashboard/sign-in#token=... The token leaves the address bar (and the
  // history) before the form posts it; it never reaches the server in a URL.
  function signInFromLink() {
    var field = document.getElementById("token");
    if (!field || window.location.hash.indexOf("#token=") !== 0) { return; }
    field.value = decodeURIComponent(window.location.hash.slice(7));
    window.history.replaceState(null, "", window.location.pathname);
    field.form.submit();
  }

  document.addEventListener("DOMContentLoaded", function () {
    signInFromLink();
    var box = document.getElementById("jobs");
    if (box) { follow(box); }
  });
})();
