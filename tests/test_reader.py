"""Reader-facing structure: translations, dispute threads, the timeline."""

from __future__ import annotations

import pytest
import yaml

from factsite import pipeline
from factsite.i18n import Translations, plural_category
from factsite.model import PartialDate
from tests.conftest import DEMO, TEMPLATES, soup

I18N = TEMPLATES / "i18n"


def _shape(value):
    return sorted(value) if isinstance(value, dict) else type(value).__name__


def test_every_shipped_language_translates_every_english_string():
    english = yaml.safe_load((I18N / "en.yaml").read_text(encoding="utf-8"))
    for file in I18N.glob("*.yaml"):
        other = yaml.safe_load(file.read_text(encoding="utf-8"))
        assert sorted(other) == sorted(english), file.name
        for key, value in english.items():
            if isinstance(value, dict):
                assert "other" in other[key], (file.name, key)
            else:
                assert _shape(other[key]) == _shape(value), (file.name, key)
        assert len(other["months"]) == len(other["months_in_date"]) == 12


@pytest.mark.parametrize("n, category", [
    (1, "one"), (21, "one"), (2, "few"), (24, "few"), (5, "many"), (11, "many"),
    (12, "many"), (14, "many"), (111, "many"), (0, "many"),
])
def test_russian_plural_categories(n, category):
    assert plural_category("ru", n) == category


def test_dates_and_plurals_in_russian_and_english():
    ru, en = Translations.load(I18N, "ru"), Translations.load(I18N, "en-GB")
    assert ru.date(PartialDate(2022, 1, 16)) == "16 января 2022 г."
    assert ru.date(PartialDate(2015, 1)) == "январь 2015 г."
    assert ru.date(PartialDate(2021)) == "2021"
    assert ru.plural("counterclaims_on_record", 3) == "3 опровержения"
    assert ru.plural("counterclaims_on_record", 5) == "5 опровержений"
    assert en.language == "en" and en.date(PartialDate(2014, 7)) == "July 2014"
    assert en.plural("counterclaims_on_record", 1) == "1 counterclaim on record"


def test_unknown_language_falls_back_to_english():
    assert Translations.load(I18N, "de").text("latest_claims") == "Latest claims"


def test_a_russian_site_speaks_russian(content, tmp_path):
    site_yaml = content / "site.yaml"
    site_yaml.write_text(site_yaml.read_text().replace("language: en", "language: ru"))
    pipeline.build(content, TEMPLATES, tmp_path / "site")
    html = soup(tmp_path / "site" / "claims" / "bridge-opens-2022" / "index.html")
    assert html.html["lang"] == "ru"
    facts = html.find("dl", class_="facts")
    # The hidden ": " keeps term and value apart in search excerpts ("Дата: 3 марта").
    assert [dt.get_text() for dt in facts.find_all("dt")][:2] == ["Автор: ", "Дата: "]
    assert facts.find("time").get_text() == "3 марта 2021 г."
    assert html.find("a", href="#counterclaims").get_text() == "2 опровержения"


def test_quotes_carry_the_language_and_direction_of_their_source(content, tmp_path):
    source = content / "sources" / "2021-04-press-office.txt"
    source.write_text("---\ntitle: بيان\nlanguage: ar\n---\nسيفتح الجسر في عام 2023.",
                      encoding="utf-8")
    claim = content / "claims" / "opens-2023.yaml"
    claim.write_text(claim.read_text(encoding="utf-8").replace(
        "Мост откроется в 2023 году", "سيفتح الجسر"), encoding="utf-8")
    pipeline.build(content, TEMPLATES, tmp_path / "site")
    page = soup(tmp_path / "site" / "claims" / "opens-2023" / "index.html")
    quotes = page.find("section", attrs={"aria-labelledby": "record"}).find_all("blockquote")
    assert [(q["lang"], q["dir"]) for q in quotes] == [("ar", "rtl"), ("en", "ltr")]
    text = soup(tmp_path / "site" / "sources" / "2021-04-press-office" / "index.html")
    assert text.find(class_="source-text")["dir"] == "rtl"


# -- dispute threads ------------------------------------------------------------------------

def test_claim_page_lists_each_related_claim_once_and_links_its_thread(tmp_path):
    from tests.conftest import FIXTURE
    result = pipeline.build(FIXTURE, TEMPLATES, tmp_path / "site")
    [thread] = result.site.threads
    assert thread.claim.id == "not-before-2024"  # the earliest claim of the group
    assert thread.size == 4 and thread.holds_disputes
    # bridge-costs-40-million only supports bridge-opens-2022: its page shows that one
    # claim, once, and links to the whole thread where the counterclaims are.
    html = soup(tmp_path / "site" / "claims" / "bridge-costs-40-million" / "index.html")
    titles = [h.get_text(strip=True) for h in html.select("main .claim-card-title")]
    assert titles == ["The bridge will open in 2022, on time and on budget."]
    link = html.find("p", class_="thread-link").a
    assert (link["href"], link.get_text()) == (
        "../../threads/#thread-not-before-2024", "See the whole dispute thread (4 claims)")
    threads = soup(tmp_path / "site" / "threads" / "index.html")
    block = threads.find("section", id="thread-not-before-2024")
    assert block.find(class_="kicker").get_text() == "Dispute thread"
    shown = [p.get_text(" ", strip=True) for p in block.find_all("p", class_="thread-claim")]
    assert shown == ["The bridge will not open before 2024.",
                     "The bridge will open in 2022, on time and on budget.",
                     "The bridge will open in 2023.",
                     "The bridge costs 40 million."]
    labels = [s.get_text() for s in block.find_all(class_="relation-label")]
    assert labels == ["is disputed by the claim above", "disputes the claim above",
                      "supports the claim above"]


def test_a_claim_disputed_and_supported_by_the_same_claim_shows_it_once(content, tmp_path):
    # bridge-costs-40-million supports bridge-opens-2022, which now disputes it back.
    claim = content / "claims" / "bridge-opens-2022.yaml"
    claim.write_text(claim.read_text(encoding="utf-8") + "disputes: [bridge-costs-40-million]\n",
                     encoding="utf-8")
    pipeline.build(content, TEMPLATES, tmp_path / "site")
    html = soup(tmp_path / "site" / "claims" / "bridge-opens-2022" / "index.html")
    titles = [h.get_text(strip=True) for h in html.select("main .claim-card-title")]
    assert len(titles) == len(set(titles))
    assert "The bridge costs 40 million." in titles


def test_a_thread_of_supports_only_is_named_for_what_it_holds(content, tmp_path):
    for name in ("opens-2023", "not-before-2024"):
        path = content / "claims" / f"{name}.yaml"
        path.write_text("".join(line for line in path.read_text(encoding="utf-8")
                                .splitlines(keepends=True) if not line.startswith("disputes")),
                        encoding="utf-8")
    result = pipeline.build(content, TEMPLATES, tmp_path / "site")
    [thread] = result.site.threads
    assert not thread.holds_disputes
    block = soup(tmp_path / "site" / "threads" / "index.html").find("section", class_="thread-block")
    assert block.find(class_="kicker").get_text() == "Supporting claims"
    page = soup(tmp_path / "site" / "claims" / "bridge-costs-40-million" / "index.html")
    assert page.find("p", class_="thread-link").get_text(strip=True) == \
        "See all supporting claims together (2 claims)"


def test_threads_page_lists_every_thread(demo_site):
    site, _ = pipeline.load_site(DEMO)
    html = soup(demo_site / "threads" / "index.html")
    blocks = html.find_all("section", class_="thread-block")
    assert len(blocks) == len(site.threads) >= 2
    related = {c.id for c in site.claims if c.disputes or c.disputed_by or c.supports
               or c.supported_by}
    linked = {a["href"].split("/")[-2] for a in html.select(".thread-claim a")}
    assert linked == related
    assert sum(t.size for t in site.threads) == len(related)


# -- timeline ---------------------------------------------------------------------------------

def test_timeline_indexes_years_and_months_with_one_page_per_month(demo_site):
    site, _ = pipeline.load_site(DEMO)
    index = soup(demo_site / "timeline" / "index.html")
    years = [int(h.get_text()) for h in index.select("section.year h2")]
    assert years == sorted({c.date.year for c in site.claims})
    listed = []
    for link in index.select("section.year li a"):
        count = int(link.find_next_sibling(class_="count").get_text())
        month = soup(demo_site / "timeline" / link["href"] / "index.html")
        entries = [a["href"].split("/")[-2] for a in month.select("ol.timeline .claim-card-title a")]
        assert len(entries) == count
        listed += entries
        for item in month.select("ol.timeline > li"):  # relations link to the claims' pages
            assert all(a["href"].startswith("../../../claims/") for a in item.select("p.relation a"))
    assert listed == [c.id for c in site.claims]
    assert index.find("a", href="../timeline/2015/01/").get_text() == "January 2015"


def test_year_only_dates_head_their_year(tmp_path):
    from tests.conftest import FIXTURE
    pipeline.build(FIXTURE, TEMPLATES, tmp_path / "site")
    months = [a.get_text() for a in soup(tmp_path / "site" / "timeline" / "index.html")
              .select("section.year li a")]
    assert months == ["Month not recorded", "March 2021", "April 2021"]
    year = soup(tmp_path / "site" / "timeline" / "2021" / "index.html")
    assert year.h1.get_text() == "2021, month not recorded"
    nav = [a.get_text() for a in year.select("nav.month-nav a")]
    assert nav == ["All months", "March 2021 →"]


# -- highlights on source pages -----------------------------------------------------------------

def test_nested_and_crossing_passages_render_as_nested_marks(content, tmp_path):
    (content / "claims" / "not-fifty.yaml").write_text(
        "claim: It is not 50 million.\nclaimant: ana-lima\ndate: 2021-03-03\n"
        "passages:\n  - {source: 2021-03-council-minutes, quote: '40 million, not 50 million'}\n",
        encoding="utf-8")
    pipeline.build(content, TEMPLATES, tmp_path / "site")
    page = tmp_path / "site" / "sources" / "2021-03-council-minutes" / "index.html"
    text = soup(page).find(class_="source-text")
    # Nested: one passage inside another is a mark inside a mark.
    inner = text.find("mark", id="passage-opens-2023-2")
    assert inner.parent.name == "mark" and inner.parent["data-passage"] == \
        "passage-bridge-opens-2022-1"
    # Crossing: cut into two pieces; the first (with the id) nests in the passage it starts
    # in, the second follows it; the claim link comes after the last piece.
    pieces = text.find_all("mark", attrs={"data-passage": "passage-not-fifty-1"})
    assert [p.get_text() for p in pieces] == ["40 million", ", not 50 million"]
    assert pieces[0]["id"] == "passage-not-fifty-1" and not pieces[1].get("id")
    assert pieces[0].parent["data-passage"] == "passage-bridge-costs-40-million-1"
    assert pieces[1].parent.name == "div"
    assert pieces[1].find_next_sibling("a", class_="cite")["href"] == "../../claims/not-fifty/"
    # Every cited passage reads whole from its pieces.
    for anchor, quote in [("passage-not-fifty-1", "40 million, not 50 million"),
                          ("passage-bridge-costs-40-million-1", "the\nbridge would cost 40 million")]:
        marks = text.find_all("mark", attrs={"data-passage": anchor})
        assert "".join(m.get_text() for m in marks) == quote


def test_a_thread_shows_every_link_even_those_the_tree_does_not_follow(content, tmp_path):
    # bridge-costs-40-million supports bridge-opens-2022 and now also disputes the root:
    # the tree places it under the root, and its support shows there as well.
    claim = content / "claims" / "bridge-costs-40-million.yaml"
    claim.write_text(claim.read_text(encoding="utf-8") + "disputes: [not-before-2024]\n",
                     encoding="utf-8")
    pipeline.build(content, TEMPLATES, tmp_path / "site")
    block = soup(tmp_path / "site" / "threads" / "index.html").find("section", class_="thread-block")
    node = block.find("a", string="The bridge costs 40 million.").find_parent("li")
    assert node.find(class_="relation-label").get_text() == "disputes the claim above"
    also = node.find("p", class_="relation")
    assert also.get_text(" ", strip=True) == \
        "Also supports: The bridge will open in 2022, on time and on budget."
    links = [a.get_text() for a in block.select("p.thread-claim a")]
    assert len(links) == len(set(links)) == 4
