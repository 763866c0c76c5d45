"""How a build fails when the theme is broken or factsite itself is: every message names
its file and line, a bug is labelled as one, and nothing is left half-written."""

from __future__ import annotations

import shutil

import pytest

import build
from factsite import export, pipeline, validate
from factsite.cache import CACHE_DIR
from tests.conftest import TEMPLATES


@pytest.fixture
def theme(tmp_path):
    target = tmp_path / "templates"
    shutil.copytree(TEMPLATES, target)
    return target


def run(tmp_path, content, theme, monkeypatch, capsys, *extra: str) -> tuple[int, str]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    code = build.main(["build", "--content", "content", "--templates", "templates",
                       "--jobs", "1", *extra])
    return code, capsys.readouterr().err


def set_language(content, language: str) -> None:
    site = content / "site.yaml"
    site.write_text(site.read_text().replace("language: en", f"language: {language}"))


@pytest.mark.parametrize("damage, expected", [
    (lambda text: "nav_timeline: [Хронология\nlatest_claims: Последние\n",
     "templates/i18n/ru.yaml:2:14: error: YAML syntax error: did not find expected ',' or ']'"),
    (lambda text: text + "latest_claims: Последние\n",
     "templates/i18n/ru.yaml:{last}:1: error: duplicate key 'latest_claims'"),
    (lambda text: text + "extra: &anchor x\n",
     "templates/i18n/ru.yaml:{last}:8: error: YAML anchors and aliases are not allowed"),
    (lambda text: text + "extra: [[nested]]\n",
     "templates/i18n/ru.yaml:{last}:8: error: 'extra' must be text, a list of texts or plural forms"),
])
def test_a_broken_translation_file_is_reported_at_its_line(
        tmp_path, content, theme, monkeypatch, capsys, damage, expected):
    set_language(content, "ru")
    ru = theme / "i18n" / "ru.yaml"
    text = ru.read_text(encoding="utf-8")
    ru.write_text(damage(text), encoding="utf-8")
    code, err = run(tmp_path, content, theme, monkeypatch, capsys)
    assert code == 1
    assert err.splitlines()[0] == expected.format(last=text.count("\n") + 1)
    assert err.splitlines()[-1] == "build failed: 1 error"
    assert not (tmp_path / "site").exists()


def test_translations_are_read_with_yaml_1_2_meaning(tmp_path, content, theme, monkeypatch,
                                                     capsys):
    """`no` stays the text 'no' (YAML 1.1 would make it false, and the page would say 'False')."""
    en = theme / "i18n" / "en.yaml"
    en.write_text(en.read_text().replace("nav_timeline: Timeline", "nav_timeline: no"))
    assert run(tmp_path, content, theme, monkeypatch, capsys)[0] == 0
    assert ">no</a>" in (tmp_path / "site" / "index.html").read_text()


def test_a_missing_fallback_translation_file(tmp_path, content, theme, monkeypatch, capsys):
    (theme / "i18n" / "en.yaml").unlink()
    code, err = run(tmp_path, content, theme, monkeypatch, capsys)
    assert (code, err) == (1, "templates/i18n/en.yaml:1:1: error: translation file not found\n"
                              "  hint: the theme needs en.yaml: every other language falls back "
                              "to it\nbuild failed: 1 error\n")


def test_a_missing_message_is_a_template_error_at_its_line(tmp_path, content, theme,
                                                           monkeypatch, capsys):
    base = theme / "base.html"
    text = base.read_text()
    base.write_text(text.replace('_("nav_timeline")', '_("nav_timelines")', 1))
    line = text[:text.index('_("nav_timeline")')].count("\n") + 1
    code, err = run(tmp_path, content, theme, monkeypatch, capsys)
    assert code == 1
    assert err.splitlines()[0] == (f"templates/base.html:{line}:1: error: template error: no "
                                   "translation for 'nav_timelines' in en.yaml or en.yaml")


def internal_error(what: str) -> str:
    """What build prints for a bug in factsite."""
    return (f"build.py build: internal error: {what}\n"
            "  hint: this is a bug in factsite, not a problem in your content "
            "or templates; --debug shows the traceback\n")


def test_a_bug_met_while_loading_apart_is_labelled_as_one_with_its_traceback(
        tmp_path, content, theme, monkeypatch, capsys):
    """The content is loaded and checked in a forked process: a bug there is still
    reported as one, and raised in the build with the child's traceback in a note."""
    def broken(checked):
        return {}["claims"]

    monkeypatch.setattr(validate, "assemble", broken)
    code, err = run(tmp_path, content, theme, monkeypatch, capsys)
    assert (code, err) == (70, internal_error("KeyError: 'claims'"))
    with pytest.raises(KeyError) as caught:
        pipeline.build(content, theme, tmp_path / "site")
    assert 'in broken\n    return {}["claims"]' in caught.value.__notes__[0]
    assert not (tmp_path / "site").exists()


def test_a_bug_in_factsite_is_labelled_as_one_not_as_a_template_error(
        tmp_path, content, theme, monkeypatch, capsys):
    def broken(site):
        return {}["schema_version"]

    monkeypatch.setattr(export, "claims_json", broken)
    code, err = run(tmp_path, content, theme, monkeypatch, capsys)
    assert (code, err) == (70, internal_error("KeyError: 'schema_version'"))
    assert not (tmp_path / "site").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != CACHE_DIR) == [
        "content", "templates"]
    with pytest.raises(KeyError):
        run(tmp_path, content, theme, monkeypatch, capsys, "--debug")


def test_ctrl_c_during_check_prints_one_line(tmp_path, content, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(build.pipeline, "load_site", interrupted)
    monkeypatch.chdir(tmp_path)
    assert build.main(["check"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_hundreds_of_claims_citing_one_passage_render(content):
    """Their highlights nest hundreds deep; the source page is written without recursion."""
    from factsite import pipeline
    from factsite.render import Renderer, plan

    for n in range(600):
        (content / "claims" / f"echo-{n}.yaml").write_text(
            f"claim: Echo {n}.\nclaimant: ana-lima\ndate: 2021-05-01\n"
            "passages:\n  - source: 2021-03-council-minutes\n"
            "    quote: The bridge will open in 2022\n")
    site, _ = pipeline.load_site(content)
    page = next(p for p in plan(site) if p.url == "sources/2021-03-council-minutes/")
    html = Renderer(TEMPLATES, site).render(page)
    assert html.count("<mark ") == html.count("</mark>") >= 600
