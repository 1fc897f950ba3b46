// therabill's page script: optional comfort only, every form works without it.
// Shows a code's plain-language summary as it is typed, names the chosen locality,
// and adds service rows to the visit form.
(function () {
  "use strict";
  var summaries = {};
  var data = document.getElementById("code-summaries");
  if (data) {
    try { summaries = JSON.parse(data.textContent); } catch (e) { summaries = {}; }
  }

  function showSummary(input) {
    var holder = input.closest(".line-row, form");
    var out = holder ? holder.querySelector("output.summary") : null;
    if (!out) { return; }
    var code = input.value.trim().toUpperCase();
    if (!code) { out.textContent = ""; return; }
    if (summaries[code]) { out.textContent = code + ": " + summaries[code]; return; }
    var starts = Object.keys(summaries).filter(function (c) { return c.indexOf(code) === 0; });
    out.textContent = code.length < 5 && starts.length
      ? starts.length + " codes start with " + code
      : (code.length === 5 ? code + " is not in the therapy code catalogue" : "");
  }

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target.matches && target.matches("input.code")) { showSummary(target); }
    if (target.id === "locality") { showLocality(target); }
  });

  // The locality field: an exact id shows its name; words (state, county, city) list the
  // localities whose names hold them all, as buttons that fill the field.
  function showLocality(input) {
    var out = document.getElementById("locality-name");
    var list = document.getElementById("localities");
    if (!out || !list) { return; }
    var value = input.value.trim();
    var options = Array.prototype.slice.call(list.options);
    var match = options.find(function (o) { return o.value === value; });
    out.textContent = "";
    if (match || !value) {
      out.textContent = match ? match.textContent : "";
      return;
    }
    var words = value.toUpperCase().split(/\s+/);
    var found = options.filter(function (o) {
      var text = (o.value + " " + o.textContent).toUpperCase();
      return words.every(function (w) { return text.indexOf(w) >= 0; });
    }).slice(0, 6);
    if (!found.length) {
      out.textContent = "no locality matches " + value;
      return;
    }
    found.forEach(function (o) {
      var pick = document.createElement("button");
      pick.type = "button";
      pick.className = "pick";
      pick.textContent = o.value + " " + o.textContent.split(":")[0];
      pick.addEventListener("click", function () {
        input.value = o.value;
        showLocality(input);
        input.focus();
      });
      out.appendChild(pick);
    });
  }

  var add = document.getElementById("add-line");
  var rows = document.getElementById("line-rows");
  if (add && rows) {
    add.hidden = false;
    add.addEventListener("click", function () {
      var last = rows.querySelector(".line-row:last-of-type");
      var copy = last.cloneNode(true);
      var number = rows.querySelectorAll(".line-row").length + 1;
      copy.setAttribute("aria-label", "Line " + number);
      copy.querySelectorAll("input").forEach(function (i) {
        i.value = "";
        i.setAttribute("aria-label", i.getAttribute("aria-label").replace(/\d+$/, number));
      });
      copy.querySelectorAll("select").forEach(function (s) {
        s.selectedIndex = 0;
        s.setAttribute("aria-label", s.getAttribute("aria-label").replace(/\d+$/, number));
      });
      copy.querySelector("output").textContent = "";
      rows.appendChild(copy);
      copy.querySelector("input.code").focus();
    });
  }
  var locality = document.getElementById("locality");
  if (locality) { showLocality(locality); }
  document.querySelectorAll("input.code").forEach(function (i) { if (i.value) { showSummary(i); } });
})();
