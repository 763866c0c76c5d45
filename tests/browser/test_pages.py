"""Every page type of the demo in headless Chromium: it opens with no console errors and no
failed (or external) requests, has no horizontal scroll on phones, and axe-core finds no
accessibility violations in light or dark mode.

`page_type` is parametrized in conftest.py over the types the demo produces (home, claim,
claimant, source, topic, timeline, threads, page, corrections, search, 404: whatever the
build plans, so a new type is covered at once); each test uses the largest page of its
type, the one that shows the most of its template."""

from __future__ import annotations

import pytest

from .harness import describe, html_pages, pages_by_type, planned_page_types

PHONE_WIDTHS = [375, 320]

OVERFLOW = """() => {
  const root = document.scrollingElement;
  const limit = Math.min(window.innerWidth, root.clientWidth);
  if (root.scrollWidth <= limit) return null;
  const wide = [...document.body.querySelectorAll('*')].filter(el => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.right > limit + 0.5;
  });
  const innermost = wide.filter(el => !wide.some(other => other !== el && el.contains(other)));
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  return {
    scrollWidth: root.scrollWidth, width: limit,
    culprits: innermost.slice(0, 5).map(el =>
      `${name(el)} reaches ${Math.round(el.getBoundingClientRect().right)}px: ` +
      JSON.stringify((el.textContent || '').trim().slice(0, 60))),
  };
}"""


@pytest.fixture(scope="module")
def survey(site_dir, browsing) -> dict[str, dict]:
    """Every HTML page of the demo opened once at phone width: what went wrong while it
    loaded, and its horizontal overflow at each phone width."""
    results = {}
    page = browsing.page
    page.emulate_media(color_scheme="light")
    for path in html_pages(site_dir):
        page.set_viewport_size({"width": PHONE_WIDTHS[0], "height": 740})
        row = {"problems": browsing.open(path).problems}
        for width in PHONE_WIDTHS:
            page.set_viewport_size({"width": width, "height": 740})
            row[width] = page.evaluate(OVERFLOW)
        results[path] = row
    return results


def test_page_type_opens_cleanly(page_type, representatives, browse):
    assert page_type in representatives, f"the demo build has no {page_type} page"
    path = representatives[page_type]
    visit = browse().open(path)
    assert not visit.problems, f"{path}:\n{describe(visit.problems)}"
    assert visit.page.title().strip(), f"{path}: empty <title>"


def test_every_page_opens_cleanly(site_dir, survey):
    """Not only one page per type: every HTML page of the demo."""
    assert sorted(pages_by_type(site_dir)) == planned_page_types(), \
        "the built site has page types the tests did not plan for (see harness.page_type)"
    problems = [f"{path}: {problem}" for path, row in survey.items() for problem in row["problems"]]
    assert not problems, "\n" + describe(problems)


@pytest.mark.parametrize("width", PHONE_WIDTHS, ids=[f"{w}px" for w in PHONE_WIDTHS])
def test_no_horizontal_scroll_on_phones(width, survey):
    overflowing = [f"{path}: {found['scrollWidth']}px wide in {found['width']}px\n"
                   + describe(found["culprits"])
                   for path, row in survey.items() if (found := row[width])]
    assert not overflowing, f"horizontal scroll at {width} px:\n" + "\n".join(overflowing)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_axe_violations(page_type, scheme, representatives, browse):
    from axe_playwright_python.sync_playwright import Axe

    path = representatives[page_type]
    visit = browse(color_scheme=scheme).open(path)
    assert visit.page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")
    results = Axe().run(visit.page)
    assert results.violations_count == 0, f"{path} ({scheme}):\n{results.generate_report()}"
