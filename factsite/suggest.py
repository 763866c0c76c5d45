"""'Did you mean' for ids, fields and values: only when something is really close.

Ids and field names are words joined by '-' or '_'. A name is close to a known
one when every word of the shorter matches a word of the longer, allowing one
typo per four letters (a transposition is one typo), or when the two match that
way with the separators dropped. So `dmitri-peskov` and `peskov` find
`dmitry-peskov`, `brigde` finds `bridge`, but `us-government` does not find
`russian-government` and `joe-biden` finds nothing: a wrong guess misleads an
editor on deadline more than no guess.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping

from rapidfuzz.distance import OSA

_SEPARATORS = re.compile(r"[-_\s]+")

# What editors write for a field → the field factsite calls it.
FIELD_SYNONYMS: Mapping[str, str] = {
    "publisher": "outlet", "site": "outlet", "newspaper": "outlet", "publication": "outlet",
    "source_name": "outlet", "media": "outlet",
    "author": "claimant", "speaker": "claimant", "said_by": "claimant", "by": "claimant",
    "who": "claimant", "person": "claimant", "claimants": "claimant",
    "link": "url", "href": "url", "address": "url", "website": "url",
    "archive": "archived_url", "archive_link": "archived_url", "wayback": "archived_url",
    "text": "quote", "excerpt": "quote",
    "tags": "topics", "tag": "topics", "categories": "topics", "category": "topics",
    "verdict": "rating",
    "counters": "disputes", "rebuts": "disputes", "contradicts": "disputes",
    "refutes": "disputes", "disputed": "disputes",
    "confirms": "supports", "corroborates": "supports",
    "notes": "analysis", "comment": "analysis", "explanation": "analysis",
    "wikidata": "same_as",
    "corrections": "updates", "changelog": "updates",
    "when": "date", "said_on": "date",
    "date": "published", "pubdate": "published", "published_on": "published",
    "where": "venue", "occasion": "venue",
}

LISTED = 8  # how many known ids a hint lists before saying how many it leaves out


def closest(name: str, known: Iterable[str], synonyms: Mapping[str, str] | None = None
            ) -> list[str]:
    """The known names ``name`` most likely stands for: the closest, or those tied for
    closest (at most three), or none."""
    known = sorted(set(known))
    if synonyms and synonyms.get(name) in known:
        return [synonyms[name]]
    scored = [(d, candidate) for candidate in known
              if (d := _distance(name, candidate)) is not None]
    best = min((d for d, _ in scored), default=None)
    return [candidate for d, candidate in scored if d == best][:3]


def did_you_mean(names: list[str]) -> str:
    """``did you mean 'a'?`` or ``did you mean 'a' or 'b'?``"""
    return "did you mean " + " or ".join(f"'{n}'" for n in names) + "?"


def listing(ids: Iterable[str], limit: int = LISTED) -> str:
    """``a, b, c`` (in the order given) — complete, or ending in how many it leaves out."""
    ids = list(ids)
    if len(ids) <= limit:
        return ", ".join(ids)
    return ", ".join(ids[:limit]) + f" and {len(ids) - limit} more"


def _distance(name: str, candidate: str) -> int | None:
    """Typos between the two if they are close (see the module doc), else None."""
    joined = _close(_SEPARATORS.sub("", name), _SEPARATORS.sub("", candidate))
    words = _words_close(_SEPARATORS.split(name.strip("-_ ")),
                         _SEPARATORS.split(candidate.strip("-_ ")))
    found = [d for d in (joined, words) if d is not None]
    return min(found) if found else None


def _words_close(a: list[str], b: list[str]) -> int | None:
    shorter, longer = (a, b) if len(a) <= len(b) else (b, a)
    unused = list(longer)
    total = 0
    for word in shorter:
        matches = [(d, i) for i, other in enumerate(unused)
                   if (d := _close(word, other)) is not None]
        if not matches:
            return None
        distance, index = min(matches)
        total += distance
        del unused[index]
    return total + 2 * len(unused)  # a word only one side has counts more than a typo


def _close(a: str, b: str) -> int | None:
    if not a or not b:
        return None
    distance = OSA.distance(a, b)
    return distance if distance <= min(len(a), len(b)) // 4 else None
