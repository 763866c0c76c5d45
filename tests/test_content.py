"""content/ belongs to the desk, which replaces the demo with its own archive: these are the
only tests that read it, and they assert only what holds for any valid content (it checks
and builds with --strict, every claim, claimant, source, topic and page has its page, every
link resolves), never what the demo holds today. The tool itself is tested on fixtures
under tests/.

The last test proves it: it edits a copy of content/ in every way an editor may (adds,
edits, renames and removes claims, claimants, sources, topics and pages, fixing every
reference as the guide says) and runs the same checks on the result."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

import build
from factsite import pipeline
from factsite.load import COLLECTIONS, load_file
from tests.conftest import ROOT, TEMPLATES, internal_links, soup
from tests.test_schema import FILES, read, validator

CONTENT = ROOT / "content"
FOLDERS = {kind: (dirname, ext) for dirname, (kind, ext) in COLLECTIONS.items()}
# Claim fields that hold ids, by the kind of entity they name (sources: in passages).
REFERENCES = {"claimant": ("claimant",), "claim": ("disputes", "supports"), "topic": ("topics",)}


@pytest.fixture(autouse=True)
def plain_terminal(monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


def check_content(content: Path, out: Path, capsys) -> None:
    """What must hold for any valid content: what CI runs on it, and a sound site."""
    assert build.main(["check", "--strict", "--content", str(content)]) == 0, \
        capsys.readouterr().err
    assert capsys.readouterr().err == ""
    assert build.main(["build", "--strict", "--content", str(content), "--templates",
                       str(TEMPLATES), "--out", str(out)]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.startswith("built ")

    site, _ = pipeline.load_site(content)
    titles = [(c, c.text) for c in site.claims] + [(c, c.name) for c in site.claimants] + \
        [(s, s.title) for s in site.sources] + [(t, t.label) for t in site.topics] + \
        [(p, p.title) for p in site.pages]
    for entity, title in titles:
        page = out / entity.url / "index.html"
        assert page.is_file(), f"no page for {entity.url}"
        assert soup(page).h1.get_text(" ", strip=True) == " ".join(title.split()), entity.url

    data = json.loads((out / "claims.json").read_text(encoding="utf-8"))
    assert [c["id"] for c in data["claims"]] == [c.id for c in site.claims]
    assert (out / "index.html").is_file() and (out / "404.html").is_file()

    checked, broken = internal_links(out)
    assert not broken, "links to pages the build does not produce:\n" + "\n".join(broken)
    assert checked >= len(titles)

    for kind, pattern in FILES.items():
        for path in content.glob(pattern):
            errors = [f"{list(e.absolute_path)}: {e.message}"
                      for e in validator(kind).iter_errors(read(path, kind))]
            assert not errors, f"{path} does not match its JSON Schema: {errors}"


def test_content_checks_and_builds_into_a_sound_site(tmp_path, capsys):
    check_content(CONTENT, tmp_path / "site", capsys)


# -- editing a copy of content/ as an editor would -----------------------------------------

class Archive:
    """A content directory edited through its files. Files it rewrites are written as
    JSON, which is YAML too: the values stay exactly what factsite read."""

    def __init__(self, root: Path):
        self.root = root

    def path(self, kind: str, entity_id: str) -> Path:
        if kind == "site":
            return self.root / "site.yaml"
        dirname, ext = FOLDERS[kind]
        return self.root / dirname / f"{entity_id}{ext}"

    def ids(self, kind: str) -> list[str]:
        dirname, ext = FOLDERS[kind]
        return sorted(p.stem for p in (self.root / dirname).glob(f"*{ext}"))

    def read(self, kind: str, entity_id: str = "site") -> tuple[Any, str | None]:
        doc = load_file(self.path(kind, entity_id), kind)
        return doc.data, doc.body

    def write(self, kind: str, entity_id: str, data: Any, body: str | None = None) -> None:
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
        if kind in ("source", "page"):
            text = f"---\n{text}---\n{body or ''}"
        path = self.path(kind, entity_id)
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def claims(self) -> dict[str, dict]:
        return {claim_id: self.read("claim", claim_id)[0] for claim_id in self.ids("claim")}

    def each_document(self):
        """(kind, id, data, body) of every file, site.yaml included."""
        yield "site", "site", *self.read("site")
        for kind in FOLDERS:
            for entity_id in self.ids(kind):
                yield kind, entity_id, *self.read(kind, entity_id)

    def relink(self, kind: str, old: str, new: str | None) -> None:
        """Point every Markdown link to ``old`` at ``new``, or unlink it (keep its text)."""
        for doc_kind, doc_id, data, body in list(self.each_document()):
            new_data, new_body = _relink(data, kind, old, new), body and _relink(body, kind, old, new)
            if (new_data, new_body) != (data, body):
                self.write(doc_kind, doc_id, new_data, new_body)

    def rename(self, kind: str, old: str, new: str) -> None:
        """Rename an entity and fix every reference to it, as the guide asks."""
        if kind != "topic":
            self.path(kind, old).rename(self.path(kind, new))
        for claim_id, claim in self.claims().items() if kind != "page" else ():
            changed = _replace_ids(claim, kind, {old: new})
            if changed != claim:
                self.write("claim", claim_id, changed)
        site, _ = self.read("site")
        if kind == "topic" and any(t["id"] == old for t in site.get("topics") or []):
            site["topics"] = [{**t, "id": new} if t["id"] == old else t for t in site["topics"]]
            self.write("site", "site", site)
        self.relink(kind, old, new)

    def remove_claims(self, removed: set[str]) -> None:
        """Remove claims, the references to them, and the claimants, sources and topics
        left with no claims (an unused claimant or source is a warning)."""
        topics_before = self.used_topics()
        for claim_id in sorted(removed):
            self.path("claim", claim_id).unlink()
        for claim_id, claim in self.claims().items():
            changed = _replace_ids(claim, "claim", dict.fromkeys(removed))
            if changed != claim:
                self.write("claim", claim_id, changed)
        for claim_id in sorted(removed):
            self.relink("claim", claim_id, None)
        claims = self.claims().values()
        for claimant in self.ids("claimant"):
            if not any(claimant in _as_list(c["claimant"]) for c in claims):
                self.path("claimant", claimant).unlink()
                self.relink("claimant", claimant, None)
        for source in self.ids("source"):
            if not any(p["source"] == source for c in claims for p in c["passages"]):
                self.path("source", source).unlink()
                self.relink("source", source, None)
        for topic in sorted(topics_before - self.used_topics()):
            self.relink("topic", topic, None)

    def used_topics(self) -> set[str]:
        declared = {t["id"] for t in self.read("site")[0].get("topics") or []}
        return declared or {t for c in self.claims().values() for t in _as_list(c.get("topics"))}


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def _replace_ids(claim: dict, kind: str, renames: dict[str, str | None]) -> dict:
    """The claim with its references to ``kind`` renamed (or dropped, when renamed to None)."""
    claim = json.loads(json.dumps(claim))
    if kind == "source":
        for passage in claim["passages"]:
            passage["source"] = renames.get(passage["source"], passage["source"])
        return claim
    for field in REFERENCES[kind]:
        if field not in claim:
            continue
        ids = [renames[i] if i in renames else i for i in _as_list(claim[field])]
        ids = [i for i in ids if i is not None]
        if ids or field == "claimant":
            claim[field] = ids if isinstance(claim[field], list) or len(ids) != 1 else ids[0]
        else:
            del claim[field]
    return claim


MARKDOWN_LINK = re.compile(r"\[([^\]\n]*)\]\(([^)\s]*)\)")


def _relink(value: Any, kind: str, old: str, new: str | None) -> Any:
    """Markdown links in ``value`` (text, or every text in data but quotes) whose address
    names ``old``, as a path segment or as ``kind:old``, pointed at ``new`` or unlinked."""
    if isinstance(value, dict):
        return {k: v if k == "passages" else _relink(v, kind, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_relink(v, kind, old, new) for v in value]
    if not isinstance(value, str):
        return value
    names = re.compile(rf"((?:^|/|\b{kind}:){re.escape(old)})(?=$|[/#?])")

    def fix(link: re.Match) -> str:
        text, address = link.groups()
        if not names.search(address):
            return link.group(0)
        if new is None:
            return text
        return f"[{text}]({names.sub(lambda m: m.group(1)[:-len(old)] + new, address)})"
    return MARKDOWN_LINK.sub(fix, value)


def test_any_valid_edit_keeps_the_content_checks_green(tmp_path, capsys):
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    archive = Archive(content)

    # Remove a source, every claim that cites it, and what only those claims used.
    sources = archive.ids("source")
    if len(sources) > 1:
        claims = archive.claims()
        cited = {s: {i for i, c in claims.items() for p in c["passages"] if p["source"] == s}
                 for s in sources}
        victim = min(sources, key=lambda s: (len(cited[s]), s))
        archive.path("source", victim).unlink()
        archive.relink("source", victim, None)
        archive.remove_claims(cited[victim])
        assert victim not in archive.ids("source")

    # Rename a claim, a claimant, a source, a page and a topic, fixing every reference.
    renamed = {}
    for kind in ("claim", "claimant", "source", "page"):
        if archive.ids(kind):
            old = archive.ids(kind)[-1]
            renamed[kind] = (old, f"renamed-{old}"[:60].rstrip("-"))
            archive.rename(kind, *renamed[kind])
    topics = sorted({t for c in archive.claims().values() for t in _as_list(c.get("topics"))})
    if topics:
        renamed["topic"] = (topics[0], f"renamed-{topics[0]}"[:60].rstrip("-"))
        archive.rename("topic", *renamed["topic"])

    # Edit a claim, a claimant, a source and a page.
    claims = archive.claims()
    if claims:
        claim_id, claim = next(iter(claims.items()))
        claim["claim"] = claim["claim"].rstrip(".") + ", the desk notes."
        claim["venue"] = "A venue added by the desk"
        claim["updates"] = [*(claim.get("updates") or []),
                            {"date": claim["date"], "note": "Added the *venue*."}]
        archive.write("claim", claim_id, claim)
    for kind, field in (("claimant", "role"), ("source", "title")):
        if archive.ids(kind):
            entity_id = archive.ids(kind)[0]
            data, body = archive.read(kind, entity_id)
            data[field] = "Edited by the desk"
            archive.write(kind, entity_id, data, body)

    # Add a source, a claimant and a claim on a new topic that disputes and supports others.
    archive.write("source", "desk-test-report", {
        "title": "A report archived by the desk", "outlet": "Desk Wire",
        "url": "https://example.org/desk-report", "published": "2024-02-03"},
        "The minister said: \u201cThe border is open to trade.\u201d\n\nNothing else was said.\n")
    archive.write("claimant", "desk-test-minister",
                  {"name": "A Minister", "kind": "person", "role": "Minister"})
    others = list(archive.claims())
    site, _ = archive.read("site")
    new_claim = {"claim": "The border is open to trade.", "claimant": "desk-test-minister",
                 "date": "2024-02", "passages": [{"source": "desk-test-report",
                                                  "quote": '"The border is open to trade."'}],
                 "topics": ["desk-test-trade"]}
    if others:
        new_claim["disputes"] = others[:1]
        new_claim["supports"] = others[1:2]
    if site.get("ratings"):
        new_claim["rating"] = site["ratings"][-1]["id"]
        new_claim["analysis"] = f"See [the claim it disputes](../{others[0]}/)." if others \
            else "The record shows it."
    if site.get("topics"):
        site["topics"].append({"id": "desk-test-trade", "label": "Trade"})
        archive.write("site", "site", site)
    archive.write("claim", "desk-test-border-open", new_claim)

    # Add a page that links to the new entries; edit one page, remove another.
    pages = archive.ids("page")
    archive.write("page", "desk-test-notes", {"title": "Desk notes"},
                  "Read [the new claim](../claims/desk-test-border-open/) by "
                  "[the minister](../claimants/desk-test-minister/).\n")
    if pages:
        data, body = archive.read("page", pages[0])
        archive.write("page", pages[0], data, body + "\nSee also [our notes](../desk-test-notes/).\n")
    removable = [page for page in pages[1:] if page != renamed.get("page", ("", ""))[1]]
    if removable:
        archive.path("page", removable[0]).unlink()
        archive.relink("page", removable[0], None)

    check_content(content, tmp_path / "site", capsys)

    site, _ = pipeline.load_site(content)
    claim = next(c for c in site.claims if c.id == "desk-test-border-open")
    assert [c.id for c in claim.disputes] == others[:1]
    assert [c.id for c in claim.supports] == others[1:2]
    for kind, (old, new) in renamed.items():
        ids = {e.id for e in getattr(site, f"{kind}s")}
        assert new in ids and old not in ids
    assert "desk-test-notes" in {p.id for p in site.pages}
