"""Element checks on the build of the demo fixture, with an HTML parser."""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from factsite import pipeline
from factsite.i18n import Translations
from tests.conftest import DEMO as DEMO_CONTENT
from tests.conftest import ROOT, TEMPLATES, internal_links, soup

DEMO, _ = pipeline.load_site(DEMO_CONTENT)
EN = Translations.load(TEMPLATES / "i18n", "en")



def page_of(site_dir: Path, url: str) -> Path:
    return site_dir / url / "index.html"


@pytest.mark.parametrize("claim", DEMO.claims, ids=lambda c: c.id)
def test_claim_page_names_claimant_date_passages_and_counterclaims(demo_site, claim):
    html = soup(page_of(demo_site, claim.url))
    assert html.h1.get_text(strip=True) == claim.text
    facts = html.find("dl", class_="facts")
    for claimant in claim.claimants:
        link = facts.find("a", string=claimant.name)
        assert link and link["href"] == f"../../{claimant.url}"
    assert facts.find("time")["datetime"] == claim.date.iso
    assert facts.find("time").get_text() == EN.date(claim.date)
    record = html.find("section", attrs={"aria-labelledby": "record"})
    marks = [m.get_text() for m in record.find_all("mark")]
    assert marks == [p.text for p in claim.passages]
    for p in claim.passages:
        assert record.find("a", href=f"../../{p.source.url}#{p.anchor}")
    counter = html.find("section", attrs={"aria-labelledby": "counterclaims"})
    if claim.disputed_by:
        titles = [h.get_text(strip=True) for h in counter.select(".claim-card-title")]
        assert titles == [c.text for c in claim.disputed_by]
        assert html.find(class_="claim-header").find(class_="badge disputed")
        for other in claim.disputed_by:
            assert counter.find("mark", string=other.passages[0].text)
    else:
        assert counter is None and not html.find(class_="claim-header").find(class_="badge disputed")
    disputes = html.find("section", attrs={"aria-labelledby": "disputes"})
    assert ([h.get_text(strip=True) for h in disputes.select(".claim-card-title")]
            if disputes else []) == [c.text for c in claim.disputes]


def test_demo_has_the_promised_shape():
    assert len(DEMO.claims) >= 12 and len(DEMO.claimants) >= 8
    assert sum(len(c.disputes) for c in DEMO.claims) >= 4
    both = [c for c in DEMO.claims if len({p.source.id for p in c.passages}) == 2]
    assert any("January 10" in c.text or "10 January" in c.text for c in both)
    assert {p.id for p in DEMO.pages} >= {"about", "methodology", "corrections"}


def test_sources_are_verbatim_copies_of_the_seeds():
    seeds = ROOT.parent / "shared" / "seeds"
    if not seeds.is_dir():
        pytest.skip("shared/seeds is not beside this checkout")
    texts = {s.text for s in DEMO.sources}
    for seed in seeds.glob("*.txt"):
        assert seed.read_text(encoding="utf-8") in texts


@pytest.mark.parametrize("source", DEMO.sources, ids=lambda s: s.id)
def test_source_page_highlights_every_cited_passage(demo_site, source):
    html = soup(page_of(demo_site, source.url))
    text = html.find(class_="source-text")
    # Raw markup, not the parsed tree: BeautifulSoup folds whitespace-only strings.
    raw = page_of(demo_site, source.url).read_text(encoding="utf-8")
    raw = raw[raw.index('<div class="source-text"'):]
    raw = raw[raw.index(">") + 1:raw.index("</div>")]
    shown = html_lib.unescape(re.sub(r"<[^>]*>", "", re.sub(r"<a [^>]*>.*?</a>", "", raw)))
    assert shown == source.text
    for passage in source.citations:
        mark = text.find("mark", id=passage.anchor)
        assert mark is not None
        assert text.find("a", class_="cite", href=f"../../{passage.claim.url}")


def test_partial_dates_are_shown_as_month_and_year(demo_site):
    partial = [c for c in DEMO.claims if c.date.day is None]
    assert partial
    for claim in partial:
        time = soup(page_of(demo_site, claim.url)).find("dl", class_="facts").find("time")
        assert time.get_text() == EN.date(claim.date)
        assert time.get_text().split()[-1] == str(claim.date.year)


def test_every_internal_link_and_anchor_resolves(demo_site):
    checked, broken = internal_links(demo_site)
    assert not broken
    assert checked > 500


def test_404_uses_absolute_paths_under_base_url(demo_site):
    html = soup(demo_site / "404.html")
    hrefs = [a["href"] for a in html.find_all(["a", "link"], href=True)
             if not urlsplit(a["href"]).scheme and not a["href"].startswith("#")]
    assert hrefs and all(h.startswith("/security-talks/") for h in hrefs)


def test_pages_declare_language_and_viewport(demo_site):
    for path in demo_site.rglob("*.html"):
        html = soup(path)
        assert html.html["lang"] == "en"
        assert html.find("meta", attrs={"name": "viewport"})
        assert len(html.find_all("h1")) == 1, path


def test_messages_fill_in_as_markupsafe_formats_them():
    """The translations' quick formatter (bare {name} fields given text, markup or whole
    numbers) gives what ``Markup.format`` gives, escaping included; other fields and values
    go through ``Markup.format`` itself."""
    from markupsafe import Markup, escape

    from factsite.i18n import _format
    values = [{"n": 3, "claim": "<b>Tom & \"Jerry\"</b>'s", "date": Markup("<time>1 May</time>")},
              {"n": -12, "claim": "", "date": "a {n} b"},
              {"n": True, "claim": None, "date": 2.5}]
    messages = ["{n} claims by {claim} on {date}", "{claim}{{literal}}{date}{n}",
                "{n:,} and {claim!r} on {date}", "no fields at all & <i>", "{n} {n} {claim}"]
    for message in messages:
        for given in values:
            assert _format(escape(message), given) == escape(message).format(**given)
            assert type(_format(escape(message), given)) is Markup
