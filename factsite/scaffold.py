"""`python build.py new claim|claimant|source <id>`: commented templates for new content.

:func:`template` is pure: it returns the text of a new file, every field
explained. Required fields the editor must fill hold ``TODO ...`` placeholders,
which validation reports as errors (see :data:`factsite.schema.PLACEHOLDER`), so
a half-filled file can never be published; optional fields are commented out.
:func:`create` is the one function here that touches disk: it reads which ids
exist (to give real examples) and writes one new file under content/, never
overwriting one. (site/ is written only by :mod:`factsite.write`.)
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

# kind → (directory under content/, file extension)
# What `new` can add, and where each lives: the folders and extensions load.py reads.
KINDS = {kind: (dirname, ext) for dirname, (kind, ext) in sorted(COLLECTIONS.items())
         if kind in ("claim", "claimant", "source")}
NEXT_STEP = {
    "claim": "replace its TODO values, then run: python build.py check",
    "claimant": "check its name and kind, then run: python build.py check",
    "source": "fill in the title, paste the text after the closing '---', "
              "then run: python build.py check",
}
_ID = re.compile(ID_PATTERN)
_LISTED = 8  # ids listed in a comment, then "and N more"


@dataclass(frozen=True)
class Known:
    """Ids that already exist, sorted: the examples a new claim is pre-filled with."""

    sources: tuple[str, ...] = ()
    claimants: tuple[str, ...] = ()
    ratings: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()


def check_id(kind: str, raw: str) -> str:
    """The id itself, or :class:`Invalid` with a valid id to use instead."""
    if _ID.match(raw):
        return raw
    suggestion = suggest_id(raw.removesuffix(KINDS[kind][1]))
    raise Invalid(f"invalid id '{raw}'",
                  f"ids use lowercase letters, digits and single hyphens, like '{suggestion}'")


def template(kind: str, new_id: str, known: Known = Known()) -> str:
    """The text of a new ``kind`` file named ``new_id``."""
    return {"claim": _claim, "claimant": _claimant, "source": _source}[kind](new_id, known)


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
    if known.claimants:
        claimant = f"{known.claimants[0]}  # an example: the first claimant id; change it"
        claimants = _comment(f"Known claimants: {_listing(known.claimants)}.")
    else:
        claimant = "TODO a claimant id (add one with python build.py new claimant <id>)"
        claimants = ""
    if known.sources:
        source = f"{known.sources[0]}  # an example: the first source id; change it"
        sources = _comment(f"Known sources: {_listing(known.sources)}.")
    else:
        source = "TODO a source id (add one with python build.py new source <id>)"
        sources = ""
    ratings = _comment(
        "optional: a rating id from content/site.yaml"
        + (f": {_listing(known.ratings)}." if known.ratings else ".")
        + " A rated claim should explain the verdict in analysis.")
    topics = _comment(
        "optional: topic ids"
        + (f" from content/site.yaml: {_listing(known.topics)}." if known.topics
           else "; any id, or those listed in content/site.yaml if it lists topics."))
    rating_example = yaml_text(known.ratings[0]) if known.ratings else "accurate"
    topic_example = ", ".join(known.topics[:2]) if known.topics else "nato"
    return f"""\
# A claim: content/claims/{new_id}.yaml, published at claims/{new_id}/.
# One statement, who made it and when, and the passages of archived sources
# that record it. The id is the file name: renaming the file breaks links.
#
{_HOW}
# required: the claim in one sentence, in the claimant's sense.
claim: TODO state the claim in one sentence

# required: who made it: a claimant id (the file name in content/claimants/),
# or a list of them: [european-union, united-states].
{claimants}claimant: {claimant}

# required: when it was made: YYYY, YYYY-MM or YYYY-MM-DD.
date: TODO the date it was made, as YYYY-MM-DD (or YYYY-MM, or YYYY)

# optional: where it was made.
# venue: Interview with CNN

# required, at least one: where the record shows it. Each passage names a
# source id (the file name in content/sources/) and quotes the source's exact
# words: differences in spaces, typographic quotes and dashes are ignored;
# case and words must match. When the quote occurs more than once in the
# source, add prefix: or suffix: with the words just before or after the
# occurrence you mean.
{sources}passages:
  - source: {source}
    quote: TODO copy the exact words from the source
    # prefix: words just before the quote
    # suffix: words just after the quote

# optional: ids of the claims this one is a counterclaim of, or corroborates.
# disputes: [other-claim-id]
# supports: [other-claim-id]

{topics}# topics: [{topic_example}]

{ratings}# rating: {rating_example}

# optional Markdown: the editors' note.
# analysis: |
#   What the record shows, and why.

# optional: when this entry was published: YYYY-MM-DD.
# published: 2022-01-20

# optional: the corrections log, shown on the claim page.
# updates:
#   - {{date: 2022-01-21, note: What changed.}}
"""


def _claimant(new_id: str, known: Known) -> str:
    name = yaml_text(" ".join(word.capitalize() for word in new_id.split("-")))
    return f"""\
# A claimant: content/claimants/{new_id}.yaml, published at claimants/{new_id}/.
# A person or organisation that makes claims; claims name it by its id,
# '{new_id}' (the file name: renaming the file breaks links).
# Optional fields are commented out: delete the "# " in front of one to use it.
# The editors' guide: docs/editing.md

# required: the name as readers should see it. Made from the id: check the
# spelling and capitals.
name: {name}

# required: person or organization.
kind: person

# optional: office or function, shown with the name.
# role: Press Secretary of the President of the Russian Federation

# optional: a page that identifies them, e.g. on Wikidata.
# same_as: https://www.wikidata.org/wiki/Q...

# optional Markdown: who they are.
# description: |
#   A few sentences for readers.
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
# outlet: Sputnik

# optional: the original address, and an archived copy.
# url: https://example.org/original
# archived_url: https://web.archive.org/web/2022/https://example.org/original

# optional: when it was published: YYYY, YYYY-MM or YYYY-MM-DD.
# published: 2022-01-16

# optional: its language, when it is not the site's: en, ru, pt-BR, ...
# language: ru

# optional: where and when the text was captured, in UTC; `python build.py
# import URL` writes it, with the SHA-256 of content/captures/<id>.warc.gz.
# capture:
#   url: https://example.org/original
#   date: 2022-01-16T09:30:00Z
#   sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
---
"""


def _comment(text: str) -> str:
    """``text`` as YAML comment lines of at most 79 characters."""
    return "".join(f"# {line}\n" for line in textwrap.wrap(text, 77, break_long_words=False,
                                                            break_on_hyphens=False))


def _listing(ids: tuple[str, ...]) -> str:
    shown = ", ".join(yaml_text(i) for i in ids[:_LISTED])
    return shown + (f" and {len(ids) - _LISTED} more" if len(ids) > _LISTED else "")


def yaml_text(value: str) -> str:
    """``value`` as a YAML scalar that reads back as the same text."""
    if value.lower() in ("true", "false", "null", "~", "") or not re.fullmatch(r"\w[\w .-]*",
                                                                            value):
        return json.dumps(value, ensure_ascii=False)
    return value
