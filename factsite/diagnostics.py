"""The one error type of factsite and its output formats.

Every problem found in content or templates becomes a :class:`Diagnostic`;
a stage that finds any raises :class:`ContentError` carrying all of them.
The same text reaches the terminal, GitHub annotations and JSON tools.
"""

from __future__ import annotations

import bisect
import html
import json
import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Iterable, Literal

Severity = Literal["error", "warning"]
SHOWN = 50  # diagnostics printed at most (text and GitHub formats); JSON has them all


class Lines:
    """Line and column of a character offset, counting lines as editors do.

    Only LF, CR LF and CR end a line (not U+2028, U+2029 or U+0085, which
    YAML 1.1 and ``str.splitlines`` count); columns count characters from 1. The end
    of a text that ends with a line break is placed at the end of its last line.
    """

    _BREAK = re.compile(r"\r\n|\r|\n")

    def __init__(self, text: str):
        self.text = text
        self.starts = [0] + [m.end() for m in self._BREAK.finditer(text)]

    def position(self, offset: int) -> tuple[int, int]:
        offset = max(0, min(offset, len(self.text)))
        if offset == len(self.text) and len(self.starts) > 1 and self.starts[-1] == offset:
            offset -= 2 if self.text.endswith("\r\n") else 1  # end of file: on the last line
        index = bisect.bisect_right(self.starts, offset) - 1
        return index + 1, offset - self.starts[index] + 1

    def line_start(self, line: int) -> int:
        """Offset of the first character of 1-based ``line`` (the text's end past the last)."""
        return self.starts[line - 1] if line <= len(self.starts) else len(self.text)


# Spelled out as <U+XXXX> in messages and paths: characters that do not show, or that
# reorder the line (a file name or a field may hide one), line breaks and tabs included.
# A file name byte that is not UTF-8 (kept by Python as a lone surrogate) shows as \xNN.
_SUSPECT = re.compile(r"[^\x20-\x7e]")
_HIDDEN = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u034f"}  # fillers that show as nothing
_CONTROL_NAMES = {"\t": "TAB", "\n": "LINE FEED", "\r": "CARRIAGE RETURN", "\x85": "NEXT LINE"}
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def visible(text: str) -> tuple[str, list[str]]:
    """``text`` with invisible, control and direction-changing characters spelled out,
    and the characters that were."""
    if text.isascii() and text.isprintable():
        return text, []
    found: list[str] = []

    def spell(match: re.Match) -> str:
        char = match.group()
        if "\udc80" <= char <= "\udcff":
            return f"\\x{ord(char) - 0xdc00:02x}"
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs") or char in _HIDDEN:
            if char not in found:
                found.append(char)
            return f"<U+{ord(char):04X}>"
        return char

    return _SUSPECT.sub(spell, text), found


def _what_they_are(chars: list[str]) -> str:
    named = []
    for char in chars:
        name = unicodedata.name(char, _CONTROL_NAMES.get(char, "a control character"))
        kind = ("which changes the direction of the text" if char in _BIDI
                else "a line break" if char in "\n\r\u2028\u2029\x85"
                else "a control character" if unicodedata.category(char) == "Cc"
                else "an invisible character")
        named.append(f"<U+{ord(char):04X}> is {name}, {kind}")
    return "; ".join(named)


@dataclass(frozen=True, order=True)
class Diagnostic:
    path: str
    line: int
    col: int
    message: str
    hint: str | None = None
    severity: Severity = "error"

    def __post_init__(self) -> None:
        """Spell out what would not show (or would reorder the line) in a terminal, and say
        what it is when the message holds it."""
        path, message = visible(self.path)[0], visible(self.message)
        hint = visible(self.hint)[0] if self.hint else self.hint
        if message[1]:
            note = _what_they_are(message[1])
            hint = f"{hint} ({note})" if hint else f"{note}: delete it unless it is meant to be there"
        message = message[0]
        if (path, message, hint) == (self.path, self.message, self.hint):
            return
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "message", message)
        object.__setattr__(self, "hint", hint)

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
        parts.append(f"{n_err:,} error{'s' if n_err != 1 else ''}")
    if n_warn:
        parts.append(f"{n_warn:,} warning{'s' if n_warn != 1 else ''}")
    return ", ".join(parts)


def format_text(diagnostics: Iterable[Diagnostic]) -> str:
    return "\n".join(_capped(diagnostics, Diagnostic.format_text))


def format_github(diagnostics: Iterable[Diagnostic]) -> str:
    return "\n".join(_capped(diagnostics, Diagnostic.format_github))


def _capped(diagnostics: Iterable[Diagnostic], form) -> list[str]:
    """The first :data:`SHOWN` diagnostics in order, then how many more there are."""
    ordered = sorted(diagnostics)
    lines = [form(d) for d in ordered[:SHOWN]]
    if len(ordered) > SHOWN:
        lines.append(f"… and {len(ordered) - SHOWN:,} more")
    return lines


def format_json(diagnostics: Iterable[Diagnostic]) -> str:
    return json.dumps([asdict(d) for d in sorted(diagnostics)], indent=2, ensure_ascii=False)


FORMATS = {"text": format_text, "github": format_github, "json": format_json}


def format_overlay(diagnostics: Iterable[Diagnostic], *, built: bool = True) -> str:
    """The terminal text as the HTML the dev server lays over every page until the next good build.

    ``built``: whether the pages under it are a good build; when nothing was ever
    built, saying so rather than "the last good build" over a bare page.
    Self-contained (inline styles; no script, link or image) and announced as an
    alert; ``<details>`` lets the reader fold it away without JavaScript.
    """
    diagnostics = sorted(diagnostics)
    return _OVERLAY.format(summary=html.escape(f"build failed: {summary(diagnostics)}"),
                           under="This is the last good build." if built
                           else "Nothing has been built yet.",
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
    '<p style="margin:0.5rem 0">{under} Fix the problems below and save:'
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
