"""The dev server's site in memory: a save re-reads only the files it changed and renders
only the pages it changes, the pages open in browsers first.

:class:`LiveSite` keeps between saves what a build computes: the documents, the
checked documents, the resolved :class:`~factsite.model.Site`, its plan, the
Jinja environment, and for every page what it read and which templates it
loaded (the build cache's :class:`~factsite.cache.BuildState`), with indexes
from each read and each template to the pages that used it.

A save is dispatched on what it changed (Zola's ``serve`` does the same):

- **text** of a claim (its claim, venue, analysis), a claimant, a source's front
  matter or a page's description and body: that one document is checked again
  against the others as they were (:func:`~factsite.validate.recheck`) and its
  entity is updated in place; the pages that read a changed value are the ones
  to render again. No other file is read, checked or assembled.
- **claims, claimants and sources added or removed, claims changed in what they
  refer to**: each file is checked alone, the site is patched in place
  (:func:`~factsite.validate.patch_claims`), the pages of the entries touched (and
  the home page, when a claim came, went or moved) are planned again and the saved
  entries' pages and the home page rendered first, the listings, the threads and the
  sitemap after them (:meth:`LiveSite.settle`);
- **anything else in content/** (a page added or removed, site.yaml, a source's
  text, an error to report): the documents are checked and assembled again from
  memory (only the changed files are re-read) and every recorded read is
  compared, as ``build`` does.
- **a template**: the pages that loaded it; a translation: a full build.
- **a static file** (``templates/static/``): copied, nothing rendered.

Rendered pages are kept in memory (:attr:`LiveSite.fresh`) and served from there
at once; a forked process (:meth:`LiveSite.flush`) then writes the whole site
into a staging directory, swaps it in and refreshes the search index, one such
writer at a time (a save while one writes leaves its flush to when that one is
done: :meth:`LiveSite.flush_pending`). The site/ directory is therefore always a whole build, and
what the server answers is never older than site/.
"""

from __future__ import annotations

import dataclasses
import fcntl
import gc
import hashlib
import multiprocessing
import os
import signal
import stat
import sys
import threading
import time
import traceback
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterable

from . import pipeline
from . import model as m
from .cache import BuildState, Cache, Deferred, PageRecord, Recorder, digest, entity_key
from .diagnostics import ContentError, Diagnostic, errors, format_text
from .load import COLLECTIONS, EDITOR_LEFTOVERS, Document, load_content, load_one
from .pipeline import BuildResult, Model
from .search import SHARD_PAGES
from .render import (Renderer, _once_each, dated_sections, entry_pages, home_page, made_from,
                     plan_sections, thread_groups)
from .validate import dead_links, known_ids, new_entity, patch_claims, recheck, unused
from .write import count_files, link_file, staged, write_file

# Fields whose change alters what an entity refers to, or where it is listed: such a save
# checks and assembles the site again. Other fields are text, updated in place.
STRUCTURE = {
    "claim": frozenset({"claimant", "date", "passages", "disputes", "supports", "topics",
                        "rating", "published", "updates"}),
    "claimant": frozenset(),
    "source": frozenset(),  # and the text after the front matter
    "page": frozenset({"title"}),
}
CLAIM_TEXT = (("text", "claim"), ("venue", "venue"))  # (entity field, document field)
ENTRIES = frozenset({"claim", "claimant", "source", "topic", "rating"})  # sections of one entry
MOVABLE = ("claim", "claimant", "source")  # kinds of file a save may add or delete in place
SUPERSEDED = 3  # a writer's exit status when a newer save will write instead
STOP_EVERY = 1  # pages rendered between two looks whether a newer save is waiting (a look is cheap)


class LiveSite:
    def __init__(self, content: Path, templates: Path, out: Path, cache: Cache, *,
                 strict: bool = False, base_url: str | None = None,
                 shard_pages: int | None = None):
        self.content, self.templates, self.out = Path(content), Path(templates), Path(out)
        self.cache, self.strict, self.base_url = cache, strict, base_url
        self.shard_pages = shard_pages  # the search index's shard size (default SHARD_PAGES)
        self.model: Model | None = None
        self.state: BuildState | None = None
        self.documents: dict[str, Document] = {}  # path → document, as last read
        self.problems: dict[str, list[Diagnostic]] = {}  # path → what reading it found
        self.edited: set[str] = set()  # paths whose document differs from the model's
        self.dirty: set[str] = set()  # pages to render again (a failed render stays here)
        self.fresh: dict[str, tuple[int, bytes]] = {}  # page path → (generation, bytes)
        self.fresh_lock = threading.Lock()
        self.generation = 0
        self.latest = multiprocessing.get_context("fork").Value("q", 0)  # for writers
        self.writers: list[tuple[Any, int]] = []  # (process, generation)
        self.pending = False  # a flush waits for the writer going (flush_pending)
        self.renderer: Renderer | None = None
        self.recorder = Recorder()
        self.readers: dict[int, set[str]] = defaultdict(set)  # read number → pages
        self.users: dict[str, set[str]] = defaultdict(set)  # template → pages
        self.position: dict[str, int] = {}  # page path → index in the plan
        self.static: list[str] = []  # the static files the last save changed
        # The pages that show what a save changed, rendered first (after the open pages): the
        # entries it edited or added, and the home page when a claim came, went or moved
        self.saved: list[str] = []
        # False once a save patched the model and then found it must check everything:
        # until a whole check succeeds, the model is not one to patch
        self.trusted = True
        # A save patched in that settle() has to finish; whether it moved a claim in the
        # listings by date (only the home page's first page is planned then); the entities
        # it touched, whose reads settle() compares; the pages rendered since it patched
        self.unsettled = self.redated = False
        self.touched: dict[str, Any] = {}
        self.later: dict[str, Any] = {}  # the touched entries whose pages settle() plans
        self.early: set[str] = set()

    # -- whole builds --------------------------------------------------------------------

    def build(self, index: bool = True) -> BuildResult:
        """Read and check everything, build site/ (with the build cache) and keep the model."""
        documents, problems = self._read_all()
        self.edited.clear()
        model = pipeline.load_model(self.content, self.base_url, cache=self.cache,
                                    documents=(documents, problems))
        return self._build_with(model, index)  # which keeps the memos this load used

    def _read_all(self) -> tuple[list[Document], list[Diagnostic]]:
        documents, problems = load_content(self.content, self.cache)
        self.documents = {doc.path: doc for doc in documents}
        self.problems = defaultdict(list)
        for problem in problems:
            self.problems[problem.path].append(problem)
        return documents, problems

    def _build_with(self, model: Model, index: bool) -> BuildResult:
        self.generation += 1
        self.latest.value = self.generation
        with self._writing():
            result = pipeline.build(self.content, self.templates, self.out, strict=self.strict,
                                    base_url=self.base_url, cache=self.cache, index=index,
                                    shard_pages=self.shard_pages, model=model)
        self._adopt(model, self.cache.state(self.out))
        self.cache.forget(self._bundles)  # the build's state has the index's bundles
        with self.fresh_lock:
            self.fresh.clear()
        return result

    def _adopt(self, model: Model, state: BuildState) -> None:
        """Keep ``model`` and the state of the build that wrote site/ from it."""
        self.model, self.state, self.trusted = model, state, True
        self.unsettled = self.redated = False
        self.renderer = Renderer(self.templates, model.site, self.recorder)
        self._site_changed(model)
        self.readers.clear()
        self.users.clear()
        for path, record in state.pages.items():
            for number in record.reads:
                self.readers[number].add(path)
            for name in record.templates:
                self.users[name].add(path)
        self.dirty.clear()
        _settle()

    def _site_changed(self, model: Model) -> None:
        self._positions()
        # The threads and their pages' layout (:meth:`_layout`), and the layout the plan's
        # pages of threads were made from (the plan was made from this site)
        self.threads: tuple[Any, tuple[Any, dict[str, str]]] | None = None
        self.threads_planned = self._layout()[0]
        self.ids = known_ids(model.checked)
        site = model.site
        # kind → id → entity: patch_claims keeps the claims' table as it patches them in
        self.entities = {kind: {e.id: e for e in group} for kind, group in (
            ("claim", site.claims), ("claimant", site.claimants), ("source", site.sources),
            ("page", site.pages))}
        self.recorder = self.renderer.recorder = self.renderer.env.recorder = Recorder(
            self.state.numbers)
        self.renderer.env.globals["site"] = model.site

    # -- a save ----------------------------------------------------------------------------

    def update(self, paths: Iterable[str]) -> BuildResult:
        """Take in the files a save changed; work out which pages to render again
        (:attr:`dirty`). Raises ContentError with every problem of the content as it now is."""
        started = time.perf_counter()
        content, templates, static = self._sort(paths)
        self.static = sorted(static)
        self.saved = []
        if static:
            self._copy_static(static)
        if self.model is None or any(name.startswith("i18n/") for name in templates):
            return self.build(index=False)
        if templates:
            self._templates_changed(templates)
        if content:
            self._content_changed(content)
        site = self.model.site
        return BuildResult(site, len(site.claims), self.html_pages(),
                           self.state.summary.get("files", len(self.model.pages)),
                           time.perf_counter() - started, self.model.warnings, (),
                           len(self.dirty), True)

    def html_pages(self) -> int:
        """The HTML pages planned (the summary line's figure), counted when the plan was
        put in order (:meth:`settle`)."""
        return self.html_count

    def _sort(self, paths: Iterable[str]) -> tuple[list[Path], set[str], set[str]]:
        """The changed content files, template names and static files (relative to static/)."""
        content, templates, static = [], set(), set()
        for raw in paths:
            relative = _under(raw, self.content)
            if relative is not None:
                content.append(self.content / relative)
                continue
            relative = _under(raw, self.templates)
            if relative is None or not relative.parts:
                continue
            if relative.parts[0] == "static":
                static.add(Path(*relative.parts[1:]).as_posix())
            else:
                templates.add(relative.as_posix())
        return content, templates, static

    def _copy_static(self, names: set[str]) -> None:
        """A static file goes to the browser as it is: served from memory until written."""
        self.generation += 1
        with self.fresh_lock:
            for name in names:
                file = self.templates / "static" / name
                try:
                    data = file.read_bytes() if file.is_file() else None
                except OSError:
                    data = None
                if data is not None:
                    self.fresh[f"static/{name}"] = (self.generation, data)
                else:
                    self.fresh.pop(f"static/{name}", None)

    def _templates_changed(self, names: set[str]) -> None:
        self.renderer.env.cache.clear()  # Jinja's own check misses edits within a clock tick
        for name in names:
            file = self.templates / name
            value = digest(file.read_bytes()) if file.is_file() else b""
            if self.state.templates.get(name) != value:
                self.state.templates[name] = value
                self.dirty |= self.users.get(name, set())

    def _content_changed(self, files: list[Path]) -> None:
        for file in files:
            kind = _kind(self.content, file)
            if kind is None:  # a folder, a file the build does not read, or a new directory
                self.edited.add(str(file))
                continue
            document, problems = load_one(file, kind)
            self.problems.pop(str(file), None)
            if problems:
                self.problems[str(file)] = problems
            if document is None:
                self.documents.pop(str(file), None)
            else:
                self.documents[str(file)] = document
            self.edited.add(str(file))
        if self.edited and self.trusted and self._patch_in_place():
            if self.strict and self.model.warnings:
                raise ContentError(self.model.warnings)
        else:
            self._reassemble()

    def _patch_in_place(self) -> bool:
        """Take the edits into the model in place when they allow it: text alone, or claims,
        claimants and sources added or removed and claims changed in what they refer to
        (with text edited in other files). False: the whole site must be checked again."""
        if self._patch(set(self.edited)):
            return True
        moved = {path for path in self.edited if self._moved(path)}
        others = self.edited - moved
        return bool(moved) and (not others or self._patch(others)) and self._restructure(moved)

    def _moved(self, path: str) -> bool:
        """A claim file, or the file of a claimant or source added or removed."""
        kind = _kind(self.content, Path(path))
        if kind == "claim":
            return True
        if kind not in MOVABLE:
            return False
        document = self.documents.get(path)
        known = self.model.checked.parsed[kind]
        if document is None:
            return Path(path).stem in known
        return document.id not in known

    # -- the fast path: text edited in place -------------------------------------------------

    def _patch(self, paths: set[str]) -> bool:
        """Update the model in place when every document edited at ``paths`` changed only
        text; False (nothing changed) when one of them needs the whole site checked again."""
        model = self.model
        parsed = model.checked.parsed
        found = []
        for path in paths:
            document = self.documents.get(path)
            if (document is None or document.failed or path in self.problems
                    or document.kind not in STRUCTURE or document.id not in parsed[document.kind]):
                return False
            before = parsed[document.kind][document.id][0]
            if before.path != path or not _same_structure(before, document):
                return False
            checked, diagnostics = recheck(model.checked, document, self.cache, self.ids)
            if errors(diagnostics) or dead_links(checked.links, self.produced):
                return False  # the whole check words every error as `build` does
            found.append((document, checked))
        touched: dict[str, Any] = {}
        replanned: set[str] = set()
        for document, checked in found:
            self._apply(document, checked, touched, replanned)
        paths = {document.path for document, _ in found}
        warnings = tuple(sorted([w for w in model.warnings if w.path not in paths] + unused(
            model.site, model.checked, [self._find(d.kind, d.id) for d, _ in found
                                        if d.kind in ("claim", "claimant", "source")])))
        model.warnings = warnings
        self.edited -= paths
        self.dirty |= self._changed_pages(touched, replanned)
        self.saved = [f"{self._find(d.kind, d.id).url}index.html" for d, _ in found]
        return True

    def _apply(self, document: Document, checked: Any, touched: dict[str, Any],
               replanned: set[str]) -> None:
        """Put the document's new text into its entity (and into the checked documents)."""
        model, site = self.model, self.model.site
        kind, entry = document.kind, checked.parsed[document.kind][document.id]
        model.checked.parsed[kind][document.id] = entry
        model.checked.markdown.update(checked.markdown)
        model.checked.anchors.update(checked.anchors)
        model.checked.links[:] = [link for link in model.checked.links
                                  if link.path != document.path] + checked.links
        entity = self._find(kind, document.id)
        if kind == "claim":
            fields = {field: getattr(entry[1], name) for field, name in CLAIM_TEXT}
            fields["analysis_html"] = checked.markdown.get((document.path, ("analysis",)))
            claims = [entity]
        else:
            new = new_entity(document, entry[1], model.checked)
            fields = {f.name: getattr(new, f.name) for f in dataclasses.fields(new)
                      if f.name not in ("claims", "citations")}
            claims = list(entity.claims if kind == "claimant" else
                          entity.cited_by if kind == "source" else ())
        m.link(entity, **fields)
        m.forget_computed(entity)
        touched[entity_key(entity)] = entity
        if kind == "claimant":
            site.__dict__.pop("busiest_claimants", None)
            touched["site"] = site
        for claim in claims:  # claim pages carry JSON-LD, made when they render from what they show
            for passage in claim.passages:
                touched[entity_key(passage)] = passage
            replanned.update(page.path for page in model.sections[("claim", claim.id)])
        if kind == "source":
            for passage in entity.citations:
                touched[entity_key(passage)] = passage

    def _find(self, kind: str, entity_id: str) -> Any:
        return self.entities[kind][entity_id]

    def _changed_pages(self, touched: dict[str, Any], replanned: set[str]) -> set[str]:
        """Pages that read a value of ``touched`` entities that changed, or whose own data changed."""
        pages: set[str] = set()
        numbers = [number for key in touched for number in self.state.numbers.of(key)]
        for number in self.state.changed(numbers, touched):
            pages |= self.readers.get(number, set())
        for path in replanned:
            page = self.model.pages[self.position[path]]
            record = self.state.pages.get(path)
            if record is None or record.made_from != made_from(page):
                pages.add(path)
        return pages

    # -- the middle path: entries added or deleted, claims changed in what they refer to ------

    def _restructure(self, paths: set[str]) -> bool:
        """Patch the site for claims, claimants and sources added or deleted (or renamed),
        and claims changed in what they refer to, when nothing else changed: each file is
        checked alone (against the others as they were), the entities they referred to and
        refer to are patched, the pages of those entities are planned again (the rest in
        :meth:`settle`), and the reads of those entities alone are compared. False (nothing
        changed) when the save needs the whole site checked again: an error, another kind
        of file, a deleted entry that others still refer to. (A link in Markdown to a page
        that went, a topic's say, is found in :meth:`settle`: then the whole site is checked.)"""
        model = self.model
        documents: dict[tuple[str, str], Document | None] = {}  # (kind, id) → None: deleted
        for path in paths:
            kind = _kind(self.content, Path(path))
            document = self.documents.get(path)
            if path in self.problems or kind not in MOVABLE:
                return False
            parsed = model.checked.parsed[kind]
            if document is None:
                stem = Path(path).stem
                if stem not in parsed or parsed[stem][0].path != path or (kind, stem) in documents:
                    return False
                documents[(kind, stem)] = None
            elif document.failed or documents.get((kind, document.id)) is not None:
                return False
            else:
                documents[(kind, document.id)] = document
        ids = {kind: set(known) for kind, known in self.ids.items()}
        for (kind, entry_id), document in documents.items():
            (ids[kind].add if document else ids[kind].discard)(entry_id)
        claims = {i for kind, i in documents if kind == "claim"}
        for (kind, entry_id), document in documents.items():
            if document is None and any(other.id not in claims
                                        for other in _users(self._find(kind, entry_id))):
                return False  # a claim still refers to it: the error comes from check
        checks = {}
        against = model.checked
        for key in sorted(documents, key=lambda key: key[0] == "claim"):  # claims last
            document = documents[key]
            if document is None:
                continue
            if key[0] == "claim" and against is model.checked and any(
                    kind == "source" for kind, _ in checks):  # and the sources added
                against = replace(against, parsed={**against.parsed, "source": {
                    **against.parsed["source"], **{i: found[0].parsed["source"][i]
                                                   for (kind, i), found in checks.items()
                                                   if kind == "source"}}})
            checked, diagnostics = recheck(against, document, self.cache, ids)
            if errors(diagnostics) or not checked.parsed:
                return False
            checks[key] = (checked, diagnostics)
        self.trusted = False  # from here on the model changes
        site = model.site
        order = site.claims
        dated = {i: _dates(self._find("claim", i)) for i in claims if i in self.entities["claim"]}
        self._take_checked({i: documents[("claim", i)] for i in claims},
                           {i: found for (kind, i), found in checks.items() if kind == "claim"})
        moved = self._move_entries(documents, checks)
        entries = {i: checks[("claim", i)][0].parsed["claim"][i] if ("claim", i) in checks
                   else None for i in claims}
        touched = {**patch_claims(model.site, model.checked, entries, self.entities), **moved}
        self.ids = ids
        # The saved entries' pages are planned now (and the pages of entries that went are
        # gone); the pages of the other entries they touched, in settle()
        first = {entity_key(entity) for entity in (touched.get(f"{kind}:{i}") for kind, i in
                                                   documents) if entity is not None}
        replanned = self._plan_entries({key: entity for key, entity in touched.items()
                                        if key in first or entity is None})
        self.later = {key: entity for key, entity in touched.items()
                      if key not in first and entity is not None}
        self._warnings(paths, checks, touched)
        self.edited -= paths
        # The reads of the touched entities are compared in settle(), once the saved
        # entries' pages are served: a value those pages take down first is compared as
        # they render (render())
        self.dirty |= replanned
        self.touched = touched
        self.saved = sorted(f"{m.entry_url(kind, i)}index.html"
                            for (kind, i), document in documents.items() if document is not None)
        self.dirty.update(self.saved)  # whether they read a value that changed: settle() knows
        # The listings of every claim by date stay as they are when no claim came or went
        # and none changed its dates; else settle() plans them, and the home page (where a
        # reader looks for a claim added or deleted) is planned now and renders right after
        # the saved entries
        if not (site.claims == order and all(_dates(self._find("claim", i)) == dates
                                             for i, dates in dated.items())):
            self.redated = True
            home = model.sections[("home",)]
            page = home_page(site)
            model.sections[("home",)] = [page, *home[1:]]
            if self._place({home[0].path: home[0]}, {page.path: page}):
                self.dirty.add(page.path)
                self.saved.append(page.path)
        # settle() plans the rest; the model is trusted after it
        self.unsettled = True
        return True

    def settle(self) -> None:
        """Finish a save that patched claims in: plan again the listings by date (when a claim
        came, went or moved), of topics, claimants and sources, the threads, the sitemap and
        the data files (:meth:`update` planned only the pages of the entries it touched and
        the home page, so that the saved entries' pages and the home page render first),
        and mark the pages that changed. Raises
        ContentError when the save must be checked whole after all (a Markdown link to a
        page that went): then every error is worded as `build` words it."""
        if not self.unsettled:
            return
        self.unsettled = False
        # Pages rendered since update() read every value as it is now. Marked dirty before
        # the plan changes: pages the plan drops are no longer dirty
        self.dirty |= self._changed_pages(self.touched, set()) - self.early
        self.dirty |= self._plan_entries(self.later)
        self.touched, self.later, self.early = {}, {}, set()
        replanned = self._plan_dated() if self.redated else set()
        self.redated = False
        replanned |= self._plan_again()
        if dead_links(self.model.checked.links, self.produced):
            self._reassemble()
            return
        self.dirty |= replanned
        self.trusted = True

    def _move_entries(self, documents: dict[tuple[str, str], Document | None],
                      checks: dict[tuple[str, str], tuple[Any, list[Diagnostic]]],
                      ) -> dict[str, Any]:
        """Add to the site the claimants and sources of ``documents`` (their checked entries in
        ``checks``), remove those deleted (no claim refers to them once the save is in);
        return the entities that changed, by key (None for one that is gone)."""
        site, checked = self.model.site, self.model.checked
        touched: dict[str, Any] = {}
        for kind in ("claimant", "source"):
            if not any(found == kind for found, _ in documents):
                continue
            group = self.entities[kind]
            for (found, entry_id), document in documents.items():
                if found != kind:
                    continue
                if document is None:
                    path = checked.parsed[kind].pop(entry_id)[0].path
                    checked.links[:] = [link for link in checked.links if link.path != path]
                    for key in [key for key in checked.markdown if key[0] == path]:
                        del checked.markdown[key]
                    del group[entry_id]
                    touched[f"{kind}:{entry_id}"] = None
                    continue
                new = checks[(kind, entry_id)][0]
                entry = checked.parsed[kind][entry_id] = new.parsed[kind][entry_id]
                checked.markdown.update(new.markdown)
                checked.links.extend(new.links)
                entity = group[entry_id] = new_entity(document, entry[1], checked)
                touched[entity_key(entity)] = entity
            m.link(site, **{f"{kind}s": tuple(group[i] for i in sorted(group))})
            touched["site"] = site
        return touched

    def _take_checked(self, documents: dict[str, Document | None],
                      checks: dict[str, tuple[Any, list[Diagnostic]]]) -> None:
        """Put what the rules computed for these claims into the checked documents, in place
        of what they held for the claims' files before."""
        checked = self.model.checked
        parsed = checked.parsed["claim"]
        paths = set()
        for claim_id in documents:
            before = parsed.pop(claim_id, None)
            if before is not None:
                document, claim = before
                paths.add(document.path)
                for index in range(len(claim.passages)):
                    checked.anchors.pop((claim_id, index), None)
                checked.markdown.pop((document.path, ("analysis",)), None)
                for index in range(len(claim.updates)):
                    checked.markdown.pop((document.path, ("updates", index, "note")), None)
        links = [link for link in checked.links if link.path not in paths]
        for claim_id, (found, _) in checks.items():
            parsed[claim_id] = found.parsed["claim"][claim_id]
            checked.anchors.update(found.anchors)
            checked.markdown.update(found.markdown)
            links += found.links
        checked.links[:] = links

    def _plan_entries(self, touched: dict[str, Any]) -> set[str]:
        """Plan again the pages of the ``touched`` entries (claims, claimants, sources, topics,
        ratings): all a saved claim's page needs; return the paths of the pages that differ
        from those planned before. Pages of entries that went are gone. The plan's order
        and :attr:`produced` wait for :meth:`settle`."""
        model, site = self.model, self.model.site
        _, urls = self._layout()
        planned: dict[str, Any] = {}
        before: dict[str, Any] = {}
        for key, entity in touched.items():
            kind, _, entity_id = key.partition(":")
            if kind not in ENTRIES:
                continue
            before.update((page.path, page) for page in model.sections.pop((kind, entity_id), ()))
            if entity is not None:
                pages = model.sections[(kind, entity_id)] = entry_pages(site, entity, urls)
                planned.update((page.path, page) for page in pages)
        return self._place(before, planned)

    def _plan_dated(self) -> set[str]:
        """Plan again the listings of every claim by date (:func:`dated_sections`); return
        the paths of the pages that differ from those planned before."""
        model = self.model
        before: dict[str, Any] = {}
        planned: dict[str, Any] = {}
        for key, pages in dated_sections(model.site).items():
            before.update((page.path, page) for page in model.sections[key])
            planned.update((page.path, page) for page in pages)
            model.sections[key] = pages
        return self._place(before, planned)

    def _place(self, before: dict[str, Any], planned: dict[str, Any]) -> set[str]:
        """Put the pages ``planned`` in place of those ``before`` (by path), new ones last:
        they render before :meth:`settle` puts the plan in order. Pages of ``before`` not
        planned are gone. Returns the paths of the pages that differ from before."""
        model = self.model
        for path, page in planned.items():
            if path in self.position:
                model.pages[self.position[path]] = page
            else:
                self.position[path] = len(model.pages)
                model.pages.append(page)
        gone = [path for path in before if path not in planned]
        for path in gone:
            del self.position[path]
        self._gone(gone)
        return {path for path, page in planned.items() if self._differs(path, before.get(path), page)}

    def _differs(self, path: str, before: Any, page: Any) -> bool:
        """Whether a page planned again must render again: it differs from the page planned
        before, other than by a value it makes when it renders (a claim's JSON-LD, a
        :class:`~factsite.cache.Deferred` made anew with each plan) that makes what it made
        when the page last rendered."""
        if before == page:
            return False
        if before is None or _made_later(before) != _made_later(page):
            return True
        record = self.state.pages.get(path)
        return record is None or record.made_from != made_from(page)

    def _plan_again(self) -> set[str]:
        """Plan again the listings of topics, claimants and sources, the pages of claims whose
        thread moved, the threads, the sitemap and the data files (the listings by date are
        planned already); return the paths of the pages planned again. Pages that are no
        longer planned are gone."""
        model = self.model
        drop = {("topics",), ("claimants",), ("sources",)}
        layout = self._layout()
        if self.threads_planned is not layout[0]:
            drop.add(("threads",))
        keep = {key: pages for key, pages in model.sections.items() if key not in drop}
        before = {page.path: page for page in model.pages}
        sections = plan_sections(model.site, keep, layout)
        model.sections = sections
        self.threads_planned = layout[0]
        self._replanned(before.keys())
        # A page equal to the one planned before (the same objects) was made from the same
        # (most months, listings' first pages); one that differs is rendered again
        return {page.path for key, pages in sections.items() if pages is not keep.get(key)
                for page in pages if page.produce is None and before.get(page.path) != page}

    def _layout(self) -> tuple[Any, dict[str, str]]:
        """:func:`thread_groups` of the site's threads, worked out again only when a thread
        changed (a save that patches claims in rebuilds the threads it touches)."""
        site = self.model.site
        threads = site.threads
        known = self.threads
        if not (known is not None and len(known[0]) == len(threads)
                and all(a is b for a, b in zip(known[0], threads))):
            known = self.threads = (threads, thread_groups(threads, site.page_size))
        return known[1]

    def _replanned(self, before: Iterable[str]) -> None:
        """The model's pages are its sections' again; of the paths ``before``, those no
        longer planned are gone."""
        model = self.model
        model.pages = [page for pages in model.sections.values() for page in pages]
        self._positions()
        self._gone([path for path in before if path not in self.position])

    def _warnings(self, paths: set[str],
                  checks: dict[tuple[str, str], tuple[Any, list[Diagnostic]]],
                  touched: dict[str, Any]) -> None:
        """The warnings, with those of the claims saved and of the claimants and sources
        they referred to or refer to worked out again."""
        model = self.model
        parsed = model.checked.parsed
        entities = [e for e in touched.values() if type(e) in (m.Claimant, m.Source)]
        entities += [touched[f"claim:{i}"] for kind, i in checks if kind == "claim"]
        paths = paths | {parsed["claimant" if type(e) is m.Claimant else "source"][e.id][0].path
                         for e in entities if type(e) is not m.Claim}
        model.warnings = tuple(sorted(
            [w for w in model.warnings if w.path not in paths]
            + [d for _, diagnostics in checks.values() for d in diagnostics]
            + unused(model.site, model.checked, entities)))

    # -- the slow path: check and assemble again, from memory --------------------------------

    def _reassemble(self) -> None:
        order = {kind: n for n, (kind, _) in enumerate(COLLECTIONS.values(), start=1)}
        documents = sorted(self.documents.values(),
                           key=lambda d: (0 if d.kind == "site" else order[d.kind], d.path))
        problems = [d for found in self.problems.values() for d in found]
        if any(not Path(path).exists() or Path(path).is_dir() or _kind(self.content, Path(path))
               is None for path in self.edited if path not in self.documents):
            # something other than a content file changed (a folder, a wrongly named file):
            # read the whole tree as `build` does
            documents, problems = self._read_all()
        # One process: the documents and their memos are read already, and forking
        # workers from the server's process cost 10 s at 10,000 claims.
        model = pipeline.load_model(self.content, self.base_url, cache=self.cache, jobs=1,
                                    documents=(documents, problems))
        self.cache.save_memos()
        self.edited.clear()
        self.trusted, self.unsettled, self.redated = True, False, False
        state = self.state
        self.model = model
        self._site_changed(model)
        changed = state.changed_reads(model.site)
        dirty = set()
        for number in changed:
            dirty |= self.readers.get(number, set())
        planned = {page.path for page in model.pages}
        self._gone(set(state.pages) - planned)
        for page in model.pages:
            record = state.pages.get(page.path)
            if page.produce is None and (record is None or record.made_from != made_from(page)):
                dirty.add(page.path)
        self.dirty = (self.dirty | dirty) & planned
        _settle()
        if self.strict and model.warnings:
            raise ContentError(model.warnings)

    def _positions(self) -> None:
        """Index the model's plan: each page's place, the addresses it produces, the count
        of HTML pages."""
        pages = self.model.pages
        self.position = {page.path: n for n, page in enumerate(pages)}
        self.produced = {u for page in pages for u in (page.url, page.path)}
        self.html_count = sum(1 for path in self.position if path.endswith(".html"))

    def _gone(self, paths: Iterable[str]) -> None:
        """Pages no longer planned: answered 404 at once, though site/ holds them until
        the next writer is done."""
        with self.fresh_lock:
            for path in paths:
                self._forget(path)
                self.dirty.discard(path)
                self.fresh[path] = (self.generation, None)

    def _forget(self, path: str) -> None:
        record = self.state.pages.pop(path, None)
        if record is not None:
            for number in record.reads:
                self.readers[number].discard(path)
            for name in record.templates:
                self.users[name].discard(path)

    # -- rendering ----------------------------------------------------------------------------

    def render(self, paths: Iterable[str], stop: Callable[[], bool] = lambda: False,
               ) -> tuple[list[str], list[Diagnostic]]:
        """Render these dirty pages into memory, recording what each read: those rendered,
        and every template error met (those pages stay dirty). Stops early (the rest stay
        dirty) when ``stop()`` says so, asked every few pages."""
        state, rendered, problems = self.state, [], []
        self.generation += 1
        for count, path in enumerate(paths):
            if count % STOP_EVERY == STOP_EVERY - 1 and stop():
                break
            if path not in self.dirty or path not in self.position:
                continue
            page = self.model.pages[self.position[path]]
            try:
                text, (ids, templates) = self.renderer.render_page(page)
            except ContentError as error:
                problems += error.diagnostics
                continue
            # A value this process takes down first that differs from the one recorded
            # changed since: the pages that read it then render again
            for number in state.take(self.recorder.new_values()):
                self.dirty |= self.readers.get(number, set())
            data = text.encode("utf-8")
            record = PageRecord(made_from(page), templates, ids,
                                hashlib.sha256(data).hexdigest(), b"data-pagefind-body" in data)
            self._forget(path)
            state.pages[path] = record
            for number in record.reads:
                self.readers[number].add(path)
            for name in templates:
                self.users[name].add(path)
            with self.fresh_lock:
                self.fresh[path] = (self.generation, data)
            self.dirty.discard(path)
            rendered.append(path)
        if self.unsettled:
            self.early.update(rendered)
        return rendered, _once_each(problems)

    def page_path(self, url_path: str) -> str | None:
        """The planned page shown at a URL's path (``/claims/x/`` → ``claims/x/index.html``)."""
        if self.model is None:
            return None
        relative = url_path.lstrip("/")
        for path in (relative, f"{relative}index.html", f"{relative}/index.html"):
            if path in self.position:
                return path
        return None

    # -- writing site/ ---------------------------------------------------------------------------

    def flush(self) -> None:
        """Write the site as it is now into site/ and refresh the search index, in a forked
        process (a snapshot of the model). While a writer goes, the flush waits for it
        (:meth:`flush_pending`), and that writer leaves the search index to the next: each
        writer is a copy of the server's memory, and saves in a row forked one each, all
        alive at once (at 10,000 claims, ~300 MiB each as the server's model moved on)."""
        if self.model is None or self.dirty:
            return
        generation = self.generation
        self.latest.value = generation
        if self._writing_now():
            self.pending = True
            return
        self.pending = False
        with self.fresh_lock:
            snapshot = dict(self.fresh)
        writer = multiprocessing.get_context("fork").Process(
            target=self._write, args=(snapshot, generation), name="factsite-write")
        writer.start()
        self.writers.append((writer, generation))

    def flush_pending(self) -> None:
        """The flush a save left for the writer going to be done, once it is (call it when
        no save's work runs: the forked writer copies the model as it is)."""
        if self.pending and not self._writing_now():
            self.flush()

    def _writing_now(self) -> bool:
        return any(writer.exitcode is None for writer, _ in self.writers)

    def reap(self) -> list[int]:
        """Exit statuses of the writers that finished; pages they wrote leave memory."""
        finished = []
        for writer, generation in list(self.writers):
            if writer.exitcode is None:
                continue
            writer.join()
            self.writers.remove((writer, generation))
            finished.append(writer.exitcode)
            if writer.exitcode == 0:
                with self.fresh_lock:
                    for path in [p for p, (g, _) in self.fresh.items() if g <= generation]:
                        del self.fresh[path]
        return finished

    def stop(self) -> None:
        """Stop the writers (each removes its staging directory) and wait for them."""
        for writer, _ in self.writers:
            if writer.exitcode is None:
                writer.terminate()
        for writer, _ in self.writers:
            writer.join()
        self.writers.clear()

    def _write(self, fresh: dict[str, tuple[int, bytes]], generation: int) -> None:
        """In the writer process: site/ as of ``generation``, then the search index.

        Ends the process itself: what the parent process registered to run at exit is
        not the writer's business.
        """
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # staged() then cleans up
        _close_sockets()
        os.nice(10)  # background work: the server's next save goes first
        try:
            status = self._write_site(fresh, generation)
        except ContentError as error:  # the search index failed
            os.write(2, (format_text(error.diagnostics) + "\n").encode())
            status = 1
        except BaseException:
            os.write(2, traceback.format_exc().encode())
            status = 1
        os._exit(status)

    def _write_site(self, fresh: dict[str, tuple[int, bytes]], generation: int) -> int:
        with self._writing():
            if self.latest.value != generation:
                return SUPERSEDED
            # static files: copied from templates/static/ as they are now
            with staged(self.out, self.templates / "static") as staging:
                for page in self.model.pages:
                    if page.path in fresh:
                        write_file(staging, page.path, fresh[page.path][1])
                    elif page.produce is not None:
                        write_file(staging, page.path, page.produce())
                    else:
                        link_file(self.out, staging, page.path)
                index = self.out / "pagefind"
                for file in index.rglob("*") if index.is_dir() else ():
                    if file.is_file():
                        link_file(self.out, staging, file.relative_to(self.out).as_posix())
            if self.latest.value == generation:  # else a newer writer indexes its own pages
                summary = self.state.summary
                last = self.cache.read(self._bundles) or summary.get("bundles")
                files, bundles = pipeline.reindex(
                    self.out, pipeline.searched_pages(self.state.pages), self.model.site.language,
                    last, summary.get("shard_pages", SHARD_PAGES))
                self.cache.write(self._bundles, bundles)
                self._record(files, bundles)
        return 0

    def _record(self, index: list[str], bundles: dict) -> None:
        """Leave the state of site/ as this writer made it in the build cache, as `build`
        does: what each page read, its digest, the search index. A `build` after the server
        then renders only the pages whose reads changed since (none, when nothing did).
        Its hash of every input stays empty, so that build does check the content again:
        a file may have changed since the server read it."""
        state, model = self.state, self.model
        state.inputs, state.output = b"", pipeline.output_identity(self.out)
        state.summary = {
            **state.summary, "claims": len(model.site.claims),
            "pages": self.html_pages(),
            "files": count_files(self.out), "warnings": list(model.warnings), "index": index,
            "bundles": bundles, "index_pending": False}
        self.cache.save_state(self.out, state)

    @property
    def _bundles(self) -> str:
        """The cache file holding the search index's bundles as the last writer left them."""
        return f"serve-{self.out.name}.bundles.pickle"

    def _writing(self) -> Any:
        """An exclusive lock on writing site/, across processes."""
        self.cache.directory.mkdir(parents=True, exist_ok=True)
        return _Lock(self.cache.directory / f"serve-{self.out.name}.lock")


class _Lock:
    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> None:
        self.handle = open(self.path, "a")
        fcntl.flock(self.handle, fcntl.LOCK_EX)

    def __exit__(self, *_: object) -> None:
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def _close_sockets() -> None:
    """Close the sockets a forked process inherited from the server (its listening sockets,
    browsers' connections, livereload's websockets): a writer, and the Pagefind it runs,
    never hold them, so a port is free once the server stops and a connection the server
    closes is closed. Forking stays: the writer needs the site in memory as it is, and
    pickling it for a spawned process would cost more than the writing."""
    folder = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"
    for name in os.listdir(folder):
        try:
            if stat.S_ISSOCK(os.fstat(int(name)).st_mode):
                os.close(int(name))
        except OSError:  # the listing's own descriptor, closed since
            continue


def _settle() -> None:
    """Collect the model that was just replaced (its entities refer to each other in cycles),
    then keep the collector's full passes off the one that lives on."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _made_later(page: Any) -> Any:
    """``page`` with each :class:`~factsite.cache.Deferred` of its context as what it is made
    from (its maker and the objects it is made of): not what it makes, which may change
    while those objects stay the same (patched in place)."""
    return replace(page, context={
        key: (value.make, *map(id, value.args)) if type(value) is Deferred else value
        for key, value in page.context.items()})


def _dates(claim: m.Claim) -> tuple[Any, ...]:
    """What places a claim in the listings by date and in the corrections log."""
    return claim.date, claim.published, claim.updates


def _users(entity: Any) -> Iterable[m.Claim]:
    """The claims that refer to an entry (a claim: those disputing or supporting it)."""
    if type(entity) is m.Claim:
        return (*entity.disputed_by, *entity.supported_by)
    return entity.claims if type(entity) is m.Claimant else entity.cited_by


def _kind(content: Path, file: Path) -> str | None:
    """The kind of document ``file`` holds, when it is one the build reads."""
    if file == content / "site.yaml":
        return "site"
    if file.parent.parent != content or EDITOR_LEFTOVERS.search(file.name):
        return None
    kind, ext = COLLECTIONS.get(file.parent.name, (None, None))
    if kind is None or file.suffix != ext or file.is_dir():
        return None
    return kind


def _same_structure(before: Document, after: Document) -> bool:
    if not (isinstance(before.data, dict) and isinstance(after.data, dict)):
        return False
    if after.kind == "source" and before.body != after.body:
        return False
    return all(before.data.get(name) == after.data.get(name) for name in STRUCTURE[after.kind])


def _under(raw: str, root: Path) -> Path | None:
    """``raw`` relative to ``root`` (also through symbolic links), or None outside it."""
    path = Path(os.path.abspath(raw))
    for base in {Path(os.path.abspath(root)), root.resolve()}:
        try:
            return path.relative_to(base)
        except ValueError:
            continue
    return None


