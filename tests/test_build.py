"""Building: golden output, determinism, the atomic swap, refusals and the CLI."""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import build
from factsite import pipeline
from factsite.cache import CACHE_DIR
from factsite.diagnostics import ContentError
from tests import golden
from tests.conftest import ROOT, TEMPLATES


def test_golden_site(tmp_path):
    """The fixture site builds to exactly tests/golden/expected/ (`make golden` regenerates)."""
    actual = golden.build_fixture(tmp_path / "site")
    expected = golden.site_files(golden.EXPECTED)
    assert sorted(actual) == sorted(expected)
    for name in expected:
        if actual[name] != expected[name]:
            diff = difflib.unified_diff(
                expected[name].decode().splitlines(), actual[name].decode().splitlines(),
                f"expected/{name}", f"actual/{name}", lineterm="", n=2)
            pytest.fail("golden output differs (run `make golden` if intended):\n"
                        + "\n".join(list(diff)[:60]))


def test_build_twice_gives_identical_bytes(tmp_path, content):
    pipeline.build(content, TEMPLATES, tmp_path / "a")
    pipeline.build(content, TEMPLATES, tmp_path / "b")
    a, b = (every_file(tmp_path / d) for d in "ab")
    assert a == b
    assert len(a) > 30
    assert any(p.startswith("pagefind/filter/") for p in a)  # the search index, filters too


def test_the_built_site_is_read_again_only_when_asked_for(tmp_path, content):
    """The site leaves the build's process while Pagefind runs; the result reads it back from
    the loading process's file on first use only (the command line never asks)."""
    result = pipeline.build(content, TEMPLATES, tmp_path / "site", use_cache=False)
    assert callable(result.loaded) and "site" not in vars(result)
    site = result.site
    assert result.site is site and len(site.claims) == result.claims
    kept = pipeline.build(content, TEMPLATES, tmp_path / "kept",
                          model=pipeline.load_model(content, None))  # the dev server's site
    assert kept.site is kept.loaded and len(kept.site.claims) == result.claims


def test_the_build_process_never_loads_pydantic(tmp_path, content):
    """The content is checked in a forked process: the build's own, which plans, runs the
    dead-link rule and renders, never imports pydantic (nor does a build with nothing to do)."""
    script = ("import sys; from pathlib import Path; from factsite import pipeline; "
              "pipeline.build(*map(Path, sys.argv[1:])); print('pydantic_core' in sys.modules)")
    for kind in ("cold", "nothing changed"):
        result = subprocess.run([sys.executable, "-c", script, str(content), str(TEMPLATES),
                                 str(tmp_path / "site")], capture_output=True, text=True,
                                cwd=ROOT, timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stdout == "False\n", kind


def every_file(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_failed_build_leaves_previous_site_untouched(tmp_path, content):
    out = tmp_path / "site"
    pipeline.build(content, TEMPLATES, out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    claim = content / "claims" / "opens-2023.yaml"
    claim.write_text(claim.read_text().replace("Мост откроется", "Мост не откроется"))
    with pytest.raises(ContentError):
        pipeline.build(content, TEMPLATES, out)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != CACHE_DIR) == [
        c for c in ["content", "site"] if (tmp_path / c).exists()]


def test_template_error_is_reported_with_template_line_and_site_untouched(tmp_path, content):
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    out = tmp_path / "site"
    pipeline.build(content, templates, out)
    (templates / "topic.html").write_text(
        '{% extends "base.html" %}\n{% block main %}\n{{ topic.nonexistent }}\n{% endblock %}\n')
    with pytest.raises(ContentError) as caught:
        pipeline.build(content, templates, out)
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.path, diagnostic.line) == (str(templates / "topic.html"), 3)
    assert "has no attribute 'nonexistent'" in diagnostic.message
    assert (out / "topics" / "bridge" / "index.html").is_file()

    (templates / "topic.html").write_text("{% block main %}\n{% if %}\n")
    with pytest.raises(ContentError) as caught:
        pipeline.build(content, templates, out)
    assert caught.value.diagnostics[0].format_text().startswith(
        f"{templates / 'topic.html'}:2:1: error: template syntax error:")


def test_markdown_shown_without_rel_is_a_template_error(tmp_path, content):
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    page = templates / "page.html"
    page.write_text(page.read_text(encoding="utf-8").replace("{{ page.html|rel }}",
                                                             "{{ page.html }}"))
    with pytest.raises(ContentError) as caught:
        pipeline.build(content, templates, tmp_path / "site")
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.format_text() == (
        f"{page}:8:1: error: template error: Markdown shown without |rel: its links would "
        "lead nowhere; write {{ value|rel }}\n  hint: while rendering about/index.html")


def _foreign_dir(tmp: Path, name: str, file: str) -> Path:
    (tmp / name).mkdir()
    (tmp / name / file).write_text("x")
    return tmp / name


@pytest.mark.parametrize("setup, message", [
    (lambda tmp: tmp, "holds"),
    (lambda tmp: tmp / "content", "holds"),
    (lambda tmp: _foreign_dir(tmp, "mine", "notes.txt"), "has files factsite did not write"),
    (lambda tmp: _foreign_dir(tmp, "proj", "pyproject.toml"), "looks like a project root"),
])
def test_refuses_output_directories_it_did_not_write(tmp_path, content, monkeypatch, setup, message):
    monkeypatch.chdir(tmp_path)
    out = setup(tmp_path)
    with pytest.raises(ContentError) as caught:
        pipeline.build(content, TEMPLATES, out)
    assert message in caught.value.diagnostics[0].message
    assert content.is_dir() and (content / "site.yaml").is_file()


def test_rebuild_replaces_its_own_output(tmp_path, content):
    out = tmp_path / "site"
    pipeline.build(content, TEMPLATES, out)
    (content / "claims" / "opens-2023.yaml").unlink()
    pipeline.build(content, TEMPLATES, out)
    assert not (out / "claims" / "opens-2023").exists()
    assert (out / "claims" / "bridge-opens-2022" / "index.html").is_file()


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    return subprocess.run([sys.executable, str(ROOT / "build.py"), *args], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=60)


def test_cli_build_prints_a_summary_and_exits_0(tmp_path, content):
    shutil.copytree(TEMPLATES, tmp_path / "templates")
    result = run_cli(cwd=tmp_path)  # no verb means build
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("built 4 claims, 27 pages (")
    assert result.stdout.rstrip().endswith(" s")
    assert (tmp_path / "site" / "index.html").is_file()


def test_cli_check_writes_nothing(tmp_path, content):
    result = run_cli("check", "--content", str(content), "--out", str(tmp_path / "out"),
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok: 4 claims, 3 claimants, 2 sources checked\n"
    assert not (tmp_path / "out").exists()


def test_cli_content_errors_exit_1_without_traceback(tmp_path, content):
    (content / "claims" / "opens-2023.yaml").write_text("claim: [\n")
    result = run_cli("check", cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("content/claims/opens-2023.yaml:1:9: error: YAML syntax error")  # in the file
    assert result.stderr.endswith("check failed: 1 error\n")
    debug = run_cli("check", "--debug", cwd=tmp_path)
    assert debug.returncode == 1 and "Traceback" in debug.stderr


@pytest.mark.parametrize("args", [["deploy"], ["check", "--nope"], ["build", "--format", "xml"]])
def test_cli_usage_errors_exit_2(tmp_path, args):
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert "usage: build.py" in result.stderr


def test_check_strict_turns_warnings_into_errors(tmp_path, content, monkeypatch, capsys):
    (content / "claimants" / "silent.yaml").write_text("name: Silent\nkind: person\n")
    monkeypatch.chdir(tmp_path)
    assert build.main(["check"]) == 0
    assert capsys.readouterr().err == (
        "content/claimants/silent.yaml:1:1: warning: claimant 'silent' has no claims\n")
    assert build.main(["check", "--strict"]) == 1
    assert "check failed: 1 warning" in capsys.readouterr().err


def test_check_json_format(tmp_path, content, monkeypatch, capsys):
    (content / "claimants" / "silent.yaml").write_text("name: Silent\nkind: persn\n")
    monkeypatch.chdir(tmp_path)
    assert build.main(["check", "--format", "json"]) == 1
    import json
    assert json.loads(capsys.readouterr().out) == [{
        "path": "content/claimants/silent.yaml", "line": 2, "col": 7,
        "message": "'kind' must be one of person or organization, not 'persn'",
        "hint": "did you mean 'person'?", "severity": "error"}]


def test_where_processes_cannot_be_forked_the_build_loads_and_renders_in_its_own(
        tmp_path, monkeypatch):
    """No os.fork (Windows): the content is loaded, checked and rendered in the build's
    process, into the same files a forking build writes."""
    from tests import corpus
    content = tmp_path / "content"
    corpus.generate(content, 40)
    pipeline.build(content, TEMPLATES, tmp_path / "forked", use_cache=False)
    monkeypatch.delattr(os, "fork")
    result = pipeline.build(content, TEMPLATES, tmp_path / "alone", use_cache=False, jobs=1)
    assert result.pages > 40
    assert every_file(tmp_path / "alone") == every_file(tmp_path / "forked")
