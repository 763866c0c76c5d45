"""`python build.py new claim|claimant|source|page <id>`: commented templates for new content.

:func:`template` is pure: it returns the text of a new file, every field
explained. Every value the editor must choose holds a ``TODO ...`` placeholder,
which validation reports as an error at its line (see
:data:`factsite.schema.PLACEHOLDER`), so a half-filled file can never be
published; never a real id or name as an example, which would check and
publish a misattribution. Optional fields are commented out. :func:`create` is
the one function here that touches disk: it reads which ids exist (to list them
in comments) and writes one new file under content/, never overwriting one.
(site/ is written only by :mod:`factsite.write`.)
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

from .diagnostics import ContentError, Diagnostic
from .load import COLLECTIONS, load_file
from .schema import ID_PATTERN, Invalid, suggest_id
from .suggest import listing
from .validate import RESERVED_PAGE_IDS

# kind → (directory under content/, file extension)
# What `new` can add, and where each lives: the folders and extensions load.py reads.
KINDS = {kind: (dirname, ext) for dirname, (kind, ext) in sorted(COLLECTIONS.items())}
NEXT_STEP = {
    "claim": "replace its TODO values, then run: python build.py check",
    "claimant": "replace its TODO values, then run: python build.py check",
    "source": "fill in the title, paste the text after the closing '---', "
              "then run: python build.py check",
    "page": "fill in the title, write the text after the closing '---', "
            "then run: python build.py check",
}
_ID = re.compile(ID_PATTERN)


@dataclass(frozen=True)
class Known:
    """Ids that already exist, sorted: listed in a new claim's comments."""

    sources: tuple[str, ...] = ()
    claimants: tuple[str, ...] = ()
    ratings: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()


def check_id(kind: str, raw: str) -> str:
    """The id itself, or :class:`Invalid` with a valid id to use instead."""
    if _ID.match(raw):
        if kind == "page" and raw in RESERVED_PAGE_IDS:
            raise Invalid(f"page id '{raw}' is reserved for a generated page",
                          f"choose another id, like 'about-{raw}'")
        return raw
    suggestion = suggest_id(raw.removesuffix(KINDS[kind][1]))
    raise Invalid(f"invalid id '{raw}'",
                  f"ids use lowercase letters, digits and single hyphens, like '{suggestion}'")


def template(kind: str, new_id: str, known: Known = Known()) -> str:
    """The text of a new ``kind`` file named ``new_id``."""
    return {"claim": _claim, "claimant": _claimant, "source": _source,
            "page": _page}[kind](new_id, known)


def create(content_dir: Path, kind: str, new_id: str) -> Path:
    """Write the template for a new ``kind`` under ``content_dir``; return its path.

    Raises :class:`ContentError` when the content directory is missing or the
    file already exists (it is never overwritten).
    """
    content_dir = Path(content_dir)
    dirname, ext = KINDS[kind]
    path = content_dir / dirname / f"{check_id(kind, new_id)}{ext}"
    if not content_dir.is_dir():
        raise ContentError([Diagnostic(str(content_dir), 1, 1, "content directory not found",
                                       "pass --content DIR or run from the project root")])
    text = template(kind, new_id, known_ids(content_dir))
    path.parent.mkdir(exist_ok=True)
    try:
        with open(path, "x", encoding="utf-8", newline="\n") as file:
            file.write(text)
    except FileExistsError:
        raise ContentError([Diagnostic(
            str(path), 1, 1, f"{kind} '{new_id}' already exists; `new` never overwrites a file",
            "edit the file, or choose another id")]) from None
    return path


def known_ids(content_dir: Path) -> Known:
    """Existing source and claimant ids, and the rating and topic ids of site.yaml."""
    def ids(kind: str) -> tuple[str, ...]:
        dirname, ext = KINDS[kind]
        folder = Path(content_dir) / dirname
        if not folder.is_dir():
            return ()
        return tuple(sorted(p.stem for p in folder.iterdir()
                            if p.suffix == ext and _ID.match(p.stem) and p.is_file()))

    ratings: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    try:
        site = load_file(Path(content_dir) / "site.yaml", "site").data
    except Exception:  # a missing or broken site.yaml only costs the examples  # noqa: BLE001
        site = None
    if isinstance(site, dict):
        ratings, topics = (tuple(item["id"] for item in site.get(field) or []
                                 if isinstance(item, dict) and isinstance(item.get("id"), str))
                           for field in ("ratings", "topics"))
    return Known(ids("source"), ids("claimant"), ratings, topics)


# -- the templates -----------------------------------------------------------------

_HOW = """\
# Replace every value starting with TODO: `python build.py check` reports each
# one left as an error. Optional fields are commented out: delete the "# " in
# front of one to use it. Put a value in "quotes" when it contains ": " or " #",
# or starts with a quote, [, {, &, *, !, |, >, % or @.
# The editors' guide: docs/editing.md
"""


def _claim(new_id: str, known: Known) -> str:
    claimants = _comment(f"Known claimants: {_listing(known.claimants)}.") \
        if known.claimants else ""
    sources = _comment(f"Known sources: {_listing(known.sources)}.") if known.sources else ""
    ratings = _comment(
        "optional: a rating id from content/site.yaml"
        + (f": {_listing(known.ratings)}." if known.ratings else ".")
        + " A rated claim should explain the verdict in analysis.")
    topics = _comment(
        "optional: topic ids"
        + (f" from content/site.yaml: {_listing(known.topics)}." if known.topics
           else "; any id, or those listed in content/site.yaml if it lists topics."))
    return f"""\
# A claim: content/claims/{new_id}.yaml, published at claims/{new_id}/.
# One statement, who made it and when, and the passages of archived sources
# that record it. The id is the file name: renaming the file breaks links.
#
{_HOW}
# required: the claim in one sentence, in the claimant's sense.
claim: TODO state the claim in one sentence

# required: who made it: a claimant id (the file name in content/claimants/),
# or a list of them: [first-id, second-id].
{claimants}claimant: TODO a claimant id (add one with python build.py new claimant <id>)

# required: when it was made: YYYY, YYYY-MM or YYYY-MM-DD.
date: TODO the date it was made, as YYYY-MM-DD (or YYYY-MM, or YYYY)

# optional: where it was made.
# venue: TODO where it was made, e.g. an interview with a named outlet

# required, at least one: where the record shows it. Each passage names a
# source id (the file name in content/sources/) and quotes the source's exact
# words: differences in spaces, typographic quotes and dashes are ignored;
# case and words must match. When the quote occurs more than once in the
# source, add prefix: or suffix: with the words just before or after the
# occurrence you mean.
{sources}passages:
  - source: TODO a source id (add one with python build.py new source <id>)
    quote: TODO copy the exact words from the source
    # prefix: TODO the words just before the quote
    # suffix: TODO the words just after the quote

# optional: ids of the claims this one is a counterclaim of, or corroborates.
# disputes: [TODO a claim id]
# supports: [TODO a claim id]

{topics}# topics: [TODO a topic id]

{ratings}# rating: TODO a rating id

# optional Markdown: the editors' note.
# analysis: |
#   TODO what the record shows, and why

# optional: when this entry was published: YYYY-MM-DD.
# published: TODO the date it is published, as YYYY-MM-DD

# optional: the corrections log, shown on the claim page.
# updates:
#   - {{date: TODO the date of the change, note: TODO what changed}}
"""


def _claimant(new_id: str, known: Known) -> str:
    return f"""\
# A claimant: content/claimants/{new_id}.yaml, published at claimants/{new_id}/.
# A person or organisation that makes claims; claims name it by its id,
# '{new_id}' (the file name: renaming the file breaks links).
#
{_HOW}
# required: the name as readers should see it, spelt as they spell it.
name: TODO the name as readers should see it

# required: person or organization.
kind: TODO person or organization

# optional: office or function, shown with the name.
# role: TODO their office or function

# optional: a page that identifies them, e.g. on Wikidata.
# same_as: TODO an address, e.g. https://www.wikidata.org/wiki/Q...

# optional Markdown: who they are.
# description: |
#   TODO a few sentences for readers
"""


def _source(new_id: str, known: Known) -> str:
    return f"""\
---
# A source: content/sources/{new_id}.txt, published at sources/{new_id}/.
# Between the two '---' lines: its fields, in YAML. After the closing '---'
# line: the text exactly as published, pasted byte for byte (scraping
# artefacts included); paragraphs are separated by blank lines. Claims quote
# it by its id, '{new_id}' (the file name).
#
{_HOW}
# required: the headline of the source.
title: TODO the headline, as published

# optional: the publication.
# outlet: TODO the name of the publication

# optional: the original address, and an archived copy.
# url: TODO the original address, https://...
# archived_url: TODO the archived copy, e.g. https://web.archive.org/web/...

# optional: when it was published: YYYY, YYYY-MM or YYYY-MM-DD.
# published: TODO the date it was published, as YYYY-MM-DD

# optional: its language, when it is not the site's: en, ru, pt-BR, ...
# language: TODO a language code

# optional: where and when the text was captured, in UTC; `python build.py
# import URL` writes it, with the SHA-256 of content/captures/<id>.warc.gz.
# capture:
#   url: TODO the address captured, https://...
#   date: TODO when, in UTC, as YYYY-MM-DDTHH:MM:SSZ
#   sha256: TODO the SHA-256 of content/captures/<id>.warc.gz
---
"""


def _page(new_id: str, known: Known) -> str:
    return f"""\
---
# A page: content/pages/{new_id}.md, published at {new_id}/.
# Pages (about, methodology, corrections...) are linked from every page.
# Between the two '---' lines: its fields, in YAML. After the closing '---'
# line: its text in Markdown: ## headings, **bold**, *italics*, lists and
# [links](../claims/some-claim-id/) (relative to {new_id}/). The id is the
# file name: renaming the file breaks links.
#
{_HOW}
# required: the title, shown as the page's heading and in the navigation.
title: TODO the page title

# optional: one sentence for search results and link previews.
# description: TODO one sentence on what the page says
---
TODO write the page in Markdown, replacing this line
"""


def _comment(text: str) -> str:
    """``text`` as YAML comment lines of at most 79 characters."""
    return "".join(f"# {line}\n" for line in textwrap.wrap(text, 77, break_long_words=False,
                                                            break_on_hyphens=False))


def _listing(ids: tuple[str, ...]) -> str:
    return listing([yaml_text(i) for i in ids])


def yaml_text(value: str) -> str:
    """``value`` as a YAML scalar that reads back as the same text."""
    if value.lower() in ("true", "false", "null", "~", "") or not re.fullmatch(r"\w[\w .-]*",
                                                                            value):
        return json.dumps(value, ensure_ascii=False)
    return value
