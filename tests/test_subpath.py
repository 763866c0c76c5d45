"""The demo served under /security-talks/ (its base_url path) on 127.0.0.1: every internal
link and anchor of every page, followed over HTTP, resolves."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from bs4 import BeautifulSoup

PREFIX = "/security-talks/"


class SubPathHandler(SimpleHTTPRequestHandler):
    """Serves the site only under PREFIX, as a project page on GitHub Pages would."""

    def translate_path(self, path: str) -> str:
        if not urlsplit(path).path.startswith(PREFIX):
            return "/nonexistent"
        return super().translate_path("/" + path[len(PREFIX):])

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server(demo_site):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0),
                                partial(SubPathHandler, directory=str(demo_site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def fetch(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(), response.headers.get_content_type()
    except urllib.error.HTTPError as error:
        return error.code, b"", ""


def test_every_internal_link_and_anchor_works_under_the_sub_path(server):
    start = server + PREFIX
    queue, seen, anchors, ids = [start, server + PREFIX + "404.html"], set(), [], {}
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        status, body, kind = fetch(url)
        assert status == 200, f"{url}: HTTP {status}"
        if kind != "text/html":
            continue
        html = BeautifulSoup(body, "html.parser")
        ids[url] = {e["id"] for e in html.find_all(id=True)}
        for element in html.find_all(["a", "link", "script", "img"]):
            ref = element.get("href") or element.get("src")
            if not ref:
                continue
            target, fragment = urldefrag(urljoin(url, ref))
            if not target.startswith(server):
                continue  # external: the original, archive copies, publisher
            assert urlsplit(target).path.startswith(PREFIX), f"{url}: {ref} leaves the sub-path"
            queue.append(target)
            if fragment and not fragment.startswith(":~:"):
                anchors.append((url, target, fragment))
    assert len([u for u in seen if u.endswith("/")]) > 40
    for page, target, fragment in anchors:
        assert fragment in ids[target], f"{page}: #{fragment} missing in {target}"
    assert fetch(server + "/claims/")[0] == 404  # nothing outside the sub-path
