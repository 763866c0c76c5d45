"""Fixtures for the browser tests: the demo site (built once, see tests/conftest.py) served
over HTTP under /security-talks/, one headless Chromium and one browser context per
session, and `browse`, which sizes the viewport, picks the colour scheme and returns the
harness.Browsing that opens pages and records every console error, page error and failed
request."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import harness


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`page_type` is parametrized over the page types the demo content produces, so a new
    page type (search, threads, ...) is covered as soon as it exists."""
    if "page_type" in metafunc.fixturenames:
        try:
            types = harness.planned_page_types()
        except Exception:  # content broken: the build fixture reports it, with file and line
            types = ["home"]
        metafunc.parametrize("page_type", types)


@pytest.fixture(scope="session")
def site_dir(demo_site: Path) -> Path:
    return demo_site


@pytest.fixture(scope="session")
def server(site_dir: Path):
    with harness.serve(site_dir) as base:
        yield base


@pytest.fixture(scope="session")
def representatives(site_dir: Path) -> dict[str, str]:
    return harness.representatives(site_dir)


@pytest.fixture(scope="session")
def browser():
    problem = harness.chromium_problem()
    if problem:
        harness.unavailable(problem)
    from playwright.sync_api import Error, sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = harness.launch(playwright)
    except Error as error:
        playwright.stop()
        harness.unavailable(f"Chromium ({harness.CHROMIUM}) could not be launched: {error}")
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture(scope="session")
def browsing(browser, server):
    """One browser context for the session; `browse` sets its viewport and colour scheme."""
    browsing = harness.Browsing(browser, server, viewport={"width": 1280, "height": 900})
    yield browsing
    browsing.close()


@pytest.fixture
def browse(browsing):
    """browse(width=375, color_scheme="dark") -> the session's Browsing, set up so."""

    def make(width: int = 1280, height: int = 900, color_scheme: str = "light") -> harness.Browsing:
        browsing.page.set_viewport_size({"width": width, "height": height})
        browsing.page.emulate_media(color_scheme=color_scheme)
        return browsing

    return make
