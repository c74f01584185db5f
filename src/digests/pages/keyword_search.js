// The keyword field of the subscription form as a search box (DESIGN §5). While the
// reader types, the keyword being typed (the text after the last separator) is looked up
// in GET /keywords?q= — prefix and Traditional/Simplified folded, top matches first — and
// the matches are offered under the field; choosing one puts its name in the field.
// Without this script the field is what it always was: keywords typed by hand,
// separated by commas, folded by the server.
(function () {
  "use strict";
  var field = document.getElementById("more_keywords");
  var list = document.getElementById("keyword_matches");
  if (!field || !list || !window.fetch || !window.AbortController) {
    return;
  }
  // The separators the server splits the field on (pages::form::split_list).
  var SEPARATOR = /[,，;；、\r\n]/;
  var SHOWN = 10;
  var asked = "";
  var inFlight = null;
  var timer = 0;

  function lastCut(value) {
    for (var i = value.length - 1; i >= 0; i--) {
      if (SEPARATOR.test(value.charAt(i))) {
        return i + 1;
      }
    }
    return 0;
  }

  function typed() {
    return field.value.slice(lastCut(field.value)).trim();
  }

  function clear() {
    list.textContent = "";
    list.hidden = true;
  }

  function choose(name) {
    field.value = field.value.slice(0, lastCut(field.value)) + name + "，";
    asked = "";
    clear();
    field.focus();
  }

  function show(matches) {
    list.textContent = "";
    matches.slice(0, SHOWN).forEach(function (m) {
      var name = m.title || m.key;
      if (typeof name !== "string" || name === "") {
        return;
      }
      var item = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = typeof m.items === "number" ? name + " (" + m.items + ")" : name;
      button.addEventListener("click", function () {
        choose(name);
      });
      item.appendChild(button);
      list.appendChild(item);
    });
    list.hidden = list.childElementCount === 0;
  }

  function search() {
    var q = typed();
    if (q === asked) {
      return;
    }
    asked = q;
    if (inFlight) {
      inFlight.abort();
      inFlight = null;
    }
    if (q === "") {
      clear();
      return;
    }
    inFlight = new AbortController();
    fetch("/keywords?q=" + encodeURIComponent(q), {
      signal: inFlight.signal,
      headers: { Accept: "application/json" },
    })
      .then(function (r) {
        return r.ok ? r.json() : [];
      })
      .then(function (matches) {
        if (q === typed()) {
          show(Array.isArray(matches) ? matches : []);
        }
      })
      .catch(function () {
        // Aborted by a newer search, or no answer: typing by hand still works.
      });
  }

  field.setAttribute("autocomplete", "off");
  field.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(search, 150);
  });
  field.addEventListener("keydown", function (e) {
    if (e.key === "Escape") {
      clear();
    }
  });
  field.dataset.search = "on";
})();
