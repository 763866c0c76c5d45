"""Markdown: prose rendered without the parser is byte for byte what markdown-it makes.

render_markdown takes a short way for paragraphs of prose (emphasis, plain links) and
leaves every other text to markdown-it (``_render_parsed``, the reference). Both must
give the same HTML, the same wrong links and the same links, each on the same line,
for any text: CommonMark cases near the short way's edges, then seeded random text.
"""

from __future__ import annotations

import random

import pytest

from factsite.markdown import (ROOT, Link, LinkError, LinkProblem, _render_parsed,
                               _render_prose, render_markdown)


def resolve(href: str) -> str:
    """Like the checker's: entries and relative links inside the site, an unknown id."""
    if href.startswith("claim:"):
        if href == "claim:gone":
            raise LinkError(f"unknown claim 'gone' in link '{href}'", "a hint")
        return ROOT + "claims/" + href[len("claim:"):] + "/"
    if href.startswith("../"):
        return ROOT + href[len("../"):]
    return href


PROSE = [  # the short way takes these
    "",
    "\n\n",
    "One paragraph.",
    "A **strong** word and an *emphasised* one.",
    "**Strong** first, *em* last: *done*.",
    "Two\nlines, one paragraph.\n\nAnd a second one.\n",
    "*Lines* may start\n*with* emphasis, or **strong**\nemphasis.",
    "Closers before punctuation: **a**, *b*; **c**: *d*? **e**! *f*) **g**' *h*\".",
    "**Several words, (with punctuation) inside**.",
    "**Note:** punctuation *(in an aside)* or **\"quoted\"** at either end.",
    "See [the methodology](../../about/) and [that claim](claim:c-1).",
    "Links [to](https://example.org/a_b*c?d=1#e) the [web](mailto:a@b.c) and [é](/ü%20x).",
    "[A link](claim:x) first.\nThen [one](../y/) on line 1.\n\n\n[one](claim:z) on line 4.",
    'Quotes "and" \'apostrophes\' > greater, (parens) ~tildes~ #hash + plus - minus.',
    "Digits: 1984 was a year, 3 is a number, 2x.",
    "Unicode: é ü 😀 \u2028 \x85 \ufeff inside, and \u00a0 spaces\u3000too.",
    "A bad link [here](javascript:alert) and [an unknown one](claim:gone).",
    "**a** **b** *c* *d*",
]

PARSED = [  # and these are markdown-it's
    "# Heading",
    "Text\n===",
    "Text\n---",
    "> a quote",
    "- a\n- list",
    "* a list",
    "1. an ordered list",
    "1984. A list too",
    "2) another",
    "***",
    "    indented code",
    " one space in",
    "trailing spaces  \nhard break",
    "backslash\\\nhard break",
    "```\nfenced\n```",
    "~~~\nfenced\n~~~",
    "<div>html</div>",
    "an <span>inline</span> tag",
    "an autolink <https://example.org>",
    "a `code span`",
    "an &amp; entity and &copy; and &#35;",
    "an escaped \\*star\\*",
    "an image ![alt](pic.png)",
    "a [link](https://example.org \"with a title\")",
    "a [link](<with spaces>)",
    "a [link](a(b)c)",
    "a [ref] link\n\n[ref]: https://example.org",
    "[ref]: /u\n\ntext",
    "snake_case and _underscore emphasis_",
    "***both***",
    "**not closed",
    "a * star",
    "intra**word**emphasis",
    "**a**[b](c)",
    "**a.**b and *a*b",
    "**a.**.",
    "** a**",
    "**a **",
    "*a **b** c*",
    "tab\there",
    "crlf\r\nline",
    "a [link [nested]](x)",
    "[empty]()",
    "| a | b |\n|---|---|\n| c | d |",
]


@pytest.mark.parametrize("text", PROSE)
def test_prose_takes_the_short_way_to_the_same_output(text: str) -> None:
    assert _render_prose(text, resolve) is not None
    assert _render_prose(text, resolve) == _render_parsed(text, resolve)


@pytest.mark.parametrize("text", PARSED)
def test_any_other_markdown_is_left_to_markdown_it(text: str) -> None:
    assert _render_prose(text, resolve) is None
    assert render_markdown(text, resolve) == _render_parsed(text, resolve)


def test_links_and_their_problems_are_on_their_lines() -> None:
    text = ("First [a](claim:one) line.\nSecond *with* [bad](ftp://x) and\n\n"
            "[gone](claim:gone) after a blank line, [up](../about/).")
    html, problems, links = render_markdown(text, resolve)
    assert html.at("../") == (
        '<p>First <a href="../claims/one/">a</a> line.\nSecond <em>with</em> '
        '<a href="ftp://x">bad</a> and</p>\n<p><a href="claim:gone">gone</a> after a blank '
        'line, <a href="../about/">up</a>.</p>\n')
    assert [(p.line, p.message) for p in problems] == [
        (1, "link 'ftp://x' is not allowed: only http(s), mailto, relative links and links "
            "to entries like claim:ID"),
        (3, "unknown claim 'gone' in link 'claim:gone'")]
    assert links == [Link(0, "claim:one", ROOT + "claims/one/"),
                     Link(3, "../about/", ROOT + "about/")]
    assert all(isinstance(p, LinkProblem) for p in problems)
    assert (html, problems, links) == _render_parsed(text, resolve)


FRAGMENTS = (
    ["word", "Claim", "é", "42", "1984", "x", " ", " ", " ", ".", ",", ";", ":", "?", "!",
     "(", ")", '"', "'", "-", "+", "#", ">", "=", "~", "|", "/", "%", "\n", "\n", "\n\n",
     "*", "**", "*word*", "**two words**", "_", "__", "_word_", "[", "]", "](", "`", "\\",
     "<", "&", "&amp;", "&#35;", "![", "\t", "  ", "   ", "    ", "\r", "\u00a0", "\u3000",
     "\u2028", "\x85", "\x0b", "\ufeff", "1. ", "2) ", "- ", "* ", "> ", "---", "===", "```",
     "[a](claim:c)", "[b](claim:gone)", "[c](../up/)", "[d](https://e.org/a_b)",
     "[e](javascript:x)", "[f](x \"t\")", "[g](<h i>)", "[ref]", "\n[ref]: /u\n",
     "<https://a.b>", "![i](p.png)"])
PROSE_FRAGMENTS = ["word", "Claim", "é", "42", "1984", ".", ",", ":", "(", ")", '"', "!",
                   "*word*", "**two words**", "*(aside)*", "**Note:**", "[a](claim:c)",
                   "[b](claim:gone)", "[c](../up/)", "[d](https://e.org/a_b)",
                   "[e](javascript:x)", "[f](claim:c)."]


def test_random_markdown_renders_the_same_either_way() -> None:
    """Seeded random text, from fragments of all syntax and from prose-like ones."""
    rng = random.Random(20261202)
    short = 0
    for case in range(4000):
        if case % 2:
            text = "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 40)))
        else:  # words between spaces and line ends, some of them syntax
            text = "".join(rng.choice(PROSE_FRAGMENTS) + rng.choice(" " * 12 + "\n\n\n")
                           for _ in range(rng.randint(1, 40))).rstrip(" ")
        found = render_markdown(text, resolve)
        assert found == _render_parsed(text, resolve), repr(text)
        short += _render_prose(text, resolve) is not None
    assert short > 1000  # the short way was tried on many texts, not only refused
