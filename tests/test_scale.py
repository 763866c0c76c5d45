"""Archives shaped to break a site that grows with them: a thread deeper than Python's
recursion limit (each claim disputes the one before) and a claim disputed by, and a
source cited by, more claims than a page holds. Every page stays within the budget."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import lxml.html
import pytest

from factsite import cache, pipeline
from factsite.model import (SOURCE_PART_PASSAGES, THREAD_DEPTH, pickle_site, thread_parts,
                            unpickle_site)
from tests.conftest import TEMPLATES, soup
from tests.corpus import generate
from tests.test_listings import MAX_BYTES, MAX_ELEMENTS, read_listing

CHAIN = 1_500  # claims in one chain: more than Python's recursion limit (1,000)
PAGE_SIZE = 50


def over_budget(out: Path, paths: list[str]) -> list[str]:
    over = []
    for path in paths:
        data = (out / path).read_bytes()
        elements = sum(1 for _ in lxml.html.fromstring(data).iter(lxml.etree.Element))
        if len(data) > MAX_BYTES or elements > MAX_ELEMENTS:
            over.append(f"{path}: {len(data)} bytes, {elements} elements")
    return over


def built(root: Path, claims: int, shape: str) -> tuple[Path, object]:
    """A generated archive of ``claims`` claims related as ``shape``, built without warnings."""
    generate(root / "content", claims, years=2, shape=shape, words=10)
    result = pipeline.build(root / "content", TEMPLATES, root / "site")
    assert not result.warnings
    return root / "site", result.site


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> tuple[Path, object]:
    return built(tmp_path_factory.mktemp("chain"), CHAIN, "chain")


def test_a_chain_deeper_than_the_recursion_limit_is_one_thread(chain):
    _, site = chain
    assert sys.getrecursionlimit() < CHAIN
    [thread] = site.threads
    assert (thread.size, thread.height, thread.holds_disputes) == (CHAIN, CHAIN, True)
    assert [node.claim.id for node in thread.walk()] == [f"claim-{n:06}" for n in range(CHAIN)]
    assert all(claim.thread is thread for claim in site.claims)
    # What the build cache and spawned workers do with it: no recursion down the thread.
    assert cache.fingerprint(thread) == cache.fingerprint(thread)
    buffer = io.BytesIO()
    pickle_site(site, buffer)
    buffer.seek(0)
    copy = unpickle_site(buffer)
    assert copy.threads[0].size == CHAIN and copy.claims[-1].thread is copy.threads[0]


def test_a_thread_larger_than_a_page_is_cut_into_parts_in_order(chain):
    out, site = chain
    pages = read_listing(out, "threads/")
    assert len(pages) == CHAIN // PAGE_SIZE
    shown = []
    for number, (path, html) in enumerate(pages, start=1):
        [block] = html.find_all("section", class_="thread-block")
        anchor = "thread-claim-000000" + (f"--part-{number}" if number > 1 else "")
        assert block["id"] == anchor
        if number > 1:
            assert block.h2.find("span", class_="page-of").get_text() == (
                f"part {number} of {CHAIN // PAGE_SIZE}")
        claims = [a["href"].split("/")[-2] for a in block.select("p.thread-claim a")]
        assert len(claims) == PAGE_SIZE
        shown += claims
        # Nested at most THREAD_DEPTH levels; a claim that heads a tree of its own names
        # the claim it disputes (the one before it), which the tree cannot show above it.
        assert max(len(li.find_parents("ul", class_="thread-tree"))
                   for li in block.find_all("li")) <= THREAD_DEPTH
        for li in block.select("section > ul.thread-tree > li"):
            n = int(li.find("p", class_="thread-claim").a["href"].split("-")[-1].strip("/"))
            label = li.find("span", class_="relation-label", recursive=False)
            if n == 0:
                assert label is None
            else:
                assert label.get_text(" ", strip=True) == f"disputes Project {n - 1} cost {(n - 1) * 7 % 997} million."
                assert label.a["href"] == f"{'../' * path.count('/')}claims/claim-{n - 1:06}/"
    assert shown == [f"claim-{n:06}" for n in range(CHAIN)]
    assert not over_budget(out, [f"{path}index.html" for path, _ in pages])


def test_each_claim_links_to_the_part_of_its_thread_that_shows_it(chain):
    out, site = chain
    for claim in site.claims[::97]:
        link = soup(out / claim.url / "index.html").find("p", class_="thread-link")
        assert link.a.get_text() == f"See the whole dispute thread ({CHAIN} claims)"
        page, anchor = link.a["href"].removeprefix("../../").split("#")
        block = soup(out / page / "index.html").find("section", id=anchor)
        assert claim.id in {a["href"].split("/")[-2] for a in block.select("p.thread-claim a")}


def test_a_thread_that_fits_is_shown_whole_and_a_deeper_one_as_trees_in_a_row(chain):
    _, site = chain
    [thread] = site.threads
    nodes = list(thread.walk())
    small = nodes[-THREAD_DEPTH]  # the last THREAD_DEPTH claims of the chain
    [part] = thread_parts(small, PAGE_SIZE)
    assert part.roots == (small,) and (part.number, part.count) == (1, 1)
    deep = nodes[-20]  # 20 levels: fits a page, not the depth
    [part] = thread_parts(deep, PAGE_SIZE)
    assert [root.claim for root in part.roots] == [n.claim for n in nodes[-20::THREAD_DEPTH]]
    assert [root.above for root in part.roots] == [None] + [
        n.claim for n in nodes[-20 + THREAD_DEPTH - 1::THREAD_DEPTH]]
    assert [c.id for c in part.claims()] == [n.claim.id for n in nodes[-20:]]
    assert max(root.height for root in part.roots) == THREAD_DEPTH


# -- a claim disputed and supported by more claims than a page holds, one source for all --

HUB = 300


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> tuple[Path, object]:
    return built(tmp_path_factory.mktemp("hub"), HUB, "hub")


def test_a_claims_counterclaims_and_supporters_go_on_over_pages(hub):
    out, site = hub
    claim = next(c for c in site.claims if c.id == "claim-000000")
    assert len(claim.disputed_by) == HUB // 2 and len(claim.supported_by) == HUB // 2 - 1
    pages = read_listing(out, claim.url)
    count = -(-(HUB - 1) // PAGE_SIZE)
    assert [path for path, _ in pages] == [claim.url] + [
        f"{claim.url}page/{n}/" for n in range(2, count + 1)]
    counter, supporters = [], []
    for number, (path, html) in enumerate(pages, start=1):
        main = html.find("main")
        counter += [a["href"].split("/")[-2] for a in main.select(
            "ol.counterclaims .claim-card-title a")]
        related = main.find("section", attrs={"aria-labelledby": "related"})
        supporters += [a["href"].split("/")[-2] for a in related.select(
            ".claim-card-title a")] if related else []
        assert len(main.select(".claim-card-title a")) == (
            PAGE_SIZE if number < count else (HUB - 1) % PAGE_SIZE or PAGE_SIZE)
        assert main.h1.get_text(" ", strip=True).endswith(
            "" if number == 1 else f"page {number} of {count}")
        # Only the first page is the claim's own: its record, JSON-LD, the search index.
        assert bool(main.find("section", attrs={"aria-labelledby": "record"})) == (number == 1)
        assert bool(html.find("script", type="application/ld+json")) == (number == 1)
        assert main.has_attr("data-pagefind-body") == (number == 1)
        assert main.find("nav", attrs={"aria-label": "Pages"}) is not None
    assert counter == [c.id for c in claim.disputed_by]
    assert supporters == [c.id for c in claim.supported_by]
    assert not over_budget(out, [f"{path}index.html" for path, _ in pages])
    # A claim with few relations has one page and no page navigation.
    other = soup(out / "claims/claim-000001/index.html")
    assert other.find("nav", attrs={"aria-label": "Pages"}) is None
    assert not (out / "claims/claim-000001/page").exists()


def test_a_source_cited_by_many_claims_goes_on_over_pages_of_its_text(hub):
    """Whole paragraphs, at most SOURCE_PART_PASSAGES cited passages a page; each claim's
    passage links to its highlight on the page that shows it."""
    out, site = hub
    [source] = site.sources
    pages = read_listing(out, source.url)
    assert len(pages) == -(-HUB // SOURCE_PART_PASSAGES)
    text, marks = "", []
    for number, (path, html) in enumerate(pages, start=1):
        shown = html.find("div", class_="source-text")
        for cite in shown.find_all("a", class_="cite"):
            cite.decompose()
        text += shown.get_text()
        ids = [m["id"] for m in shown.find_all("mark", id=True)]
        assert ids == [a["href"].removeprefix("#")
                       for a in html.select("ol.citations > li > a:first-child")]
        assert 0 < len(ids) <= SOURCE_PART_PASSAGES
        assert bool(html.find("dl", class_="facts")) == (number == 1)
        assert html.find("main").has_attr("data-pagefind-body")  # each part is searched
        marks += [(path, anchor) for anchor in ids]
    assert text == source.text
    assert [anchor for _, anchor in marks] == [p.anchor for p in source.citations]
    for path, anchor in marks[::37]:
        claim = anchor.removeprefix("passage-").rsplit("-", 1)[0]
        link = soup(out / "claims" / claim / "index.html").find(
            "a", string="Show in the archived text")
        assert link["href"] == f"../../{path}#{anchor}"
    assert not over_budget(out, [f"{path}index.html" for path, _ in pages])


def test_a_source_is_cut_after_a_blank_line_never_inside_a_passage():
    from factsite.model import _part_bounds
    from factsite.passages import Span

    class Cited:  # what _part_bounds reads of a passage
        def __init__(self, start: int, end: int):
            self.span = Span(start, end)

    paragraph = "word " * 2_000 + "\n\n"  # 10,002 characters
    text = paragraph * 12
    assert _part_bounds(text, ()) == [(0, 40_008), (40_008, 80_016), (80_016, 120_024)]
    # A passage from the 4th paragraph into the 6th: no cut after the 4th or the 5th.
    across = (Cited(3 * 10_002 + 5, 5 * 10_002 + 5),)
    assert _part_bounds(text, across) == [(0, 30_006), (30_006, 70_014), (70_014, 110_022),
                                          (110_022, 120_024)]
    assert _part_bounds("word " * 20_000, ()) == [(0, 100_000)]  # one paragraph: not cut


def test_listings_name_a_few_counterclaims_and_link_to_the_rest(hub):
    out, site = hub
    claim = next(c for c in site.claims if c.id == "claim-000000")
    more = f"and {HUB // 2 - 5} more"
    card = soup(out / claim.claimants[0].url / "index.html").find(
        "div", class_="disputed-by")
    items = card.find_all("li")
    assert [li.a["href"].split("/")[-2] for li in items[:5]] == [
        c.id for c in claim.disputed_by[:5]]
    assert (items[5].get_text(strip=True), items[5].a["href"]) == (
        more, "../../claims/claim-000000/#counterclaims")
    assert len(items) == 6
    month = soup(out / "timeline" / f"{claim.date.year}" / f"{claim.date.month:02}" / "index.html")
    [line] = [p for p in month.select("p.relation") if "Disputed by" in p.get_text()
              and "claim-000000" in p.find_parent("li").a["href"]]
    links = line.find_all("a")
    assert [a["href"].split("/")[-2] for a in links[:5]] == [c.id for c in claim.disputed_by[:5]]
    assert (links[5].get_text(), links[5]["href"]) == (more, "../../../claims/claim-000000/#counterclaims")
    assert len(links) == 6


# -- a desk with 61 years of claims, every month of each --------------------------------

def test_the_timeline_index_of_61_years_goes_on_over_pages_of_25_years(tmp_path):
    generate(tmp_path / "content", 800, years=61, shape="chain", words=5)  # 61: prime to 12
    result = pipeline.build(tmp_path / "content", TEMPLATES, tmp_path / "site")
    out = tmp_path / "site"
    pages = read_listing(out, "timeline/")
    assert [path for path, _ in pages] == ["timeline/", "timeline/page/2/", "timeline/page/3/"]
    years, months, total = [], 0, 0
    for number, (path, html) in enumerate(pages, start=1):
        shown = [int(h2.get_text()) for h2 in html.select("section.year h2")]
        assert len(shown) == (25 if number < 3 else 11)
        years += shown
        for link in html.select("section.year li"):
            target = (Path(out / path) / link.a["href"]).resolve() / "index.html"
            assert target.is_file(), link.a["href"]
            months += 1
            total += int(link.find("span", class_="count").get_text())
        assert html.title.get_text().endswith(f"page {number} of 3")
    assert years == list(range(2000, 2061))
    assert (months, total) == (61 * 12, len(result.site.claims))
    assert not over_budget(out, [f"{path}index.html" for path, _ in pages])


def test_the_dev_servers_saves_keep_the_pages_of_a_hub_as_a_cold_build_does(tmp_path):
    """Saves that change how many pages a claim's relations or a source's text take, and
    which page a passage is on: what the dev server serves and writes is a cold build's."""
    from factsite import serve
    from tests.test_incremental import saved, snapshot
    from tests.test_serve import wait_for_writers
    from tests.test_build import every_file

    content = tmp_path / "content"
    generate(content, 120, years=2, shape="hub", words=5, settings="page_size: 10\n")
    dev = serve.DevServer(content, TEMPLATES, tmp_path / "site", on_built=lambda result: None,
                          on_failed=lambda diagnostics: pytest.fail(str(diagnostics)))
    dev.rebuild()
    claims = content / "claims"
    first = claims / "claim-000000.yaml"
    quote = next(line for line in first.read_text().splitlines() if "quote:" in line)

    def edit_first() -> None:
        first.write_text(first.read_text().replace("cost 0 million", "cost nothing"))

    def add_citing() -> None:  # a passage before every other: the cuts of the source move
        (claims / "claim-000500.yaml").write_text(
            "claim: Project 0 was free.\nclaimant: person-00000\ndate: 2001-01-01\n"
            f"passages:\n  - source: source-00000\n    {quote.strip()}\ndisputes: [claim-000000]\n")

    def add_apart() -> None:  # relates to nothing: the first claim's pages are kept as planned
        (claims / "claim-000501.yaml").write_text(
            "claim: Project 0 was cheap.\nclaimant: person-00000\ndate: 2001-01-01\n"
            f"passages:\n  - source: source-00000\n    {quote.strip()}\n")

    def delete_one() -> None:
        (claims / "claim-000002.yaml").unlink()

    for step, edit in enumerate((edit_first, add_apart, add_citing, delete_one, edit_first)):
        before = snapshot(content)
        edit()
        dev.save(saved(before, snapshot(content)))
        pipeline.build(content, TEMPLATES, tmp_path / f"cold-{step}", use_cache=False)
        expected = every_file(tmp_path / f"cold-{step}")
        assert len([p for p in expected if p.startswith("sources/source-00000/")]) == 2
        for path, (_, data) in dev.live.fresh.items():
            if data is not None and not path.startswith("static/"):
                assert data == expected[path], (path, edit.__name__)
        wait_for_writers(dev)
        assert every_file(dev.out) == expected, edit.__name__


def test_a_thousand_claims_quoting_the_same_words_nest_their_highlights(tmp_path):
    """Each passage inside the one before: highlights as deep as the claims, made and
    written without recursion (the nesting recursed once per level)."""
    content = tmp_path / "content"
    for folder in ("claims", "claimants", "sources"):
        (content / folder).mkdir(parents=True)
    (content / "site.yaml").write_text(
        "title: T\nbase_url: https://example.org/\nlanguage: en\npublisher: {name: P}\n")
    (content / "claimants/p.yaml").write_text("name: P\nkind: person\n")
    (content / "sources/s.txt").write_text(
        "---\ntitle: S\n---\nThe minister said the bridge will open in 2022.\n")
    claims = 1_200  # more than Python's recursion limit
    for n in range(claims):
        (content / f"claims/c{n:04}.yaml").write_text(
            f"claim: Claim {n}.\nclaimant: p\ndate: 2022-01-01\n"
            "passages:\n  - source: s\n    quote: the bridge will open in 2022\n")
    pipeline.build(content, TEMPLATES, tmp_path / "site")
    page = (tmp_path / "site/sources/s/index.html").read_text()
    text = page[page.index('<div class="source-text"'):page.index("</div>", page.index(
        '<div class="source-text"'))]
    assert text.count("<mark ") == text.count("</mark>") == claims
    assert re.findall(r'<mark data-passage="([^"]+)"', text) == [
        f"passage-c{n:04}-1" for n in range(claims)]
    assert text.index("the bridge") > text.rindex("<mark ")  # every mark opens before it
