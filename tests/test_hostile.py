"""Hostile content comes out inert; hostile files end in an error naming the file."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from factsite import pipeline
from tests.conftest import ROOT, TEMPLATES, soup

PAYLOAD = ('<script>alert(1)</script><img src=x onerror="alert(2)">'
           '<a href="javascript:alert(3)">x</a> {{ 7*7 }} {% if true %}jinja{% endif %}')


def _yaml(value: str) -> str:
    return yaml.safe_dump(value, default_style='"', width=10_000).strip()


@pytest.fixture
def hostile_site(tmp_path):
    c = tmp_path / "content"
    for d in ("sources", "claimants", "claims", "pages"):
        (c / d).mkdir(parents=True)
    p = _yaml(PAYLOAD)
    (c / "site.yaml").write_text(
        f"title: {p}\ndescription: {p}\nbase_url: https://example.org/x/\nlanguage: en\n"
        f"publisher: {{name: {p}, url: 'https://example.org/'}}\n"
        f"ratings:\n  - {{id: bad, label: {p}, description: {p}}}\n"
        f"topics:\n  - {{id: evil, label: {p}, description: {p}}}\n")
    (c / "sources" / "evil.txt").write_text(
        f"---\ntitle: {p}\noutlet: {p}\nlanguage: en\n---\nBefore. {PAYLOAD} After.\n")
    (c / "claimants" / "mallory.yaml").write_text(
        f"name: {p}\nkind: person\nrole: {p}\ndescription: {p}\n")
    (c / "claims" / "evil-claim.yaml").write_text(
        f"claim: {p}\nclaimant: mallory\ndate: 2020-01-02\nvenue: {p}\n"
        f"passages:\n  - {{source: evil, quote: {p}}}\n"
        f"topics: [evil]\nrating: bad\nanalysis: {p}\n"
        f"updates:\n  - {{date: 2020-02-03, note: {p}}}\n")
    (c / "claims" / "counter.yaml").write_text(
        f"claim: {p}\nclaimant: mallory\ndate: 2020-01-03\n"
        f"passages:\n  - {{source: evil, quote: Before.}}\ndisputes: [evil-claim]\n")
    (c / "pages" / "about.md").write_text(f"---\ntitle: {p}\n---\n{PAYLOAD}\n\n<b>raw</b>\n")
    out = tmp_path / "site"
    pipeline.build(c, TEMPLATES, out)
    return out


def test_hostile_text_comes_out_inert(hostile_site):
    pages = sorted(hostile_site.rglob("*.html"))
    assert len(pages) >= 8
    for page in pages:
        html = soup(page)
        for script in html.find_all("script"):
            if script.get("src"):  # our own: the static files and the Pagefind bundle
                assert script["src"].split("/")[-2] in ("static", "pagefind"), page
            else:
                assert script.get("type") == "application/ld+json", page
        for element in html.find_all(True):
            assert not [a for a in element.attrs if a.lower().startswith("on")], (page, element)
            for attr in ("href", "src", "action", "formaction"):
                assert not str(element.get(attr, "")).lower().startswith("javascript:"), page
        assert not html.find("img"), page
    claim = soup(hostile_site / "claims" / "evil-claim" / "index.html")
    assert claim.h1.get_text() == PAYLOAD
    text = claim.get_text()
    assert "{{ 7*7 }}" in text and "{% if true %}jinja{% endif %}" in text
    assert "49" not in text
    about = soup(hostile_site / "about" / "index.html").get_text()
    assert "<b>raw</b>" in about


@pytest.mark.parametrize("name, data, message", [
    ("latin1", b"name: Caf\xe9\nkind: person\n",
     "content/claimants/bad.yaml:1:10: error: file is not valid UTF-8 (byte 0xe9)"),
    ("nul", b"name: A\x00B\nkind: person\n",
     "content/claimants/bad.yaml:1:8: error: file contains a NUL byte"),
    ("deep", b"name: " + b"[" * 100 + b"]" * 100 + b"\n",
     "content/claimants/bad.yaml:1:38: error: YAML nested deeper than 32 levels"),
    ("very-deep", b"name: " + b"[" * 50_000 + b"]" * 50_000 + b"\n",
     "content/claimants/bad.yaml:1:1006: error: YAML syntax error: exceeded maximum nesting depth"),
    ("alias-bomb", b"a: &a [x, x, x, x, x, x, x, x, x]\n"
     + b"".join(b"%s: &%s [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]\n"
                % ((chr(98 + i).encode(), chr(98 + i).encode()) + (chr(97 + i).encode(),) * 9)
                for i in range(9)),
     "content/claimants/bad.yaml:1:4: error: YAML anchors and aliases are not allowed"),
    ("control", b"name: A\x07B\nkind: person\n",
     "content/claimants/bad.yaml:1:8: error: unacceptable character #x0007 in YAML"),
])
def test_hostile_files_end_in_an_error_naming_the_file(tmp_path, content, name, data, message):
    (content / "claimants" / "bad.yaml").write_bytes(data)
    result = subprocess.run([sys.executable, str(ROOT / "build.py"), "check"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=30)  # a guard against hangs
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0] == message
