"""Machine-readable diagnostics: `--format github` (the default under GitHub Actions) and
`--format json`, for warnings and errors, several files at once."""

from __future__ import annotations

import json

import pytest

import build
from factsite.diagnostics import Diagnostic, format_github, format_json


@pytest.fixture
def check(tmp_path, content, monkeypatch, capsys):
    """Run `build.py <args>` on a copy of the fixture content; (code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)

    def run(*args: str, github: bool = False) -> tuple[int, str, str]:
        if github:
            monkeypatch.setenv("GITHUB_ACTIONS", "true")
        else:
            monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
        code = build.main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err
    return run


def add_silent_claimant(content) -> None:
    (content / "claimants" / "silent.yaml").write_text("name: Silent\nkind: person\n")


def break_two_files(content) -> None:
    (content / "claimants" / "opposition.yaml").write_text(
        "name: Opposition Group\nkind: organisation\n", encoding="utf-8")
    claim = content / "claims" / "opens-2023.yaml"
    claim.write_text(claim.read_text(encoding="utf-8")
                     .replace("claimant: press-office", "claimant: press-ofice")
                     .replace("rating: accurate", "rating: acurate"), encoding="utf-8")


def test_github_is_the_default_under_github_actions_and_warnings_are_warnings(check, content):
    add_silent_claimant(content)
    assert check("check", github=True) == (
        0, "", "::warning file=content/claimants/silent.yaml,line=1,col=1::"
               "claimant 'silent' has no claims\n")
    assert check("check", "--strict", github=True) == (
        1, "", "::warning file=content/claimants/silent.yaml,line=1,col=1::"
               "claimant 'silent' has no claims\n")


def test_github_errors_in_several_files_sorted_with_hints(check, content):
    break_two_files(content)
    assert check("check", github=True) == (1, "", (
        "::error file=content/claimants/opposition.yaml,line=2,col=7::'kind' must be one of "
        "person or organization, not 'organisation' (hint: did you mean 'organization'?)\n"
        "::error file=content/claims/opens-2023.yaml,line=2,col=11::unknown claimant "
        "'press-ofice' (hint: did you mean 'press-office'?)\n"
        "::error file=content/claims/opens-2023.yaml,line=10,col=9::unknown rating "
        "'acurate' (hint: did you mean 'accurate'?)\n"))


def test_an_explicit_format_wins_over_github_actions(check, content):
    add_silent_claimant(content)
    assert check("check", "--format", "text", github=True) == (
        0, "ok: 4 claims, 4 claimants, 2 sources checked; 1 warning\n",
        "content/claimants/silent.yaml:1:1: warning: claimant 'silent' has no claims\n")


def test_json_lists_every_diagnostic_sorted_on_stdout(check, content):
    break_two_files(content)
    add_silent_claimant(content)  # warnings are not reported while there are errors
    code, out, err = check("check", "--format", "json", github=True)
    assert (code, err) == (1, "")
    assert json.loads(out) == [
        {"path": "content/claimants/opposition.yaml", "line": 2, "col": 7,
         "message": "'kind' must be one of person or organization, not 'organisation'",
         "hint": "did you mean 'organization'?", "severity": "error"},
        {"path": "content/claims/opens-2023.yaml", "line": 2, "col": 11,
         "message": "unknown claimant 'press-ofice'", "hint": "did you mean 'press-office'?",
         "severity": "error"},
        {"path": "content/claims/opens-2023.yaml", "line": 10, "col": 9,
         "message": "unknown rating 'acurate'", "hint": "did you mean 'accurate'?",
         "severity": "error"},
    ]


def test_json_of_a_clean_check_is_an_empty_list_and_warnings_are_listed(check, content):
    assert check("check", "--format", "json") == (0, "[]\n", "")
    add_silent_claimant(content)
    code, out, err = check("check", "--format", "json")
    assert (code, err) == (0, "")
    assert json.loads(out) == [{"path": "content/claimants/silent.yaml", "line": 1, "col": 1,
                                "message": "claimant 'silent' has no claims", "hint": None,
                                "severity": "warning"}]


def test_json_build_keeps_stdout_pure_json(check, content):
    add_silent_claimant(content)
    from tests.conftest import TEMPLATES
    code, out, err = check("build", "--format", "json", "--templates", str(TEMPLATES))
    assert code == 0
    assert [d["severity"] for d in json.loads(out)] == ["warning"]
    assert err.startswith("built 4 claims, ")


def test_github_annotations_escape_what_would_end_a_property_or_the_message():
    diagnostic = Diagnostic("content/a,b:c.yaml", 3, 1, "100% wrong\nsecond line",
                            "fix\r\nit", "warning")
    assert format_github([diagnostic]) == (  # line breaks are spelled out by Diagnostic itself
        "::warning file=content/a%2Cb%3Ac.yaml,line=3,col=1::"
        "100%25 wrong<U+000A>second line (hint: fix<U+000D><U+000A>it "
        "(<U+000A> is LINE FEED, a line break))")


def test_json_keeps_non_ascii_text_readable():
    diagnostic = Diagnostic("content/claims/мост.yaml", 1, 1, "quote “Мост” not found")
    assert json.loads(format_json([diagnostic]))[0]["path"] == "content/claims/мост.yaml"
    assert "“Мост”" in format_json([diagnostic])


def test_at_most_fifty_diagnostics_are_printed_then_how_many_more(check, content):
    """Limits cap what one file can hold, but not how many files are broken."""
    for n in range(120):
        (content / "claimants" / f"broken-{n:03}.yaml").write_text("name: [\n")
    code, out, err = check("check", "--content", str(content))
    lines = err.splitlines()
    assert code == 1
    assert len(lines) == 52
    assert lines[0].startswith(f"{content}/claimants/broken-000.yaml:1:8: error: YAML syntax error")
    assert lines[49].startswith(f"{content}/claimants/broken-049.yaml:")
    assert lines[50:] == ["… and 70 more", "check failed: 120 errors"]
    code, out, err = check("check", "--content", str(content), github=True)
    assert err.splitlines()[50:] == ["… and 70 more"]
    code, out, err = check("check", "--content", str(content), "--format", "json")
    assert len(json.loads(out)) == 120


def test_summary_groups_thousands():
    from factsite.diagnostics import summary
    assert summary([Diagnostic("a", 1, 1, "x")] * 1234) == "1,234 errors"


def test_invisible_and_bidi_characters_are_spelled_out_everywhere():
    diagnostic = Diagnostic("content/claims/a\u202eb.yaml", 1, 1, "unknown field 'x\u200by'",
                            "did you mean 'xy'?")
    assert diagnostic.format_text() == (
        "content/claims/a<U+202E>b.yaml:1:1: error: unknown field 'x<U+200B>y'\n"
        "  hint: did you mean 'xy'? (<U+200B> is ZERO WIDTH SPACE, an invisible character)")
    assert "a<U+202E>b.yaml" in format_github([diagnostic])
    assert json.loads(format_json([diagnostic]))[0]["message"] == "unknown field 'x<U+200B>y'"
    bom = Diagnostic("f", 1, 1, "invalid id 'a\ufeffb'")
    assert bom.hint == ("<U+FEFF> is ZERO WIDTH NO-BREAK SPACE, an invisible character: "
                        "delete it unless it is meant to be there")
    assert Diagnostic("f", 1, 1, "unknown claimant 'Пётр Ωμέγα'").message == (
        "unknown claimant 'Пётр Ωμέγα'")  # letters of any script are left alone


def test_with_every_file_unreadable_several_jobs_report_as_one(check, content):
    """With no file left to check the Markdown of, `--jobs 2` made no work to share and
    failed with an internal error instead of reporting the problem."""
    for path in content.rglob("*"):
        if path.is_file():
            path.unlink()
    (content / "site.yaml").write_text("title: [\n", encoding="utf-8")
    alone = check("check", "--content", str(content), "--jobs", "1")
    shared = check("check", "--content", str(content), "--jobs", "2")
    assert alone[0] == shared[0] == 1
    assert shared == alone
    assert "internal error" not in alone[2]
