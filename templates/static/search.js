/* Search page: Pagefind's UI fills the space reserved for it (without JavaScript the page
   links to the browsable listings instead). The header form's query (?q=) is searched at once.

   The index comes in shards: pagefind/ holds the first, and pagefind/shards.json lists the
   folders of the others. They are merged into Pagefind's instance here, all at once, when
   the search box is first used, as Pagefind loads its index (the UI's own mergeIndex option
   loads them one after the other); the UI imports the same pagefind.js module, so it
   searches them all. */
(function () {
  var root = document.getElementById("search");
  var script = document.querySelector("script[src$='pagefind-ui.js']");
  if (!root || !script || typeof PagefindUI === "undefined") return;
  var bundle = new URL(".", script.src);  // pagefind/, as the UI finds it
  var excerptLength = 12;  // words around a match, the same in every shard

  var merge = function () {};  // merges the shards into Pagefind's instance, once

  function start() {
    root.textContent = "";  // the note for browsers without JavaScript
    var ui = new PagefindUI({
      element: "#search",
      showSubResults: true,
      showImages: false,
      excerptLength: excerptLength,
      translations: { placeholder: root.getAttribute("data-placeholder") }
    });
    // Pagefind labels its input only by a title: name it by the page's visible heading.
    var input = root.querySelector("input"), heading = document.querySelector("main h1");
    if (input && heading) {
      heading.id = heading.id || "search-title";
      input.setAttribute("aria-labelledby", heading.id);
    }
    // Before the UI's own start on focus goes on (it awaits), so it finds every shard.
    root.addEventListener("focusin", function () { merge(); }, true);
    var query = new URLSearchParams(window.location.search).get("q");
    if (query) {
      merge();
      ui.triggerSearch(query);
    }
  }

  Promise.all([
    import(new URL("pagefind.js", bundle).href),
    fetch(new URL("shards.json", bundle)).then(function (response) { return response.json(); })
  ]).then(function (loaded) {
    var pagefind = loaded[0], shards = loaded[1];
    pagefind.options({ excerptLength: excerptLength });
    merge = function () {
      merge = function () {};
      shards.forEach(function (folder) {
        pagefind.mergeIndex(new URL(folder, bundle).pathname, { excerptLength: excerptLength });
      });
    };
  }).catch(function (error) {
    console.error("search: the index's shards could not be loaded", error);
  }).then(start);
})();
