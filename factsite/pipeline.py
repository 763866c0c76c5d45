"""Runs the stages in order: load → validate → plan → render → index → write. The only place that does."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from .diagnostics import ContentError, Diagnostic, errors
from .load import load_content
from .model import Site
from .render import Page, plan, render_pages
from .search import index_site
from .schema import override_base_url
from .validate import assemble, check, dead_links, unused
from .write import check_output_dir, count_files, staged


@dataclass(frozen=True)
class BuildResult:
    site: Site
    pages: int
    files: int
    seconds: float
    warnings: tuple[Diagnostic, ...]
    stages: tuple[tuple[str, float], ...] = ()  # (stage, seconds), in order: --verbose


Progress = Callable[[str], None]  # told what a long stage is doing, e.g. 'rendering 10/20 pages'


class _Stopwatch:
    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.laps: list[tuple[str, float]] = []

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.laps.append((stage, now - self.last))
        self.last = now


def load_site(content_dir: Path, *, base_url: str | None = None,
              ) -> tuple[Site, tuple[Diagnostic, ...]]:
    """Read and check all content; return the site and its warnings or raise ContentError.

    ``base_url`` replaces site.yaml's (``--base-url``: the address a deployment
    knows only at build time); see :func:`factsite.schema.override_base_url`.
    """
    site, _, warnings = _load_and_plan(content_dir, base_url, lambda stage: None)
    return site, warnings


def _load_and_plan(content_dir: Path, base_url: str | None, lap: Callable[[str], None],
                   ) -> tuple[Site, list[Page], tuple[Diagnostic, ...]]:
    """The checked site and its plan; links in Markdown are checked against the plan."""
    documents, diagnostics = load_content(Path(content_dir))
    checked, found = check(documents)
    diagnostics += found
    if checked is None or errors(diagnostics):
        raise ContentError(diagnostics)
    site = assemble(checked)
    if base_url is not None:
        site = replace(site, base_url=override_base_url(base_url))
    lap("load and check")
    pages = plan(site)
    diagnostics += unused(site, checked)
    diagnostics += dead_links(checked.links, {u for p in pages for u in (p.url, p.path)})
    if errors(diagnostics):
        raise ContentError(diagnostics)
    lap("plan")
    return site, pages, tuple(sorted(diagnostics))


def build(content_dir: Path, templates_dir: Path, out_dir: Path, *, strict: bool = False,
          base_url: str | None = None, jobs: int | None = None,
          progress: Progress | None = None) -> BuildResult:
    """Check everything, render into a staging directory on all cores, index it, swap it in.

    Pages are written as they render and never held together in memory; site/
    changes only when every stage succeeded. ``jobs``: render processes (default:
    one per core); ``progress``: told what a long stage is doing.
    """
    watch = _Stopwatch()
    content_dir, templates_dir, out_dir = Path(content_dir), Path(templates_dir), Path(out_dir)
    check_output_dir(out_dir, [content_dir, templates_dir, Path.cwd()])
    if progress:
        progress("checking content")
    site, pages, warnings = _load_and_plan(content_dir, base_url, watch.lap)
    if strict and warnings:
        raise ContentError(warnings)
    with staged(out_dir, templates_dir / "static") as staging:
        render_pages(site, templates_dir, pages, staging, jobs=jobs, progress=progress and (
            lambda done, total: progress(f"rendering {done:,}/{total:,} pages")))
        watch.lap("render")
        if progress:
            progress("indexing for search")
        index_site(staging, site.language)
        watch.lap("search index")
    count = count_files(out_dir)
    watch.lap("write")
    html = sum(1 for page in pages if page.path.endswith(".html"))
    return BuildResult(site, html, count, time.perf_counter() - watch.started, warnings,
                       tuple(watch.laps))
