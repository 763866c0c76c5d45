from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from factsite import pipeline

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "site" / "content"
TEMPLATES = ROOT / "templates"


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A writable copy of the fixture site's content, to break on purpose."""
    target = tmp_path / "content"
    shutil.copytree(FIXTURE, target)
    return target


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo content built once per test session."""
    out = tmp_path_factory.mktemp("demo") / "site"
    pipeline.build(ROOT / "content", TEMPLATES, out)
    return out


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
