/* Search page: Pagefind's UI fills the space reserved for it (without JavaScript the page
   links to the browsable listings instead). The header form's query (?q=) is searched at once.

   The index comes in shards: pagefind/ holds the first, and pagefind/shards.json lists the
   folders of the others. They are given to the UI as indexes to merge: it loads them when
   the search box is first used, as it loads its own, and only then reads the filters, so
   every shard's filter values are listed. (Merging them outside the UI, all at once, raced
   with its one reading of the filters: a claimant found only in a later shard could be
   missing from the list.) A shard the host does not serve is left out, with a note that
   results may be incomplete. */
(function () {
  var root = document.getElementById("search");
  var script = document.querySelector("script[src$='pagefind-ui.js']");
  if (!root || !script || typeof PagefindUI === "undefined") return;
  var bundle = new URL(".", script.src);  // pagefind/, as the UI finds it
  var excerptLength = 12;  // words around a match, the same in every shard

  function start(shards) {
    root.textContent = "";  // the note for browsers without JavaScript
    // The shards to merge: filled with those that load before Pagefind first reads the list
    // (a shard that 404s made Pagefind's loading fail, and its search wait forever).
    var merged = [];
    var ui = new PagefindUI({
      element: "#search",
      showSubResults: true,
      showImages: false,
      excerptLength: excerptLength,
      mergeIndex: merged,
      translations: { placeholder: root.getAttribute("data-placeholder") }
    });
    // Pagefind labels its input only by a title: name it by the page's visible heading.
    var input = root.querySelector("input"), heading = document.querySelector("main h1");
    if (input && heading) {
      heading.id = heading.id || "search-title";
      input.setAttribute("aria-labelledby", heading.id);
    }
    var checked = null, ready = false;
    function check() {  // once: which shards' entry files load, then tell Pagefind
      if (checked) return checked;
      checked = Promise.all(shards.map(function (folder) {
        return fetch(new URL("pagefind-entry.json", new URL(folder, bundle))).then(
          function (response) { return response.ok; }, function () { return false; });
      })).then(function (loaded) {
        shards.forEach(function (folder, n) {
          if (loaded[n]) {
            merged.push({ bundlePath: new URL(folder, bundle).pathname, excerptLength: excerptLength });
          }
        });
        ready = true;
        return loaded;
      });
      checked.then(function (loaded) {  // apart: the search goes on whatever happens here
        var missing = shards.filter(function (_, n) { return !loaded[n]; });
        if (!missing.length) return;
        console.warn("search: these parts of the index could not be loaded:", missing);
        var note = document.createElement("p");
        note.className = "search-missing";
        note.setAttribute("role", "status");
        note.textContent = (root.getAttribute("data-missing") || "{n}/{m}")
          .replace("{n}", missing.length).replace("{m}", shards.length + 1);
        root.insertBefore(note, root.firstChild);
      });
      return checked;
    }
    // Pagefind reads the list when its box is first used (focus, or typing): hold those
    // events back until the shards are checked, then hand them on.
    ["focus", "input"].forEach(function (type) {
      root.addEventListener(type, function (event) {
        if (ready || event.target !== input) return;
        event.stopPropagation();
        check().then(function () {
          input.dispatchEvent(new FocusEvent("focus"));
          if (input.value) input.dispatchEvent(new Event("input", { bubbles: true }));
        });
      }, true);
    });
    var query = new URLSearchParams(window.location.search).get("q");
    if (query) check().then(function () { ui.triggerSearch(query); });
  }

  fetch(new URL("shards.json", bundle)).then(function (response) {
    return response.json();
  }).catch(function (error) {
    console.error("search: the list of the index's shards could not be loaded", error);
    return [];
  }).then(start);
})();
