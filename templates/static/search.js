/* Search page: Pagefind's UI fills the space reserved for it (without JavaScript the page
   links to the browsable listings instead). The header form's query (?q=) is searched at once. */
(function () {
  var root = document.getElementById("search");
  if (!root || typeof PagefindUI === "undefined") return;
  root.textContent = "";  // the note for browsers without JavaScript
  var ui = new PagefindUI({
    element: "#search",
    showSubResults: true,
    showImages: false,
    translations: { placeholder: root.getAttribute("data-placeholder") }
  });
  // Pagefind labels its input only by a title: name it by the page's visible heading.
  var input = root.querySelector("input"), heading = document.querySelector("main h1");
  if (input && heading) {
    heading.id = heading.id || "search-title";
    input.setAttribute("aria-labelledby", heading.id);
  }
  var query = new URLSearchParams(window.location.search).get("q");
  if (query) ui.triggerSearch(query);
})();
