"""Pages of paginated listings in Chromium: the demo fixture with a page size of 2, so
that every listing has several pages. The numbered navigation fits a 320 px phone, passes
axe, and its links lead through the listing."""

from __future__ import annotations

import re
import shutil

import pytest
from axe_playwright_python.sync_playwright import Axe

from factsite import pipeline
from tests.conftest import DEMO, TEMPLATES
from tests.browser.test_pages import OVERFLOW

from . import harness

PAGES = ["page/2/index.html", "topics/security-guarantees/page/2/index.html",
         "threads/page/2/index.html"]


@pytest.fixture(scope="module")
def paged(tmp_path_factory, browser):
    root = tmp_path_factory.mktemp("paged")
    shutil.copytree(DEMO, root / "content")
    site_yaml = root / "content" / "site.yaml"
    site_yaml.write_text(site_yaml.read_text(encoding="utf-8") + "page_size: 2\n",
                         encoding="utf-8")
    pipeline.build(root / "content", TEMPLATES, root / "site")
    with harness.serve(root / "site") as base:
        browsing = harness.Browsing(browser, base, viewport={"width": 320, "height": 740})
        yield browsing
        browsing.close()


@pytest.mark.parametrize("path", PAGES)
def test_a_listing_page_fits_a_phone_and_passes_axe(paged, path):
    visit = paged.open(path)
    assert not visit.problems, harness.describe(visit.problems)
    assert visit.page.evaluate(OVERFLOW) is None
    nav = visit.page.get_by_role("navigation", name="Pages")
    assert nav.get_by_role("link", name="Page 2").get_attribute("aria-current") == "page"
    results = Axe().run(visit.page)
    assert results.violations_count == 0, results.generate_report()


def test_next_and_previous_lead_through_the_listing(paged):
    visit = paged.open("index.html")
    page = visit.page
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Next").click()
    page.wait_for_load_state()
    assert page.url.endswith("/page/2/")
    assert re.search(r"· page 2 of \d+$", page.title())
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Previous").click()
    page.wait_for_load_state()
    assert page.url == harness.page_url(paged.server, "index.html")
