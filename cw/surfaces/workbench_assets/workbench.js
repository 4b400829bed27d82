/* cw workbench: sortable tables (progressive enhancement; the pages work without it). */
(function () {
  "use strict";

  // A cell's sort key: the JSON value of its first payload value if numeric, else its text.
  function key(cell, numeric) {
    var tagged = cell.querySelector("[data-value]");
    if (numeric && tagged) {
      try {
        var v = JSON.parse(tagged.getAttribute("data-value"));
        if (typeof v === "number") return v;
      } catch (e) { /* not JSON: fall back to the text */ }
      return null;
    }
    var text = cell.textContent.trim();
    if (numeric) {
      var n = parseFloat(text.replace(/[^0-9.eE+-]/g, ""));
      return isNaN(n) ? null : n;
    }
    return text.toLowerCase();
  }

  function compare(a, b) {
    if (a === b) return 0;
    if (a === null) return 1; // blanks (n/a, unreported) sort last either way
    if (b === null) return -1;
    return a < b ? -1 : 1;
  }

  function sortBy(table, th, index) {
    var numeric = th.getAttribute("data-sort") === "num";
    var next = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    table.querySelectorAll("thead th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", next);
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var fixed = rows.filter(function (r) { return r.classList.contains("total") || r.classList.contains("empty"); });
    var moving = rows.filter(function (r) { return fixed.indexOf(r) < 0; });
    var keyed = moving.map(function (r, i) {
      var cell = r.cells[index];
      return { row: r, key: cell ? key(cell, numeric) : null, i: i };
    });
    keyed.sort(function (x, y) {
      var c = compare(x.key, y.key);
      if (c !== 0 && x.key !== null && y.key !== null && next === "descending") c = -c;
      return c || x.i - y.i;
    });
    keyed.forEach(function (k) { body.appendChild(k.row); });
    fixed.forEach(function (r) { body.appendChild(r); });
  }

  function enhance(table) {
    if (!table.tHead || !table.tBodies.length) return;
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, index) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      button.addEventListener("click", function () { sortBy(table, th, index); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table.sortable").forEach(enhance);
  });
})();
