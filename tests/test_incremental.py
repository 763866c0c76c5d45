"""Property: after any sequence of edits, a cached build gives the bytes of a cold build.

A seeded random sequence of edits (claims added, deleted, renamed; quotes, claimants,
disputes, topics, texts changed; templates, translations, site.yaml and sources
edited) is applied to a generated archive; after each step the cached build of
``site/`` is compared file by file with a cold build, and failures with failures.
``FACTSITE_SEED`` picks another sequence.
"""

from __future__ import annotations

import os
import random
import re
import shutil
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from factsite import load, pipeline
from factsite.diagnostics import ContentError
from tests import corpus
from tests.conftest import TEMPLATES
from tests.test_build import every_file

SEED = int(os.environ.get("FACTSITE_SEED", "20261201"))
STEPS = 10
SHARD_PAGES = 8  # the search index in several shards, so that edits move pages between them


class Archive:
    def __init__(self, content: Path, templates: Path, rng: random.Random):
        self.content, self.templates, self.rng = content, templates, rng
        self.counter = 0
        self.broken: list[tuple[Path, str]] = []

    # -- reading and writing claims (every scalar as text, as factsite reads them) --

    def claims(self) -> list[Path]:
        return sorted((self.content / "claims").glob("*.yaml"))

    def ids(self, folder: str) -> list[str]:
        return sorted(p.stem for p in (self.content / folder).iterdir())

    def read(self, path: Path) -> dict:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)

    def write(self, path: Path, data: dict) -> None:
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    def pick_claim(self) -> tuple[Path, dict]:
        path = self.rng.choice(self.claims())
        return path, self.read(path)

    def fresh(self) -> int:
        self.counter += 1
        return self.counter

    def sentences(self, source: str) -> list[str]:
        text = (self.content / "sources" / f"{source}.txt").read_text(encoding="utf-8")
        return re.findall(r"Spokesperson \d+ said on record \d+ that [^.]*\.(?:\d+[^.]*\.)?", text)

    def replace_references(self, old: str, new: str | None) -> None:
        for path in self.claims():
            data = self.read(path)
            changed = False
            for relation in ("disputes", "supports"):
                if old in data.get(relation, []):
                    data[relation] = [i for i in data[relation] if i != old] + ([new] if new else [])
                    if not data[relation]:
                        del data[relation]
                    changed = True
            if changed:
                self.write(path, data)

    # -- the edits ----------------------------------------------------------------

    def claim_text(self) -> None:
        path, data = self.pick_claim()
        data["claim"] = f"Edited claim {self.fresh()}."
        self.write(path, data)

    def add_claim(self) -> None:
        source = self.rng.choice(self.ids("sources"))
        data = {"claim": f"New claim {self.fresh()}.", "claimant": self.rng.choice(self.ids("claimants")),
                "date": f"20{self.rng.randint(10, 22)}-0{self.rng.randint(1, 9)}",
                "passages": [{"source": source, "quote": self.rng.choice(self.sentences(source))}],
                "topics": [self.rng.choice(corpus.TOPICS)]}
        if self.rng.random() < 0.5:
            data["disputes"] = [self.pick_claim()[0].stem]
        self.write(self.content / "claims" / f"added-{self.counter}.yaml", data)

    def delete_claim(self) -> None:
        path, _ = self.pick_claim()
        path.unlink()
        self.replace_references(path.stem, None)

    def rename_claim(self) -> None:
        path, _ = self.pick_claim()
        new = f"renamed-{self.fresh()}"
        path.rename(path.with_name(f"{new}.yaml"))
        self.replace_references(path.stem, new)

    def change_quote(self) -> None:
        path, data = self.pick_claim()
        passage = data["passages"][0]
        passage["quote"] = self.rng.choice(self.sentences(passage["source"]))
        self.write(path, data)

    def change_claimant(self) -> None:
        path, data = self.pick_claim()
        data["claimant"] = self.rng.choice(self.ids("claimants"))
        self.write(path, data)

    def toggle_dispute(self) -> None:
        path, data = self.pick_claim()
        if data.get("disputes"):
            del data["disputes"]
        else:
            target = self.pick_claim()[0].stem
            if target == path.stem or target in data.get("supports", []):
                return
            data["disputes"] = [target]
        self.write(path, data)

    def change_date(self) -> None:
        """Another date: the claim moves in the listings by date (the home page, months)."""
        path, data = self.pick_claim()
        data["date"] = f"20{self.rng.randint(10, 22)}-0{self.rng.randint(1, 9)}"
        self.write(path, data)

    def change_topics(self) -> None:
        path, data = self.pick_claim()
        data["topics"] = sorted(set(self.rng.sample(corpus.TOPICS[:6], self.rng.randint(1, 2))))
        self.write(path, data)

    def edit_template(self) -> None:
        name = self.rng.choice(["claim.html", "_partials.html", "base.html", "topic.html",
                                "source.html", "claimant.html", "feed.xml"])
        path = self.templates / name
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace('class="', f'data-edit="{self.fresh()}" class="', 1)
                        if 'class="' in text else text.replace("<entry>", "<entry>\n", 1),
                        encoding="utf-8")

    def claimant_text(self) -> None:
        path = self.content / "claimants" / f"{self.rng.choice(self.ids('claimants'))}.yaml"
        data = self.read(path)
        data[self.rng.choice(["name", "role"])] = f"Edited {self.fresh()}"
        self.write(path, data)

    def analysis_text(self) -> None:
        path, data = self.pick_claim()
        data["analysis"] = f"Edited analysis {self.fresh()}, see [the source](source:{data['passages'][0]['source']})."
        self.write(path, data)

    def edit_static(self) -> None:
        path = self.templates / "static" / "style.css"
        path.write_text(path.read_text(encoding="utf-8") + f"/* {self.fresh()} */\n",
                        encoding="utf-8")

    def edit_translation(self) -> None:
        path = self.templates / "i18n" / "en.yaml"
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"(?m)^skip_to_content: .*$",
                               f"skip_to_content: Skip to content {self.fresh()}", text),
                        encoding="utf-8")

    def edit_site(self) -> None:
        path = self.content / "site.yaml"
        data = self.read(path)
        if self.rng.random() < 0.5:
            data["title"] = f"Archive {self.fresh()}"
        else:
            data["description"] = f"Description {self.fresh()}"
        self.write(path, data)

    def edit_source(self) -> None:
        path = self.content / "sources" / f"{self.rng.choice(self.ids('sources'))}.txt"
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"(?m)^title: .*$", f"title: Record edited {self.fresh()}", text, 1),
                        encoding="utf-8")

    def break_two_claims(self) -> None:
        """A quote not in its source and an unknown claimant; :meth:`repair` undoes it."""
        first, second = self.rng.sample(self.claims(), 2)
        for path, field, value in ((first, "quote", "Words nobody said."),
                                   (second, "claimant", "nobody-at-all")):
            text = path.read_text(encoding="utf-8")
            self.broken.append((path, text))
            path.write_text(re.sub(rf"(?m)^(\s*{field}: ).*$", rf"\g<1>{value}", text, 1),
                            encoding="utf-8")

    def repair(self) -> None:
        for path, text in self.broken:
            if path.exists():
                path.write_text(text, encoding="utf-8")
        self.broken = []

    def add_claimant(self) -> None:
        """A claimant no claim names yet; :meth:`add_claim` may pick it."""
        number = self.fresh()
        self.write(self.content / "claimants" / f"added-person-{number}.yaml",
                   {"name": f"Added Person {number}", "kind": "person"})

    def add_source(self) -> None:
        """A source nothing cites yet, its text that of another, so claims may quote it."""
        text = (self.content / "sources" / f"{self.rng.choice(self.ids('sources'))}.txt"
                ).read_text(encoding="utf-8")
        (self.content / "sources" / f"added-source-{self.fresh()}.txt").write_text(
            re.sub(r"(?m)^title: .*$", f"title: Added record {self.counter}", text, 1),
            encoding="utf-8")

    def delete_unused(self) -> None:
        """A claimant or source nothing refers to (else the archive would stay broken)."""
        used = {value for path in self.claims() for value in self._references(self.read(path))}
        unused = [path for folder in ("claimants", "sources")
                  for path in sorted((self.content / folder).iterdir()) if path.stem not in used]
        if unused:
            self.rng.choice(unused).unlink()

    @staticmethod
    def _references(data: dict) -> list[str]:
        claimants = data.get("claimant", [])
        return [*([claimants] if isinstance(claimants, str) else claimants),
                *(passage["source"] for passage in data.get("passages", []))]

    def nothing(self) -> None:
        pass

    def edits(self) -> list[Callable[[], None]]:
        return [self.claim_text, self.add_claim, self.delete_claim, self.rename_claim,
                self.change_quote, self.change_claimant, self.toggle_dispute, self.change_topics,
                self.change_date, self.edit_template, self.edit_translation, self.edit_site,
                self.edit_source, self.claimant_text, self.analysis_text, self.edit_static,
                self.add_claimant, self.add_source, self.delete_unused,
                self.break_two_claims, self.nothing]


def outcome(content: Path, templates: Path, out: Path, **options) -> tuple[str, object]:
    options.setdefault("shard_pages", SHARD_PAGES)
    try:
        result = pipeline.build(content, templates, out, **options)
    except ContentError as error:
        return "failed", error.diagnostics
    return "built", result


def test_cached_builds_equal_cold_builds_after_random_edits(tmp_path):
    rng = random.Random(SEED)
    content, templates = tmp_path / "content", tmp_path / "templates"
    corpus.generate(content, 30)
    shutil.copytree(TEMPLATES, templates)
    archive = Archive(content, templates, rng)
    out = tmp_path / "site"
    pipeline.build(content, templates, out, shard_pages=SHARD_PAGES)
    history = []
    failures = 0
    for step in range(STEPS):
        archive.repair()
        edits = rng.sample(archive.edits(), rng.randint(1, 3))
        edits.sort(key=lambda edit: edit == archive.break_two_claims)  # last, so repair finds them
        for edit in edits:
            edit()
        history.append([edit.__name__ for edit in edits])
        cold_out = tmp_path / f"cold-{step}"
        cached, cold = outcome(content, templates, out), outcome(content, templates, cold_out,
                                                                use_cache=False)
        where = f"seed {SEED}, edits {history}"
        assert cached[0] == cold[0], where
        if cached[0] == "failed":
            assert cached[1] == cold[1], where  # every error, at the same file and line
            assert len(cached[1]) >= len(archive.broken) == 2, where
            failures += 1
            continue
        assert every_file(out) == every_file(cold_out), where
        assert cached[1].files == cold[1].files == len(every_file(cold_out)) - 1, where
        assert cached[1].warnings == cold[1].warnings, where
        if [e.__name__ for e in edits] == ["nothing"]:
            assert cached[1].rendered == 0, where
        shutil.rmtree(cold_out)
    assert failures < STEPS  # most steps build

@pytest.mark.parametrize("edit", ["delete_claim", "rename_claim", "add_claim"])
def test_each_structural_edit_alone(tmp_path, edit):
    """The edits that change which pages exist, one at a time, on a small archive."""
    content, templates = tmp_path / "content", tmp_path / "templates"
    corpus.generate(content, 12)
    shutil.copytree(TEMPLATES, templates)
    out = tmp_path / "site"
    pipeline.build(content, templates, out)
    getattr(Archive(content, templates, random.Random(SEED)), edit)()
    result = pipeline.build(content, templates, out)
    assert 0 < result.rendered < result.pages
    pipeline.build(content, templates, tmp_path / "cold", use_cache=False)
    assert every_file(out) == every_file(tmp_path / "cold")


# ---- the dev server's incremental path ------------------------------------------------------

def snapshot(*roots: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for root in roots for p in root.rglob("*") if p.is_file()}


def saved(before: dict[str, bytes], after: dict[str, bytes]) -> list[str]:
    """The paths a save touched, as the operating system reports them to the server."""
    return sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))


def served(dev, path: str) -> bytes:
    """What the dev server answers for a page: from memory when a save rendered it."""
    found = dev.live.fresh.get(path)
    return found[1] if found else (dev.out / path).read_bytes()

def started(content: Path, out: Path, claims: int) -> Any:
    """A dev server on a generated archive of ``claims`` claims, its site built; a save
    that fails fails the test."""
    from factsite import serve

    corpus.generate(content, claims)
    dev = serve.DevServer(content, TEMPLATES, out, on_built=lambda result: None,
                          on_failed=lambda diagnostics: pytest.fail(str(diagnostics)))
    dev.rebuild()
    return dev



@pytest.mark.parametrize("shard_pages, settings", [
    (None, ""),  # one search shard; topics are those the claims use
    (SHARD_PAGES, "topics:\n" + "".join(f"  - {{id: {t}, label: {t.upper()}}}\n"
                                         for t in corpus.TOPICS)),  # shards; topics listed
])
def test_the_dev_servers_saves_equal_cold_builds_after_random_edits(tmp_path, monkeypatch,
                                                                    shard_pages, settings):
    """The same random edits, each step handed to the dev server as the paths that changed:
    what it serves right after the save, and site/ once its writer is done, are a cold
    build's, and a save that fails reports every error a cold build reports. Saves that
    edit claims alone (their text, or what they refer to: added, deleted, renamed) are
    patched in without checking or assembling the whole site."""
    from tests.test_serve import wait_for_writers
    from factsite import serve

    rng = random.Random(SEED + 1)
    content, templates = tmp_path / "content", tmp_path / "templates"
    corpus.generate(content, 30, settings=settings)
    shutil.copytree(TEMPLATES, templates)
    archive = Archive(content, templates, rng)
    failed: list = []
    dev = serve.DevServer(content, templates, tmp_path / "site", on_built=lambda result: None,
                          on_failed=failed.append, shard_pages=shard_pages)
    dev.rebuild()
    loads = []
    load_model = pipeline.load_model
    monkeypatch.setattr(pipeline, "load_model", lambda *a, **k: loads.append(1) or load_model(*a, **k))
    patched = {archive.claim_text, archive.claimant_text, archive.analysis_text,
               archive.edit_source, archive.edit_template, archive.edit_static, archive.nothing,
               archive.add_claim, archive.delete_claim, archive.rename_claim,
               archive.change_quote, archive.change_claimant, archive.toggle_dispute,
               archive.change_topics, archive.change_date, archive.add_claimant,
               archive.add_source, archive.delete_unused}
    history, built, fast = [], True, 0
    for step in range(STEPS * 2):
        before = snapshot(content, templates)
        archive.repair()
        edits = rng.sample(archive.edits(), rng.randint(1, 3))
        edits.sort(key=lambda edit: edit == archive.break_two_claims)
        for edit in edits:
            edit()
        history.append([edit.__name__ for edit in edits])
        failed.clear()
        loads.clear()
        dev.save(saved(before, snapshot(content, templates)))
        if built and set(edits) <= patched:  # nothing loaded, checked or assembled whole
            assert not loads, history
            fast += not loads
        cold_out = tmp_path / f"cold-{step}"
        cold = outcome(content, templates, cold_out, use_cache=False, shard_pages=shard_pages)
        where = f"seed {SEED + 1}, edits {history}"
        built = cold[0] == "built"
        if not built:
            assert failed == [cold[1]], where
            continue
        assert not failed, where
        expected = every_file(cold_out)
        for path, (_, data) in dev.live.fresh.items():
            if data is None:  # a page the save removed: answered 404 already
                assert path not in expected, (path, where)
            elif not path.startswith("static/"):
                assert data == expected[path], (path, where)
        wait_for_writers(dev)
        assert every_file(dev.out) == expected, where
        shutil.rmtree(cold_out)
    assert fast >= STEPS // 2  # most saves took a fast path


def test_a_text_edit_reads_checks_and_renders_only_what_it_changes(tmp_path, monkeypatch):
    """Editing what a claim says re-reads that file alone, checks it alone, assembles
    nothing and renders only the pages that show its text."""
    from tests.test_serve import wait_for_writers
    from factsite import live, validate

    content = tmp_path / "content"
    dev = started(content, tmp_path / "site", 200)
    read = []
    monkeypatch.setattr(live, "load_one", lambda file, kind: read.append(file) or
                        load.load_one(file, kind))

    def forbidden(*args, **kwargs):
        raise AssertionError("the whole site was loaded or checked again")
    monkeypatch.setattr(pipeline, "load_model", forbidden)
    monkeypatch.setattr(validate, "check", forbidden)
    monkeypatch.setattr(validate, "assemble", forbidden)
    claim = content / "claims" / "claim-000042.yaml"
    claim.write_text(claim.read_text().replace("claim: Project 42 cost", "claim: Project 42 took"))
    dev.save([str(claim)], {"tab": "/claims/claim-000042/"})
    assert read == [claim]
    rendered = set(dev.live.fresh)
    assert "claims/claim-000042/index.html" in rendered and len(rendered) < 20
    assert b"Project 42 took" in served(dev, "claims/claim-000042/index.html")
    wait_for_writers(dev)
    monkeypatch.undo()
    pipeline.build(content, TEMPLATES, tmp_path / "cold", use_cache=False)
    assert every_file(dev.out) == every_file(tmp_path / "cold")


def test_a_build_after_the_dev_server_renders_nothing_it_wrote(tmp_path):
    """The dev server's writers leave the state of site/ in the build cache: a build after
    the server stopped renders no page when nothing changed since, and the same bytes as
    a cold build; one more edit renders only what it changes."""
    from tests.test_serve import wait_for_writers
    from factsite import serve

    content, templates = tmp_path / "content", tmp_path / "templates"
    corpus.generate(content, 30)
    shutil.copytree(TEMPLATES, templates)
    archive = Archive(content, templates, random.Random(SEED))
    out = tmp_path / "site"
    dev = serve.DevServer(content, templates, out, on_built=lambda result: None,
                          on_failed=lambda diagnostics: pytest.fail(str(diagnostics)))
    dev.rebuild()
    for edit in (archive.claim_text, archive.add_claim, archive.delete_claim,
                 archive.edit_template, archive.change_topics):
        before = snapshot(content, templates)
        edit()
        dev.save(saved(before, snapshot(content, templates)))
        wait_for_writers(dev)
    dev.live.stop()
    result = pipeline.build(content, templates, out)
    assert result.rendered == 0 and result.site is not None  # checked, nothing rendered
    pipeline.build(content, templates, tmp_path / "cold", use_cache=False)
    assert every_file(out) == every_file(tmp_path / "cold")
    assert pipeline.build(content, templates, out).site is None  # nothing changed: not loaded
    archive.claim_text()
    result = pipeline.build(content, templates, out)
    assert 0 < result.rendered < 20


@pytest.mark.parametrize("reference", ["disputes", "link"])
def test_a_deleted_claim_still_referred_to_fails_as_a_cold_build(tmp_path, reference):
    """Deleting a claim that another still disputes, or that a Markdown link names, gives
    the dev server exactly the errors of a cold build; putting it back builds again."""
    from factsite import serve

    content = tmp_path / "content"
    corpus.generate(content, 30)
    referrer = content / "claims" / "claim-000020.yaml"
    if reference == "link":
        referrer.write_text(referrer.read_text().replace(
            "analysis: |\n", "analysis: |\n  See [the earlier claim](claim:claim-000005).\n\n", 1))
    else:
        referrer.write_text(referrer.read_text() + "supports: [claim-000005]\n")
    failed: list = []
    dev = serve.DevServer(content, TEMPLATES, tmp_path / "site", on_built=lambda result: None,
                          on_failed=failed.append)
    dev.rebuild()
    assert not failed
    gone = content / "claims" / "claim-000005.yaml"
    text = gone.read_text()
    gone.unlink()
    dev.save([str(gone)])
    cold = outcome(content, TEMPLATES, tmp_path / "cold", use_cache=False)
    assert cold[0] == "failed" and failed == [cold[1]]
    assert any("claim-000005" in d.message for d in cold[1])
    failed.clear()
    gone.write_text(text)
    dev.save([str(gone)])
    assert not failed


@pytest.mark.parametrize("edit", ["add", "dispute", "topics", "date", "delete"])
def test_a_saved_claim_renders_before_the_listings_of_every_claim_are_planned(tmp_path,
                                                                               monkeypatch, edit):
    """A save that patches claims in renders their pages (and the open pages) first, with
    only the pages of the entries they touch planned again, and the listings by date when
    a claim came, went or changed its date: when settle() starts planning the other
    listings, the threads and the sitemap, the claim's page is already served from memory
    with a cold build's bytes (its thread's address included), and so is the home page when
    the claim came, went or moved (else it is not rendered again), the other listings by
    date planned in settle(). After the save, every page is a cold build's."""
    from factsite import live, render

    content = tmp_path / "content"
    dev = started(content, tmp_path / "site", 30)
    archive = Archive(content, TEMPLATES, random.Random(SEED))
    claim = content / "claims" / "claim-000020.yaml"
    data = archive.read(claim)
    if edit == "add":  # the newest claim, in a thread: the home page and the threads shift
        claim = content / "claims" / "added.yaml"
        data = {**data, "date": "2030-01", "disputes": ["claim-000012"]}
        data.pop("supports", None)
    elif edit == "dispute":
        data["disputes"] = ["claim-000003"]
    elif edit == "topics":  # the listings by date stay as they were
        data["topics"] = ["topic-07"]
    elif edit == "date":  # the newest claim now: the listings by date change
        data["date"] = "2030-02"
    early: dict[str, bytes | None] = {}
    settle = live.LiveSite.settle
    dated: list[bool] = []  # whether each planning of the listings by date came in settle()
    monkeypatch.setattr(live, "dated_sections", lambda site: dated.append(bool(early)) or
                        render.dated_sections(site))

    def spy(self: live.LiveSite) -> None:
        if self.unsettled:
            early.update((path, found[1]) for path, found in self.fresh.items())
        settle(self)
    monkeypatch.setattr(live.LiveSite, "settle", spy)
    if edit == "delete":
        claim = content / "claims" / "claim-000029.yaml"  # the newest: on the home page
        claim.unlink()
    else:
        archive.write(claim, data)
    dev.save([str(claim)], {"tab": "/about/"})
    cold = tmp_path / "cold"
    pipeline.build(content, TEMPLATES, cold, use_cache=False)
    expected = every_file(cold)
    page = f"claims/{claim.stem}/index.html"
    if edit == "delete":
        assert early[page] is None  # answered 404 at once
    else:
        assert early[page] == expected[page]
    for path, data in early.items():
        assert data == expected.get(path), path  # None: a page gone
    assert ("index.html" in early) is (edit in ("add", "date", "delete"))
    assert dated == ([True] if edit in ("add", "date", "delete") else [])
    for path in every_file(tmp_path / "site").keys() | expected.keys():
        if path.endswith(".html") and not path.startswith("pagefind/"):  # pages, as served
            assert served(dev, path) == expected.get(path), path


def test_claimants_and_sources_added_and_deleted_are_patched_in(tmp_path, monkeypatch):
    """A claimant and a source added with a claim that names and quotes them, in one save,
    then deleted with it, and a claimant added alone: each save is patched in without
    checking or assembling the whole site, and serves a cold build's bytes; deleting a
    claimant a claim still names fails with a cold build's errors."""
    from factsite import serve

    content = tmp_path / "content"
    corpus.generate(content, 30)
    failed: list = []
    dev = serve.DevServer(content, TEMPLATES, tmp_path / "site", on_built=lambda result: None,
                          on_failed=failed.append)
    dev.rebuild()
    loads = []
    load_model = pipeline.load_model
    monkeypatch.setattr(pipeline, "load_model",
                        lambda *a, **k: loads.append(1) or load_model(*a, **k))
    archive = Archive(content, TEMPLATES, random.Random(SEED))
    source = (content / "sources" / "source-00001.txt").read_text(encoding="utf-8")
    claimant = content / "claimants" / "newcomer.yaml"
    new_source = content / "sources" / "new-record.txt"
    claim = content / "claims" / "new-claim.yaml"
    quote = archive.sentences("source-00001")[0]

    def save(*paths: Path) -> None:
        dev.save([str(path) for path in paths])
        cold = outcome(content, TEMPLATES, tmp_path / "cold", use_cache=False)
        if cold[0] == "failed":
            assert failed == [cold[1]]
        else:
            assert not failed and not loads
            expected = every_file(tmp_path / "cold")
            for path, (_, data) in dev.live.fresh.items():
                assert data == expected.get(path), path
            for path in ("claimants/newcomer/index.html", "sources/new-record/index.html",
                         "claims/new-claim/index.html", "index.html", "claimants/index.html",
                         "sources/index.html", "sitemap.xml"):
                assert served(dev, path) == expected.get(path), path  # None: 404
        shutil.rmtree(tmp_path / "cold", ignore_errors=True)
        failed.clear()
        loads.clear()

    claimant.write_text("name: A Newcomer\nkind: person\nrole: Spokesperson\n", encoding="utf-8")
    new_source.write_text(source.replace("title: Record 1", "title: A new record"),
                          encoding="utf-8")
    archive.write(claim, {"claim": "A new claim.", "claimant": "newcomer", "date": "2030-01",
                          "passages": [{"source": "new-record", "quote": quote}],
                          "topics": ["topic-03"]})
    save(claimant, new_source, claim)
    assert b"A Newcomer" in served(dev, "claims/new-claim/index.html")
    claimant.unlink()  # a claim still names it: the whole check words the error
    save(claimant)
    claimant.write_text("name: A Newcomer\nkind: person\n", encoding="utf-8")
    save(claimant)
    claim.unlink()
    claimant.unlink()
    new_source.unlink()
    save(claim, claimant, new_source)
    alone = content / "claimants" / "alone.yaml"
    alone.write_text("name: Alone\nkind: person\n", encoding="utf-8")
    save(alone)


def test_a_claim_changed_in_a_thread_renders_no_page_of_the_thread_that_stays_the_same(
        tmp_path):
    """A claim's topics changed, in a thread of four claims: the save plans the pages of
    every claim of the thread again (their JSON-LD made anew), yet renders none of the
    other three, whose bytes stay the same; every page served is a cold build's."""
    from tests.test_serve import wait_for_writers

    content = tmp_path / "content"
    dev = started(content, tmp_path / "site", 60)  # 4 disputes 3, which supports 0; 1 disputes 0
    thread = [f"claims/claim-{n:06}/index.html" for n in (0, 1, 3, 4)]
    assert {dev.live.model.pages[dev.live.position[path]].context["thread_url"]
            for path in thread} == {"threads/#thread-claim-000000"}
    archive = Archive(content, TEMPLATES, random.Random(SEED))
    claim = content / "claims" / "claim-000004.yaml"
    archive.write(claim, {**archive.read(claim), "topics": ["topic-07"]})
    rendered: list[str] = []
    render = dev.live.render
    dev.live.render = lambda paths, stop=lambda: False: (
        lambda found: rendered.extend(found[0]) or found)(render(paths, stop))
    dev.save([str(claim)])
    assert thread[3] in rendered and not set(thread[:3]) & set(rendered)
    wait_for_writers(dev)
    pipeline.build(content, TEMPLATES, tmp_path / "cold", use_cache=False)
    assert every_file(dev.out) == every_file(tmp_path / "cold")


def test_a_save_outside_every_thread_lays_out_no_thread_again(tmp_path, monkeypatch):
    """Claims added and deleted that dispute and support nothing leave every thread as it
    was: the pages of threads keep their layout (not worked out again) and stay planned as
    they were; a claim added to a thread lays them out again. Every page is a cold build's."""
    from tests.test_serve import wait_for_writers
    from factsite import live, render

    content = tmp_path / "content"
    dev = started(content, tmp_path / "site", 30)
    layouts = []
    monkeypatch.setattr(live, "thread_groups", lambda *a: layouts.append(1) or
                        render.thread_groups(*a))
    archive = Archive(content, TEMPLATES, random.Random(SEED))
    data = {k: v for k, v in archive.read(content / "claims" / "claim-000002.yaml").items()
            if k not in ("disputes", "supports")}
    added = content / "claims" / "added.yaml"
    for step, write in enumerate((
            lambda: archive.write(added, {**data, "date": "2030-01"}),
            lambda: added.unlink(),
            lambda: archive.write(added, {**data, "date": "2030-01"}),
            lambda: archive.write(added, {**data, "date": "2030-01",
                                          "disputes": ["claim-000002"]}))):
        write()
        threads = dev.live.model.sections[("threads",)]
        dev.save([str(added)])
        assert (dev.live.model.sections[("threads",)] is threads) is (step < 3)
        assert len(layouts) == (0 if step < 3 else 1)
        wait_for_writers(dev)
        pipeline.build(content, TEMPLATES, tmp_path / "cold", use_cache=False)
        assert every_file(dev.out) == every_file(tmp_path / "cold"), step
        shutil.rmtree(tmp_path / "cold")
