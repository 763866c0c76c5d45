"""Listings on a generated archive: every listing paginated, rating pages, the timeline's
months, the feed's limit, the sitemap, and the page budget at 2,000 claims."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import lxml.html
import pytest

from factsite import pipeline
from factsite.model import paginate
from tests.conftest import TEMPLATES, soup
from tests.corpus import generate

PAGE_SIZE = 10
SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
MAX_BYTES, MAX_ELEMENTS = 150_000, 1_500  # per HTML page, at any size of archive


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("archive")
    generate(root / "content", 300, years=1, settings=f"page_size: {PAGE_SIZE}\nfeed_size: 5\n")
    result = pipeline.build(root / "content", TEMPLATES, root / "site")
    assert not result.warnings
    return root / "site", result.site


def listings(site) -> dict[str, tuple]:
    """Every paginated listing of claims: its URL and the claims it must show, in order."""
    found = {"": site.latest_claims}
    found |= {c.url: c.claims for c in site.claimants}
    found |= {t.url: t.claims for t in site.topics}
    found |= {r.url: r.claims for r in site.ratings}
    return found


def read_listing(out: Path, url: str) -> list[tuple[Path, object]]:
    """The pages of the listing at ``url``, following rel=next from its first page."""
    pages, path = [], url
    while path is not None:
        html = soup(out / path / "index.html")
        pages.append((path, html))
        following = html.find("link", rel="next")
        path = (Path(path) / following["href"]).as_posix().replace("/..", "/../") if following else None
        if following:
            path = _resolve(path)
    return pages


def _resolve(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts) + "/" if parts else ""


def test_every_listing_is_paginated_with_navigation(archive):
    out, site = archive
    for url, claims in listings(site).items():
        pages = read_listing(out, url)
        count = -(-len(claims) // PAGE_SIZE) or 1
        assert [path for path, _ in pages] == [url] + [f"{url}page/{n}/" for n in range(2, count + 1)]
        shown = []
        for number, (path, html) in enumerate(pages, start=1):
            cards = [a["href"].split("/")[-2] for a in html.select("main .claim-card-title a")]
            assert len(cards) <= PAGE_SIZE
            shown += cards
            if count > 1:
                assert html.title.get_text().endswith(f" · page {number} of {count}")
                nav = html.find("nav", attrs={"aria-label": "Pages"})
                current = nav.find("a", attrs={"aria-current": "page"})
                assert current.get_text() == str(number)
                assert current["aria-label"] == f"Page {number}"
                assert bool(html.find("link", rel="prev")) == (number > 1)
                assert bool(nav.find("a", rel="next")) == (number < count)
        assert shown == [c.id for c in claims], url


def test_the_threads_listing_holds_every_thread_once(archive):
    out, site = archive
    pages = read_listing(out, "threads/")
    assert len(pages) > 1
    roots = [s["id"].removeprefix("thread-") for _, html in pages
             for s in html.find_all("section", class_="thread-block")]
    assert roots == [t.claim.id for t in site.threads]
    for _, html in pages:
        claims = len(html.select("p.thread-claim"))
        assert claims <= PAGE_SIZE or len(html.find_all("section", class_="thread-block")) == 1


def test_each_claim_links_to_its_thread_where_it_is(archive):
    out, site = archive
    for claim in site.claims[:40]:
        link = soup(out / claim.url / "index.html").find("p", class_="thread-link")
        if not claim.thread:
            assert link is None
            continue
        page, anchor = link.a["href"].removeprefix("../../").split("#")
        block = soup(out / page / "index.html").find("section", id=anchor)
        assert claim.id in {a["href"].split("/")[-2] for a in block.select("p.thread-claim a")}


def test_timeline_months_are_paginated(archive):
    out, site = archive
    index = soup(out / "timeline" / "index.html")
    total = 0
    for link in index.select("section.year li a"):
        url = _resolve("timeline/" + link["href"])
        count = int(link.find_next_sibling(class_="count").get_text())
        shown = [a for _, html in read_listing(out, url)
                 for a in html.select("ol.timeline .claim-card-title a")]
        assert len(shown) == count
        total += count
    assert total == len(site.claims)


def test_home_page_links_each_rating_that_has_claims_to_its_page(archive, tmp_path):
    out, site = archive
    home = soup(out / "index.html")
    facet = home.find("section", attrs={"aria-labelledby": "by-rating"})
    rows = [(a["href"], int(a.find_next_sibling(class_="count").get_text()))
            for a in facet.find_all("a")]
    assert rows == [(r.url, len(r.claims)) for r in site.ratings]
    assert not home.find(id="ratings")  # rated claims are not listed a second time
    # A rating no claim has is not offered at all.
    content = out.parent / "content"
    yaml_text = (content / "site.yaml").read_text(encoding="utf-8")
    copy = tmp_path / "content"
    import shutil
    shutil.copytree(content, copy)
    (copy / "site.yaml").write_text(yaml_text + "  - {id: unproven, label: Unproven}\n",
                                    encoding="utf-8")
    pipeline.build(copy, TEMPLATES, tmp_path / "site")
    labels = [a.get_text() for a in soup(tmp_path / "site" / "index.html").select(
        "section[aria-labelledby=by-rating] a")]
    assert labels == ["Accurate", "Misleading", "False"]
    assert (tmp_path / "site" / "ratings" / "unproven" / "index.html").is_file()


def test_feed_holds_the_latest_entries_only(archive):
    out, site = archive
    feed = feedparser.parse((out / "feed.xml").read_bytes())
    newest = sorted(site.claims, key=lambda c: (c.first_published.sort_key, c.id), reverse=True)
    assert [e.link for e in feed.entries] == [site.absolute(c.url) for c in newest[:5]]


def test_sitemap_lists_every_page_of_every_listing(archive):
    out, _ = archive
    locs = {u.find(f"{SITEMAP_NS}loc").text for u in ET.parse(out / "sitemap.xml").getroot()}
    pages = {"https://example.org/archive/" + p.relative_to(out).as_posix().removesuffix("index.html")
             for p in out.rglob("index.html")}
    assert locs == pages
    assert "https://example.org/archive/page/2/" in locs


@pytest.mark.parametrize("number, count, links", [
    (1, 1, (1,)),
    (1, 3, (1, 2, 3)),
    (1, 30, (1, 2, 3, None, 30)),
    (5, 30, (1, 2, 3, 4, 5, 6, 7, None, 30)),
    (7, 30, (1, None, 5, 6, 7, 8, 9, None, 30)),
    (30, 30, (1, None, 28, 29, 30)),
])
def test_numbered_links_show_the_ends_and_the_neighbourhood(number, count, links):
    page = paginate(list(range(count)), "topics/x/", 1)[number - 1]
    assert page.links == links
    assert page.url == ("topics/x/" if number == 1 else f"topics/x/page/{number}/")


def test_every_page_stays_within_budget_at_2000_claims(tmp_path):
    """The default page size at 2,000 claims: several pages per listing, none too heavy."""
    generate(tmp_path / "content", 2000)
    result = pipeline.build(tmp_path / "content", TEMPLATES, tmp_path / "site")
    assert (tmp_path / "site" / "page" / "40" / "index.html").is_file()
    over = []
    for page in (tmp_path / "site").rglob("*.html"):
        data = page.read_bytes()
        elements = sum(1 for _ in lxml.html.fromstring(data).iter(lxml.etree.Element))
        if len(data) > MAX_BYTES or elements > MAX_ELEMENTS:
            over.append(f"{page.relative_to(tmp_path / 'site')}: {len(data)} bytes, {elements} elements")
    assert not over, "\n".join(over)
    assert result.pages > 2000
    assert re.search(r"<entry>", (tmp_path / "site" / "feed.xml").read_text()).start()
    assert (tmp_path / "site" / "feed.xml").read_text().count("<entry>") == 50


def test_home_page_offers_the_busiest_claimants_and_topics_and_links_to_all(archive):
    out, site = archive
    home = soup(out / "index.html")
    for section, entries, listing in (("by-claimant", site.claimants, "claimants/"),
                                      ("by-topic", site.topics, "topics/")):
        facet = home.find("section", attrs={"aria-labelledby": section})
        counts = [int(c.get_text()) for c in facet.select(".count")]
        assert len(counts) == 12 and counts == sorted(counts, reverse=True)
        assert counts[0] == max(len(e.claims) for e in entries)
        assert facet.find("p", class_="more").a["href"] == listing
        listed = [a["href"] for _, html in read_listing(out, listing)
                  for a in html.select("main ul.index-list li > a, main ul.index-list li > span > a")]
        assert [href.split("/")[-2] for href in listed] == [e.id for e in entries]
        assert len(listed) == len(entries) > PAGE_SIZE


def test_the_corrections_log_is_paginated_newest_first(content, tmp_path):
    (content / "site.yaml").write_text((content / "site.yaml").read_text(encoding="utf-8")
                                       + "page_size: 1\n", encoding="utf-8")
    claim = content / "claims" / "opens-2023.yaml"
    claim.write_text(claim.read_text(encoding="utf-8")
                     + "updates:\n  - {date: 2021-06-01, note: Named the press officer.}\n",
                     encoding="utf-8")
    pipeline.build(content, TEMPLATES, tmp_path / "site")
    pages = read_listing(tmp_path / "site", "corrections/")
    assert [path for path, _ in pages] == ["corrections/", "corrections/page/2/"]
    notes = [" ".join(html.select_one(".updates-log .note").get_text().split()) for _, html in pages]
    assert notes == ["Named the press officer.", "Added the press office statement."]
    assert pages[1][1].title.get_text() == "Corrections · Harbour Bridge Fact Check · page 2 of 2"
