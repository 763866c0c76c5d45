"""The render stage's quicker paths through Jinja give what Jinja's own give."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from markupsafe import Markup

from factsite import pipeline
from factsite.i18n import Translations
from factsite.model import PartialDate
from factsite.render import Renderer, _environment, plan
from tests.conftest import DEMO, TEMPLATES


def _theme(tmp_path: Path, templates: dict[str, str]) -> Path:
    for name, text in templates.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_an_imported_module_is_made_once_unless_the_page_has_globals_it_lacks(tmp_path):
    """``{% import %}`` reuses the imported template's module, as Jinja does, except for a
    page given globals of its own: then the module is made with them, so its macros see them."""
    env = _environment(_theme(tmp_path, {
        "lib.html": "{% macro show() %}{{ extra is defined and extra or 'none' }}{% endmacro %}",
        "page.html": "{% import 'lib.html' as lib %}{{ lib.show() }}",
    }))
    page = env.get_template("page.html")
    assert page.render() == "none"
    lib = env.get_template("lib.html")
    module = lib._get_default_module(page.new_context())
    assert lib._get_default_module(page.new_context()) is module
    env.globals["shared"] = 1  # a global of the environment: both templates have it
    assert lib._get_default_module(page.new_context()) is module
    given = env.get_template("page.html", globals={"extra": "given"})
    assert given.render() == "given"
    assert lib._get_default_module(given.new_context()) is not module


def test_a_count_made_once_shows_what_it_shows_made_anew():
    """``_n(key, n)`` is made once per key and whole number: the same text as made each time,
    in every plural form, and never mixed up with an equal value that shows otherwise."""
    ru = Translations.load(TEMPLATES / "i18n", "ru")
    expected = {1: "1 заявление", 3: "3 заявления", 11: "11 заявлений", 21: "21 заявление",
                104: "104 заявления", 0: "0 заявлений"}
    for _ in range(2):
        for n, text in expected.items():
            made = ru.plural("claims_count", n)
            assert made == text and type(made) is Markup
    assert ru.plural("claims_count", True) == "True заявление"  # True == 1, shown as Jinja shows it
    assert ru.plural("claims_count", 1.0) == "1.0 заявление"
    en = Translations.load(TEMPLATES / "i18n", "en")
    assert en.plural("claims_count", 2, unused="<b>") == en.plural("claims_count", 2) == "2 claims"


def test_a_date_made_once_shows_what_it_shows_made_anew():
    en = Translations.load(TEMPLATES / "i18n", "en")
    for _ in range(2):
        assert en.date(PartialDate(2021, 3, 4)) == "4 March 2021"
        assert en.date(PartialDate(2021, 3)) == "March 2021"
        assert en.date(PartialDate(2021)) == "2021"


def test_cards_of_claimants_and_ratings_are_rendered_before_workers_fork():
    """``warm_up`` renders the card of every claimant and every rating badge (a page showed
    one: each is on many claim pages, which workers render in no particular order); a page
    shows them, and the rating scale made once, as it shows them rendered in place."""
    site, _ = pipeline.load_site(DEMO)
    pages = plan(site)
    renderer = Renderer(TEMPLATES, site, cards=True)
    renderer.warm_up(pages)
    shown = Counter(key[0].name for key in renderer.env.cards)
    assert shown["claimant_card"] == len(site.claimants) > 1
    assert shown["rating_badge"] == len(site.ratings) > 1
    in_place = Renderer(TEMPLATES, site)
    claim_pages = [page for page in pages if page.template == "claim.html"]
    assert claim_pages
    for page in claim_pages:
        assert renderer.render(page) == in_place.render(page)
    assert [key for key in renderer.env.cards if key[0].name == "rating_scale"] == [
        (renderer.env.get_template("_partials.html").module.rating_scale,)]


def test_a_page_sees_its_template_globals_over_the_environment_s(tmp_path):
    env = _environment(_theme(tmp_path, {"page.html": "{{ x }} {{ y }}{{ z | default('') }}"}))
    env.globals.update(x="env", y="env")
    page = env.get_template("page.html", globals={"x": "template"})
    assert page.render() == "template env"
    assert page.render(y="given") == "template given"
    env.globals["z"] = "!"  # the environment's globals, as they are when the page renders
    assert page.render() == "template env!"
