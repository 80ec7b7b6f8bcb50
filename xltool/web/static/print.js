// The receipt's print button (no inline script under the page's Content-Security-Policy).
(function () {
  "use strict";
  var button = document.getElementById("print-receipt");
  if (button) {
    button.addEventListener("click", function () { window.print(); });
  }
}());
