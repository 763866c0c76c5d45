"""Broken content trees: each case in tests/invalid/<case>/ is laid over a copy of
the fixture site; `build.py check` must exit 1 and print exactly expected.txt."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import build
from tests.conftest import FIXTURE

CASES = Path(__file__).parent / "invalid"


def run_check(tmp_path: Path, case: Path, monkeypatch, capsys, *extra: str) -> tuple[int, str, str]:
    shutil.copytree(FIXTURE, tmp_path / "content")
    for file in case.rglob("*"):
        if file.is_file() and file.name != "expected.txt":
            target = tmp_path / "content" / file.relative_to(case)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, target)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    code = build.main(["check", "--content", "content", *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_invalid_content_is_reported_exactly(case, tmp_path, monkeypatch, capsys):
    code, out, err = run_check(tmp_path, CASES / case, monkeypatch, capsys)
    expected = (CASES / case / "expected.txt").read_text(encoding="utf-8")
    assert (code, out) == (1, "")
    assert err == expected


def test_github_annotations(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    shutil.copytree(FIXTURE, tmp_path / "content")
    (tmp_path / "content" / "claimants" / "opposition.yaml").write_text(
        "name: Opposition Group\nkind: organization\nrole: [a, b]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert build.main(["check", "--content", "content"]) == 1
    assert capsys.readouterr().err == (
        "::error file=content/claimants/opposition.yaml,line=3,col=7::"
        "'role' must be text, not a list\n"
    )


def test_breaking_a_demo_quote_names_file_line_and_closest_passage(tmp_path, monkeypatch, capsys):
    from tests.conftest import DEMO
    shutil.copytree(DEMO, tmp_path / "content")
    claim = tmp_path / "content" / "claims" / "kaliningrad-weapons-not-negotiable.yaml"
    claim.write_text(claim.read_text(encoding="utf-8").replace(
        "withdrawal of any missiles", "withdrawal of all missiles"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    assert build.main(["check"]) == 1
    source = "content/sources/2022-01-16-kaliningrad-weapons.txt"
    assert capsys.readouterr().err == (
        f"{claim.relative_to(tmp_path)}:7:12: error: quote not found in {source}\n"
        f"  hint: closest passage ({source}:8:2): \"Russia will not discuss with anyone the "
        "withdrawal of any missiles, any weapons from Kaliningrad, since Kaliningrad is the "
        "territory of Russia\"; the quote has 'all' where the source has 'any'\n"
        "check failed: 1 error\n")
