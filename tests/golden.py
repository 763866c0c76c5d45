"""Golden output: the fixture site in tests/fixtures/site built and compared with
tests/golden/expected/. After an intended change to output, regenerate with

    make golden        (or: python -m tests.golden regenerate)

and review the diff before committing it.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from factsite import pipeline

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "site" / "content"
EXPECTED = ROOT / "tests" / "golden" / "expected"
TEMPLATES = ROOT / "templates"
# The stylesheet and other static files are copied verbatim, and the Pagefind
# bundle is binary (tested in test_search.py); comparing them would only make
# every CSS tweak or Pagefind release a golden change.
IGNORED = ("static/", "pagefind/", ".factsite")


def build_fixture(out: Path) -> dict[str, bytes]:
    pipeline.build(FIXTURE, TEMPLATES, out)
    return site_files(out)


def site_files(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.relative_to(root).as_posix().startswith(IGNORED)
    }


def regenerate() -> None:
    out = ROOT / "tests" / "golden" / ".build"
    shutil.rmtree(out, ignore_errors=True)
    files = build_fixture(out)
    shutil.rmtree(EXPECTED, ignore_errors=True)
    for relative, content in files.items():
        target = EXPECTED / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    shutil.rmtree(out)
    print(f"wrote {len(files)} files to {EXPECTED.relative_to(ROOT)}")


if __name__ == "__main__":
    if sys.argv[1:] != ["regenerate"]:
        sys.exit("usage: python -m tests.golden regenerate")
    regenerate()
