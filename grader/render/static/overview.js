// Sorting and filtering the submissions table; the table is complete without this script.
(function () {
  "use strict";
  var table = document.getElementById("grades");
  if (!table) { return; }
  var body = table.tBodies[0];
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var filter = document.getElementById("filter");
  var onlyReview = document.getElementById("only-review");
  var onlyErrors = document.getElementById("only-errors");
  var shown = document.getElementById("shown");

  function value(row, col, type) {
    var v = row.cells[col].getAttribute("data-value") || "";
    return type === "num" ? parseFloat(v) : v.toLowerCase();
  }

  heads.forEach(function (th, col) {
    var button = th.querySelector("button");
    if (!button) { return; }
    button.addEventListener("click", function () {
      var type = th.getAttribute("data-type");
      var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = value(a, col, type), y = value(b, col, type);
        return (x < y ? -1 : x > y ? 1 : 0) * dir;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });

  function apply() {
    var words = filter.value.trim().toLowerCase();
    var count = 0;
    Array.prototype.forEach.call(body.rows, function (row) {
      var ok = (!words || row.textContent.toLowerCase().indexOf(words) !== -1) &&
        (!onlyReview.checked || row.getAttribute("data-review") === "yes") &&
        (!onlyErrors.checked || row.getAttribute("data-problem") === "yes");
      row.hidden = !ok;
      count += ok ? 1 : 0;
    });
    shown.textContent = count + " of " + body.rows.length + " shown";
  }
  [filter, onlyReview, onlyErrors].forEach(function (el) { el.addEventListener("input", apply); });
  apply();
})();
