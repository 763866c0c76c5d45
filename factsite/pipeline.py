"""Runs the stages in order: load → validate → plan → render → index → write. The only place that does.

The modules of the later stages (pydantic, Jinja, Markdown, Pagefind) are
imported when a build gets to them: a build with nothing to do is over
before they would have loaded.
"""

from __future__ import annotations

import ctypes
import gc
import os
import pickle
import signal
import sys
import tempfile
import time
import traceback
import weakref
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Iterator

from .cache import BuildState, Cache, PageRecord, digest, fingerprint, tree_digest
from .diagnostics import ContentError, Diagnostic, errors
from .write import MARKER, check_output_dir, count_files, link_file, staged

if TYPE_CHECKING:
    from .load import Document
    from .model import Site
    from .render import Page, Section
    from .validate import Checked, SiteLink


@dataclass(frozen=True)
class BuildResult:
    loaded: Site | Callable[[], Site] | None = field(repr=False)  # see site
    claims: int
    pages: int
    files: int
    seconds: float
    warnings: tuple[Diagnostic, ...]
    stages: tuple[tuple[str, float], ...] = ()  # (stage, seconds), in order: --verbose
    rendered: int = 0  # pages rendered by this build; the others were kept from the last one
    index_pending: bool = False  # built with index=False: the search index is the last one

    @cached_property
    def site(self) -> Site | None:
        """The site built (None when nothing changed: the content was not even loaded). A build
        that loaded it in a forked process reads it again from that process's file when first
        asked: the command line never asks (a tenth of a second at 10,000 claims, on one
        core once the search index is done)."""
        return self.loaded() if callable(self.loaded) else self.loaded


Progress = Callable[[str], None]  # told what a long stage is doing, e.g. 'rendering 10/20 pages'


class _Stopwatch:
    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.laps: list[tuple[str, float]] = []

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.laps.append((stage, now - self.last))
        self.last = now


def load_site(content_dir: Path, *, base_url: str | None = None, cache: Cache | None = None,
              jobs: int | None = None) -> tuple[Site, tuple[Diagnostic, ...]]:
    """Read and check all content; return the site and its warnings or raise ContentError.

    ``base_url`` replaces site.yaml's (``--base-url``: the address a deployment
    knows only at build time); see :func:`factsite.schema.override_base_url`.
    ``jobs``: processes that parse the files (default: one per core).
    """
    model = load_model(content_dir, base_url, cache=cache, jobs=jobs)
    return model.site, model.warnings


@dataclass
class Model:
    """The checked site, its plan and what they were made from: the dev server keeps it
    between saves and passes it to :func:`build`."""

    checked: Checked
    site: Site
    pages: list[Page]
    warnings: tuple[Diagnostic, ...]
    sections: dict[Section, list[Page]]  # the plan by section: the dev server plans again a few


def load_model(content_dir: Path, base_url: str | None, lap: Callable[[str], None] = lambda _: None,
               cache: Cache | None = None, jobs: int | None = None,
               documents: tuple[list[Document], list[Diagnostic]] | None = None) -> Model:
    """Load (or take ``documents`` already read, with their load problems), check, assemble
    and plan; raise ContentError with every problem."""
    with _collector_paused():
        return _load_model(content_dir, base_url, lap, cache, jobs, documents)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Run the block without Python's cyclic garbage collector.

    Loading and checking make millions of objects that live on (documents, then the
    site), and each full collection walked all of them again: a tenth of the check's
    time. What they make is not cyclic but for the site's links between entities;
    garbage cycles left meanwhile are collected once the collector is back.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _load_model(content_dir: Path, base_url: str | None, lap: Callable[[str], None],
                cache: Cache | None, jobs: int | None,
                documents: tuple[list[Document], list[Diagnostic]] | None) -> Model:
    checked, site, diagnostics = _loaded(content_dir, base_url, cache, jobs, documents)
    lap("load and check")
    sections, pages, warnings = _plan(site, checked.links, diagnostics)
    lap("plan")
    return Model(checked, site, pages, warnings, sections)


def _loaded(content_dir: Path, base_url: str | None, cache: Cache | None, jobs: int | None,
            documents: tuple[list[Document], list[Diagnostic]] | None = None,
            ) -> tuple[Checked, Site, list[Diagnostic]]:
    """Load (or take ``documents``), check and assemble, in this process."""
    from .load import load_content

    documents, problems = documents or load_content(Path(content_dir), cache, jobs=jobs)
    return _check(documents, problems, base_url, cache, jobs)


def _check(documents: list[Document], problems: list[Diagnostic], base_url: str | None,
           cache: Cache | None, jobs: int | None, *, save_memos: bool = False,
           ) -> tuple[Checked, Site, list[Diagnostic]]:
    """Check and assemble; the diagnostics so far, or ContentError with every problem.

    ``save_memos``: write the cache's memos (their tables then leave memory): those of
    the documents as the check begins (it does not use them), the others once checked,
    before assembling."""
    from .schema import override_base_url
    from .validate import assemble, check, unused

    checked, found = check(documents, cache, jobs=jobs, meanwhile=partial(
        _save_documents, cache) if save_memos and cache else None)
    if save_memos and cache:
        cache.save_memos()
    diagnostics = problems + found
    if checked is None or errors(diagnostics):
        raise ContentError(diagnostics)
    site = assemble(checked)
    if base_url is not None:
        site = replace(site, base_url=override_base_url(base_url))
    return checked, site, diagnostics + unused(site, checked)


def _save_documents(cache: Cache, apart: bool) -> Callable[[], None]:
    """Write the cache's memos of documents, in a process forked for it if ``apart``; the
    function returned waits for it to end (raising what it raised).

    Writing them reads every document (~0.5 s at 10,000 claims): a process of its own
    writes them on another core, beside the checks of shapes, and ends before the
    Markdown is checked.
    """
    if not apart:
        cache.save_memos(["documents"])
        return lambda: None
    from .parallel import Apart

    writing = Apart("saved the parsed documents", cache.save_memos, ["documents"])

    def ended() -> None:
        try:
            writing.result()
        finally:
            writing.stop()
        cache.save_memos(["documents"], written=True)
    return ended


def _plan(site: Site, links: list[SiteLink], diagnostics: list[Diagnostic],
          ) -> tuple[dict[Section, list[Page]], list[Page], tuple[Diagnostic, ...]]:
    """The plan by section and whole, and the warnings; or ContentError with every problem
    (links to no page)."""
    from .render import plan_sections
    from .validate import dead_links

    sections = plan_sections(site)
    pages = [page for found in sections.values() for page in found]
    diagnostics = diagnostics + dead_links(links, {u for p in pages for u in (p.url, p.path)})
    if errors(diagnostics):
        raise ContentError(diagnostics)
    return sections, pages, tuple(sorted(diagnostics))


def _load_apart(content_dir: Path, base_url: str | None, lap: Callable[[str], None],
                cache: Cache | None, jobs: int | None, exchange: BinaryIO,
                meanwhile: Callable[[], None] = lambda: None,
                ) -> tuple[Site, list[SiteLink], list[Diagnostic], Callable[[], Site] | None]:
    """Load, check and assemble in a forked process, which sends back only the site (pickled
    into ``exchange``, a scratch file). Returns the site, its links and diagnostics for
    :func:`_plan`, and a function that reads the site from ``exchange`` again (None where
    nothing was forked), or raises as :func:`load_model` (but for dead links, which the
    plan finds). ``meanwhile`` runs in this process while the other one loads (first,
    where nothing is forked).

    Loading and checking make and drop millions of small objects (documents with the
    position of every value, schema models, Markdown tokens), among which the site's
    own objects were spread: the memory they left, mostly empty, stayed with the
    process through rendering and indexing (~500 MiB at 20,000 claims, where the site
    and its plan hold ~200 MiB laid out afresh), and forked render workers shared
    pages of it that they then copied. The site crosses as rows of entity fields
    (:func:`factsite.model.pickle_site`) through a temporary file, read once the child
    has ended: read from a pipe while the child still held its copy, the two copies
    made the peak of a 100,000-claim build (2.6 GiB).
    """
    from .model import pickle_site, unpickle_site

    if not hasattr(os, "fork"):
        meanwhile()
        with _collector_paused():
            checked, site, diagnostics = _loaded(content_dir, base_url, cache, jobs)
        lap("load and check")
        return site, checked.links, diagnostics, None
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 70
        try:
            result = _checked_here(content_dir, base_url, cache, jobs)
            if result[0] == "site":  # its warnings and links, then the site
                pickle.dump(("site", *result[2:]), exchange, protocol=pickle.HIGHEST_PROTOCOL)
                pickle_site(result[1], exchange)
            else:
                pickle.dump(result, exchange, protocol=pickle.HIGHEST_PROTOCOL)
            exchange.flush()
            code = 0
        finally:
            os._exit(code)
    try:
        meanwhile()
        os.waitpid(pid, 0)
    except BaseException:  # Ctrl-C, or what ``meanwhile`` raised
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    exchange.seek(0)
    try:
        with _collector_paused():
            outcome, *found = pickle.load(exchange)
            start = exchange.tell()
            if outcome == "site":
                found.insert(0, unpickle_site(exchange))
    except EOFError:
        raise RuntimeError("the process that loaded the content ended without its result"
                           ) from None
    if outcome == "raised":
        raise found[0]
    if outcome == "problems":
        raise ContentError(found[0])
    site, diagnostics, links = found
    lap("load and check")

    def reload() -> Site:
        with exchange:
            exchange.seek(start)
            with _collector_paused():
                return unpickle_site(exchange)
    return site, links, diagnostics, reload


def _checked_here(content_dir: Path, base_url: str | None, cache: Cache | None,
                  jobs: int | None) -> tuple[Any, ...]:
    """In :func:`_load_apart`'s child: ("site", site, diagnostics, links), ("problems",
    diagnostics) or ("raised", the exception, with its traceback in a note)."""
    from .load import load_content

    try:
        with _collector_paused():
            try:
                documents, problems = load_content(Path(content_dir), cache, jobs=jobs)
                checked, site, diagnostics = _check(documents, problems, base_url, cache, jobs,
                                                    save_memos=True)
            finally:
                if cache:
                    cache.save_memos()
            links = checked.links
            # Only the site, its warnings and links cross. What goes is freed here and now:
            # it holds no cycles (a collection found none, in a tenth of a second).
            del documents, problems, checked
        release_memory()
        return "site", site, diagnostics, links
    except ContentError as error:
        return "problems", error.diagnostics
    except BaseException as error:  # noqa: BLE001 - raised again in the parent
        error.add_note("".join(traceback.format_exception(error)).rstrip())
        return "raised", error


def build(content_dir: Path, templates_dir: Path, out_dir: Path, *, strict: bool = False,
          base_url: str | None = None, jobs: int | None = None,
          progress: Progress | None = None, use_cache: bool = True, cache: Cache | None = None,
          index: bool = True, shard_pages: int | None = None,
          model: Model | None = None) -> BuildResult:
    """Check everything, render what changed into a staging directory on all cores, index it,
    swap it in.

    Pages are written as they render and never held together in memory; site/
    changes only when every stage succeeded. ``jobs``: render processes (default:
    one per core); ``progress``: told what a long stage is doing. With the cache
    (``.factsite-cache/`` beside the output directory), a build whose inputs are
    all unchanged stops at once, and otherwise renders only the pages whose
    recorded reads changed, keeping the others; the bytes are a cold build's.
    ``cache``: that cache, already open (the dev server's); ``index=False``: keep the
    last search index even if pages changed (a later build with ``index=True`` runs it);
    ``shard_pages``: the most pages one Pagefind run indexes (see :mod:`factsite.search`);
    ``model``: the content already loaded and checked (the dev server's), for a build
    that is not "nothing changed".
    """
    watch = _Stopwatch()
    content_dir, templates_dir, out_dir = Path(content_dir), Path(templates_dir), Path(out_dir)
    check_output_dir(out_dir, [content_dir, templates_dir, Path.cwd()])
    cache = (cache or Cache.beside(out_dir)) if use_cache else None
    inputs = _inputs(cache, content_dir, templates_dir, base_url, shard_pages) if cache else b""
    if cache:
        last = cache.state(out_dir, head_only=True)
        if (last.inputs == inputs and _wrote(out_dir, last)
                and not (index and last.summary.get("index_pending"))):
            warnings = tuple(last.summary["warnings"])
            if strict and warnings:
                raise ContentError(warnings)
            watch.lap("compare with the last build")
            return BuildResult(None, last.summary["claims"], last.summary["pages"],
                               last.summary["files"], time.perf_counter() - watch.started,
                               warnings, tuple(watch.laps), 0)
    if progress:
        progress("checking content")
    compiled = []

    def prepare() -> None:  # while another process loads: the render stage's code and templates
        from .render import compiled_environment
        from . import search  # noqa: F401
        compiled.append(compiled_environment(templates_dir))

    exchange = tempfile.TemporaryFile()  # closed once the site is read again from it, or with
    with ExitStack() as kept:  # the result that may read it, or when the build fails
        kept.callback(exchange.close)
        if model is None:  # its documents and their check are not needed to render
            site, links, found, reload = _load_apart(content_dir, base_url, watch.lap, cache,
                                                     jobs, exchange, prepare)
        else:  # the dev server's, which it keeps
            site, pages, warnings, reload = model.site, model.pages, model.warnings, None
            if cache:
                cache.save_memos()
        from .render import render_pages, start_data_files
        from .search import FOLDERS, SHARD_PAGES, Indexing, shard_key, stale
        release_memory()  # what the check freed: the processes forked from here would copy it
        with staged(out_dir, templates_dir / "static") as staging, ExitStack() as stack:
            data_files = None
            if model is None:
                if jobs != 1 and hasattr(os, "fork"):  # beside the plan and the workers' set-up
                    data_files = start_data_files(site, staging)
                    stack.callback(gc.unfreeze)
                    stack.callback(data_files.stop)
                _, pages, warnings = _plan(site, links, found)
                watch.lap("plan")
            if strict and warnings:
                raise ContentError(warnings)
            state = cache.state(out_dir) if cache else BuildState()
            theme = fingerprint((tree_digest(templates_dir / "i18n").hex(), site.language))
            templates = _template_digests(templates_dir)
            if state.theme != theme or not _wrote(out_dir, state):
                state = BuildState()
            changed_reads = state.changed_reads(site) if state.pages else set()
            state.assign(site)
            changed_templates = {name for name, value in state.templates.items()
                                 if templates.get(name) != value}
            records, dirty = _kept(pages, state, changed_reads, changed_templates, out_dir)
            watch.lap("compare with the last build")
            shard_pages = shard_pages or SHARD_PAGES
            bundles = state.summary.get("bundles", {})
            indexing = stack.enter_context(Indexing(
                staging, site.language, [path for path in records if path.endswith(".html")],
                last=bundles, last_root=out_dir,
                shard_pages=shard_pages, jobs=jobs,
                # Render workers on every core leave none to a Pagefind run: one beside them
                # was ~115 MiB of the build's peak (10,000 claims) for no time gained. Once
                # they are done, runs go on the cores this process leaves (render_pages' idle).
                beside=1 if jobs == 1 else 0)) if index else None
            for path, record in records.items():
                if record is not None:  # kept from the last build
                    link_file(out_dir, staging, path)
                    if indexing:
                        indexing.written(path, record.output, record.indexed)
            rendered = render_pages(
                site, templates_dir, pages, staging, only=dirty, state=state if cache else None,
                jobs=jobs, progress=progress and (
                    lambda done, total: progress(f"rendering {done:,}/{total:,} pages")),
                order=indexing and shard_key, written=indexing and partial(_written, indexing),
                idle=indexing and indexing.beside_build,
                environment=compiled[0] if compiled else None, data_files=data_files)
            records.update((page.path, PageRecord(page.made_from, page.templates, page.reads,
                                                  page.digest, page.indexed))
                           for page in rendered)
            html = sum(1 for page in pages if page.path.endswith(".html"))
            rendered_html = sum(1 for page in rendered if page.path.endswith(".html"))
            claims, language = len(site.claims), site.language
            del pages, rendered  # Pagefind's runs get the memory of the plan and its contexts
            if reload:  # and the site's, read again once they are done (a tenth of a second at
                site = None  # 10,000 claims; ~70 MiB beside them)
                gc.collect()  # the renderer and its environment hold cycles
            release_memory()
            watch.lap("render")
            searched = searched_pages(records)
            index_files = state.summary.get("index", [])
            counted = []  # the files but the index's, counted beside its last run (~0.2 s at
            if indexing:  # 10,000 claims, where one core would wait)
                index_files, bundles = indexing.finish(searched, progress and (
                    lambda done, total: progress(f"indexing for search {done:,}/{total:,}")),
                    lambda: counted.append(count_files(staging, FOLDERS)))
                pending = False
            else:  # the last index, until a build runs it
                pending = (state.summary.get("index_pending", False)
                           or stale(searched, language, bundles, out_dir, shard_pages))
                index_files = [path for path in index_files if os.path.isfile(out_dir / path)]
                for path in index_files:
                    link_file(out_dir, staging, path)
            watch.lap("search index")
        count = counted[0] + len(index_files) if counted else count_files(out_dir)
        watch.lap("write")
        if cache:
            state.inputs, state.output = inputs, output_identity(out_dir)
            state.theme, state.templates, state.pages = theme, templates, records
            state.summary = {"claims": claims, "pages": html, "files": count,
                             "warnings": list(warnings), "index": index_files, "bundles": bundles,
                             "index_pending": pending, "language": language,
                             "shard_pages": shard_pages}
            cache.save_state(out_dir, state)
        if site is None:
            kept.pop_all()
            weakref.finalize(reload, exchange.close)
        return BuildResult(site if site is not None else reload, claims, html, count,
                           time.perf_counter() - watch.started, warnings, tuple(watch.laps),
                           rendered_html, pending)


def _kept(pages: list[Page], state: BuildState, changed_reads: set[int],
          changed_templates: set[str], out_dir: Path,
          ) -> tuple[dict[str, PageRecord | None], list[int]]:
    """The record of every page the last build made that can be kept (None: render it), and
    the places in ``pages`` of those to render."""
    from .render import made_from

    records: dict[str, PageRecord | None] = {}
    dirty = []
    for number, page in enumerate(pages):
        previous = state.pages.get(page.path)
        if (previous is not None and page.produce is None
                and changed_templates.isdisjoint(previous.templates)
                and changed_reads.isdisjoint(previous.reads)
                and previous.made_from == made_from(page)
                and os.path.isfile(out_dir / page.path)):
            records[page.path] = previous
        else:  # a page new to the cache is fingerprinted by the worker that renders it
            records[page.path] = None
            dirty.append(number)
    return records, dirty


def _written(indexing: Any, pages: list[Any]) -> None:
    """Tell the search index of pages just rendered (their shards may be complete)."""
    for page in pages:
        indexing.written(page.path, page.digest, page.indexed)
    indexing.advance()


def release_memory() -> None:
    """Give the memory that finished stages freed back to the system (glibc keeps it in its
    heap otherwise): forked workers would copy it, and it would sit beside Pagefind."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None).malloc_trim(0)
        except (OSError, AttributeError):  # not glibc
            pass


def reindex(out_dir: Path, pages: dict[str, str], language: str, last: dict | None,
            shard_pages: int) -> tuple[list[str], dict]:
    """The search index of ``pages`` (path → digest) over ``out_dir`` as it is, swapped in
    with it (the dev server's step after a save's pages were written): only the shards
    whose pages changed since the ``last`` bundles run again. Returns the index's files
    and its bundles, as :func:`factsite.search.index_site`."""
    from .search import BUNDLE, index_site

    with staged(out_dir, None) as staging:
        for folder, _, files in os.walk(out_dir):
            relative = os.path.relpath(folder, out_dir)
            if relative.split(os.sep)[0] == BUNDLE:
                continue
            for name in files:
                path = os.path.normpath(os.path.join(relative, name))
                if path != MARKER:
                    link_file(out_dir, staging, path)
        return index_site(staging, pages, language, last=last, last_root=out_dir,
                          shard_pages=shard_pages)


def _wrote(out: Path, state: BuildState) -> bool:
    """Whether ``out`` is still the directory the build recorded in ``state`` wrote."""
    return bool(state.output) and output_identity(out) == state.output


def output_identity(out: Path) -> tuple[int, ...]:
    """Which directory ``out`` is: each build swaps in a new one (() when there is none)."""
    try:
        folder, marker = os.stat(out), os.stat(out / MARKER)
    except OSError:
        return ()
    return folder.st_dev, folder.st_ino, marker.st_ino, marker.st_ctime_ns


def _inputs(cache: Cache, content: Path, templates: Path, base_url: str | None,
            shard_pages: int | None) -> bytes:
    """One hash of everything a build reads: equal means the site would come out the same."""
    options = repr((base_url, os.environ.get("SOURCE_DATE_EPOCH"), shard_pages)).encode()
    return digest(tree_digest(content, templates) + cache.code + options)


def _template_digests(templates: Path) -> dict[str, bytes]:
    found = {}
    for file in templates.rglob("*"):
        relative = file.relative_to(templates).as_posix()
        if file.is_file() and not relative.startswith(("static/", "i18n/")):
            found[relative] = digest(file.read_bytes())
    return found


def searched_pages(records: dict[str, PageRecord]) -> dict[str, str]:
    """The pages to index for search (path → digest): those marked for it, else every HTML page
    (as Pagefind itself does on a site without ``data-pagefind-body``)."""
    marked = {path: record.output for path, record in records.items() if record.indexed}
    return marked or {path: record.output for path, record in records.items()
                      if path.endswith(".html")}
