// kb: small progressive enhancements. No inline script anywhere (the CSP forbids it);
// every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // <input type="checkbox" data-select-all="NAME">: toggles every checkbox named NAME.
  document.querySelectorAll("input[data-select-all]").forEach(function (box) {
    box.addEventListener("change", function () {
      var name = box.getAttribute("data-select-all");
      document.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(
        function (other) { other.checked = box.checked; }
      );
    });
  });
  // <form data-confirm="Really?">: asks before submitting.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
});
