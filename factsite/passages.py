"""Anchoring quotes in source texts.

Matching ignores only differences in whitespace runs, typographic quotes and
apostrophes, dashes, and '...' against '…'; case and words must match. A quote
may leave words out ('…', '[…]'): its parts then match in order within one
paragraph (:meth:`SourceText.anchor_pieces`). Every match is recorded
as a character span of the *original* text, which is never altered. This is
the W3C ``TextQuoteSelector`` model: exact text, with optional prefix and
suffix to pick one of several occurrences.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from difflib import SequenceMatcher
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
_CHANGED_BY_WHITESPACE = re.compile(r"[^\S ]|\s{2,}")  # what _WHITESPACE.sub(" ") changes
_DOTS = re.compile(r"\.\.\.")  # three dots and the ellipsis character match each other
_SHRINKING = re.compile(r"\s{2,}|\.\.\.")  # runs that folding turns into one character
# Marks of words left out inside a quote: […], [...], … and ... (folded: […] and …).
_OMISSION = re.compile(r"\s*(?:\[…\]|…)\s*")
_PARAGRAPH_BREAK = re.compile(r"[^\S\r\n]*(?:\r\n|\r|\n)[^\S\r\n]*(?:\r\n|\r|\n)")


@dataclass(frozen=True, order=True)
class Span:
    """Characters ``start:end`` of a source's original text."""

    start: int
    end: int


class AnchorError(Exception):
    """Base of the ways a quote can fail to pick exactly one span."""


class EmptyQuote(AnchorError):
    pass


@dataclass(frozen=True)
class Closest:
    """The passage most like a quote that was not found, and how they differ in words."""

    span: Span
    differences: tuple[str, ...]  # e.g. "the quote has 'arms' where the source has 'weapons'"


class NotFound(AnchorError):
    def __init__(self, closest: Closest | None, out_of_order: bool = False):
        super().__init__("quote not found")
        self.closest = closest
        self.out_of_order = out_of_order  # each part of a quote with omissions occurs, not so


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
    return _folded(text), Origin(text)


class Origin:
    """Index of the original character of each character of the folded text.

    Folding maps characters one to one except whitespace runs, which become one
    space, and three dots, which become '…': each such run of n > 1 characters
    shifts what follows it by n - 1. Only those shifts are stored (a list of
    every index took seconds on a 10 MB source).
    """

    def __init__(self, text: str):
        self.starts, self.shifts = [0], [0]
        removed = 0
        for run in _SHRINKING.finditer(text):
            removed += run.end() - run.start() - 1
            self.starts.append(run.end() - removed)
            self.shifts.append(removed)
        self.length = len(text) - removed
        self.original_starts = [start + shift for start, shift in zip(self.starts, self.shifts)]

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> int:
        if not 0 <= index < self.length:
            raise IndexError(index)
        return index + self.shifts[bisect.bisect_right(self.starts, index) - 1]

    def folded_index(self, original: int) -> int:
        """The folded index of an original character that is not inside a run (or starts one)."""
        return original - self.shifts[bisect.bisect_right(self.original_starts, original) - 1]


def fold(fragment: str) -> str:
    return _folded(fragment).strip()


def _folded(text: str) -> str:
    """Whitespace runs as one space, '...' as '…', typographic marks as plain ones; each
    step only when it can change the text (most quotes and sources need none of them,
    and substituting every single space took most of folding's time)."""
    if _CHANGED_BY_WHITESPACE.search(text):
        text = _WHITESPACE.sub(" ", text)
    if "..." in text:
        text = _DOTS.sub("…", text)
    return text if text.isascii() else text.translate(_FOLD)


class SourceText:
    """A source's text, folded once so that many quotes can be anchored in it."""

    def __init__(self, text: str):
        self.text = text

    @cached_property
    def _folded(self) -> tuple[str, list[int]]:
        return normalise(self.text)

    def occurrences(self, quote: str) -> list[Span]:
        return self._occurrences(fold(quote))

    def _occurrences(self, needle: str) -> list[Span]:
        """The spans of a folded quote."""
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
        """The one span of ``quote``, from its first word to its last; raises an
        :class:`AnchorError` otherwise."""
        pieces = self.anchor_pieces(quote, prefix, suffix)
        return Span(pieces[0].start, pieces[-1].end)

    def anchor_pieces(self, quote: str, prefix: str | None = None,
                      suffix: str | None = None) -> tuple[Span, ...]:
        """The spans of the one occurrence of ``quote``: one, or one per part of a quote
        with omissions. Raises an :class:`AnchorError` otherwise.

        The quote as a whole is looked for first (a source may print '...' itself).
        Failing that, '[…]', '[...]', '…' and '...' inside it mark words left out: its
        parts must occur in order, within one paragraph; marks at its start or end only
        say that the quote starts or ends mid-sentence.
        """
        folded_quote = fold(quote)
        matches = [(span,) for span in self._occurrences(folded_quote)]
        parts = [part for part in _OMISSION.split(folded_quote) if part]
        if not matches and parts != [folded_quote]:
            matches = self._in_order(parts)
            if not matches:
                missing = [part for part in parts if part not in self._folded[0]]
                raise NotFound(self.closest(missing[0]) if missing else None,
                               out_of_order=not missing)
        if not matches:
            raise NotFound(self.closest(quote))
        overall = [Span(m[0].start, m[-1].end) for m in matches]
        chosen = [m for m, span in zip(matches, overall) if self._has_context(span, prefix, suffix)]
        if not chosen:
            raise ContextMismatch(overall)
        if len(chosen) > 1:
            raise Ambiguous([Span(m[0].start, m[-1].end) for m in chosen],
                            narrowed=bool(prefix or suffix))
        return chosen[0]

    def _in_order(self, parts: list[str]) -> list[tuple[Span, ...]]:
        """Every way ``parts`` occur in order within one paragraph, one per start of the
        first; each later part is the first occurrence after the one before."""
        folded, origin = self._folded
        breaks = self._paragraph_breaks
        found = []
        index = folded.find(parts[0])
        while index != -1:
            after = bisect.bisect_right(breaks, index)
            paragraph_end = breaks[after] if after < len(breaks) else len(folded)
            pieces = [(index, index + len(parts[0]))]
            for part in parts[1:]:
                at = folded.find(part, pieces[-1][1], paragraph_end)
                if at == -1:
                    break
                pieces.append((at, at + len(part)))
            else:
                found.append(tuple(Span(origin[a], origin[b - 1] + 1) for a, b in pieces))
            index = folded.find(parts[0], index + 1)
        return found

    @cached_property
    def _paragraph_breaks(self) -> list[int]:
        """Folded indexes of the blank lines between paragraphs."""
        origin = self._folded[1]
        return [origin.folded_index(m.start()) for m in _PARAGRAPH_BREAK.finditer(self.text)]

    def _has_context(self, span: Span, prefix: str | None, suffix: str | None) -> bool:
        if prefix and not fold(self.text[:span.start]).endswith(fold(prefix)):
            return False
        if suffix and not fold(self.text[span.end:]).startswith(fold(suffix)):
            return False
        return True

    def closest(self, quote: str) -> Closest | None:
        """The passage most like ``quote``, as whole words, and how the two differ;
        None if nothing is alike.

        Bounded cost: only the first :data:`CLOSEST_QUOTE_CHARS` characters of the
        quote are compared, and in a long source only the windows around the quote's
        rarest words (see :func:`_windows`).
        """
        folded, origin = self._folded
        needle = fold(quote[:4 * CLOSEST_QUOTE_CHARS])  # a bound on the folding, too
        if len(needle) > CLOSEST_QUOTE_CHARS:
            needle = needle[:CLOSEST_QUOTE_CHARS].rsplit(" ", 1)[0]
        if not folded.strip() or not needle:
            return None
        best = None
        for low, high in _windows(needle, folded):
            window = folded[low:high]
            if len(needle) >= len(window):
                score, start, end = fuzz.ratio(window, needle), 0, len(window)
            else:
                alignment = fuzz.partial_ratio_alignment(needle, window)
                score, start, end = alignment.score, alignment.dest_start, alignment.dest_end
            if best is None or score > best[0]:
                best = (score, low + start, low + end)
        if best is None or best[0] < 40:
            return None
        _, start, end = best
        while start > 0 and not folded[start - 1].isspace():
            start -= 1
        while end < len(folded) and not folded[end].isspace():
            end += 1
        words = [(origin[a], origin[b - 1] + 1, w) for a, b, w in _tokens(folded, start, end)]
        quoted = _tokens(needle, 0, len(needle))
        if not words or not quoted:
            return None
        opcodes = SequenceMatcher(None, [w.lower() for _, _, w in quoted],
                                  [w.lower() for _, _, w in words], autojunk=False).get_opcodes()
        # Source words before the quote's first and after its last are no difference.
        if len(opcodes) > 1 and opcodes[0][0] == "insert":
            opcodes = opcodes[1:]
        if len(opcodes) > 1 and opcodes[-1][0] == "insert":
            opcodes = opcodes[:-1]
        first, last = words[opcodes[0][3]], words[opcodes[-1][4] - 1]  # in the original text
        differences = []
        for kind, i1, i2, j1, j2 in opcodes:
            if kind != "equal":
                differences.append(_difference(kind, (needle, quoted, i1, i2),
                                               (self.text, words, j1, j2)))
                continue
            k = 0  # equal but for case: name each run of words whose case differs
            while k < i2 - i1:
                m = k
                while m < i2 - i1 and quoted[i1 + m][2] != words[j1 + m][2]:
                    m += 1
                if m > k:
                    differences.append(_difference("case", (needle, quoted, i1 + k, i1 + m),
                                                   (self.text, words, j1 + k, j1 + m)))
                k = m + 1
        return Closest(Span(first[0], last[1]), tuple(differences))

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

    def text_fragment(self, pieces: Span | tuple[Span, ...]) -> str:
        """A URL text fragment (``#:~:text=``) that finds a passage in the original page:
        one text directive per piece of a quote with omissions, so that browsers
        highlight the quoted words and not what was left out.

        Long passages use the ``start,end`` form; a passage whose text occurs more than
        once (ignoring case, as browsers do) gets the words around it as ``prefix-,``
        and ``,-suffix``, since browsers take the first match.
        """
        pieces = (pieces,) if isinstance(pieces, Span) else pieces
        return "#:~:" + "&".join(self._text_directive(piece) for piece in pieces)

    def _text_directive(self, span: Span) -> str:
        words = self.text[span.start:span.end].split()
        if len(words) > FRAGMENT_MAX_WORDS:
            parts = [encode_fragment_text(" ".join(words[:FRAGMENT_EDGE_WORDS])),
                     encode_fragment_text(" ".join(words[-FRAGMENT_EDGE_WORDS:]))]
        else:
            parts = [encode_fragment_text(" ".join(words))]
        if self._recurs_ignoring_case(self.text[span.start:span.end]):
            before = _words_before(self.text, span.start, FRAGMENT_CONTEXT_WORDS)
            after = _words_after(self.text, span.end, FRAGMENT_CONTEXT_WORDS)
            if before:
                parts.insert(0, encode_fragment_text(" ".join(before)) + "-")
            if after:
                parts.append("-" + encode_fragment_text(" ".join(after)))
        return "text=" + ",".join(parts)

    def _recurs_ignoring_case(self, passage: str) -> bool:
        """Whether browsers, which match text fragments ignoring case, would find the
        passage more than once: two searches at most, not a count of every match."""
        needle = fold(passage).lower()
        first = self._folded_lower.find(needle)
        return first != -1 and self._folded_lower.find(needle, first + 1) != -1

    @cached_property
    def _folded_lower(self) -> str:
        return self._folded[0].lower()

    def line_col(self, offset: int) -> tuple[int, int]:
        return self._lines.position(offset)

    @cached_property
    def _lines(self) -> Lines:
        return Lines(self.text)


class Corpus:
    """Every source's folded text in one string, built once, to tell in which other
    source a quote that is not in its own occurs: one substring search per quote."""

    def __init__(self, texts: dict[str, SourceText]):
        self.texts = texts
        self.ids = sorted(texts)
        self.starts: list[int] = []
        parts, position = [], 0
        for source_id in self.ids:
            self.starts.append(position)
            parts.append(texts[source_id]._folded[0])
            position += len(parts[-1]) + 1
        self.folded = "\0".join(parts)  # NUL never occurs in content: no match spans two

    def find(self, quote: str) -> list[tuple[str, Span]]:
        """(source id, span) of the first occurrence of ``quote`` in each source holding it."""
        needle = fold(quote)
        found: list[tuple[str, Span]] = []
        index = self.folded.find(needle) if needle else -1
        while index != -1:
            at = bisect.bisect_right(self.starts, index) - 1
            source_id = self.ids[at]
            origin = self.texts[source_id]._folded[1]
            local = index - self.starts[at]
            found.append((source_id, Span(origin[local], origin[local + len(needle) - 1] + 1)))
            next_source = self.starts[at + 1] if at + 1 < len(self.starts) else len(self.folded)
            index = self.folded.find(needle, next_source)
        return found


def _words_before(text: str, end: int, count: int) -> list[str]:
    """The last ``count`` words of ``text[:end]``, from a window that grows until it
    holds more than ``count`` words (so that those are whole) or reaches the start:
    splitting all the text before a passage cost a pass over the source per citation."""
    width = 16 * count
    while True:
        start = max(0, end - width)
        words = text[start:end].split()
        if len(words) > count or start == 0:
            return words[-count:]
        width *= 4


def _words_after(text: str, start: int, count: int) -> list[str]:
    """The first ``count`` words of ``text[start:]``, as :func:`_words_before` does."""
    width = 16 * count
    while True:
        end = min(len(text), start + width)
        words = text[start:end].split()
        if len(words) > count or end == len(text):
            return words[:count]
        width *= 4


CLOSEST_QUOTE_CHARS = 300  # of a quote not found, compared with the source for the hint
_LONG_SOURCE = 100_000  # folded characters beyond which only windows are compared
_TOKEN = re.compile(r"\w+(?:'\w+)*|[^\w\s]")


def _windows(needle: str, folded: str) -> list[tuple[int, int]]:
    """Where in ``folded`` to look for ``needle``: all of it when short; else the
    neighbourhoods of the occurrences of the needle's rarest words (at most 20)."""
    if len(folded) <= _LONG_SOURCE:
        return [(0, len(folded))]
    counted = [(folded.count(word), word) for word in {w for w in needle.split() if len(w) > 3}]
    counted = sorted(c for c in counted if c[0])[:3]
    windows = []
    for _, word in counted:
        index = folded.find(word)
        while index != -1 and len(windows) < 20:
            windows.append((max(0, index - len(needle)), index + 2 * len(needle)))
            index = folded.find(word, index + 1)
    return windows


def _tokens(text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    """Words and punctuation marks of ``text[start:end]`` with their offsets in ``text``."""
    return [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text, start, end)]


Run = tuple[str, list[tuple[int, int, str]], int, int]  # text, its tokens, tokens i:j


def _text(run: Run) -> str:
    text, tokens, i, j = run
    return " ".join(text[tokens[i][0]:tokens[j - 1][1]].split()) if i < j else ""


def _difference(kind: str, quote: Run, source: Run) -> str:
    ours, theirs = _text(quote), _text(source)
    if kind == "case":
        return f"the quote has '{ours}' where the source has '{theirs}' (only the case differs)"
    if kind == "replace":
        return f"the quote has '{ours}' where the source has '{theirs}'"
    if kind == "delete":
        return f"the quote has '{ours}', which the source does not"
    return f"the source has '{theirs}', which the quote leaves out"


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
