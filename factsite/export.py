"""Machine-readable views of the site: schema.org JSON-LD and the data exports.

Pure functions of the resolved :class:`~factsite.model.Site`; the render stage
places their results in pages (JSON-LD) or files (claims.json, claims.csv,
claimreview.json).
"""

from __future__ import annotations

import csv
import io
import json
from json.encoder import encode_basestring
from typing import Any, Iterable, Iterator

from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from .model import Claim, Claimant, PartialDate, Rating, Site, Source

SCHEMA_VERSION = 1
CSV_COLUMNS = (
    "id", "url", "claim", "claimants", "date", "venue", "rating", "topics", "sources",
    "disputes", "disputed_by", "supports", "supported_by", "published", "updated",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# -- schema.org ----------------------------------------------------------------

def claim_jsonld(claim: Claim, site: Site) -> dict[str, Any]:
    """A ``ClaimReview`` for a rated claim, a plain ``Claim`` otherwise."""
    if claim.rating is None:
        return {"@context": "https://schema.org", **_claim_node(claim, site),
                "url": site.absolute(claim.url), "text": claim.text}
    review: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": site.absolute(claim.url),
        "claimReviewed": claim.text,
        "author": _publisher(site),
    }
    if claim.published:
        review["datePublished"] = claim.published.iso
    review["reviewRating"] = _rating(claim.rating)
    review["itemReviewed"] = _claim_node(claim, site)
    return review


class JsonScript(Markup):
    """JSON as a ``<script>`` element holds it (what Jinja's ``|tojson`` makes); our
    ``|tojson`` leaves it as it is, so templates written for ``{{ jsonld|tojson }}`` keep
    working (:func:`factsite.render.tojson`)."""

    __slots__ = ()


def claim_jsonld_script(claim: Claim, site: Site) -> JsonScript:
    """:func:`claim_jsonld` as the claim page's ``<script type="application/ld+json">`` holds it.
    The page's fingerprint describes one text, not the dicts (a claim page's fingerprint:
    29 → 15 µs)."""
    return JsonScript(htmlsafe_json_dumps(claim_jsonld(claim, site), dumps=_SORTED_JSON))


# ``json.dumps(value, sort_keys=True)``, without making an encoder for each claim page (nor
# checking a tree of fresh dicts for cycles): 9.8 → 8.2 µs a page
_SORTED_JSON = json.JSONEncoder(sort_keys=True, check_circular=False).encode


def _claim_node(claim: Claim, site: Site) -> dict[str, Any]:
    authors = [_author(c, site) for c in claim.claimants]
    appearances = [_appearance(s, site) for s in _sources_of(claim)]
    earliest = min(_sources_of(claim), key=lambda s: _date_key(s.published))
    return {
        "@type": "Claim",
        "author": authors[0] if len(authors) == 1 else authors,
        "datePublished": claim.date.iso,
        "appearance": appearances,
        "firstAppearance": _appearance(earliest, site),
    }


def _rating(rating: Rating) -> dict[str, Any]:
    """Best first in the site's scale: position 1 gets bestRating, the last gets 1."""
    best = max(rating.scale_size, 2)
    return {
        "@type": "Rating",
        "ratingValue": best - rating.position + 1,
        "bestRating": best,
        "worstRating": 1,
        "name": rating.label,
        "alternateName": rating.label,
    }


def _publisher(site: Site) -> dict[str, Any]:
    node = {"@type": "Organization", "name": site.publisher.name}
    if site.publisher.url:
        node["url"] = site.publisher.url
    return node


def _author(claimant: Claimant, site: Site) -> dict[str, Any]:
    node = {"@type": "Person" if claimant.kind == "person" else "Organization",
            "name": claimant.name, "url": site.absolute(claimant.url)}
    if claimant.same_as:
        node["sameAs"] = claimant.same_as
    return node


def _appearance(source: Source, site: Site) -> dict[str, Any]:
    node: dict[str, Any] = {"@type": "CreativeWork",
                            "url": source.original_url or site.absolute(source.url),
                            "headline": source.title}
    if source.outlet:
        node["publisher"] = {"@type": "Organization", "name": source.outlet}
    if source.published:
        node["datePublished"] = source.published.iso
    if source.archived_url:
        node["archivedAt"] = source.archived_url
    return node


def _sources_of(claim: Claim) -> list[Source]:
    seen: dict[str, Source] = {}
    for passage in claim.passages:
        seen.setdefault(passage.source.id, passage.source)
    return list(seen.values())


def _date_key(date: PartialDate | None) -> tuple[int, ...]:
    return (0, *date.sort_key) if date else (1,)


def claimreview_feed(site: Site) -> Iterator[str]:
    """Every ClaimReview of the site as a schema.org ``DataFeed``, in pieces."""
    feed = {
        "@context": "https://schema.org",
        "@type": "DataFeed",
        "name": f"{site.title}: claim reviews",
        "url": site.absolute("claimreview.json"),
    }
    return _json_pieces(feed, "dataFeedElement", (
        {k: v for k, v in claim_jsonld(c, site).items() if k != "@context"}
        for c in site.claims if c.rating))


# -- data exports ----------------------------------------------------------------

def claims_json(site: Site) -> Iterator[str]:
    """The whole resolved dataset, in a stable order, for other fact-checkers and tools; in
    pieces."""
    data = {
        "schema_version": SCHEMA_VERSION,
        "site": {"title": site.title, "base_url": site.base_url, "language": site.language,
                 "publisher": {"name": site.publisher.name, "url": site.publisher.url}},
        "ratings": [{"id": r.id, "label": r.label, "description": r.description,
                     "position": r.position} for r in site.ratings],
        "topics": [{"id": t.id, "label": t.label, "url": site.absolute(t.url)}
                   for t in site.topics],
        "claimants": [{"id": c.id, "name": c.name, "kind": c.kind, "role": c.role,
                       "same_as": c.same_as, "url": site.absolute(c.url)}
                      for c in site.claimants],
        "sources": [{"id": s.id, "title": s.title, "outlet": s.outlet, "url": s.original_url,
                     "archived_url": s.archived_url,
                     "published": s.published.iso if s.published else None,
                     "language": s.language, "page": site.absolute(s.url)}
                    for s in site.sources],
    }
    return _json_pieces(data, "claims", (_claim_record(c, site) for c in site.claims))


def _claim_record(claim: Claim, site: Site) -> dict[str, Any]:
    return {
        "id": claim.id,
        "url": site.absolute(claim.url),
        "claim": claim.text,
        "claimants": [c.id for c in claim.claimants],
        "date": claim.date.iso,
        "venue": claim.venue,
        "rating": claim.rating.id if claim.rating else None,
        "topics": [t.id for t in claim.topics],
        "passages": [{"source": p.source.id, "quote": p.quote, "text": p.text,
                      "start": p.span.start, "end": p.span.end,
                      "parts": [{"start": s.start, "end": s.end} for s in p.pieces],
                      "page": site.absolute(p.url), "original": p.original_url}
                     for p in claim.passages],
        "disputes": [c.id for c in claim.disputes],
        "disputed_by": [c.id for c in claim.disputed_by],
        "supports": [c.id for c in claim.supports],
        "supported_by": [c.id for c in claim.supported_by],
        "published": claim.published.iso if claim.published else None,
        "updates": [{"date": u.date.iso, "note": str(u.note_html.at(site.base_url))}
                    for u in claim.updates],
    }


def claims_csv(site: Site) -> Iterator[str]:
    """One row per claim; lists are joined with '; '. Cells are made spreadsheet-safe.
    In pieces of a row each."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    yield out.getvalue()
    for claim in site.claims:
        row = [
            claim.id, site.absolute(claim.url), claim.text,
            "; ".join(c.name for c in claim.claimants), claim.date.iso, claim.venue or "",
            claim.rating.label if claim.rating else "", "; ".join(t.label for t in claim.topics),
            "; ".join(dict.fromkeys(p.source.id for p in claim.passages)),
            "; ".join(c.id for c in claim.disputes), "; ".join(c.id for c in claim.disputed_by),
            "; ".join(c.id for c in claim.supports), "; ".join(c.id for c in claim.supported_by),
            claim.published.iso if claim.published else "",
            claim.last_updated.iso if claim.updates else "",
        ]
        out.seek(0)
        out.truncate()
        writer.writerow([spreadsheet_safe(cell) for cell in row])
        yield out.getvalue()


def spreadsheet_safe(cell: str) -> str:
    """Defuse formula injection: a cell that a spreadsheet would evaluate gets a leading '."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def _json_pieces(head: dict[str, Any], key: str, items: Iterable[Any]) -> Iterator[str]:
    """``json.dumps({**head, key: list(items)}, ensure_ascii=False, indent=2)`` and a line
    break, in pieces, an item at a time: at 100,000 claims the whole list as one value took
    hundreds of MiB. ``key`` comes last."""
    empty = _indented({**head, key: []}, "\n") + "\n"
    end = "[]\n}\n"  # how the document ends when the list is empty
    yield empty[:-len(end)]
    separator = "[\n    "
    for item in items:  # nested two levels deep: each line indented by four more spaces
        yield separator + _indented(item, "\n    ")
        separator = ",\n    "
    yield end if separator == "[\n    " else "\n  ]\n}\n"


def _indented(value: Any, newline: str) -> str:
    """``json.dumps(value, ensure_ascii=False, indent=2)`` with ``newline`` (a line break and
    the indentation of the line ``value`` starts on) for each line break: the same text, sooner.
    json indents in Python, a generator per container: most of the data files' time
    (claims.json and claimreview.json at 1,000 claims: 0.082 s of CPU; here 0.031 s). Text
    is escaped by json's own C function, and each container joined at once."""
    kind = type(value)
    if kind is dict:
        if not value:
            return "{}"
        inner = newline + "  "
        parts = []
        for key, item in value.items():
            if type(key) is not str:  # json turns other keys into text
                return json.dumps(value, ensure_ascii=False, indent=2).replace("\n", newline)
            text = encode_basestring(item) if type(item) is str else _indented(item, inner)
            parts.append(f"{encode_basestring(key)}: {text}")
        return f"{{{inner}{(',' + inner).join(parts)}{newline}}}"
    if kind is list or kind is tuple:
        if not value:
            return "[]"
        inner = newline + "  "
        parts = [encode_basestring(item) if type(item) is str else _indented(item, inner)
                 for item in value]
        return f"[{inner}{(',' + inner).join(parts)}{newline}]"
    if kind is str:
        return encode_basestring(value)
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(value)
    return json.dumps(value, ensure_ascii=False, indent=2).replace("\n", newline)
