"""Runs the stages in order: load → validate → plan → render → write. The only place that does."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from .diagnostics import ContentError, Diagnostic, errors
from .load import load_content
from .model import Site
from .render import Renderer, plan
from .search import search_index
from .schema import override_base_url
from .validate import validate
from .write import check_output_dir, write_site


@dataclass(frozen=True)
class BuildResult:
    site: Site
    pages: int
    files: int
    seconds: float
    warnings: tuple[Diagnostic, ...]


def load_site(content_dir: Path, *, base_url: str | None = None,
              ) -> tuple[Site, tuple[Diagnostic, ...]]:
    """Read and check all content; return the site and its warnings or raise ContentError.

    ``base_url`` replaces site.yaml's (``--base-url``: the address a deployment
    knows only at build time); see :func:`factsite.schema.override_base_url`.
    """
    documents, diagnostics = load_content(Path(content_dir))
    site, found = validate(documents)
    diagnostics += found
    if site is None or errors(diagnostics):
        raise ContentError(diagnostics)
    if base_url is not None:
        site = replace(site, base_url=override_base_url(base_url))
    return site, tuple(sorted(diagnostics))


def render_site(site: Site, templates_dir: Path) -> dict[str, str]:
    renderer = Renderer(Path(templates_dir), site)
    return {page.path: renderer.render(page) for page in plan(site)}


def build(content_dir: Path, templates_dir: Path, out_dir: Path, *, strict: bool = False,
          base_url: str | None = None) -> BuildResult:
    """Check everything, render everything in memory, then write site/ in one swap."""
    started = time.perf_counter()
    check_output_dir(Path(out_dir), [Path(content_dir), Path(templates_dir), Path.cwd()])
    site, warnings = load_site(content_dir, base_url=base_url)
    if strict and warnings:
        raise ContentError(warnings)
    files = render_site(site, templates_dir)
    index = search_index(files, site.language)
    count = write_site(Path(out_dir), {**files, **index}, Path(templates_dir) / "static")
    pages = sum(1 for path in files if path.endswith(".html"))
    return BuildResult(site, pages, count, time.perf_counter() - started, warnings)
