"""The render stage's quicker paths through Jinja give what Jinja's own give."""

from __future__ import annotations

from pathlib import Path

from factsite.render import _environment


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
