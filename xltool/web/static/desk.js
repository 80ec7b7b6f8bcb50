// Progress of the desk's background work (an audit, a templates zip, mail to many units): poll the
// card's data-poll URL (/api/audits/<id> or /api/tasks/<id>, session cookie) until it is done,
// then load data-then (the page without ?audit=, or the task's page with its outcome).
(function () {
  "use strict";
  var card = document.getElementById("progress-card");
  if (!card) { return; }
  var url = card.getAttribute("data-poll");
  if (!url) { return; }
  var bar = document.getElementById("progress");
  var text = document.getElementById("progress-text");
  var then = card.getAttribute("data-then") || window.location.pathname;
  card.classList.remove("hidden");

  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (typeof s.percent === "number") { bar.setAttribute("value", String(s.percent)); }
        var counts = s.total ? " " + s.done + " / " + s.total : "";
        text.textContent = (s.phase || "") + counts;
        if (s.state === "running") {
          window.setTimeout(poll, 400);
        } else {
          text.textContent = s.message || "";
          card.setAttribute("data-state", s.state || "");
          window.setTimeout(function () { window.location.replace(then); }, 300);
        }
      })
      .catch(function () { window.setTimeout(poll, 1500); });
  }
  poll();
}());
