/* Keyboard shortcuts of the agent desk (listed on each page under "Keyboard shortcuts").
   Single keys act only when the focus is not in a field; every shortcut is also a plain link or
   button, so nothing needs this script. No inline script: the Content-Security-Policy holds. */
(function () {
  "use strict";
  var pendingG = false;

  function typing(target) {
    if (!target) return false;
    var tag = (target.tagName || "").toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function focusSection(hash) {
    var section = document.querySelector(hash);
    if (!section) return false;
    var holder = section.closest("section") || section;
    var field = holder.querySelector("input:not([type=hidden]):not([disabled]), select, textarea");
    section.scrollIntoView();
    if (field) field.focus(); else { section.setAttribute("tabindex", "-1"); section.focus(); }
    return true;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a") : null;
    if (!link) return;
    if (link.hasAttribute("data-print")) { event.preventDefault(); window.print(); return; }
    var href = link.getAttribute("href") || "";
    if (href.charAt(0) === "#" && href.length > 1 && focusSection(href)) event.preventDefault();
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var key = event.key;
    if (pendingG) {
      pendingG = false;
      if (key === "h") { event.preventDefault(); window.location.href = document.querySelector(".brand a").href; }
      return;
    }
    if (key === "g") { pendingG = true; return; }
    if (key === "/") {
      var box = document.getElementById("q");
      event.preventDefault();
      if (box) box.focus(); else window.location.href = document.querySelector(".brand a").href;
      return;
    }
    var target = document.querySelector('[data-key="' + key + '"]');
    if (target) { event.preventDefault(); target.click(); }
  });
})();
