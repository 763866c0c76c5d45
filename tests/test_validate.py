"""check() and assemble() on a generated archive of thousands of claims."""

from __future__ import annotations

from pathlib import Path

import pytest

from factsite.load import load_content
from factsite.validate import assemble, check, validate
from tests.corpus import generate

CLAIMS = 3000


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory):
    content = tmp_path_factory.mktemp("archive") / "content"
    generate(content, CLAIMS)
    documents, diagnostics = load_content(content)
    assert diagnostics == []
    return documents


def test_check_then_assemble_is_validate(documents) -> None:
    checked, diagnostics = check(documents)
    assert checked is not None and diagnostics == []
    site = assemble(checked)
    assert [c.id for c in site.claims] == [c.id for c in validate(documents)[0].claims]
    assert len(site.claims) == CLAIMS
    assert len(site.sources) == CLAIMS // 5 and len(site.claimants) == CLAIMS // 10


def test_reverse_relations_mirror_the_files(documents) -> None:
    """Every relation a file states is shown on the other side, and nothing else is."""
    checked, _ = check(documents)
    site = assemble(checked)
    claims = {c.id: c for c in site.claims}
    disputed_by: dict[str, set[str]] = {i: set() for i in claims}
    supported_by: dict[str, set[str]] = {i: set() for i in claims}
    for claim_id, (_, data) in checked.parsed["claim"].items():
        for target in data.disputes:
            disputed_by[target].add(claim_id)
        for target in data.supports:
            supported_by[target].add(claim_id)
    for claim in site.claims:
        assert {c.id for c in claim.disputed_by} == disputed_by[claim.id]
        assert {c.id for c in claim.supported_by} == supported_by[claim.id]
        assert list(claim.disputed_by) == sorted(claim.disputed_by, key=lambda c: c.chronological())
        for claimant in claim.claimants:
            assert claim in claimant.claims
        for topic in claim.topics:
            assert claim in topic.claims
        for passage in claim.passages:
            assert passage in passage.source.citations
    assert sum(len(c.claims) for c in site.claimants) == CLAIMS
    assert sum(len(t.claims) for t in site.topics) == 2 * CLAIMS
    assert sum(len(s.citations) for s in site.sources) == CLAIMS
    assert any(c.disputed_by for c in site.claims) and any(c.supported_by for c in site.claims)


def test_check_reports_and_returns_nothing_to_assemble(tmp_path: Path) -> None:
    content = tmp_path / "content"
    generate(content, 20)
    claim = content / "claims" / "claim-000004.yaml"
    claim.write_text(claim.read_text().replace("disputes: [claim-000003]", "disputes: [claim-9]"))
    checked, diagnostics = check(load_content(content)[0])
    assert checked is None
    assert [(Path(d.path).name, d.line, d.message) for d in diagnostics] == [
        ("claim-000004.yaml", 9, "unknown claim 'claim-9'")]


def test_other_work_starts_first_and_ends_before_the_markdown_is_checked(tmp_path: Path,
                                                                         ) -> None:
    """``meanwhile`` (the build writes the parsed documents to its cache) starts before the
    first checks, told whether to run apart (with several jobs: a process of its own beside
    the checks of shapes); the check waits for it to end before the Markdown."""
    import multiprocessing
    content = tmp_path / "content"
    generate(content, 40)
    documents = load_content(content)[0]
    seen = []

    def meanwhile(apart: bool):
        seen.append(("started", apart, len(multiprocessing.active_children())))
        return lambda: seen.append(("ended", len(multiprocessing.active_children())))
    assert check(documents, jobs=2, meanwhile=meanwhile) == check(documents, jobs=1)
    assert seen == [("started", True, 0), ("ended", 0)]
    seen.clear()
    check(documents, jobs=1, meanwhile=meanwhile)
    assert seen == [("started", False, 0), ("ended", 0)]


def test_markdown_and_quotes_are_kept_in_the_cache(tmp_path: Path, monkeypatch) -> None:
    from factsite import validate
    from factsite.cache import Cache
    from factsite.passages import SourceText
    content = tmp_path / "content"
    generate(content, 100)
    documents = load_content(content)[0]
    cache = Cache(tmp_path / "cache")
    first = check(documents, cache)[0]
    cache.save_memos()

    def fail(*args):
        raise AssertionError("Markdown rendered again")
    monkeypatch.setattr(validate, "render_markdown", fail)
    monkeypatch.setattr(SourceText, "anchor_pieces", fail)
    again = check(documents, Cache(tmp_path / "cache"))[0]
    assert again.markdown == first.markdown and len(first.markdown) > 100
    assert again.anchors == first.anchors and len(first.anchors) == 100
