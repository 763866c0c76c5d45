/* Source pages: a passage cut into pieces (where it crosses another) is marked
   whole when it is the link target; CSS alone marks only its first piece. */
(function () {
  function mark() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    document.querySelectorAll("mark.is-target").forEach(function (el) {
      el.classList.remove("is-target");
    });
    if (!id) return;
    document.querySelectorAll("mark[data-passage]").forEach(function (el) {
      if (el.getAttribute("data-passage") === id) el.classList.add("is-target");
    });
  }
  window.addEventListener("hashchange", mark);
  mark();
})();
