#!/usr/bin/env python3
"""Screenshots of every page type of the demo site, for review (not committed).

    .venv/bin/python scripts/screenshots.py [--out screenshots] [--width 375 --width 1280]

Builds the demo fixture (or --content DIR) into a temporary directory, serves it on
127.0.0.1 under /security-talks/, and saves a full-page PNG of one page per type (the
largest of its type) at each width, in light and dark mode, plus a source page opened at a
cited passage (as a claim's "Show in the archived text" link does). Prints the path of
every file and any problem a page had (console errors, failed requests). Uses Debian's
/usr/bin/chromium (override with the CHROMIUM environment variable); needs the test
extras: `make test` installs everything.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from factsite import pipeline  # noqa: E402
from tests.browser import harness  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots",
                        help="directory for the PNG files (default: screenshots/)")
    parser.add_argument("--width", type=int, action="append", dest="widths",
                        help="viewport width in px; repeat for several (default: 375 and 1280)")
    parser.add_argument("--content", type=Path, default=harness.DEMO,
                        help="content directory to build (default: the demo fixture, "
                             "tests/fixtures/demo/content)")
    parser.add_argument("--viewport-only", action="store_true",
                        help="capture only the first screen, not the full page")
    args = parser.parse_args(argv)
    widths = args.widths or [375, 1280]

    problem = harness.chromium_problem()
    if problem:
        print(f"screenshots: {problem}", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="factsite-shots-") as tmp:
        site_dir = Path(tmp) / "site"
        pipeline.build(args.content, harness.TEMPLATES, site_dir)
        shots = harness.representatives(site_dir, args.content)
        with harness.serve(site_dir) as server, sync_playwright() as playwright:
            browser = harness.launch(playwright)
            browsing = harness.Browsing(browser, server, viewport={"width": 1280, "height": 900})
            passage = first_passage_link(browsing, shots.get("claim"))
            failures = 0
            for width in widths:
                for scheme in ("light", "dark"):
                    browsing.page.set_viewport_size({"width": width, "height": 900 if width > 600 else 740})
                    browsing.page.emulate_media(color_scheme=scheme)
                    targets = [(kind, harness.page_url(server, path), path == "404.html")
                               for kind, path in sorted(shots.items())]
                    if passage:
                        targets.append(("source-passage", passage, False))
                    for kind, url, is_404 in targets:
                        visit = browsing.goto(url, expect_404=is_404)
                        browsing.page.wait_for_timeout(150)  # let scrolling to a passage finish
                        file = args.out / f"{kind}-{width}-{scheme}.png"
                        # the passage shot shows where the link lands: the screen, not the page
                        full = not args.viewport_only and kind != "source-passage"
                        browsing.page.screenshot(path=str(file), full_page=full)
                        print(file.relative_to(Path.cwd()) if file.is_relative_to(Path.cwd()) else file)
                        for p in visit.problems:
                            failures += 1
                            print(f"  problem on {kind}: {p}", file=sys.stderr)
            browsing.close()
            browser.close()
    return 1 if failures else 0


def first_passage_link(browsing: harness.Browsing, claim: str | None) -> str | None:
    """The address the claim page's first "Show in the archived text" link leads to."""
    if not claim:
        return None
    page = browsing.open(claim).page
    link = page.locator("main a[href*='#passage-']").first
    if not link.count():
        return None
    return page.evaluate("a => a.href", link.element_handle())


if __name__ == "__main__":
    sys.exit(main())
