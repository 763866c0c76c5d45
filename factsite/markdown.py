"""Markdown to safe HTML: CommonMark, raw HTML off, links checked."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markupsafe import Markup

from .schema import SAFE_SCHEMES

_md = MarkdownIt("commonmark", {"html": False, "typographer": False})
# We check links ourselves so that a bad one is an error, not a silently dropped link.
_md.validateLink = lambda url: True


@dataclass(frozen=True)
class LinkProblem:
    line: int  # 0-based line within the Markdown text
    message: str
    hint: str


def render_markdown(text: str) -> tuple[Markup, list[LinkProblem]]:
    tokens = _md.parse(text)
    problems = []
    for block in tokens:
        for token in [block, *(block.children or [])]:
            href = token.attrGet("href") if token.type == "link_open" else (
                token.attrGet("src") if token.type == "image" else None)
            if href is None:
                continue
            problem = _link_problem(str(href))
            if problem:
                line = block.map[0] if block.map else 0
                problems.append(LinkProblem(line, *problem))
    return Markup(_md.renderer.render(tokens, _md.options, {})), problems


def _link_problem(href: str) -> tuple[str, str] | None:
    parts = urlsplit(href)
    scheme = parts.scheme.lower()
    if not scheme and not parts.netloc:
        return None  # relative link: fine
    if scheme in SAFE_SCHEMES and (scheme == "mailto" or parts.netloc):
        return None
    return (f"link '{href}' is not allowed: only http(s), mailto and relative links",
            "link to an https:// address or a relative path like ../methodology/")
