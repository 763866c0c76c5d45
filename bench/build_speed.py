#!/usr/bin/env python3
"""Time each build stage on generated corpora and print the figures.

    .venv/bin/python bench/build_speed.py [--claims 1000 10000]

Stages: load + validate (`check`), render, search index, write. Also prints the
peak resident memory of the process. Targets: `check` of 1,000 claims well
under a second; a full build of 10,000 claims within a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from serve_latency import generate  # noqa: E402  (the shared corpus generator)

from factsite import pipeline  # noqa: E402
from factsite.search import search_index  # noqa: E402
from factsite.write import write_site  # noqa: E402

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def measure(claims: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        content = Path(scratch) / "content"
        generate(content, claims)
        times = {}
        start = time.perf_counter()
        site, _ = pipeline.load_site(content)
        times["load + validate"] = time.perf_counter() - start
        start = time.perf_counter()
        files = pipeline.render_site(site, TEMPLATES)
        times["render"] = time.perf_counter() - start
        start = time.perf_counter()
        index = search_index(files, site.language)
        times["search index"] = time.perf_counter() - start
        start = time.perf_counter()
        write_site(Path(scratch) / "site", {**files, **index}, TEMPLATES / "static")
        times["write"] = time.perf_counter() - start
    total = sum(times.values())
    figures = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in times.items())
    print(f"{claims:>6} claims: {figures}; total {total:.2f} s ({len(files)} pages)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, nargs="+", default=[1000, 10000])
    for claims in parser.parse_args().claims:
        measure(claims)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
