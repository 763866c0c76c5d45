"""What the browser tests and scripts/screenshots.py share: serving a built site over HTTP
under its sub-path, launching Debian's Chromium through Playwright, and sorting the built
pages into page types (home, claim, source, ...) with one representative page each."""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
# The demo fixture (content/ belongs to the desk; scripts/screenshots.py takes --content).
DEMO = ROOT / "tests" / "fixtures" / "demo" / "content"
TEMPLATES = ROOT / "templates"

# The demo's base_url path: served there, as on a GitHub project page, so relative links
# and the 404 page's absolute links are exercised the way readers get them.
PREFIX = "/security-talks/"

# Debian's package; `make test` installs it when missing. Never `playwright install`.
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

VNU_JAR = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"

# Built paths that are not pages of their own section.
SECTIONS = {"claims": "claim", "claimants": "claimant", "sources": "source", "topics": "topic",
            "ratings": "rating", "timeline": "month"}
MISSING_PATH = "no/such/page/here/"  # requested to get the 404 page, at depth


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str) -> None:
    """Skip locally; fail in CI, where browser tests must always run."""
    import pytest

    if in_ci():
        pytest.fail(f"{reason} (CI is set: browser tests are never skipped there)", pytrace=False)
    pytest.skip(reason)


# ---- page types -----------------------------------------------------------------------

def content_page_ids(content: Path = DEMO) -> set[str]:
    return {p.stem for p in (content / "pages").glob("*.md")}


def page_type(path: str, page_ids: set[str]) -> str | None:
    """The type of a built HTML file, from its path under site/ ('claims/x/index.html')."""
    parts = path.split("/")
    if parts[-1] != "index.html":
        return "404" if path == "404.html" else None
    if len(parts) == 1:
        return "home"
    if len(parts) == 2:
        name = parts[0]
        return "page" if name in page_ids and name != "corrections" else name
    if "page" in parts[:-1]:  # a listing's page N: 'page/2/', 'topics/x/page/2/'
        listing = page_type("/".join(parts[:parts.index("page")] + ["index.html"]), page_ids)
        return f"{listing}-page-n"
    if len(parts) == 3 or (len(parts) == 4 and parts[0] == "timeline"):
        return SECTIONS.get(parts[0], f"{parts[0]}-item")
    return None


def planned_page_types(content: Path = DEMO) -> list[str]:
    """The page types the demo content will produce, without rendering or writing anything."""
    from factsite.pipeline import load_site
    from factsite.render import plan

    site, _ = load_site(content)
    ids = content_page_ids(content)
    types = {page_type(page.path, ids) for page in plan(site) if page.path.endswith(".html")}
    return sorted(t for t in types if t)


def html_pages(site_dir: Path) -> list[str]:
    """Every HTML file of a built site, as a path relative to it."""
    return sorted(p.relative_to(site_dir).as_posix() for p in site_dir.rglob("*.html"))


def pages_by_type(site_dir: Path, content: Path = DEMO) -> dict[str, list[str]]:
    ids = content_page_ids(content)
    found: dict[str, list[str]] = {}
    for path in html_pages(site_dir):
        kind = page_type(path, ids)
        if kind:
            found.setdefault(kind, []).append(path)
    return found


def representatives(site_dir: Path, content: Path = DEMO) -> dict[str, str]:
    """One page per type: the largest, which shows the most of its template
    (counterclaims, analysis, updates, nested passages...)."""
    return {kind: max(paths, key=lambda p: ((site_dir / p).stat().st_size, p))
            for kind, paths in pages_by_type(site_dir, content).items()}


def page_url(base: str, path: str) -> str:
    """The address readers use for a built file: directories end in '/', and the 404 page
    is what the server answers for a missing path."""
    if path == "404.html":
        return base + PREFIX + MISSING_PATH
    if path.endswith("index.html"):
        path = path[: -len("index.html")]
    return base + PREFIX + path


# ---- HTTP -----------------------------------------------------------------------------

class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A browser that navigates on drops connections (favicons...): not an error."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class SiteHandler(SimpleHTTPRequestHandler):
    """Serves the site only under PREFIX and answers a missing page with 404.html and
    status 404, as GitHub Pages does."""

    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
        ".svg": "image/svg+xml",
    }

    def translate_path(self, path: str) -> str:
        if not urlsplit(path).path.startswith(PREFIX):
            return "/nonexistent"
        return super().translate_path("/" + path[len(PREFIX):])

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(self.directory) / "404.html"
        if code != 404 or not page.is_file() or not unquote(self.path).startswith(PREFIX):
            return super().send_error(code, message, explain)
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@contextmanager
def serve(site_dir: Path) -> Iterator[str]:
    """Serve site_dir on 127.0.0.1 under PREFIX; yields 'http://127.0.0.1:<port>'."""
    httpd = QuietServer(("127.0.0.1", 0), partial(SiteHandler, directory=str(site_dir)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


# ---- Chromium ---------------------------------------------------------------------------

def chromium_problem() -> str | None:
    """Why Chromium cannot be used here, or None."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (make test installs the test extras)"
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        return (f"{CHROMIUM} not found: `make test` installs Debian's chromium package "
                "(apt-get install chromium); never `playwright install`")
    return None


def launch(playwright):
    """Headless Chromium from the system package, quiet on the network."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def blocks_external_requests(context, base: str, blocked: list[str]) -> None:
    """Nothing may leave 127.0.0.1: no fonts, CDNs or trackers. Aborted requests are
    recorded in `blocked` (and show up as failed requests)."""

    def handle(route) -> None:
        url = route.request.url
        if url.startswith(base) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort("blockedbyclient")

    context.route("**/*", handle)


def describe(items: Iterable[str]) -> str:
    return "\n".join(f"  - {item}" for item in items)


# ---- visiting pages ---------------------------------------------------------------------

HAS_SCRIPTS = "!!document.querySelector('script[src], script[type=module]')"
ICONS = "[...document.querySelectorAll('link[rel~=icon][href]')].map(link => link.href)"


@dataclass
class Visit:
    """A loaded page and what went wrong while it loaded."""

    page: object
    status: int | None
    problems: list[str] = field(default_factory=list)


class Browsing:
    """One browser context on the served site. Each visit waits for the page's requests to
    finish, so every console error, page error, failed request and HTTP error is attributed
    to the page that caused it."""

    def __init__(self, browser, server: str, **context_options):
        self.server = server
        self.context = browser.new_context(**context_options)
        self.context.set_default_timeout(10_000)
        self.blocked: list[str] = []
        blocks_external_requests(self.context, server, self.blocked)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.pending: set = set()
        self.done: set[str] = set()
        self.main_url, self.expect_404 = "", False
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("request", self._request)
        self.page.on("requestfinished", self._finished)
        self.page.on("requestfailed", self._failed)
        self.page.on("response", self._response)

    def _console(self, message) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "")
        if self.expect_404 and where == self.main_url and "status of 404" in message.text:
            return  # Chromium logs the status of the 404 document itself: expected
        self.problems.append(f"console error: {message.text} ({where or 'no location'})")

    def _request(self, request) -> None:
        self.pending.add(request)

    def _finished(self, request) -> None:
        self.pending.discard(request)
        self.done.add(request.url)

    def _failed(self, request) -> None:
        self._finished(request)
        if "ERR_ABORTED" in (request.failure or "") and request.url != self.main_url:
            return  # cancelled by the browser (navigating on, a favicon it no longer wants)
        if request.url not in self.blocked:
            self.problems.append(f"request failed: {request.url} ({request.failure})")

    def _response(self, response) -> None:
        if response.status >= 400 and not (self.expect_404 and response.url == self.main_url):
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def open(self, path: str, **options) -> Visit:
        """Open a built file (relative to the site, e.g. 'claims/x/index.html') at the
        address readers use."""
        return self.goto(page_url(self.server, path), expect_404=path == "404.html", **options)

    def goto(self, url: str, *, expect_404: bool = False) -> Visit:
        self.problems.clear()
        self.blocked.clear()
        self.done.clear()
        self.pending.clear()
        self.main_url, self.expect_404 = url, expect_404
        response = self.page.goto(url, wait_until="load")
        status = response.status if response else None
        problems = self.settle()
        expected = 404 if expect_404 else 200
        if status != expected:
            problems.insert(0, f"document status {status}, expected {expected}")
        return Visit(self.page, status, problems)

    def settle(self, timeout: float = 5.0) -> list[str]:
        """Wait for scripts' requests and every request in flight (favicon...) to end; the
        problems recorded since the last visit."""
        if self.page.evaluate(HAS_SCRIPTS):
            self.page.wait_for_load_state("networkidle")  # let enhancements load and run
        # Chromium asks for the favicon just after `load`: wait for it too (briefly: a
        # browser may skip it), so that its status counts for this page.
        icons = set(self.page.evaluate(ICONS))
        started = time.monotonic()
        while (self.pending or icons - self.done) and time.monotonic() - started < timeout:
            if not self.pending and time.monotonic() - started > 1:
                break
            self.page.wait_for_timeout(5)
        problems = list(self.problems)
        problems += [f"request still pending after {timeout:g} s: {r.url}" for r in self.pending]
        problems += [f"external request blocked: {url}" for url in self.blocked]
        return problems

    def close(self) -> None:
        self.context.close()
