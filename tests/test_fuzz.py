"""A seeded mutation fuzzer over the fixture site: one kind of damage per case, then `check`.

Whatever the damage, `check` must end with exit 0 or 1 (never a traceback, a hang or
an internal error), every problem must point into its file (a line and column that
exist, as editors count them), and nothing invisible or direction-changing may reach
the terminal raw. The cases in tests/fuzz/regressions.txt (damage and seed, one per
line) once broke one of these and are replayed on every run, then FACTSITE_FUZZ_CASES
new ones (default 150) from FACTSITE_FUZZ_SEED (default 11): a failure names the line
to add to the regressions file.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import shutil
import signal
import unicodedata
from pathlib import Path
from typing import Callable

import pytest

import build
from factsite.diagnostics import Lines
from factsite.load import FILE_LIMIT
from tests.conftest import FIXTURE, TEMPLATES

REGRESSIONS = Path(__file__).parent / "fuzz" / "regressions.txt"
CASES = int(os.environ.get("FACTSITE_FUZZ_CASES", "150"))
SEED = int(os.environ.get("FACTSITE_FUZZ_SEED", "11"))
SECONDS = 30  # per case: far more than a check or build of the fixture takes; a hang fails
BUILDS = 4  # cases that pass `check` are also built, this many per run (Pagefind takes a second)

STRANGE = ["\u2028", "\u2029", "\x85", "\u2060", "\u00ad", "\u200b", "\ufeff", "\u202e",
           "\u2066", "\r", "\t", "\x00", "\x07", "\x1b", "é", "Ω", "😀", "\ud7ff", "\ue000"]
YAML_SYNTAX = list(":'\"[]{}&*!|>#%@`-?,") + [": ", " #", "- ", "\n  ", "---\n", "..."]
NAMES = [b"bad-\xff\xfe", b"new\nline", "evil-\u202egpj".encode(), b"UPPER", b"sp ace",
         b"dots..", "caf\u00e9".encode(), b"-lead", b"trail-", b"a--b", b""]


def _files(content: Path) -> list[Path]:
    return sorted(p for p in content.rglob("*") if p.is_file() and not p.is_symlink())


def _text_edit(edit: Callable[[random.Random, str], str]):
    def damage(rng: random.Random, content: Path) -> None:
        file = rng.choice(_files(content))
        file.write_text(edit(rng, file.read_text(encoding="utf-8")), encoding="utf-8",
                        newline="")
    return damage


def _insert(rng: random.Random, text: str, piece: str) -> str:
    at = rng.randrange(len(text) + 1)
    return text[:at] + piece + text[at:]


def _lines(rng: random.Random, text: str, change: Callable[[list[str]], None]) -> str:
    lines = text.splitlines(keepends=True) or [""]
    change(lines)
    return "".join(lines)


def _replace_entry(make: Callable[[Path], None]):
    """Put something other than a file where a content file (or folder) is."""
    def damage(rng: random.Random, content: Path) -> None:
        target = rng.choice(_files(content) + [content / d for d in
                                               ("claims", "claimants", "sources", "pages")])
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()
        make(target)
    return damage


def _rename(rng: random.Random, content: Path) -> None:
    file = rng.choice(_files(content))
    stem = rng.choice(NAMES)
    name = os.fsdecode(stem + os.fsencode(file.suffix if rng.random() < 0.8 else ".yml"))
    if name and name != file.name:
        file.rename(file.parent / name)


def _reference(rng: random.Random, text: str) -> str:
    words = [w for w in ("ana-lima", "press-office", "opposition", "bridge", "accurate",
                         "2021-03-council-minutes", "opens-2023") if w in text]
    if not words:
        return text
    word = rng.choice(words)
    return text.replace(word, rng.choice([word[:-1], word.upper(), word + "\u2060",
                                          word.replace("-", "_"), ""]), 1)


DAMAGE: dict[str, Callable[[random.Random, Path], None]] = {
    "delete-line": _text_edit(lambda r, t: _lines(r, t, lambda ls: ls.pop(r.randrange(len(ls))))),
    "duplicate-line": _text_edit(lambda r, t: _lines(
        r, t, lambda ls: ls.insert(r.randrange(len(ls)), r.choice(ls)))),
    "swap-lines": _text_edit(lambda r, t: _lines(r, t, lambda ls: ls.reverse())),
    "indent-line": _text_edit(lambda r, t: _lines(
        r, t, lambda ls: ls.__setitem__(i := r.randrange(len(ls)), r.choice([" ", "\t", "    "])
                                        + ls[i]))),
    "dedent-line": _text_edit(lambda r, t: _lines(
        r, t, lambda ls: ls.__setitem__(i := r.randrange(len(ls)), ls[i].lstrip()))),
    "strange-character": _text_edit(lambda r, t: _insert(r, t, r.choice(STRANGE))),
    "yaml-syntax": _text_edit(lambda r, t: _insert(r, t, r.choice(YAML_SYNTAX))),
    "truncate": _text_edit(lambda r, t: t[:r.randrange(len(t) + 1)]),
    "no-final-newline": _text_edit(lambda r, t: t.rstrip("\n")),
    "empty": _text_edit(lambda r, t: ""),
    "crlf": _text_edit(lambda r, t: t.replace("\n", "\r\n")),
    "cr-only": _text_edit(lambda r, t: t.replace("\n", "\r")),
    "separators": _text_edit(lambda r, t: t.replace(" ", r.choice(["\u2028", "\u2029", "\x85"]),
                                                    r.randint(1, 5))),
    "reference": _text_edit(_reference),
    "alias": _text_edit(lambda r, t: _insert(r, t, r.choice(["&a ", "*a", "!!python/name:os ",
                                                             "<<: *a\n"]))),
    "deep": _text_edit(lambda r, t: t + "x: " + "[" * r.choice([31, 33, 2000]) + "\n"),
    "huge-value": _text_edit(lambda r, t: _insert(r, t, "w" * r.choice([301, 5001, 200_000]))),
    "huge-file": _text_edit(lambda r, t: t + "#" * (FILE_LIMIT + 1)),
    "latin-1": lambda r, c: (f := r.choice(_files(c))).write_bytes(
        f.read_bytes().replace("é".encode(), b"\xe9") + b"caf\xe9\n"),
    "rename": _rename,
    "symlink-loop": _replace_entry(lambda p: p.symlink_to(p.name)),
    "dangling-link": _replace_entry(lambda p: p.symlink_to("nowhere")),
    "directory": _replace_entry(lambda p: p.mkdir()),
    "plain-file": _replace_entry(lambda p: p.write_text("")),
    "named-pipe": _replace_entry(lambda p: os.mkfifo(p)),
    "device": _replace_entry(lambda p: p.symlink_to(os.devnull)),
    "stray-directory": lambda r, c: (c / r.choice(["claims", "sources"]) / "drafts").mkdir(),
}


def _timeout(signum, frame):  # noqa: ANN001
    raise TimeoutError(f"check took more than {SECONDS} s")


def run_case(kind: str, seed: int, root: Path, verb: str = "check",
             ) -> tuple[int | None, list[str]]:
    """Damage a fresh copy of the fixture; return the exit code of `check` (or `build`)
    and what is wrong with how it took the damage."""
    content = root / f"{kind}-{seed}" / "content"
    shutil.rmtree(content.parent, ignore_errors=True)
    shutil.copytree(FIXTURE, content)
    DAMAGE[kind](random.Random(seed), content)
    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(SECONDS)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = build.main([verb, "--content", str(content), "--format", "json",
                               "--templates", str(TEMPLATES), "--out", str(content.parent / "site"),
                               *(["--jobs", "1"] if verb == "build" else [])])
    except BaseException as error:  # noqa: BLE001 - any escape is the finding
        return None, [f"raised {type(error).__name__}: {error}"]
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    problems = [] if code in (0, 1) else [f"exit {code}: {err.getvalue()[:500]}"]
    for found in json.loads(out.getvalue() or "[]"):
        problems += _misplaced(found, content)
        shown = found["path"] + found["message"] + (found["hint"] or "")
        raw = [c for c in shown if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs")]
        if raw:
            problems.append(f"raw {raw!r} in {shown[:200]!r}")
    return code, problems


def _misplaced(found: dict, content: Path) -> list[str]:
    """A problem must point at a line and column that exist in its file."""
    where = f"{found['path']}:{found['line']}:{found['col']}: {found['message'][:120]}"
    if found["line"] < 1 or found["col"] < 1:
        return [f"position below 1: {where}"]
    path = Path(found["path"])
    if content not in path.parents or not path.is_file() or path.is_symlink():
        return []  # a folder, a link, a special file: reported at 1:1
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return []
    lines = Lines(text)
    if found["line"] > len(lines.starts):
        return [f"line past the end ({len(lines.starts)} lines): {where}"]
    start = lines.line_start(found["line"])
    end = lines.line_start(found["line"] + 1) if found["line"] < len(lines.starts) else len(text)
    length = len(text[start:end].rstrip("\r\n"))
    if found["col"] > length + 1:
        return [f"column past the end of the line ({length} characters): {where}"]
    return []


def _regressions() -> list[tuple[str, int]]:
    lines = REGRESSIONS.read_text(encoding="utf-8").splitlines()
    return [(kind, int(seed)) for kind, seed, *_ in
            (line.split() for line in lines if line.strip() and not line.startswith("#"))]


def test_regressions_name_known_damage():
    assert {kind for kind, _ in _regressions()} <= set(DAMAGE)


@pytest.mark.parametrize("kind, seed", _regressions())
def test_regression(kind, seed, tmp_path):
    assert run_case(kind, seed, tmp_path)[1] == []


def test_fuzz(tmp_path):
    rng = random.Random(SEED)
    failures, builds = [], 0
    for _ in range(CASES):
        kind, seed = rng.choice(sorted(DAMAGE)), rng.randrange(1_000_000)
        code, problems = run_case(kind, seed, tmp_path)
        if code == 0 and builds < BUILDS:  # still valid: it must build as well
            builds += 1
            code, problems = run_case(kind, seed, tmp_path, "build")
        shutil.rmtree(tmp_path / f"{kind}-{seed}", ignore_errors=True)
        if problems:
            failures.append(f"{kind} {seed}  # {problems[0]}")
    assert not failures, "add to tests/fuzz/regressions.txt once fixed:\n" + "\n".join(failures)
