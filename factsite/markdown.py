"""Markdown to safe HTML: CommonMark, raw HTML off, every link checked and resolved.

Links to entries of the site (``claim:ID``, ``claimant:ID``, ``source:ID``,
``topic:ID``, ``page:ID``) and relative links are resolved by the caller to
site-relative targets, which the HTML carries behind :data:`ROOT` until a page
places it (:class:`Prose`): the same text then links right from a claim page,
the corrections page or a paginated listing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False, "typographer": False})
# We check links ourselves so that a bad one is an error, not a silently dropped link.
_md.validateLink = lambda url: True

# Marks a site-relative link target in rendered HTML. Content never holds NUL (load
# refuses it), so the mark cannot come from an editor.
ROOT = "\x00"
# Link schemes that name an entry of the site: ``[the claim](claim:some-id)``.
ENTRY_SCHEMES = ("claim", "claimant", "source", "topic", "page")
SAFE_SCHEMES = ("http", "https", "mailto")  # of absolute links, here and in URL fields


class LinkError(Exception):
    """A link that cannot be resolved, with what to do about it."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message, self.hint = message, hint


@dataclass(frozen=True)
class LinkProblem:
    line: int  # 0-based line within the Markdown text
    message: str
    hint: str | None


@dataclass(frozen=True)
class Link:
    line: int  # 0-based line within the Markdown text
    href: str  # as written
    target: str  # as resolved: ROOT + a site-relative URL, or as written


class Prose:
    """Rendered Markdown whose links to the site are placed by the page that shows it."""

    __slots__ = ("_html",)

    def __init__(self, html: str):
        self._html = html

    def __bool__(self) -> bool:
        return bool(self._html)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Prose) and other._html == self._html

    def __hash__(self) -> int:
        return hash(self._html)

    def __getstate__(self) -> str:
        return self._html

    def __setstate__(self, html: str) -> None:
        self._html = html

    def at(self, root: str) -> Markup:
        """The HTML with site links made relative to ``root``: '../../' from a claim page,
        '' from the home page, or the site's absolute address (feeds, data exports)."""
        return Markup(self._html.replace(ROOT, root))

    def __html__(self) -> str:
        raise UnplacedProse("Markdown shown without |rel: its links would lead nowhere; "
                            "write {{ value|rel }}")


class UnplacedProse(TypeError):
    """A template showed rendered Markdown without placing its links (``|rel``)."""


Resolve = Callable[[str], str]  # href as written → target; raises LinkError


def render_markdown(text: str, resolve: Resolve | None = None,
                    ) -> tuple[Prose, list[LinkProblem], list[Link]]:
    """The HTML, the links that are wrong, and every link with its resolved target."""
    return _render_prose(text, resolve) or _render_parsed(text, resolve)


def _render_parsed(text: str, resolve: Resolve | None,
                   ) -> tuple[Prose, list[LinkProblem], list[Link]]:
    """:func:`render_markdown` by markdown-it: any CommonMark."""
    tokens = _md.parse(text)
    problems: list[LinkProblem] = []
    links: list[Link] = []
    for block in tokens:
        line = block.map[0] if block.map else 0
        for token in [block, *(block.children or [])]:
            if token.type in ("softbreak", "hardbreak"):
                line += 1
                continue
            attribute = "href" if token.type == "link_open" else (
                "src" if token.type == "image" else None)
            if attribute is None:
                continue
            target = _resolved(str(token.attrGet(attribute)), line, resolve, problems, links)
            if target is not None:
                token.attrSet(attribute, target)
    return Prose(_md.renderer.render(tokens, _md.options, {})), problems, links


def _resolved(href: str, line: int, resolve: Resolve | None,
              problems: list[LinkProblem], links: list[Link]) -> str | None:
    """The target of a link (noted in ``links``), or None if it is wrong (in ``problems``)."""
    try:
        _check_scheme(href)
        target = resolve(href) if resolve else href
    except LinkError as error:
        problems.append(LinkProblem(line, error.message, error.hint))
        return None
    links.append(Link(line, href, target))
    return target


# The common case without the parser, in a tenth of its time: paragraphs of prose with
# *emphasis*, **strong emphasis** and [plain](links). Only text in which every character
# provably means to CommonMark what it means here goes this way; any other (a heading, a
# list, an underscore, a code span, an entity, a link title...) is markdown-it's, whole.
# tests/test_markdown.py holds both ways to the same output on varied Markdown.
_SYNTAX = re.compile(r"[*_[\]&\\`<]")  # inline syntax (and "![", an image)
_PLAIN = r"[^*_[\]&\\`<\n]"
_SOLID = r"[^*_[\]&\\`<\s]"  # plain, and not whitespace to CommonMark
_WORD = r"[^\W_]"  # a letter or digit: neither whitespace nor punctuation to CommonMark
_LINK = rf"\[({_PLAIN}+)\]\(([^\s\x00-\x1f\x7f()<>\\&\"'[\]`]+)\)"  # no title, no escapes
_SPAN = re.compile(
    # Emphasis that opens after a space (or at a line's start) and closes before one (or at
    # a line's end), or after a letter or digit before punctuation: delimiter runs that
    # CommonMark lets only open, then only close, so they pair as written.
    rf"\*(?<![^ \n]\*)(\*?)({_SOLID}(?:{_PLAIN}*{_SOLID})?)"
    rf"(?=\*\1(?![^ \n])|(?<={_WORD})\*\1[.,;:?!)'\"])\*\1"
    rf"|{_LINK}")
# Links repeat (an archive's link to its methodology, to a claim); markdown-it's own.
_normalize_link = lru_cache(maxsize=4096)(_md.normalizeLink)
# Starts of a line that CommonMark may read as a block (heading, quote, list, rule,
# fence, setext underline, reference definition, HTML...), and the rest of the syntax.
_BLOCK_START = re.compile(rf"[#>+\-=_~`<|\\&]|\d+[.)]|\*(?!\*?{_SOLID})|\[(?!{_PLAIN}+\]\()")


def _render_prose(text: str, resolve: Resolve | None,
                  ) -> tuple[Prose, list[LinkProblem], list[Link]] | None:
    """:func:`render_markdown` of prose paragraphs; None for any other text."""
    if "\r" in text or "\t" in text or "\x00" in text or "![" in text:
        return None
    html: list[str] = []
    problems: list[LinkProblem] = []
    links: list[Link] = []
    paragraph: list[str] = []
    for number, line in enumerate([*text.split("\n"), ""]):
        if line:
            if line != line.strip() or _BLOCK_START.match(line):
                return None
            paragraph.append(line)
            continue
        if not paragraph:
            continue
        content, first, paragraph = "\n".join(paragraph), number - len(paragraph), []
        # '&' and '<' never come this far: only '"' and '>' may need escaping
        escape = escapeHtml if '"' in content or ">" in content else str
        html.append("<p>")
        end = 0
        while (syntax := _SYNTAX.search(content, end)) is not None:
            if (span := _SPAN.match(content, syntax.start())) is None:
                return None
            html.append(escape(content[end:span.start()]))
            strong, emphasised, label, destination = span.groups()
            if emphasised:
                tag = "strong" if strong else "em"
                html.append(f"<{tag}>{escape(emphasised)}</{tag}>")
            else:
                href = _normalize_link(destination)
                target = _resolved(href, first + content.count("\n", 0, span.start()),
                                   resolve, problems, links)
                html.append(f'<a href="{escapeHtml(href if target is None else target)}">'
                            f"{escape(label)}</a>")
            end = span.end()
        html.append(f"{escape(content[end:])}</p>\n")
    return Prose("".join(html)), problems, links


def _check_scheme(href: str) -> None:
    parts = urlsplit(href)
    scheme = parts.scheme.lower()
    if not scheme and not parts.netloc:
        return  # relative link
    if scheme in ENTRY_SCHEMES and not parts.netloc:
        return
    if scheme in SAFE_SCHEMES and (scheme == "mailto" or parts.netloc):
        return
    raise LinkError(f"link '{href}' is not allowed: only http(s), mailto, relative links "
                    "and links to entries like claim:ID",
                    "link to an https:// address, or to a page of this site as page:ID "
                    "(e.g. page:methodology) or claim:ID")
