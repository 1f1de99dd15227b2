// Sorting and filtering for the preflight HTML report. The page is complete without
// this script: the controls stay hidden and every item is shown in checklist order.
(function () {
  "use strict";
  try {
    var bar = document.getElementById("filters");
    var status = document.getElementById("f-status");
    var text = document.getElementById("f-text");
    var count = document.getElementById("f-count");
    if (!bar || !status || !text || !count || !document.querySelectorAll) {
      return;
    }
    var rows = [];
    var all = document.querySelectorAll("table.items tbody tr");
    for (var i = 0; i < all.length; i++) {
      rows.push({ tr: all[i], text: (all[i].textContent || "").toLowerCase() });
    }
    var sections = document.querySelectorAll("#items section.sec");

    function apply() {
      var want = status.value;
      var words = text.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      for (var i = 0; i < rows.length; i++) {
        var st = rows[i].tr.getAttribute("data-status");
        var ok = !want || st === want || (want === "problems" && st !== "pass");
        for (var w = 0; ok && w < words.length; w++) {
          ok = rows[i].text.indexOf(words[w]) !== -1;
        }
        rows[i].tr.classList.toggle("hide", !ok);
        if (ok) {
          shown++;
        }
      }
      for (var s = 0; s < sections.length; s++) {
        var visible = sections[s].querySelector("tbody tr:not(.hide)");
        sections[s].classList.toggle("none", !visible);
      }
      count.textContent =
        want || words.length ? shown + " of " + rows.length + " items shown" : "";
    }

    function key(tr, by) {
      if (by === "id" || by === "title" || by === "owner") {
        var cell = tr.querySelector(".c-" + by);
        return cell ? (cell.textContent || "").toLowerCase() : "";
      }
      return Number(tr.getAttribute("data-" + by)) || 0;
    }

    function sortBy(th, by) {
      var table = th.closest("table");
      var body = table && table.tBodies[0];
      if (!body) {
        return;
      }
      var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      var heads = table.querySelectorAll("th");
      for (var h = 0; h < heads.length; h++) {
        heads[h].removeAttribute("aria-sort");
      }
      th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
      var list = Array.prototype.slice.call(body.rows);
      list.sort(function (a, b) {
        var x = key(a, by);
        var y = key(b, by);
        if (x < y) {
          return -dir;
        }
        if (x > y) {
          return dir;
        }
        return Number(a.getAttribute("data-pos")) - Number(b.getAttribute("data-pos"));
      });
      for (var r = 0; r < list.length; r++) {
        body.appendChild(list[r]);
      }
    }

    var heads = document.querySelectorAll("table.items th[data-sort]");
    for (var h = 0; h < heads.length; h++) {
      (function (th) {
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = th.textContent;
        button.title = "sort by " + th.textContent.toLowerCase();
        th.textContent = "";
        th.appendChild(button);
        button.addEventListener("click", function () {
          sortBy(th, th.getAttribute("data-sort"));
        });
      })(heads[h]);
    }
    status.addEventListener("change", apply);
    text.addEventListener("input", apply);
    bar.hidden = false;
  } catch (e) {
    // Sorting and filtering are extras: on any failure the page stays as rendered.
  }
})();
