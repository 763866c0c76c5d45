"""Anchoring quotes in source texts.

Matching ignores only differences in whitespace runs, typographic quotes and
apostrophes, and dashes; case and words must match. Every match is recorded
as a character span of the *original* text, which is never altered. This is
the W3C ``TextQuoteSelector`` model: exact text, with optional prefix and
suffix to pick one of several occurrences.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import quote as percent_encode

from rapidfuzz import fuzz

from .diagnostics import Lines

_FOLD = str.maketrans({
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
    "\u2013": "-", "\u2014": "-",
})
_WHITESPACE = re.compile(r"\s+")
_LONG_WHITESPACE = re.compile(r"\s{2,}")


@dataclass(frozen=True, order=True)
class Span:
    """Characters ``start:end`` of a source's original text."""

    start: int
    end: int


class AnchorError(Exception):
    """Base of the ways a quote can fail to pick exactly one span."""


class EmptyQuote(AnchorError):
    pass


class NotFound(AnchorError):
    def __init__(self, closest: Span | None):
        super().__init__("quote not found")
        self.closest = closest


class Ambiguous(AnchorError):
    """More than one occurrence is left after prefix and suffix were applied."""

    def __init__(self, occurrences: list[Span], narrowed: bool):
        super().__init__("quote is ambiguous")
        self.occurrences = occurrences
        self.narrowed = narrowed


class ContextMismatch(AnchorError):
    """The quote occurs, but none of its occurrences has the given prefix/suffix."""

    def __init__(self, occurrences: list[Span]):
        super().__init__("prefix/suffix match no occurrence")
        self.occurrences = occurrences


def normalise(text: str) -> tuple[str, Origin]:
    """Fold ``text`` for matching and map each folded character to its original index."""
    return _WHITESPACE.sub(" ", text).translate(_FOLD), Origin(text)


class Origin:
    """Index of the original character of each character of the folded text.

    Folding maps characters one to one except whitespace runs, which become one
    space: each run of n > 1 characters shifts what follows it by n - 1. Only
    those shifts are stored (a list of every index took seconds on a 10 MB source).
    """

    def __init__(self, text: str):
        self.starts, self.shifts = [0], [0]
        removed = 0
        for run in _LONG_WHITESPACE.finditer(text):
            removed += run.end() - run.start() - 1
            self.starts.append(run.end() - removed)
            self.shifts.append(removed)
        self.length = len(text) - removed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> int:
        if not 0 <= index < self.length:
            raise IndexError(index)
        return index + self.shifts[bisect.bisect_right(self.starts, index) - 1]


def fold(fragment: str) -> str:
    return _WHITESPACE.sub(" ", fragment.translate(_FOLD)).strip()


class SourceText:
    """A source's text, folded once so that many quotes can be anchored in it."""

    def __init__(self, text: str):
        self.text = text

    @cached_property
    def _folded(self) -> tuple[str, list[int]]:
        return normalise(self.text)

    def occurrences(self, quote: str) -> list[Span]:
        needle = fold(quote)
        if not needle:
            raise EmptyQuote("quote is empty")
        folded, origin = self._folded
        spans = []
        index = folded.find(needle)
        while index != -1:
            spans.append(Span(origin[index], origin[index + len(needle) - 1] + 1))
            index = folded.find(needle, index + 1)
        return spans

    def anchor(self, quote: str, prefix: str | None = None, suffix: str | None = None) -> Span:
        """The one span of ``quote``; raises an :class:`AnchorError` otherwise."""
        spans = self.occurrences(quote)
        if not spans:
            raise NotFound(self.closest(quote))
        chosen = [s for s in spans if self._has_context(s, prefix, suffix)]
        if not chosen:
            raise ContextMismatch(spans)
        if len(chosen) > 1:
            raise Ambiguous(chosen, narrowed=bool(prefix or suffix))
        return chosen[0]

    def _has_context(self, span: Span, prefix: str | None, suffix: str | None) -> bool:
        if prefix and not fold(self.text[:span.start]).endswith(fold(prefix)):
            return False
        if suffix and not fold(self.text[span.end:]).startswith(fold(suffix)):
            return False
        return True

    def closest(self, quote: str) -> Span | None:
        """The passage most like ``quote``, widened to whole words, or None if nothing is alike."""
        folded, origin = self._folded
        needle = fold(quote)
        if not folded.strip() or not needle:
            return None
        if len(needle) >= len(folded):
            if fuzz.partial_ratio(folded, needle) < 40:
                return None
            start, end = 0, len(folded)
        else:
            alignment = fuzz.partial_ratio_alignment(needle, folded)
            if alignment is None or alignment.score < 40:
                return None
            start, end = alignment.dest_start, alignment.dest_end
        while start > 0 and not folded[start - 1].isspace():
            start -= 1
        while end < len(folded) and not folded[end].isspace():
            end += 1
        while start < end and folded[start].isspace():
            start += 1
        while end > start and folded[end - 1].isspace():
            end -= 1
        if start >= end:
            return None
        return Span(origin[start], origin[end - 1] + 1)

    def context(self, span: Span, width: int = 160) -> tuple[str, str]:
        """About ``width`` characters of text before and after ``span``, cut at word
        boundaries and never across a blank line, with an ellipsis where cut."""
        before = self.text[max(0, span.start - width):span.start]
        after = self.text[span.end:span.end + width]
        paragraph_break = re.compile(r"\n[ \t]*\n")
        breaks = list(paragraph_break.finditer(before))
        if breaks:
            before = before[breaks[-1].end():]
        elif span.start - width > 0:
            before = "…" + before[min(len(before), _next_space(before)):].lstrip()
        first_break = paragraph_break.search(after)
        if first_break:
            after = after[:first_break.start()]
        elif span.end + width < len(self.text):
            after = after[:_last_space(after)].rstrip() + "…"
        return before.lstrip(), after.rstrip()

    def text_fragment(self, span: Span) -> str:
        """A URL text fragment (``#:~:text=``) that finds ``span`` in the original page.

        Long passages use the ``start,end`` form; a passage whose text occurs more than
        once (ignoring case, as browsers do) gets the words around it as ``prefix-,``
        and ``,-suffix``, since browsers take the first match.
        """
        words = self.text[span.start:span.end].split()
        if len(words) > FRAGMENT_MAX_WORDS:
            parts = [encode_fragment_text(" ".join(words[:FRAGMENT_EDGE_WORDS])),
                     encode_fragment_text(" ".join(words[-FRAGMENT_EDGE_WORDS:]))]
        else:
            parts = [encode_fragment_text(" ".join(words))]
        if self._count_ignoring_case(self.text[span.start:span.end]) > 1:
            before = self.text[:span.start].split()[-FRAGMENT_CONTEXT_WORDS:]
            after = self.text[span.end:].split()[:FRAGMENT_CONTEXT_WORDS]
            if before:
                parts.insert(0, encode_fragment_text(" ".join(before)) + "-")
            if after:
                parts.append("-" + encode_fragment_text(" ".join(after)))
        return "#:~:text=" + ",".join(parts)

    def _count_ignoring_case(self, passage: str) -> int:
        """How often browsers, which match text fragments ignoring case, would find it."""
        folded = self._folded[0].lower()
        needle = fold(passage).lower()
        count, index = 0, folded.find(needle)
        while index != -1:
            count, index = count + 1, folded.find(needle, index + 1)
        return count

    def line_col(self, offset: int) -> tuple[int, int]:
        return self._lines.position(offset)

    @cached_property
    def _lines(self) -> Lines:
        return Lines(self.text)


FRAGMENT_MAX_WORDS = 12
FRAGMENT_EDGE_WORDS = 4
FRAGMENT_CONTEXT_WORDS = 3


def encode_fragment_text(text: str) -> str:
    """Percent-encode a text directive term: everything but unreserved characters,
    and also '-' (which the syntax uses for prefix/suffix)."""
    return percent_encode(text, safe="").replace("-", "%2D")


def _next_space(text: str) -> int:
    match = re.search(r"\s", text)
    return match.start() if match else 0


def _last_space(text: str) -> int:
    match = re.search(r"\s\S*$", text)
    return match.start() if match else len(text)
