"""The one error type of factsite and its output formats.

Every problem found in content or templates becomes a :class:`Diagnostic`;
a stage that finds any raises :class:`ContentError` carrying all of them.
The same text reaches the terminal, GitHub annotations and JSON tools.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass
from typing import Iterable, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Diagnostic:
    path: str
    line: int
    col: int
    message: str
    hint: str | None = None
    severity: Severity = "error"

    def format_text(self) -> str:
        head = f"{self.path}:{self.line}:{self.col}: {self.severity}: {self.message}"
        return f"{head}\n  hint: {self.hint}" if self.hint else head

    def format_github(self) -> str:
        text = self.message + (f" (hint: {self.hint})" if self.hint else "")
        return (
            f"::{self.severity} file={_gh_property(self.path)},line={self.line},"
            f"col={self.col}::{_gh_data(text)}"
        )


class ContentError(Exception):
    """Raised with every diagnostic a stage found, never with just the first."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = tuple(sorted(diagnostics))
        super().__init__(format_text(self.diagnostics))


def errors(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.severity == "error"]


def summary(diagnostics: Iterable[Diagnostic]) -> str:
    diagnostics = list(diagnostics)
    n_err = len(errors(diagnostics))
    n_warn = len(diagnostics) - n_err
    parts = []
    if n_err:
        parts.append(f"{n_err} error{'s' if n_err != 1 else ''}")
    if n_warn:
        parts.append(f"{n_warn} warning{'s' if n_warn != 1 else ''}")
    return ", ".join(parts)


def format_text(diagnostics: Iterable[Diagnostic]) -> str:
    return "\n".join(d.format_text() for d in sorted(diagnostics))


def format_github(diagnostics: Iterable[Diagnostic]) -> str:
    return "\n".join(d.format_github() for d in sorted(diagnostics))


def format_json(diagnostics: Iterable[Diagnostic]) -> str:
    return json.dumps([asdict(d) for d in sorted(diagnostics)], indent=2, ensure_ascii=False)


FORMATS = {"text": format_text, "github": format_github, "json": format_json}


def format_overlay(diagnostics: Iterable[Diagnostic]) -> str:
    """The terminal text as the HTML the dev server lays over every page until the next good build.

    Self-contained (inline styles; no script, link or image) and announced as an
    alert; ``<details>`` lets the reader fold it away without JavaScript.
    """
    diagnostics = sorted(diagnostics)
    return _OVERLAY.format(summary=html.escape(f"build failed: {summary(diagnostics)}"),
                           text=html.escape(format_text(diagnostics)))


# Dark red #8c1d18 and near-black #1a1a1a on white: contrast 9:1 and 17:1 (WCAG AAA).
_OVERLAY = (
    '<div id="factsite-overlay" role="alert" lang="en" dir="ltr" style="all:initial;display:block;'
    "position:fixed;top:0;left:0;right:0;z-index:2147483647;max-height:70vh;overflow:auto;"
    "box-sizing:border-box;padding:0.75rem 1rem;background:#fff;color:#1a1a1a;"
    "border-bottom:6px solid #8c1d18;box-shadow:0 2px 12px rgba(0,0,0,.4);"
    'font:16px/1.5 system-ui,sans-serif">'
    '<details open style="display:block">'
    '<summary style="display:list-item;cursor:pointer;color:#8c1d18;font-weight:bold;'
    'font-size:1.125rem">{summary}</summary>'
    '<p style="margin:0.5rem 0">This is the last good build. Fix the problems below and save:'
    " the page reloads by itself.</p>"
    '<pre style="margin:0;padding:0.75rem;background:#fff;color:#1a1a1a;border:1px solid #767676;'
    'white-space:pre-wrap;overflow-wrap:anywhere;font:14px/1.45 ui-monospace,monospace">'
    "{text}</pre></details></div>"
)


def _gh_data(text: str) -> str:
    # GitHub workflow command escaping (actions/toolkit: escapeData / escapeProperty).
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")
