"""Publishing: JSON-LD, text fragments, feed, sitemap, crawler files, exports, corrections."""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import extruct
import feedparser
import pytest
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

import build
from factsite import pipeline, render
from factsite.export import _indented, _json_pieces, spreadsheet_safe
from factsite.passages import FRAGMENT_CONTEXT_WORDS, SourceText, encode_fragment_text
from tests.conftest import DEMO, FIXTURE, TEMPLATES, soup
from tests.corpus import generate

SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture(scope="module")
def fixture_site(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("fixture") / "site"
    result = pipeline.build(FIXTURE, TEMPLATES, out)
    return out, result.site


def jsonld_of(path: Path) -> dict:
    data = extruct.extract(path.read_text(encoding="utf-8"), syntaxes=["json-ld"],
                           uniform=False)["json-ld"]
    assert len(data) == 1, path
    return data[0]


# -- JSON-LD --------------------------------------------------------------------

def test_rated_claim_carries_a_claimreview(fixture_site):
    out, site = fixture_site
    review = jsonld_of(out / "claims" / "bridge-opens-2022" / "index.html")
    assert review["@context"] == "https://schema.org"
    assert review["@type"] == "ClaimReview"
    assert review["url"] == "https://example.org/harbour/claims/bridge-opens-2022/"
    assert review["claimReviewed"] == "The bridge will open in 2022, on time and on budget."
    assert review["author"] == {"@type": "Organization", "name": "Fixture Desk",
                                "url": "https://example.org/"}
    assert review["datePublished"] == "2021-05-01"
    assert review["reviewRating"] == {"@type": "Rating", "ratingValue": 2, "bestRating": 3,
                                      "worstRating": 1, "name": "Misleading",
                                      "alternateName": "Misleading"}
    item = review["itemReviewed"]
    assert item["@type"] == "Claim"
    assert item["author"] == {"@type": "Person", "name": "Ana Lima",
                              "url": "https://example.org/harbour/claimants/ana-lima/",
                              "sameAs": "https://www.wikidata.org/wiki/Q4115189"}
    assert item["datePublished"] == "2021-03-03"
    minutes = {"@type": "CreativeWork", "url": "https://example.org/gazette/minutes-2021-03-03",
               "headline": "Council minutes, 3 March 2021", "datePublished": "2021-03-03",
               "publisher": {"@type": "Organization", "name": "City Gazette"},
               "archivedAt": "https://archive.example.org/2021/minutes"}
    assert item["appearance"] == [minutes]
    assert item["firstAppearance"] == minutes


def test_best_and_worst_ratings_follow_the_scale(fixture_site):
    out, _ = fixture_site
    best = jsonld_of(out / "claims" / "opens-2023" / "index.html")["reviewRating"]
    assert (best["ratingValue"], best["alternateName"]) == (3, "Accurate")
    item = jsonld_of(out / "claims" / "opens-2023" / "index.html")["itemReviewed"]
    # Two sources: the earliest by publication date is the first appearance.
    assert [a["headline"] for a in item["appearance"]] == [
        "Заявление пресс-службы", "Council minutes, 3 March 2021"]
    assert item["firstAppearance"]["headline"] == "Council minutes, 3 March 2021"
    assert item["author"]["@type"] == "Organization"


def test_unrated_claim_carries_a_claim_never_a_claimreview(fixture_site):
    out, _ = fixture_site
    claim = jsonld_of(out / "claims" / "bridge-costs-40-million" / "index.html")
    assert claim["@type"] == "Claim"
    assert "reviewRating" not in claim and "claimReviewed" not in claim
    assert claim["text"] == "The bridge costs 40 million."
    assert claim["datePublished"] == "2021-03"
    assert [a["name"] for a in claim["author"]] == ["Ana Lima", "City Press Office"]
    assert [a["@type"] for a in claim["author"]] == ["Person", "Organization"]


def test_jsonld_agrees_with_every_demo_claim_page(demo_site):
    site, _ = pipeline.load_site(DEMO)
    for claim in site.claims:
        page = demo_site / claim.url / "index.html"
        data = jsonld_of(page)
        html = soup(page)
        if claim.rating:
            assert data["@type"] == "ClaimReview"
            assert data["claimReviewed"] == html.h1.get_text()
            assert data["reviewRating"]["alternateName"] == html.find(
                "dl", class_="facts").find(class_="rating").get_text(strip=True)
            item = data["itemReviewed"]
        else:
            assert data["@type"] == "Claim" and data["text"] == html.h1.get_text()
            item = data
        authors = item["author"] if isinstance(item["author"], list) else [item["author"]]
        assert [a["name"] for a in authors] == [c.name for c in claim.claimants]
        assert item["datePublished"] == html.find("dl", class_="facts").find("time")["datetime"]


# -- text fragments ---------------------------------------------------------------

def test_a_template_written_for_jsonld_tojson_prints_the_same_script(tmp_path, fixture_site):
    """claim.html printed ``{{ jsonld|tojson }}`` before the JSON-LD reached it as JSON text:
    a desk's template that still does prints the same script, not a JSON string of it."""
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    claim_html = templates / "claim.html"
    assert "{{ jsonld }}" in claim_html.read_text()
    claim_html.write_text(claim_html.read_text().replace("{{ jsonld }}", "{{ jsonld|tojson }}"))
    pipeline.build(FIXTURE, templates, tmp_path / "site")
    site, _ = fixture_site
    pages = sorted(p.relative_to(site) for p in site.glob("claims/*/index.html"))
    assert pages
    for page in pages:
        assert (tmp_path / "site" / page).read_bytes() == (site / page).read_bytes(), page
    other = {"a": "</script>", "b": [1, 2]}  # anything else, as Jinja's own filter makes it
    env = render.Renderer(TEMPLATES, fixture_site[1]).env
    assert env.from_string("{{ v|tojson }}").render(v=other) == htmlsafe_json_dumps(other)


@pytest.mark.parametrize("text, encoded", [
    ("an example text fragment", "an%20example%20text%20fragment"),
    ("text-with-dashes", "text%2Dwith%2Ddashes"),
    ("a, b & c", "a%2C%20b%20%26%20c"),
    ("«Москва»", "%C2%AB%D0%9C%D0%BE%D1%81%D0%BA%D0%B2%D0%B0%C2%BB"),
])
def test_fragment_terms_are_percent_encoded_as_the_spec_requires(text, encoded):
    assert encode_fragment_text(text) == encoded


def test_fragment_for_a_unique_short_passage():
    text = SourceText("This is an example text fragment, in a page.")
    assert text.text_fragment(text.anchor("an example text fragment")) == \
        "#:~:text=an%20example%20text%20fragment"


def test_fragment_for_a_repeated_passage_has_prefix_and_suffix():
    text = SourceText("Say it once. The talks ended. Say it twice: the talks ended again.")
    span = text.anchor("The talks ended", prefix="Say it once.")
    assert text.text_fragment(span) == \
        "#:~:text=Say%20it%20once.-,The%20talks%20ended,-.%20Say%20it"


def test_fragment_for_a_long_passage_uses_start_and_end():
    words = "one two three four five six seven eight nine ten eleven twelve thirteen"
    text = SourceText(f"Before. {words}. After.")
    assert text.text_fragment(text.anchor(words)) == \
        "#:~:text=one%20two%20three%20four,ten%20eleven%20twelve%20thirteen"


def test_fragment_context_is_the_nearest_words_however_far_they_are():
    """The words around a repeated passage are read from a window near it, not from
    all the text before it: the same words as splitting the whole text, whatever the
    lengths of words and of the whitespace between them."""
    rng = random.Random(7)
    vocabulary = ["a", "bridge", "x" * 70, "opens", "toll-free", "«quay»", "y" * 300]
    for _ in range(300):
        words = [rng.choice(vocabulary) for _ in range(rng.randrange(0, 12))]
        words += ["Harbour", "talks"] + [rng.choice(vocabulary) for _ in range(rng.randrange(0, 12))]
        words += ["harbour", "TALKS"] + [rng.choice(vocabulary) for _ in range(rng.randrange(0, 12))]
        text = "".join(word + rng.choice([" ", "\n", "  \t", " " * 200]) for word in words)
        source = SourceText(text)
        span = rng.choice(source.occurrences("Harbour talks") + source.occurrences("harbour TALKS"))
        before = text[:span.start].split()[-FRAGMENT_CONTEXT_WORDS:]
        after = text[span.end:].split()[:FRAGMENT_CONTEXT_WORDS]
        expected = [encode_fragment_text(" ".join(text[span.start:span.end].split()))]
        if before:
            expected.insert(0, encode_fragment_text(" ".join(before)) + "-")
        if after:
            expected.append("-" + encode_fragment_text(" ".join(after)))
        assert source.text_fragment(span) == "#:~:text=" + ",".join(expected)


def test_passages_link_to_the_original_and_the_archive(fixture_site):
    out, _ = fixture_site
    html = soup(out / "claims" / "bridge-opens-2022" / "index.html")
    record = html.find("section", attrs={"aria-labelledby": "record"})
    original = record.find("a", string="Find it in the original")["href"]
    assert original == ("https://example.org/gazette/minutes-2021-03-03#:~:text="
                        "%E2%80%9CThe%20bridge%20will%20open%20in%202022%20%E2%80%94%20on%20time"
                        "%20and%20on%20budget.%E2%80%9D")
    assert record.find("a", string="Archive copy")["href"] == \
        "https://archive.example.org/2021/minutes"
    unlinked = soup(out / "claims" / "opens-2023" / "index.html").find(
        "section", attrs={"aria-labelledby": "record"}).find_all("figure")[0]
    assert not unlinked.find("a", string="Find it in the original")  # that source has no url


# -- feed, sitemap, crawler files -------------------------------------------------------

def test_feed_parses_and_lists_claims_newest_first(fixture_site, tmp_path):
    out, site = fixture_site
    feed = feedparser.parse((out / "feed.xml").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title == "Harbour Bridge Fact Check"
    assert feed.feed.updated == "2021-05-02T00:00:00Z"
    assert [e.link for e in feed.entries] == [  # by `published`, else the claim's date
        "https://example.org/harbour/claims/bridge-opens-2022/",
        "https://example.org/harbour/claims/opens-2023/",
        "https://example.org/harbour/claims/bridge-costs-40-million/",
        "https://example.org/harbour/claims/not-before-2024/",
    ]
    by_link = {e.link: e for e in feed.entries}
    updated = by_link["https://example.org/harbour/claims/bridge-opens-2022/"]
    assert (updated.published, updated.updated) == ("2021-05-01T00:00:00Z", "2021-05-02T00:00:00Z")
    plain = by_link["https://example.org/harbour/claims/opens-2023/"]
    assert plain.published == plain.updated == "2021-04-15T00:00:00Z"
    # The author of an entry is the fact-checker that published it, not the claimant.
    assert [(a.name, a.href) for a in by_link[
        "https://example.org/harbour/claims/bridge-costs-40-million/"].authors] == [
        ("Fixture Desk", "https://example.org/")]
    # Entry ids are tag: URIs on the publisher's domain, so they outlive a new base_url.
    assert [e.id for e in feed.entries] == [
        "tag:example.org,2021-05-01:claims/bridge-opens-2022/",
        "tag:example.org,2021-04-15:claims/opens-2023/",
        "tag:example.org,2021-03:claims/bridge-costs-40-million/",
        "tag:example.org,2021:claims/not-before-2024/",
    ]
    again = pipeline.build(FIXTURE, TEMPLATES, tmp_path / "again")
    assert (tmp_path / "again" / "feed.xml").read_bytes() == (out / "feed.xml").read_bytes()
    assert again.site.claims


def test_sitemap_lists_every_page_with_absolute_urls(fixture_site):
    out, _ = fixture_site
    root = ET.parse(out / "sitemap.xml").getroot()
    assert root.tag == f"{SITEMAP_NS}urlset"
    locs = [u.find(f"{SITEMAP_NS}loc").text for u in root]
    pages = sorted(p.relative_to(out).as_posix() for p in out.rglob("index.html"))
    expected = sorted("https://example.org/harbour/" + p.removesuffix("index.html") for p in pages)
    assert sorted(locs) == expected and len(locs) == len(set(locs)) == 26
    lastmod = {u.find(f"{SITEMAP_NS}loc").text: getattr(u.find(f"{SITEMAP_NS}lastmod"), "text", None)
               for u in root}
    base = "https://example.org/harbour/"
    assert lastmod[base + "claims/bridge-opens-2022/"] == "2021-05-02"  # its update
    assert lastmod[base + "claims/opens-2023/"] == "2021-04-15"  # published, never updated
    assert lastmod[base] == "2021-05-02"  # the latest of the claims it lists
    assert lastmod[base + "about/"] is None  # no claim on it


def test_sitemap_is_split_into_an_index_past_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(render, "SITEMAP_LIMIT", 4)
    pipeline.build(FIXTURE, TEMPLATES, tmp_path / "site")
    index = ET.parse(tmp_path / "site" / "sitemap.xml").getroot()
    assert index.tag == f"{SITEMAP_NS}sitemapindex"
    parts = [s.find(f"{SITEMAP_NS}loc").text for s in index]
    assert parts == [f"https://example.org/harbour/sitemap-{n}.xml" for n in range(1, 8)]
    counts = [len(ET.parse(tmp_path / "site" / f"sitemap-{n}.xml").getroot()) for n in range(1, 8)]
    assert counts == [4, 4, 4, 4, 4, 4, 2]


def test_robots_txt_names_the_sitemap(fixture_site):
    out, _ = fixture_site
    assert (out / "robots.txt").read_text().splitlines()[-1] == \
        "Sitemap: https://example.org/harbour/sitemap.xml"


def test_every_page_has_canonical_open_graph_twitter_and_favicon(demo_site):
    for page in demo_site.rglob("index.html"):
        html = soup(page)
        url = "https://example.org/security-talks/" + \
            page.relative_to(demo_site).as_posix().removesuffix("index.html")
        assert html.find("link", rel="canonical")["href"] == url
        meta = {m.get("property") or m.get("name"): m["content"] for m in html.find_all("meta")
                if m.get("content") is not None}
        assert meta["og:url"] == url
        assert meta["og:title"] == html.title.get_text() == meta["twitter:title"]
        assert meta["og:description"] and meta["twitter:card"] == "summary"
        icon = html.find("link", rel="icon")["href"]
        assert (page.parent / icon).resolve().is_file()


# -- exports ----------------------------------------------------------------------------

def test_claims_json_holds_the_resolved_dataset(fixture_site):
    out, site = fixture_site
    data = json.loads((out / "claims.json").read_text(encoding="utf-8"))
    assert data["schema_version"] == 1
    assert [c["id"] for c in data["claims"]] == [c.id for c in site.claims]
    texts = {s.id: s.text for s in site.sources}
    for record in data["claims"]:
        for passage in record["passages"]:
            text = texts[passage["source"]]
            parts = [text[p["start"]:p["end"]] for p in passage["parts"]]
            assert " […] ".join(parts) == passage["text"]
            assert (passage["parts"][0]["start"], passage["parts"][-1]["end"]) == (
                passage["start"], passage["end"])
    opens = next(c for c in data["claims"] if c["id"] == "bridge-opens-2022")
    assert opens["disputed_by"] == ["not-before-2024", "opens-2023"]
    assert opens["supported_by"] == ["bridge-costs-40-million"]
    assert opens["rating"] == "misleading"
    assert opens["updates"] == [{"date": "2021-05-02",
                                 "note": "<p>Added the <a href=\"https://example.org/harbour/"
                                         "sources/2021-04-press-office/\">press office "
                                         "statement</a>.</p>\n"}]  # links are absolute here
    counter = next(c for c in data["claims"] if c["id"] == "not-before-2024")
    assert counter["disputes"] == ["bridge-opens-2022"]
    assert [r["id"] for r in data["ratings"]] == ["accurate", "misleading", "false"]


def test_claims_csv_has_one_row_per_claim(fixture_site):
    out, site = fixture_site
    rows = list(csv.DictReader(io.StringIO((out / "claims.csv").read_text(encoding="utf-8"))))
    assert [r["id"] for r in rows] == [c.id for c in site.claims]
    costs = next(r for r in rows if r["id"] == "bridge-costs-40-million")
    assert costs["claimants"] == "Ana Lima; City Press Office"
    assert costs["supports"] == "bridge-opens-2022"
    assert costs["date"] == "2021-03"


@pytest.mark.parametrize("items", [[], [1], [{"a": [1, {"b": "x\ny", "c": {}}]}, "é", []]])
def test_data_files_written_in_pieces_are_one_json_document(items):
    """claims.json and claimreview.json are written a claim at a time (never the whole
    archive as one value), in exactly the bytes of the whole document formatted at once."""
    head = {"schema_version": 1, "site": {"title": "T", "ratings": []}}
    assert "".join(_json_pieces(head, "claims", iter(items))) == json.dumps(
        {**head, "claims": items}, ensure_ascii=False, indent=2) + "\n"


def _any_json(rng: random.Random, depth: int = 0) -> object:
    """A value of any kind json writes: text (quotes, control characters, non-ASCII, a
    subclass), numbers, booleans, null, lists, tuples and dicts (empty or not, keys that are
    not text)."""
    kinds = ["text", "int", "float", "bool", "null"] + ["list", "tuple", "dict"] * (depth < 4)
    kind = rng.choice(kinds)
    if kind == "text":
        text = "".join(rng.choice('ab "\\/\n\t\x00\x1fé€😀<>&') for _ in range(rng.randint(0, 6)))
        return Markup(text) if rng.random() < 0.2 else text
    if kind in ("int", "float"):
        return rng.choice([0, -1, 2**70, 1.5, -0.0, 1e300, float("inf")]) if kind == "float" \
            else rng.randint(-1000, 1000)
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    items = [_any_json(rng, depth + 1) for _ in range(rng.choice([0, 1, 3]))]
    if kind == "dict":
        keys = [rng.choice(["id", "a b", "é", 'q"', 7, None, True]) for _ in items]
        return dict(zip(keys, items))
    return tuple(items) if kind == "tuple" else items


@pytest.mark.parametrize("seed", range(60))
def test_data_file_items_are_indented_exactly_as_json_indents_them(seed):
    """claims.json and claimreview.json format each claim without json's slow indenting
    encoder: the same text, whatever the value."""
    rng = random.Random(seed)
    value = [_any_json(rng) for _ in range(4)]
    for newline in ("\n", "\n    "):
        assert _indented(value, newline) == json.dumps(
            value, ensure_ascii=False, indent=2).replace("\n", newline)


def test_data_files_of_a_large_archive_are_formatted_as_one_document(tmp_path):
    generate(tmp_path / "content", 120)
    pipeline.build(tmp_path / "content", TEMPLATES, tmp_path / "site", jobs=1)
    for name in ("claims.json", "claimreview.json"):
        text = (tmp_path / "site" / name).read_text(encoding="utf-8")
        assert json.dumps(json.loads(text), ensure_ascii=False, indent=2) + "\n" == text
    rows = list(csv.reader(io.StringIO((tmp_path / "site" / "claims.csv").read_text())))
    assert rows[0][0] == "id"
    assert sorted(row[0] for row in rows[1:]) == [f"claim-{n:06}" for n in range(120)]


@pytest.mark.parametrize("cell, safe", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1", "'+1"), ("-1", "'-1"),
    ("@SUM(A1)", "'@SUM(A1)"), ("plain", "plain"), ("2022-01", "2022-01"),
])
def test_csv_cells_are_spreadsheet_safe(cell, safe):
    assert spreadsheet_safe(cell) == safe


def test_formula_in_content_is_defused_in_the_csv(content, tmp_path):
    claim = content / "claims" / "not-before-2024.yaml"
    claim.write_text(claim.read_text().replace(
        "claim: The bridge will not open before 2024.", "claim: '=cmd|calc!A1'"))
    pipeline.build(content, TEMPLATES, tmp_path / "site")
    rows = list(csv.reader(io.StringIO((tmp_path / "site" / "claims.csv").read_text())))
    assert ["'=cmd|calc!A1"] == [r[2] for r in rows if r[0] == "not-before-2024"]


def test_claimreview_feed_lists_every_rated_claim(fixture_site):
    out, site = fixture_site
    feed = json.loads((out / "claimreview.json").read_text(encoding="utf-8"))
    assert feed["@type"] == "DataFeed"
    reviews = feed["dataFeedElement"]
    assert [r["url"] for r in reviews] == [
        "https://example.org/harbour/claims/bridge-opens-2022/",
        "https://example.org/harbour/claims/opens-2023/"]
    assert all(r["@type"] == "ClaimReview" and "@context" not in r for r in reviews)
    page = jsonld_of(out / "claims" / "opens-2023" / "index.html")
    assert {k: v for k, v in page.items() if k != "@context"} == reviews[1]


# -- corrections --------------------------------------------------------------------------

def test_claim_page_shows_its_updates_as_a_dated_box(fixture_site):
    out, _ = fixture_site
    box = soup(out / "claims" / "bridge-opens-2022" / "index.html").find(class_="updates")
    assert box.find("time", datetime="2021-05-02").get_text() == "2 May 2021"
    assert "Added the press office statement." in box.get_text()


def test_corrections_page_lists_every_update_newest_first(demo_site):
    site, _ = pipeline.load_site(DEMO)
    html = soup(demo_site / "corrections" / "index.html")
    entries = html.find("ol", class_="updates-log").find_all("li", recursive=False)
    expected = sorted(((u.date.sort_key, c.id, c) for c in site.claims for u in c.updates),
                      key=lambda e: e[:2], reverse=True)
    assert len(entries) == len(expected) >= 2
    for entry, (_, _, claim) in zip(entries, expected):
        assert entry.find("a")["href"] == f"../{claim.url}"
    assert html.h1.get_text() == "Corrections"  # the content page's title and text come first


def test_corrections_page_is_generated_when_content_has_none(fixture_site):
    out, _ = fixture_site
    html = soup(out / "corrections" / "index.html")
    assert html.h1.get_text() == "Corrections"
    assert [a["href"] for a in html.find("ol", class_="updates-log").find_all("a")] == [
        "../claims/bridge-opens-2022/",
        "../sources/2021-04-press-office/"]  # the note's source:ID link, from this depth


def test_a_rated_claim_too_long_for_claimreview_is_a_warning(content, tmp_path, monkeypatch, capsys):
    claim = content / "claims" / "opens-2023.yaml"
    long = "The bridge will open in 2023, once the council has approved the final budget."
    claim.write_text(claim.read_text(encoding="utf-8").replace(
        "The bridge will open in 2023.", long), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    assert build.main(["check"]) == 0
    assert capsys.readouterr().err == (
        f"content/claims/opens-2023.yaml:1:8: warning: rated claim is {len(long)} characters long;"
        " search engines show at most 75 of a reviewed claim\n"
        "  hint: shorten it to 75 characters or fewer\n")
