#!/usr/bin/env python3
"""Lighthouse scores of every page type, on the demo and on a generated 10,000-claim archive.

    (cd bench/lighthouse && npm ci)      # Lighthouse 12.2.3, for this script only
    .venv/bin/python bench/lighthouse.py [--claims 10000] [--skip-demo] [--site DIR]

Builds the demo (content/) and a generated archive (tests/corpus.py; `--site DIR`
reuses a build, e.g. from `bench/page_budget.py --keep DIR`), serves each on
127.0.0.1 and runs Lighthouse with the desktop preset in Debian's Chromium
(CHROME_PATH, default /usr/bin/chromium) on the largest page of each type. Prints
performance, accessibility, best practices and SEO per page. Goal: performance
of at least 95 and 100 for the other three everywhere. Each site is served under
its base_url's path (read from robots.txt), as published; the 404 page is fetched
at its own file name, so that its status is 200 (a crawler never indexes it anyway).
`--types 404.html,home` scores only those page types.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "bench" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from factsite import pipeline  # noqa: E402
from page_budget import page_type  # noqa: E402
from tests.corpus import generate  # noqa: E402


class _UnderPrefix(http.server.SimpleHTTPRequestHandler):
    """Serves the site under ``prefix`` (its base_url's path), quietly."""

    prefix = "/"

    def translate_path(self, path: str) -> str:
        return super().translate_path("/" + path.removeprefix(self.prefix))

    def log_message(self, *args) -> None:
        pass


def serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    robots = (directory / "robots.txt").read_text(encoding="utf-8")
    sitemap = re.search(r"^Sitemap: (\S+)", robots, re.M).group(1)
    prefix = urlsplit(sitemap).path.removesuffix("sitemap.xml")
    handler = functools.partial(type("Handler", (_UnderPrefix,), {"prefix": prefix}),
                                directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}{prefix}"


def representatives(site: Path) -> dict[str, str]:
    """The largest page of each type, as a URL path."""
    by_type: dict[str, list[Path]] = defaultdict(list)
    for file in site.rglob("*.html"):
        if not file.relative_to(site).as_posix().startswith("pagefind/"):
            by_type[page_type(file.relative_to(site).as_posix())].append(file)
    return {kind: max(files, key=lambda f: (f.stat().st_size, f)).relative_to(site).as_posix()
            .removesuffix("index.html") for kind, files in sorted(by_type.items())}


def lighthouse(url: str, report: Path) -> dict[str, int]:
    subprocess.run(
        [str(LIGHTHOUSE), url, "--preset=desktop", "--output=json", f"--output-path={report}",
         "--quiet", "--only-categories=" + ",".join(CATEGORIES),
         "--chrome-flags=--headless=new --no-sandbox --disable-gpu"],
        check=True, env={**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")},
        timeout=240)
    data = json.loads(report.read_text(encoding="utf-8"))
    return {name: round(data["categories"][name]["score"] * 100) for name in CATEGORIES}


def run(label: str, site: Path, reports: Path, types: set[str] | None,
        ) -> list[tuple[str, str, dict[str, int]]]:
    server, base = serve(site)
    rows = []
    try:
        for kind, path in representatives(site).items():
            if types and kind not in types:
                continue
            scores = lighthouse(base + path, reports / f"{label}-{kind.replace('/', '_')}.json")
            rows.append((kind, path, scores))
            print(f"{label:8} {kind:24} " + " ".join(f"{scores[c]:4}" for c in CATEGORIES)
                  + f"  /{path}", flush=True)
    finally:
        server.shutdown()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--site", type=Path, help="an already built archive to score")
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--types", help="comma-separated page types to score (default: all)")
    args = parser.parse_args()
    types = set(args.types.split(",")) if args.types else None
    if not LIGHTHOUSE.exists():
        print("Lighthouse is missing: run `npm ci` in bench/lighthouse/", file=sys.stderr)
        return 2
    print(f"{'build':8} {'page type':24} {'perf':>4} {'a11y':>4} {'best':>4} {' seo':>4}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not args.skip_demo:
            pipeline.build(ROOT / "content", ROOT / "templates", tmp / "demo")
            rows += run("demo", tmp / "demo", tmp, types)
        site = args.site
        if site is None:
            generate(tmp / "content", args.claims)
            pipeline.build(tmp / "content", ROOT / "templates", tmp / "archive")
            site = tmp / "archive"
        rows += run(f"{args.claims // 1000}k", site, tmp, types)
    short = [(kind, s) for kind, _, s in rows
             if s["performance"] < 95 or any(s[c] < 100 for c in CATEGORIES[1:])]
    print(f"{len(rows)} pages scored; below the goal: "
          + (", ".join(f"{k} {s}" for k, s in short) or "none"))
    return 1 if short else 0


if __name__ == "__main__":
    sys.exit(main())
