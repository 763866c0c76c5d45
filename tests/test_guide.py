"""docs/editing.md shows real output: every step and mistake it walks through is replayed
here on a copy of the demo fixture (tests/fixtures/demo, never content/), and what build.py prints must appear in the guide
word for word. When a message changes on purpose, update the guide (run this file with
FACTSITE_GUIDE_OUTPUT=some-file to collect the current output there)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

import build
from tests.conftest import DEMO, ROOT

GUIDE = ROOT / "docs" / "editing.md"
CLAIMANT = Path("content/claimants/russian-defence-ministry.yaml")
CLAIM = Path("content/claims/nato-preparing-for-conflict.yaml")
COUNTER = Path("content/claims/free-to-move-troops-within-territory.yaml")


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    """Run build.py on a copy of the demo fixture; return what the terminal would show."""
    shutil.copytree(DEMO, tmp_path / "content")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)

    def run_(*args: str) -> str:
        build.main(list(args))
        captured = capsys.readouterr()
        shown = captured.err + captured.out
        if os.environ.get("FACTSITE_GUIDE_OUTPUT"):
            with open(os.environ["FACTSITE_GUIDE_OUTPUT"], "a", encoding="utf-8") as out:
                out.write(f"$ python build.py {' '.join(args)}\n{shown}\n")
        return shown
    return run_


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert re.search(old, text, re.MULTILINE), old
    path.write_text(re.sub(old, new, text, count=1, flags=re.MULTILINE), encoding="utf-8")


def in_guide(output: str) -> None:
    if os.environ.get("FACTSITE_GUIDE_OUTPUT"):
        return  # collecting, not checking
    guide = GUIDE.read_text(encoding="utf-8")
    # Blocks inside a numbered list are indented by three spaces.
    unindented = "".join(line.removeprefix("   ") for line in guide.splitlines(keepends=True))
    assert output in guide or output in unindented, \
        f"docs/editing.md should show this output:\n{output}"


def fill_claimant() -> None:
    edit(CLAIMANT, r"^name: TODO.*", "name: Ministry of Defence of the Russian Federation")
    edit(CLAIMANT, r"^kind: TODO.*", "kind: organization")


def fill_claim() -> None:
    edit(CLAIM, r"^claim: TODO.*",
         "claim: NATO is preparing for a large-scale, high-intensity conflict with Russia.")
    edit(CLAIM, r"^claimant: .*", "claimant: russian-defence-ministry")
    edit(CLAIM, r"^date: TODO.*", "date: 2021-12-27")
    edit(CLAIM, r"^  - source: .*", "  - source: 2021-12-28-sputnik-talks-announced")
    edit(CLAIM, r"quote: TODO.*",
         "quote: NATO Preparing for Large-Scale High-Intensity Conflict With Moscow")


def test_adding_a_source(run):
    in_guide(run("new", "source", "2022-01-17-nato-response"))
    in_guide(run("check"))
    source = Path("content/sources/2022-01-17-nato-response.txt")
    edit(source, "^title: TODO.*", "title: NATO responds to the Russian proposals")
    source.write_text(source.read_text(encoding="utf-8") + "The text as published.\n",
                      encoding="utf-8")
    in_guide(run("check"))
    in_guide(run("new", "source", "2021-12-28-sputnik-talks-announced"))
    in_guide(run("new", "claim", "NATO_conflict"))


def test_adding_a_page(run):
    in_guide(run("new", "page", "how-we-work"))
    in_guide(run("check"))
    page = Path("content/pages/how-we-work.md")
    edit(page, "^title: TODO.*", "title: How we work")
    edit(page, "^TODO write the page.*",
         "We quote [the Sputnik report](../sources/2021-12-28-sputnik-talks-announced/) "
         "word for word.")
    in_guide(run("check"))
    in_guide(run("new", "page", "search"))


def test_adding_a_claimant_and_a_claim(run):
    in_guide(run("new", "claimant", "russian-defence-ministry"))
    in_guide(run("check"))
    fill_claimant()
    in_guide(run("check"))
    in_guide(run("new", "claim", "nato-preparing-for-conflict"))
    in_guide(run("check"))
    fill_claim()
    in_guide(run("check"))


@pytest.mark.parametrize("old, new", [
    ("quote: NATO Preparing", "quote: NATO is Preparing"),
    ("quote: NATO Preparing.*", "quote: Official residence of the U.S. President"),
    ("^claimant: .*", "claimant: russian-defense-ministry"),
    ("^claim: .*", "claim: Russian Defence Ministry: NATO is preparing for a conflict."),
    ("^date: .*", "date: 27.12.2021"),
    ("^date: .*", "date: 2021-02-29"),
    ("^# rating: .*", "rating: false"),
    ("^# disputes: .*", "dispute: [nato-stop-expansion]"),
    ("^# disputes: .*", "dispu\u2060tes: [nato-stop-expansion]"),  # pasted with a word joiner
])
def test_mistakes_in_a_claim(run, old, new):
    run("new", "claimant", "russian-defence-ministry")
    fill_claimant()
    run("new", "claim", "nato-preparing-for-conflict")
    fill_claim()
    edit(CLAIM, old, new)
    in_guide(run("check"))


def test_a_file_that_is_not_a_file(run):
    run("new", "claimant", "russian-defence-ministry")
    fill_claimant()
    Path("content/claims/nato-stop-expansion.yaml").unlink()
    Path("content/claims/nato-stop-expansion.yaml").symlink_to("../drafts/nato-stop-expansion.yaml")
    in_guide(run("check"))


def test_fixing_an_ambiguous_quote_with_a_prefix(run):
    run("new", "claimant", "russian-defence-ministry")
    fill_claimant()
    run("new", "claim", "nato-preparing-for-conflict")
    fill_claim()
    edit(CLAIM, "quote: NATO Preparing.*", "quote: Official residence of the U.S. President\n"
                                            "    prefix: Washington D.C.")
    in_guide(run("check"))


def test_mistakes_in_a_counterclaim(run):
    edit(COUNTER, r"^disputes: .*",
         "disputes: [russia-massing-troops-near-ukriane, troops-preparing-invasion]")
    in_guide(run("check"))
    edit(COUNTER, r"^disputes: .*",
         "disputes: [free-to-move-troops-within-territory, troops-preparing-invasion]")
    in_guide(run("check"))


def test_rated_claim_without_analysis_is_a_warning(run):
    run("new", "claimant", "russian-defence-ministry")
    fill_claimant()
    run("new", "claim", "nato-preparing-for-conflict")
    fill_claim()
    edit(CLAIM, "^# rating: .*", 'rating: "false"')
    in_guide(run("check"))
    in_guide(run("check", "--strict"))


def test_a_failing_ci_check(run):
    edit(COUNTER, r"^claimant: .*", "claimant: russian-goverment")
    in_guide(run("check", "--strict", "--format", "github"))


SAVED_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>NATO responds to the Russian proposals</title>
<meta property="article:published_time" content="2022-01-17">
<link rel="canonical" href="https://news.example.org/2022/01/17/nato-response">
</head><body>
<nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article><h1>NATO responds to the Russian proposals</h1>
<p>NATO’s Secretary General said on Monday that the alliance was ready to talk, “but not to
compromise on core principles”.</p>
<p>He added that every nation had the right to choose its own path… and that this was not
negotiable.</p></article>
<aside><h2>Related</h2><a href="/x">More from World</a></aside>
</body></html>
"""


def test_importing_a_source(run):
    Path("nato-response.html").write_text(SAVED_PAGE, encoding="utf-8")
    in_guide(run("import", "nato-response.html"))
    in_guide(run("check"))
    in_guide(run("import", "nato-response.html"))
