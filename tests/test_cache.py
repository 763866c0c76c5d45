"""The build cache: a second build renders nothing; an edit renders only the pages that read
what changed; the result is always the bytes of a cold build."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest

from factsite import pipeline, search
from factsite.cache import CACHE_DIR, Cache
from factsite.diagnostics import ContentError
from tests.conftest import TEMPLATES
from tests.corpus import generate
from tests.test_build import every_file


def cold(content: Path, templates: Path, out: Path) -> dict[str, bytes]:
    pipeline.build(content, templates, out, use_cache=False)
    return every_file(out)


def inodes(out: Path) -> dict[str, int]:
    return {p.relative_to(out).as_posix(): p.stat().st_ino for p in out.rglob("*") if p.is_file()}


def test_second_build_renders_nothing(tmp_path, content):
    out = tmp_path / "site"
    first = pipeline.build(content, TEMPLATES, out)
    assert first.rendered == first.pages > 10
    before = every_file(out)
    second = pipeline.build(content, TEMPLATES, out)
    assert second.rendered == 0
    assert (second.claims, second.pages, second.files) == (first.claims, first.pages, first.files)
    assert every_file(out) == before
    assert (tmp_path / CACHE_DIR / ".gitignore").read_text() == "*\n"


def test_parsed_documents_are_cached_by_a_process_ended_before_the_markdown_check(
        tmp_path, monkeypatch):
    """Writing the parsed documents to the cache reads them all: a process forked for it
    does it beside the checks of shapes, and has ended before the Markdown is checked
    (and so before any worker is forked: it copies what it reads)."""
    from factsite import validate
    content, out = tmp_path / "content", tmp_path / "site"
    generate(content, 60)
    save, markdown = Cache.save_memos, validate._Checker.check_markdown_fields
    build = os.getpid()

    def save_memos(self, kinds=None, *, written=False):
        if kinds == ["documents"] and not written:
            (tmp_path / "pid").write_text(str(os.getpid()))
            time.sleep(0.5)  # longer than the first checks
        return save(self, kinds, written=written)

    def check_markdown_fields(self, doc):  # is the writing process still on?
        try:
            os.kill(int((tmp_path / "pid").read_text()), 0)
            (tmp_path / "beside").touch()
        except ProcessLookupError:
            pass
        return markdown(self, doc)

    monkeypatch.setattr(Cache, "save_memos", save_memos)
    monkeypatch.setattr(validate._Checker, "check_markdown_fields", check_markdown_fields)
    pipeline.build(content, TEMPLATES, out, jobs=2)
    assert int((tmp_path / "pid").read_text()) != build
    assert not (tmp_path / "beside").exists()
    cached = {Path(key[1]).name for key in Cache.beside(out).table("documents")}
    assert cached >= {f"claim-{n:06}.yaml" for n in range(60)}
    assert len(cached) == sum(1 for path in content.rglob("*") if path.is_file())


def test_unchanged_build_repeats_the_warnings(tmp_path, content):
    (content / "claimants" / "silent.yaml").write_text("name: Silent\nkind: person\n")
    out = tmp_path / "site"
    first = pipeline.build(content, TEMPLATES, out)
    second = pipeline.build(content, TEMPLATES, out)
    assert second.rendered == 0 and second.warnings == first.warnings
    assert [w.message for w in second.warnings] == ["claimant 'silent' has no claims"]
    with pytest.raises(ContentError) as caught:
        pipeline.build(content, TEMPLATES, out, strict=True)
    assert caught.value.diagnostics == first.warnings


def test_edit_renders_only_pages_that_read_it(tmp_path, content):
    out = tmp_path / "site"
    pipeline.build(content, TEMPLATES, out)
    before = inodes(out)
    claim = content / "claims" / "not-before-2024.yaml"
    claim.write_text(claim.read_text() + "venue: Town hall\n")
    result = pipeline.build(content, TEMPLATES, out)
    after = inodes(out)
    kept = {path for path in after if before.get(path) == after[path]}
    assert 0 < result.rendered < result.pages
    assert "claims/not-before-2024/index.html" not in kept
    assert "about/index.html" in kept  # shows no claim
    assert "sources/2021-04-press-office/index.html" in kept  # does not show the venue
    assert every_file(out) == cold(content, TEMPLATES, tmp_path / "cold")


def test_template_edit_renders_the_pages_that_loaded_it(tmp_path, content):
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    out = tmp_path / "site"
    pipeline.build(content, templates, out)
    page = templates / "topic.html"
    page.write_text(page.read_text().replace("{% block main %}", "{% block main %}<!-- x -->", 1))
    result = pipeline.build(content, templates, out)
    topics = sum(1 for _ in (out / "topics").glob("*/index.html"))
    assert result.rendered == topics > 0
    assert every_file(out) == cold(content, templates, tmp_path / "cold")


def test_search_index_runs_only_when_an_indexed_page_changed(tmp_path, content, monkeypatch):
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    out = tmp_path / "site"
    pipeline.build(content, templates, out)
    runs = []
    index = search._index_shard
    monkeypatch.setattr(search, "_index_shard", lambda *a: runs.append(a[3]) or index(*a))
    feed = templates / "feed.xml"
    feed.write_text(feed.read_text().replace("<feed", "<!-- edited -->\n<feed", 1))
    pipeline.build(content, templates, out)
    assert runs == []  # only feed.xml changed
    claim = content / "claims" / "opens-2023.yaml"
    claim.write_text(claim.read_text().replace("The bridge will open in 2023.", "It opens in 2023."))
    pipeline.build(content, templates, out)
    assert len(runs) == 1 and "claims/opens-2023/index.html" in runs[0].pages
    assert every_file(out) == cold(content, templates, tmp_path / "cold")


def test_pages_deleted_from_the_output_are_rendered_again(tmp_path, content):
    out = tmp_path / "site"
    pipeline.build(content, TEMPLATES, out)
    expected = every_file(out)
    (out / "about" / "index.html").unlink()
    claim = content / "claims" / "opens-2023.yaml"
    claim.write_text(claim.read_text() + "venue: Town hall\n")
    pipeline.build(content, TEMPLATES, out)
    claim.write_text(claim.read_text().replace("venue: Town hall\n", ""))
    pipeline.build(content, TEMPLATES, out)
    assert every_file(out) == expected


def test_deleted_cache_or_replaced_output_means_a_cold_build(tmp_path, content):
    out = tmp_path / "site"
    pipeline.build(content, TEMPLATES, out)
    shutil.rmtree(tmp_path / CACHE_DIR)
    assert pipeline.build(content, TEMPLATES, out).rendered > 0
    shutil.rmtree(out)
    shutil.copytree(TEMPLATES.parent / "tests" / "golden" / "expected", out)
    (out / ".factsite").write_text("")
    result = pipeline.build(content, TEMPLATES, out)  # someone else's site/: never trusted
    assert result.rendered == result.pages


def test_no_cache_renders_everything_and_leaves_the_cache_alone(tmp_path, content):
    out = tmp_path / "site"
    pipeline.build(content, TEMPLATES, out)
    cache = every_file(tmp_path / CACHE_DIR)
    result = pipeline.build(content, TEMPLATES, out, use_cache=False)
    assert result.rendered == result.pages
    assert every_file(tmp_path / CACHE_DIR) == cache


def test_damaged_cache_is_ignored(tmp_path, content):
    out = tmp_path / "site"
    pipeline.build(content, TEMPLATES, out)
    for file in (tmp_path / CACHE_DIR).glob("*.pickle"):
        file.write_bytes(b"not a pickle")
    result = pipeline.build(content, TEMPLATES, out)
    assert result.rendered == result.pages
    assert every_file(out) == cold(content, TEMPLATES, tmp_path / "cold")


def test_reads_keep_their_numbers_until_most_numbered_entities_are_gone(tmp_path):
    """An entity's reads are numbered once (so forked workers number reads alike, without a
    table of them) and keep their numbers in later builds; when most numbered entities are
    gone, the numbering starts afresh and every page is rendered again."""
    content, out = tmp_path / "content", tmp_path / "site"
    generate(content, 60)
    pipeline.build(content, TEMPLATES, out)
    first = Cache.beside(out).state(out).numbers
    shutil.rmtree(content)
    generate(content, 50)  # the same ids, fewer of them
    pipeline.build(content, TEMPLATES, out)
    assert Cache.beside(out).state(out).numbers.entities == first.entities
    shutil.rmtree(content)
    generate(content, 6)
    result = pipeline.build(content, TEMPLATES, out)
    third = Cache.beside(out).state(out).numbers
    assert result.rendered == result.pages
    assert "claim:claim-000005" in third.entities
    assert len(third.entities) * 2 < len(first.entities)
    assert every_file(out) == cold(content, TEMPLATES, tmp_path / "cold")


def test_a_list_of_entities_is_described_as_each_of_them_is(tmp_path):
    """Fingerprints describe a list of entities of one kind (a listing's claims) in one
    step: as the same list described entity by entity, so a record made either way holds."""
    from factsite import cache
    content = tmp_path / "content"
    generate(content, 12)
    site = pipeline.load_model(content, None).site
    claim, claimant, topic = site.claims[0], site.claimants[0], site.topics[0]
    for value in (site.claims, list(site.claimants), site.topics, (claim,)):
        parts: list[str] = []
        cache._describe(value, parts, {})
        one_by_one: list[str] = [f"[{len(value)}"]
        for item in value:
            cache._describe(item, one_by_one, {})
        assert parts == one_by_one
    mixed = (claim, claimant, topic, None)
    parts = []
    cache._describe(mixed, parts, {})
    assert parts == ["[4", f"@claim:{claim.id}", f"@claimant:{claimant.id}",
                     f"@topic:{topic.id}", "None"]


def test_a_deferred_context_value_fingerprints_as_the_value_it_makes(tmp_path):
    """A claim page's JSON-LD is made when the page renders (the plan holds a Deferred); the
    dev server puts the value itself in a page it plans again: both fingerprint alike, and
    the page renders the value."""
    from factsite import export
    from factsite.cache import Deferred, fingerprint
    from factsite.render import Renderer
    content = tmp_path / "content"
    generate(content, 12)
    model = pipeline.load_model(content, None)
    claim = model.site.claims[0]
    [page] = [page for page in model.pages if page.context.get("claim") is claim]
    assert type(page.context["jsonld"]) is Deferred
    made = export.claim_jsonld_script(claim, model.site)
    assert fingerprint(page.context["jsonld"]) == fingerprint(made)
    assert fingerprint({"jsonld": page.context["jsonld"]}) == fingerprint({"jsonld": made})
    renderer = Renderer(TEMPLATES, model.site)
    eager = replace(page, context={**page.context, "jsonld": made})
    assert renderer.render(page) == renderer.render(eager)


def test_a_method_of_the_site_fingerprints_as_the_fields_it_reads(tmp_path):
    """A template that calls ``site.absolute`` or ``site.tag_uri`` (the feed) reads the
    base URL and the publisher, not the claims: a claim added leaves the recorded value
    alone, another base URL changes it."""
    from factsite import model as m
    from factsite.cache import token
    content = tmp_path / "content"
    generate(content, 12)
    site = pipeline.load_model(content, None).site
    claims, base_url = site.claims, site.base_url
    for method in ("absolute", "tag_uri"):
        before = token(getattr(site, method), {})
        m.link(site, claims=claims[1:])
        assert token(getattr(site, method), {}) == before
        m.link(site, base_url="https://example.net/")
        assert token(getattr(site, method), {}) != before
        m.link(site, base_url=base_url, claims=claims)


def test_a_value_taken_down_again_tells_whether_it_changed(tmp_path):
    """The dev server compares a save's reads after its first pages render: a value a page
    takes down first then, that differs from the one recorded, is reported (its readers
    render again); a value recorded for the first time, or the same again, is not."""
    from factsite.cache import TOKEN, BuildState, digest
    content = tmp_path / "content"
    generate(content, 12)
    site = pipeline.load_model(content, None).site
    state = BuildState()
    state.assign(site)
    first, second = state.numbers.of(f"claim:{site.claims[0].id}")[:2]
    assert state.take([(first, digest(b"a")), (second, digest(b"b"))]) == []
    assert state.take([(first, digest(b"a")), (second, digest(b"c"))]) == [second]
    assert state.values[second * TOKEN:(second + 1) * TOKEN] == digest(b"c")


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_edit_a_reused_card_shows_renders_every_page_showing_it_and_only_those(tmp_path,
                                                                                   jobs):
    """A claim's card is rendered once and shown by every listing of the claim (its topics',
    its month's, its rating's, its claimant's and a page of the home page's) and the pages
    of claims related to it, with what it read: an edit to a field the card shows renders
    all those pages again, and only the pages that changed. Two workers take cards their
    parent rendered before forking."""
    content = tmp_path / "content"
    generate(content, 300)  # enough pages for workers
    out = tmp_path / "site"
    pipeline.build(content, TEMPLATES, out, jobs=jobs)
    pages = lambda: {path: data for path, data in every_file(out).items()  # noqa: E731
                     if path.endswith(".html")}
    before, before_inodes = pages(), inodes(out)
    claim = content / "claims" / "claim-000123.yaml"
    claim.write_text(claim.read_text() + "venue: The edited hall\n")
    result = pipeline.build(content, TEMPLATES, out, jobs=jobs)
    after, after_inodes = pages(), inodes(out)
    rendered = {path for path in after if after_inodes[path] != before_inodes.get(path)}
    changed = {path for path in after if after[path] != before.get(path)}
    assert rendered == changed
    assert all(b"The edited hall" in after[path] for path in changed)
    # its card on the listings, and on the page of the claim disputing it (claim-000124)
    showing = {path.split("/")[0] for path in changed - {"claims/claim-000123/index.html"}}
    assert showing == {"page", "topics", "timeline", "ratings", "claimants", "claims"}
    assert len(changed) == 8 == result.rendered
    assert every_file(out) == cold(content, TEMPLATES, tmp_path / "cold")


def test_tokens_are_the_fingerprints_of_what_templates_read(tmp_path, monkeypatch):
    """Every value a template may read of every entity (fields, properties, methods) gets
    from :func:`token` the digest :func:`fingerprint` gives it, and runs of entities or of
    text described at once describe as item by item."""
    from factsite import cache
    from factsite import model as m
    content = tmp_path / "content"
    generate(content, 60)
    site = pipeline.load_model(content, None).site
    values = [getattr(entity, name) for entity in cache._entities(site).values()
              for name in cache.ATTRIBUTES[type(entity)]]
    kinds = {type(v[0]) for v in values if type(v) is tuple and v}
    assert {m.Claim, m.Passage, str} <= kinds and () in values
    tokens = [cache.token(value, {}) for value in values]
    assert tokens == [cache.fingerprint(value, {}) for value in values]
    monkeypatch.setattr(cache, "_run", lambda value: None)
    assert tokens == [cache.fingerprint(value, {}) for value in values]
