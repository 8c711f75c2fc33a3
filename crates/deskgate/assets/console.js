// deskgate console: small enhancements over server-rendered pages, which all work without
// this script. No framework, no build step.
//
// - copy buttons:   <button data-copy="element-id"> copies that element's value or text
// - live preview:   <form data-preview-url=".." data-preview-target="id" data-preview-mini="id">
//                   reloads the preview fragment as the form changes
// - instant search: <input data-filter-list="list-id" data-filter-count="id"> hides items of
//                   the list whose data-search text lacks a typed word
// - lazy details:   <details data-src=".."> loads its body the first time it opens
// - linked choices: <input type=checkbox data-selects="radio-id"> selects that radio when ticked
"use strict";

document.documentElement.classList.add("js");

function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  // Plain-HTTP origins (a LAN deskgate) have no async clipboard: fall back to a selection.
  return new Promise(function (resolve, reject) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    if (ok) { resolve(); } else { reject(new Error("copy refused")); }
  });
}

function setUpCopyButtons() {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var target = document.getElementById(button.getAttribute("data-copy"));
      if (!target) { return; }
      var text = "value" in target && target.value !== undefined ? target.value : target.textContent;
      var status = button.parentElement.querySelector(".copy-status");
      copyText(text).then(function () {
        if (status) { status.textContent = "Copied"; }
      }, function () {
        if (target.select) { target.select(); }
        if (status) { status.textContent = "Press Ctrl+C to copy"; }
      });
      if (status) {
        clearTimeout(button._clear);
        button._clear = setTimeout(function () { status.textContent = ""; }, 4000);
      }
    });
  });
}

function formQuery(form) {
  var params = new URLSearchParams();
  new FormData(form).forEach(function (value, name) {
    if (name !== "csrf" && typeof value === "string") { params.append(name, value); }
  });
  return params.toString();
}

function setUpPreview() {
  document.querySelectorAll("form[data-preview-url]").forEach(function (form) {
    var target = document.getElementById(form.getAttribute("data-preview-target"));
    if (!target) { return; }
    var url = form.getAttribute("data-preview-url");
    var mini = document.getElementById(form.getAttribute("data-preview-mini"));
    var timer = null;
    var latest = 0;
    var last = formQuery(form);
    function refresh() {
      var query = formQuery(form);
      if (query === last) { return; }
      last = query;
      var mine = ++latest;
      target.setAttribute("aria-busy", "true");
      fetch(url + "?" + query, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.text();
        })
        .then(function (html) {
          // Only the newest request may write: answers can arrive out of order.
          if (mine === latest) {
            target.innerHTML = html;
            updateMini();
          }
        })
        .catch(function () {
          if (mine === latest) { target.textContent = "The preview could not be loaded; it will be checked when you create the server."; }
        })
        .finally(function () {
          if (mine === latest) { target.setAttribute("aria-busy", "false"); }
        });
    }
    // The one-line summary kept in view on narrow screens, built from the new preview.
    function updateMini() {
      if (!mini) { return; }
      var count = target.querySelector("#preview-count");
      var tokens = target.querySelector("#preview-tokens");
      var line = document.createElement("p");
      if (count) {
        var strong = document.createElement("strong");
        strong.textContent = count.textContent;
        line.appendChild(strong);
        // The count is exact (o200k_base), so no "about".
        line.appendChild(document.createTextNode(" · " + (tokens ? tokens.textContent : "")));
      } else {
        line.textContent = "This config exposes no tools.";
      }
      mini.replaceChildren(line);
    }
    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(refresh, 150);
    }
    form.addEventListener("change", schedule);
    form.addEventListener("input", function (event) {
      // Typing a name does not change the tools.
      if (event.target && event.target.name !== "name") { schedule(); }
    });
  });
}

function setUpFilters() {
  document.querySelectorAll("input[data-filter-list]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("data-filter-list"));
    var count = document.getElementById(input.getAttribute("data-filter-count"));
    if (!list) { return; }
    var items = Array.prototype.slice.call(list.querySelectorAll("[data-search]"));
    var texts = items.map(function (item) { return item.getAttribute("data-search").toLowerCase(); });
    var total = count ? count.textContent.replace(/^\s*\d+ of /, "") : "";
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      items.forEach(function (item, i) {
        var match = words.every(function (w) { return texts[i].indexOf(w) !== -1; });
        item.hidden = !match;
        if (match) { shown += 1; }
      });
      if (count) { count.textContent = shown + " of " + total; }
    });
  });
}

function setUpLazyDetails() {
  document.querySelectorAll("details[data-src]").forEach(function (details) {
    details.addEventListener("toggle", function () {
      if (!details.open || details.getAttribute("data-loaded")) { return; }
      details.setAttribute("data-loaded", "loading");
      var body = details.querySelector(".schema-body") || details;
      fetch(details.getAttribute("data-src"), { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.text();
        })
        .then(function (html) {
          body.innerHTML = html;
          details.setAttribute("data-loaded", "yes");
        })
        .catch(function () {
          details.removeAttribute("data-loaded");
        });
    });
  });
}

function setUpLinkedChoices() {
  document.querySelectorAll("input[data-selects]").forEach(function (box) {
    box.addEventListener("change", function () {
      var radio = document.getElementById(box.getAttribute("data-selects"));
      if (box.checked && radio) { radio.checked = true; }
    });
  });
}

setUpCopyButtons();
setUpLinkedChoices();
setUpPreview();
setUpFilters();
setUpLazyDetails();
