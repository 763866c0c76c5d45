/* Search page enhancement: Pagefind's UI replaces the browsable lists when JS runs.
   The query of the header's search form (?q=) is searched at once. */
(function () {
  var root = document.getElementById("search");
  if (!root || typeof PagefindUI === "undefined") return;
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
  document.documentElement.classList.add("has-search");
  var query = new URLSearchParams(window.location.search).get("q");
  if (query) ui.triggerSearch(query);
})();
