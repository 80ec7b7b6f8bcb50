// Audit progress on the desk's round page: poll /api/audits/<id> (session cookie) until done.
(function () {
  "use strict";
  var card = document.getElementById("progress-card");
  if (!card) { return; }
  var id = card.getAttribute("data-audit");
  if (!id) { return; }
  var bar = document.getElementById("progress");
  var text = document.getElementById("progress-text");
  card.classList.remove("hidden");

  function poll() {
    fetch("/api/audits/" + encodeURIComponent(id), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (typeof s.percent === "number") { bar.setAttribute("value", String(s.percent)); }
        var counts = s.total ? " " + s.done + " / " + s.total : "";
        text.textContent = (s.phase || "") + counts;
        if (s.state === "running") {
          window.setTimeout(poll, 400);
        } else {
          text.textContent = s.message || "";
          card.setAttribute("data-state", s.state);
          // Show the new summary (the URL without ?audit= so a reload does not poll again).
          window.setTimeout(function () { window.location.replace(window.location.pathname); }, 300);
        }
      })
      .catch(function () { window.setTimeout(poll, 1500); });
  }
  poll();
}());
