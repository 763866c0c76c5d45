/* Search page: Pagefind's UI fills the space reserved for it (without JavaScript the page
   links to the browsable listings instead). The header form's query (?q=) is searched at once.

   The index comes in shards: pagefind/ holds the first, and pagefind/shards.json lists the
   folders of the others. They are given to the UI as indexes to merge: it loads them when
   the search box is first used, as it loads its own, and only then reads the filters, so
   every shard's filter values are listed. (Merging them outside the UI, all at once, raced
   with its one reading of the filters: a claimant found only in a later shard could be
   missing from the list.) */
(function () {
  var root = document.getElementById("search");
  var script = document.querySelector("script[src$='pagefind-ui.js']");
  if (!root || !script || typeof PagefindUI === "undefined") return;
  var bundle = new URL(".", script.src);  // pagefind/, as the UI finds it
  var excerptLength = 12;  // words around a match, the same in every shard

  function start(shards) {
    root.textContent = "";  // the note for browsers without JavaScript
    var ui = new PagefindUI({
      element: "#search",
      showSubResults: true,
      showImages: false,
      excerptLength: excerptLength,
      mergeIndex: shards.map(function (folder) {
        return { bundlePath: new URL(folder, bundle).pathname, excerptLength: excerptLength };
      }),
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
  }

  fetch(new URL("shards.json", bundle)).then(function (response) {
    return response.json();
  }).catch(function (error) {
    console.error("search: the list of the index's shards could not be loaded", error);
    return [];
  }).then(start);
})();
