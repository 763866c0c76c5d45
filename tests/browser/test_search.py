"""Search (Pagefind) in a real browser.

The search page's console, requests, width, axe and vnu checks run with every page type
(test_pages.py, test_vnu.py); these tests search for real.
"""

from __future__ import annotations

import json
import shutil
import re

import pytest
from axe_playwright_python.sync_playwright import Axe

from factsite import pipeline, search
from tests import corpus
from tests.browser import harness
from tests.conftest import DEMO as DEMO_CONTENT
from tests.conftest import TEMPLATES

DEMO, _ = pipeline.load_site(DEMO_CONTENT)
RESULT_LINKS = ".pagefind-ui__result-link"


def run_search(browsing, representatives, query: str, width: int = 375):
    visit = browsing.open(representatives["search"])
    box = visit.page.get_by_role("textbox", name="Search")
    box.fill(query)
    visit.page.wait_for_selector(RESULT_LINKS, timeout=10_000)
    return visit


@pytest.mark.parametrize("claim", [c for c in DEMO.claims if c.id in (
    "kaliningrad-weapons-not-negotiable", "russia-aggressor-country", "us-russia-talks-january-10")],
    ids=lambda c: c.id)
def test_a_word_of_a_quote_finds_its_claim(browse, representatives, claim):
    browsing = browse(width=375)
    word = max(claim.passages[0].text.split(), key=len).strip(".,“”\"'()")
    visit = run_search(browsing, representatives, word)
    hrefs = [a.get_attribute("href") for a in visit.page.query_selector_all(RESULT_LINKS)]
    assert any(h.rstrip("/").endswith(f"claims/{claim.id}") for h in hrefs), (word, hrefs)
    assert browsing.settle() == []


def test_the_header_search_box_searches_on_the_search_page(browse, representatives):
    browsing = browse(width=1280)
    visit = browsing.open(representatives["claim"])
    visit.page.get_by_role("searchbox").first.fill("Kaliningrad")
    visit.page.keyboard.press("Enter")
    visit.page.wait_for_selector(RESULT_LINKS, timeout=10_000)
    assert "/search/?q=Kaliningrad" in visit.page.url
    assert visit.page.input_value(".pagefind-ui__search-input") == "Kaliningrad"
    assert browsing.settle() == []


def test_filters_narrow_results_by_claimant(browse, representatives):
    browsing = browse(width=1280)
    visit = run_search(browsing, representatives, "Russia")
    before = len(visit.page.query_selector_all(RESULT_LINKS))
    visit.page.locator(".pagefind-ui__filter-name", has_text="Claimant").click(timeout=30_000)
    visit.page.get_by_label("Dmitry Peskov").check(timeout=30_000)
    # Pagefind empties the list and refills it as results load: wait for the filtered list
    # itself, not for the first moment it is shorter.
    visit.page.wait_for_function(
        """([selector, claim]) => {
             const links = [...document.querySelectorAll(selector)];
             return links.length > 0 && links.every(a => a.href.includes(claim));
           }""",
        arg=[RESULT_LINKS, "claims/kaliningrad-weapons-not-negotiable/"], timeout=10_000)
    assert len(visit.page.query_selector_all(RESULT_LINKS)) < before


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_search_results_have_no_axe_violations(browse, representatives, scheme):
    browsing = browse(width=1280, color_scheme=scheme)
    visit = run_search(browsing, representatives, "missile")
    results = Axe().run(visit.page)
    assert results.violations_count == 0, results.generate_report()


def test_without_javascript_the_search_page_links_to_the_listings(browser, server, representatives):
    from tests.browser.harness import page_url
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(page_url(server, representatives["search"]))
        assert page.is_visible("text=Search needs JavaScript")
        links = page.eval_on_selector_all("main .browse-links a", "links => links.map(a => a.href)")
        home = page_url(server, "index.html")
        assert links == [home, home + "timeline/", home + "threads/", home + "sources/"]
        assert not page.query_selector("main .claim-card")  # no list of every claim
    finally:
        context.close()


def test_the_search_page_does_not_shift_when_pagefind_loads(browse, representatives):
    browsing = browse(width=1280)
    page = browsing.page
    page.add_init_script("""
        window.__shift = 0;
        new PerformanceObserver(list => {
          for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__shift += entry.value;
        }).observe({type: "layout-shift", buffered: true});
    """)
    browsing.open(representatives["search"])
    page.wait_for_selector(".pagefind-ui__search-input")
    page.wait_for_timeout(500)
    assert page.evaluate("window.__shift") == 0


def test_excerpts_keep_labels_apart_from_values(browse, representatives):
    """'Where: Interview with CNN', not 'WhereInterview with CNN'."""
    claim = next(c for c in DEMO.claims if c.venue == "Interview with CNN")
    visit = run_search(browse(width=1280), representatives, "CNN")
    visit.page.wait_for_selector(".pagefind-ui__result-excerpt")
    excerpts = visit.page.eval_on_selector_all(".pagefind-ui__result-excerpt",
                                               "nodes => nodes.map(n => n.textContent)")
    assert any(f"Where: {claim.venue}"[:20] in e for e in excerpts), excerpts
    assert not any(re.search(r"(Where|Date|Outlet|Published|Rating)[A-Z0-9]", e) for e in excerpts)


# -- an index in several shards, merged in the browser ------------------------------------

SHARD_PAGES = 20  # a generated archive of 120 claims has about 200 indexed pages: ~15 shards


@pytest.fixture(scope="module")
def sharded(tmp_path_factory, browser):
    """A generated archive built with a small shard size, served, and a browser context on it."""
    content = tmp_path_factory.mktemp("sharded") / "content"
    corpus.generate(content, 120)
    site = content.parent / "site"
    pipeline.build(content, TEMPLATES, site, shard_pages=SHARD_PAGES)
    indexed = [p.relative_to(site).as_posix() for p in site.rglob("*.html")
               if b"data-pagefind-body" in p.read_bytes()]
    shard_of = {page: shard.folder for shard in search.partition(indexed, SHARD_PAGES)
                for page in shard.pages}
    with harness.serve(site) as base:
        browsing = harness.Browsing(browser, base, viewport={"width": 1280, "height": 900})
        fragments: list[str] = []  # the folders whose fragments (a result's text) were loaded

        def fragment(request) -> None:
            if "/fragment/" in request.url:
                fragments.append(request.url.split("/pagefind/", 1)[1].split("fragment/")[0])

        browsing.page.on("request", fragment)
        yield browsing, shard_of, fragments, site
        browsing.close()


def results(page) -> list[str]:
    """The pages of the results shown (site-relative), once each (not their sub-results)."""
    hrefs = page.eval_on_selector_all(RESULT_LINKS,
                                      "links => links.map(a => a.getAttribute('href'))")
    pages = (href.split("#")[0].removeprefix(harness.PREFIX) + "index.html" for href in hrefs)
    return list(dict.fromkeys(pages))


def test_results_come_from_several_shards(sharded):
    """Every claim's title has the word: over 120 results, from shards of at most 20 pages."""
    browsing, shard_of, fragments, _ = sharded
    assert len(set(shard_of.values())) >= 5
    visit = browsing.open("search/index.html")
    fragments.clear()
    visit.page.get_by_role("textbox", name="Search").fill("project")
    visit.page.wait_for_function(
        "selector => / results for project$/.test(document.querySelector(selector)?.textContent)",
        arg=".pagefind-ui__message")
    assert int(visit.page.inner_text(".pagefind-ui__message").split()[0]) >= 120
    # Each shard ranks its pages by its own word statistics: the first results may all come
    # from one shard. Load more until the list shows pages of several.
    for _ in range(10):
        visit.page.wait_for_selector(".pagefind-ui__button")
        shown = results(visit.page)
        if len({shard_of[page] for page in shown}) >= 2:
            break
        visit.page.click(".pagefind-ui__button")  # "Load more results"
        visit.page.wait_for_function(
            "([selector, count]) => document.querySelectorAll(selector).length > count",
            arg=[RESULT_LINKS + ":not([href*='#'])", len(shown)])
    assert len({shard_of[page] for page in results(visit.page)}) >= 2
    assert len(set(fragments)) >= 2, fragments  # each result's text came from its own bundle
    assert browsing.settle() == []


def test_a_filter_narrows_results_from_every_shard(sharded):
    """Person 3 made claims 3, 15, ..., 111: ten claims, in several shards."""
    browsing, shard_of, _, _ = sharded
    theirs = {f"claims/claim-{n:06}/index.html" for n in range(3, 120, 12)}
    assert len({shard_of[page] for page in theirs}) >= 2
    visit = browsing.open("search/index.html")
    visit.page.get_by_role("textbox", name="Search").fill("project")
    visit.page.wait_for_selector(RESULT_LINKS)
    # Pagefind's filter group, not the first text with the word (a result's excerpt can be,
    # while the shards' filters load): under load that takes seconds.
    visit.page.locator(".pagefind-ui__filter-name", has_text="Claimant").click(timeout=30_000)
    visit.page.get_by_label("Person 3").check(timeout=30_000)
    visit.page.wait_for_function(
        "selector => document.querySelector(selector)?.textContent.startsWith('10 results')",
        arg=".pagefind-ui__message")
    while visit.page.query_selector(".pagefind-ui__button"):  # "Load more results"
        visit.page.click(".pagefind-ui__button")
    visit.page.wait_for_function(
        "selector => document.querySelectorAll(selector).length === 10",
        arg=RESULT_LINKS + ":not([href*='#'])")
    assert set(results(visit.page)) == theirs
    assert browsing.settle() == []


def test_shards_load_when_the_search_box_is_first_used(sharded):
    """As Pagefind's own index: nothing of it loads with the page, every shard on focus."""
    browsing, _, _, site = sharded
    merged = json.loads((site / search.SHARDS_FILE).read_text())
    entries: list[str] = []

    def entry(request) -> None:
        if "pagefind-entry.json" in request.url:
            entries.append(request.url)

    browsing.page.on("request", entry)
    visit = browsing.open("search/index.html")
    assert entries == []
    visit.page.get_by_role("textbox", name="Search").focus()
    for _ in range(200):  # Pagefind's worker fetches them: not in the page's resource timings
        if len(entries) > len(merged):
            break
        visit.page.wait_for_timeout(50)
    folders = {url.split("/pagefind/", 1)[1].split("pagefind-entry.json")[0] for url in entries}
    assert folders == {""} | set(merged)
    assert browsing.settle() == []
    browsing.page.remove_listener("request", entry)


def test_a_shard_the_host_does_not_serve_is_left_out_with_a_note(sharded):
    """A shard that 404s made Pagefind's loading fail and its search wait forever: the
    other shards are searched, and the page says that results may be incomplete."""
    browsing, shard_of, _, site = sharded
    merged = json.loads((site / search.SHARDS_FILE).read_text())
    query = "selector => / results for project$/.test(document.querySelector(selector)?.textContent)"

    def searched() -> tuple[object, int]:
        visit = browsing.open("search/index.html")
        visit.page.get_by_role("textbox", name="Search").fill("project")
        visit.page.wait_for_function(query, arg=".pagefind-ui__message", timeout=30_000)
        return visit, int(visit.page.inner_text(".pagefind-ui__message").split()[0])

    _, everything = searched()
    gone = next(folder for folder in merged if sum(  # a shard of claims with the word
        1 for page, f in shard_of.items() if f == f"pagefind/{folder[:-1]}"
        and page.startswith("claims/")) >= 5)
    pattern = f"**/pagefind/{gone}**"
    browsing.page.route(pattern, lambda route: route.fulfill(status=404, body="not found"))
    try:
        visit, found = searched()
        assert visit.page.inner_text(".search-missing") == (
            f"1 of the {len(merged) + 1} parts of the search index could not be loaded: "
            "results may be incomplete.")
        assert 0 < found < everything
        while visit.page.query_selector(".pagefind-ui__button"):  # "Load more results"
            visit.page.click(".pagefind-ui__button")
        visit.page.wait_for_function(
            "([selector, count]) => document.querySelectorAll(selector).length === count",
            arg=[RESULT_LINKS + ":not([href*='#'])", found])
        assert f"pagefind/{gone[:-1]}" not in {shard_of[page] for page in results(visit.page)}
        # Only the missing shard's entry file was asked for (once), not its index.
        entry = f"{browsing.server}{harness.PREFIX}pagefind/{gone}pagefind-entry.json"
        assert browsing.settle() == [
            f"HTTP 404: {entry}",
            "console error: Failed to load resource: the server responded with a status of "
            f"404 (Not Found) ({entry})"]
    finally:
        browsing.page.unroute(pattern)
    # With every shard served, no note.
    visit, found = searched()
    assert found == everything and visit.page.query_selector(".search-missing") is None


# -- what a page is found by ----------------------------------------------------------------

RATING_WORD, COUNTERCLAIM_WORD = "Quillwort", "Brambleton"  # in no other content


@pytest.fixture(scope="module")
def marked(tmp_path_factory, browser):
    """The demo with a word added to the description of a rating no claim has and to one
    counterclaim's text, built and served."""
    content = tmp_path_factory.mktemp("marked") / "content"
    shutil.copytree(DEMO_CONTENT, content)
    site_yaml = content / "site.yaml"
    rating = next(r for r in DEMO.ratings if not r.claims)
    first, rest = rating.description.split(" ", 1)  # a word of its own, not glued to the next
    site_yaml.write_text(site_yaml.read_text().replace(
        f"description: {rating.description}", f"description: {first} {RATING_WORD} {rest}", 1))
    counterclaim = next(c for c in DEMO.claims if c.relations["disputes"])
    claim_file = content / "claims" / f"{counterclaim.id}.yaml"
    claim_file.write_text(claim_file.read_text().replace(
        f"claim: {counterclaim.text}", f"claim: {counterclaim.text[:-1]}, {COUNTERCLAIM_WORD}.",
        1))
    site = content.parent / "site"
    pipeline.build(content, TEMPLATES, site)
    with harness.serve(site) as base:
        browsing = harness.Browsing(browser, base, viewport={"width": 1280, "height": 900})
        yield browsing, rating, counterclaim
        browsing.close()


def all_results(browsing, word: str) -> list[str]:
    visit = browsing.open("search/index.html")
    visit.page.get_by_role("textbox", name="Search").fill(word)
    visit.page.wait_for_function(
        f"selector => / results? for {word}$/.test(document.querySelector(selector)?.textContent)",
        arg=".pagefind-ui__message")
    message = visit.page.inner_text(".pagefind-ui__message")
    if message.startswith("No results"):
        assert browsing.settle() == []
        return []
    while visit.page.query_selector(".pagefind-ui__button"):  # "Load more results"
        visit.page.click(".pagefind-ui__button")
    count = int(message.split()[0])
    visit.page.wait_for_function(
        "([selector, count]) => document.querySelectorAll(selector).length === count",
        arg=[RESULT_LINKS + ":not([href*='#'])", count])
    assert browsing.settle() == []
    return sorted(results(visit.page))


def test_the_rating_scale_on_every_claim_page_is_not_searched(marked):
    """Each rated claim's page explains the whole scale in a disclosure: a rating's
    description finds the claims with that rating (none here), not every rated claim."""
    browsing, rating, _ = marked
    assert [c for c in DEMO.claims if c.rating]  # whose pages show the scale
    assert all_results(browsing, RATING_WORD) == []


def test_a_claim_is_found_on_its_own_page_not_on_those_listing_it(marked):
    """The counterclaim's text is shown on the page of the claim it disputes, on its
    claimant's page and in its source's list of cited passages: search finds its own page."""
    browsing, _, counterclaim = marked
    assert all_results(browsing, COUNTERCLAIM_WORD) == [f"claims/{counterclaim.id}/index.html"]
