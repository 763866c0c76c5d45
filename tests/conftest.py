from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from bs4 import BeautifulSoup

from factsite import pipeline

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "site" / "content"
# A frozen copy of the demo (two seed reports, 21 claims) for the tests that need a rich
# site: the browser, search, HTML and publishing tests and the guide replay. content/
# itself belongs to the desk; only tests/test_content.py reads it.
DEMO = ROOT / "tests" / "fixtures" / "demo" / "content"
TEMPLATES = ROOT / "templates"


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A writable copy of the fixture site's content, to break on purpose."""
    target = tmp_path / "content"
    shutil.copytree(FIXTURE, target)
    return target


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo fixture built once per test session."""
    out = tmp_path_factory.mktemp("demo") / "site"
    pipeline.build(DEMO, TEMPLATES, out)
    return out


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def internal_links(site_dir: Path) -> tuple[int, list[str]]:
    """Follow every relative link and anchor of every built HTML page (404.html aside: its
    links are absolute paths under base_url); (links checked, the broken ones)."""
    base = "http://site.test/"
    pages = {p.relative_to(site_dir).as_posix(): soup(p) for p in site_dir.rglob("*.html")}
    ids = {name: {e["id"] for e in html.find_all(id=True)} for name, html in pages.items()}
    checked, broken = 0, []
    for name, html in pages.items():
        if name == "404.html":
            continue
        for element in html.find_all(["a", "link"], href=True):
            href = element["href"]
            if urlsplit(href).scheme or href.startswith("mailto:"):
                continue
            checked += 1
            if href.startswith("/"):
                broken.append(f"{name}: absolute link {href}")
                continue
            target, fragment = urldefrag(urljoin(base + name, href))
            target = target.removeprefix(base)
            if target.endswith("/") or target == "":
                target += "index.html"
            if not (target in pages or (site_dir / target).is_file()):
                broken.append(f"{name}: broken {href}")
            elif fragment and fragment not in ids.get(target, ()):
                broken.append(f"{name}: missing #{fragment} in {target}")
    return checked, broken
