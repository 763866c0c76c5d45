#!/usr/bin/env python3
"""Time each build stage on generated archives and print the figures.

    .venv/bin/python bench/build_speed.py [--claims 1000 10000] [--jobs N]

Archives come from tests/corpus.py (a 300-word analysis, two topics and a quote
per claim; a source per 5 claims, a claimant per 10). Stages as `build.py build
--verbose` prints them; peak memory is the largest resident size of this process
and of any one child (render workers, Pagefind). bench/compare_hugo.py compares
whole builds with Hugo.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from factsite import pipeline  # noqa: E402
from tests.corpus import generate  # noqa: E402


def measure(claims: int, jobs: int | None) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        content = Path(scratch) / "content"
        generate(content, claims)
        result = pipeline.build(content, ROOT / "templates", Path(scratch) / "site", jobs=jobs)
    figures = ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in result.stages)
    print(f"{claims:>6} claims: {figures}; total {result.seconds:.2f} s ({result.pages} pages)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--jobs", type=int, help="render processes (default: one per core)")
    args = parser.parse_args()
    for claims in args.claims:
        measure(claims, args.jobs)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory: this process {own:.0f} MiB, largest child {child:.0f} MiB")


if __name__ == "__main__":
    main()
