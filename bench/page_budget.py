#!/usr/bin/env python3
"""The heaviest page of each type at 10,000 claims, against the page budget.

    .venv/bin/python bench/page_budget.py [--claims 10000] [--keep DIR]

Builds a generated archive (tests/corpus.py: claimants, topics, ratings, three years
of months, disputes and supports) with the default page size and prints, per page
type, how many pages it has and its largest page in bytes and in elements. Budget:
every HTML page at most 150 KB and 1,500 elements, and feed.xml at most 50 entries.
Exits 1 when a page is over budget. `--keep DIR` leaves the build there (for
bench/lighthouse.py). `--shape chain|hub` and `--years N` build archives shaped to
break the budget (one thread as deep as the archive; one claim disputed or supported
by all, one source quoted by all; a desk of many years).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import lxml.html

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from factsite import pipeline  # noqa: E402
from tests.corpus import generate  # noqa: E402

MAX_BYTES, MAX_ELEMENTS, MAX_ENTRIES = 150_000, 1_500, 50


def page_type(path: str) -> str:
    """'claims/x/index.html' → 'claims/*'; a listing's page N gets '/page/N' after its type."""
    parts = path.split("/")[:-1]
    suffix = ""
    if "page" in parts:
        parts, suffix = parts[:parts.index("page")], " page N"
    if not parts:
        return ("home" if path.endswith("index.html") else path) + suffix
    if parts[0] == "timeline" and len(parts) > 1:
        return "timeline month" + suffix
    return "/".join(parts[:1] + ["*"] * (len(parts) > 1)) + suffix


def measure(out: Path) -> int:
    rows: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for file in out.rglob("*.html"):
        data = file.read_bytes()
        elements = sum(1 for _ in lxml.html.fromstring(data).iter(lxml.etree.Element))
        path = file.relative_to(out).as_posix()
        rows[page_type(path)].append((len(data), elements, path))
    over = 0
    print(f"{'page type':24} {'pages':>6} {'largest':>10} {'elements':>9}  heaviest page")
    for kind in sorted(rows):
        pages = rows[kind]
        size, _, _ = max(pages)
        elements, _, heaviest = max((e, s, p) for s, e, p in pages)
        over += sum(1 for s, e, _ in pages if s > MAX_BYTES or e > MAX_ELEMENTS)
        print(f"{kind:24} {len(pages):6} {size / 1000:8.1f} KB {elements:9}  {heaviest}")
    entries = (out / "feed.xml").read_text(encoding="utf-8").count("<entry>")
    print(f"feed.xml: {entries} entries, {(out / 'feed.xml').stat().st_size / 1000:.1f} KB")
    print(f"over budget ({MAX_BYTES // 1000} KB or {MAX_ELEMENTS} elements): {over} pages")
    return 1 if over or entries > MAX_ENTRIES else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="build into this directory and keep it")
    parser.add_argument("--shape", choices=("desk", "chain", "hub"), default="desk",
                        help="how claims relate (tests/corpus.py): a desk's mix; one chain, "
                        "each claim disputing the one before; all disputing or supporting one")
    parser.add_argument("--years", type=int, default=23, help="years the claims span")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        content = Path(tmp) / "content"
        generate(content, args.claims, years=args.years, shape=args.shape)
        out = args.keep or Path(tmp) / "site"
        started = time.perf_counter()
        result = pipeline.build(content, ROOT / "templates", out)
        print(f"{args.claims} claims: {result.pages} pages built in "
              f"{time.perf_counter() - started:.1f} s")
        return measure(out)


if __name__ == "__main__":
    sys.exit(main())
