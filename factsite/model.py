"""The resolved site: frozen entities that reference each other as objects.

Relations are stored once in content and exposed on both sides here
(``disputes``/``disputed_by``, ``passages``/``source.citations``). Every
entity knows its own site-relative ``url``; templates never build paths or
look anything up by id. Back-references are set once by :func:`link`
while the site is assembled, before anyone else sees it.
"""

from __future__ import annotations

import copyreg
import heapq
import pickle
import re
from bisect import bisect_left
from dataclasses import dataclass, field, fields
from functools import cached_property
from operator import attrgetter
from typing import Any, BinaryIO, Callable, Iterator
from urllib.parse import urlsplit

from .markdown import Prose

from .passages import Span

# Where each kind of entry lives, relative to the site's root.
_ENTRY_PATHS = {"claim": "claims/{}/", "claimant": "claimants/{}/", "source": "sources/{}/",
                "topic": "topics/{}/", "rating": "ratings/{}/", "page": "{}/"}


def entry_url(kind: str, entry_id: str) -> str:
    """The site-relative URL of an entry (also what ``claim:ID`` links in Markdown lead to).

    An entity's ``url`` is kept once worked out (a page reads its claims' ten times): it
    follows from the id alone, which an entity keeps (a renamed entry is another one)."""
    return _ENTRY_PATHS[kind].format(entry_id)


OMISSION = " […] "  # shown where a quote leaves words out
RTL_LANGUAGES = frozenset({"ar", "arc", "ckb", "dv", "fa", "he", "ks", "ps", "sd", "ug", "ur", "yi"})


@dataclass(frozen=True, order=True)
class PartialDate:
    year: int
    month: int | None = None
    day: int | None = None

    @cached_property  # every date shown reads it (<time datetime>), on many pages
    def iso(self) -> str:
        parts = [f"{self.year:04d}"]
        if self.month:
            parts.append(f"{self.month:02d}")
        if self.day:
            parts.append(f"{self.day:02d}")
        return "-".join(parts)

    @property
    def rfc3339(self) -> str:
        """Midnight UTC of the first day the date covers (Atom needs a full timestamp)."""
        return f"{self.year:04d}-{self.month or 1:02d}-{self.day or 1:02d}T00:00:00Z"

    @cached_property
    def sort_key(self) -> tuple[int, int, int]:
        """Kept: every listing and save sorts thousands of claims by it."""
        return self.year, self.month or 0, self.day or 0


def _entity(cls):  # noqa: ANN001 - a decorator for all entities
    """Frozen, compared by identity, and with a short repr: the graph has cycles."""
    cls.__repr__ = lambda self: f"<{type(self).__name__} {getattr(self, 'id', '')}>".replace(" >", ">")
    return dataclass(frozen=True, eq=False, repr=False)(cls)


@_entity
class Rating:
    id: str
    label: str
    description: str | None
    position: int  # 1 = best
    scale_size: int
    claims: tuple[Claim, ...] = ()

    @cached_property
    def url(self) -> str:
        return entry_url("rating", self.id)


@_entity
class Topic:
    id: str
    label: str
    description: str | None
    claims: tuple[Claim, ...] = ()

    @cached_property
    def url(self) -> str:
        return entry_url("topic", self.id)


@_entity
class Publisher:
    name: str
    url: str | None


@_entity
class Claimant:
    id: str
    name: str
    kind: str
    role: str | None
    same_as: str | None
    description_html: Prose | None
    claims: tuple[Claim, ...] = ()

    @cached_property
    def url(self) -> str:
        return entry_url("claimant", self.id)

    @cached_property
    def disputed_by(self) -> tuple[Claim, ...]:
        """Claims by others that dispute any of this claimant's claims."""
        seen: dict[str, Claim] = {}
        for claim in self.claims:
            for counter in claim.disputed_by:
                if self not in counter.claimants:
                    seen.setdefault(counter.id, counter)
        return tuple(sorted(seen.values(), key=Claim.chronological))


@dataclass(frozen=True)
class Capture:
    """Where and when a source's text was captured, and the hash of the recorded exchange."""

    url: str
    timestamp: str  # YYYY-MM-DDTHH:MM:SSZ
    sha256: str | None

    @property
    def date(self) -> PartialDate:
        year, month, day = self.timestamp[:10].split("-")
        return PartialDate(int(year), int(month), int(day))

    @property
    def time(self) -> str:
        """HH:MM, UTC."""
        return self.timestamp[11:16]


@_entity
class Source:
    id: str
    title: str
    outlet: str | None
    original_url: str | None
    archived_url: str | None
    published: PartialDate | None
    language: str
    text: str
    capture: Capture | None = None
    citations: tuple[Passage, ...] = ()

    @cached_property
    def url(self) -> str:
        return entry_url("source", self.id)

    @property
    def cited_by(self) -> tuple[Claim, ...]:
        """The claims citing this source, each once, in the order of their first passage."""
        return tuple(dict.fromkeys(p.claim for p in self.citations))

    @property
    def direction(self) -> str:
        """'rtl' for sources in right-to-left scripts, for the ``dir`` attribute."""
        return "rtl" if self.language.split("-")[0].lower() in RTL_LANGUAGES else "ltr"

    @cached_property
    def parts(self) -> tuple[SourcePart, ...]:
        """The text as its pages show it: whole paragraphs, at most
        :data:`SOURCE_PART_CHARS` characters and :data:`SOURCE_PART_PASSAGES` cited
        passages a page (a paragraph longer than that, or a passage that runs over
        paragraphs, is not cut). Most sources are one part."""
        numbers = {id(p): n for n, p in enumerate(self.citations, start=1)}
        pieces = [(piece.start, piece.end, p) for p in self.citations for piece in p.pieces]
        pieces.sort(key=lambda piece: piece[0])
        starts = [piece[0] for piece in pieces]
        parts = []
        for number, (start, end) in enumerate(_part_bounds(self.text, self.citations), 1):
            inside = pieces[bisect_left(starts, start):bisect_left(starts, end)]
            parts.append(SourcePart(number, tuple(p for p in self.citations
                                                  if start <= p.span.start < end),
                                    _highlight_events(self.text, start, end, inside, numbers)))
        return tuple(parts)

    def url_of_part(self, number: int) -> str:
        return self.url if number == 1 else f"{self.url}page/{number}/"

    @cached_property
    def _part_numbers(self) -> dict[str, int]:
        """The number of the part holding each passage, by anchor, when there are several."""
        parts = self.parts
        return {p.anchor: part.number for part in parts for p in part.citations
                } if len(parts) > 1 else {}

    def passage_url(self, passage: Passage) -> str:
        """The address of ``passage``'s highlight: on the page of the part holding it."""
        return f"{self.url_of_part(self._part_numbers.get(passage.anchor, 1))}#{passage.anchor}"


@dataclass(frozen=True)
class SourcePart:
    """One page's share of a source's text."""

    number: int  # 1-based
    citations: tuple[Passage, ...]  # the passages that start in it, in text order
    # The text with every cited passage as a properly nested highlight, as a flat run of
    # ("text", str), ("open", highlight) and ("close", highlight), so that a template
    # writes it with one loop: a recursive macro overflowed Jinja's stack when hundreds
    # of claims cite one passage. A passage inside another nests in it; a passage that
    # crosses the end of another is cut there and continues as a second piece.
    events: tuple[tuple[str, str | Highlight], ...]


SOURCE_PART_CHARS = 50_000  # characters of a source's text a page (~60 KB of HTML)
SOURCE_PART_PASSAGES = 100  # cited passages a page (each a highlight and a list entry)
_PARAGRAPH_END = re.compile(r"\n[^\S\n]*\n\s*")


def _part_bounds(text: str, citations: tuple[Passage, ...]) -> list[tuple[int, int]]:
    """(start, end) of each page's share of ``text``: cut after a blank line, never inside
    a passage, as late as the limits allow."""
    if len(text) <= SOURCE_PART_CHARS and len(citations) <= SOURCE_PART_PASSAGES:
        return [(0, len(text))]
    spans = sorted((p.span.start, p.span.end) for p in citations)
    starts = [start for start, _ in spans]
    bounds, start, previous = [], 0, 0
    covered, reach = 0, 0  # spans that start before the cut, and the furthest they end
    for match in [*_PARAGRAPH_END.finditer(text), None]:
        cut = match.end() if match else len(text)
        while covered < len(spans) and spans[covered][0] < cut:
            reach = max(reach, spans[covered][1])
            covered += 1
        if reach > cut and match:
            continue  # inside a passage
        if previous > start and (cut - start > SOURCE_PART_CHARS or bisect_left(starts, cut)
                                 - bisect_left(starts, start) > SOURCE_PART_PASSAGES):
            bounds.append((start, previous))
            start = previous
        previous = cut
    if start < len(text) or not bounds:
        bounds.append((start, len(text)))
    return bounds


@dataclass(frozen=True)
class Highlight:
    passage: Passage
    number: int  # the passage's number on the source page
    first: bool  # the piece where the passage starts (it carries the anchor)
    last: bool  # the piece where the passage ends (its claim link follows)


def _highlight_events(text: str, lo: int, hi: int, pieces: list[tuple[int, int, Passage]],
                      numbers: dict[int, int]) -> tuple[tuple[str, str | Highlight], ...]:
    """``text[lo:hi]`` with ``pieces`` as nested highlights (:attr:`SourcePart.events`).

    One sweep in the order of the pieces' starts (longest first), with the highlights
    open at that point on a stack: a piece that ends past the one it starts in is cut
    at that end and goes on from there. No recursion: a thousand claims quoting the
    same words nest a thousand deep.
    """
    queue = [(start, -end, passage.anchor, end, passage) for start, end, passage in pieces]
    heapq.heapify(queue)
    events: list[tuple[str, str | Highlight]] = []
    opened: list[tuple[int, Highlight]] = []  # (where it ends, highlight), innermost last
    position = lo

    def close(upto: int) -> None:  # every highlight that ends by ``upto``
        nonlocal position
        while opened and opened[-1][0] <= upto:
            end, highlight = opened.pop()
            if position < end:
                events.append(("text", text[position:end]))
                position = end
            events.append(("close", highlight))

    while queue:
        start, _, anchor, end, passage = heapq.heappop(queue)
        close(start)
        if opened and end > opened[-1][0]:  # crosses the end of the one it is in
            heapq.heappush(queue, (opened[-1][0], -end, anchor, end, passage))
            end = opened[-1][0]
        if position < start:
            events.append(("text", text[position:start]))
            position = start
        highlight = Highlight(passage, numbers[id(passage)], start == passage.span.start,
                              end == passage.span.end)
        events.append(("open", highlight))
        opened.append((end, highlight))
    close(hi)
    if position < hi:
        events.append(("text", text[position:hi]))
    return tuple(events)


@_entity
class Passage:
    claim: Claim
    number: int  # 1-based within its claim
    source: Source
    quote: str
    span: Span
    before: str  # context shown around the passage
    after: str
    text_fragment: str  # '#:~:text=…' locating the passage in the original
    pieces: tuple[Span, ...]  # the quoted words: one span, or one per part around omissions

    @property
    def original_url(self) -> str | None:
        """The original address with a text fragment that scrolls to the passage."""
        if not self.source.original_url:
            return None
        return self.source.original_url.split("#", 1)[0] + self.text_fragment

    @property
    def shown(self) -> tuple[str, ...]:
        """The quoted parts exactly as published (typography may differ from the quote),
        to be shown with an omission mark between them."""
        return tuple(self.source.text[p.start:p.end] for p in self.pieces)

    @property
    def text(self) -> str:
        """The passage as published, with '[…]' where words are left out."""
        return OMISSION.join(self.shown)

    @property
    def anchor(self) -> str:
        return f"passage-{self.claim.id}-{self.number}"

    @property
    def url(self) -> str:
        return self.source.passage_url(self)


@_entity
class Update:
    date: PartialDate
    note_html: Prose


@_entity
class Claim:
    id: str
    text: str
    claimants: tuple[Claimant, ...]
    date: PartialDate
    venue: str | None
    rating: Rating | None
    topics: tuple[Topic, ...]
    analysis_html: Prose | None
    published: PartialDate | None
    updates: tuple[Update, ...]
    passages: tuple[Passage, ...] = ()
    disputes: tuple[Claim, ...] = ()
    supports: tuple[Claim, ...] = ()
    disputed_by: tuple[Claim, ...] = ()
    supported_by: tuple[Claim, ...] = ()
    thread: ThreadNode | None = None  # the root of its connected thread, if it has relations

    @cached_property
    def url(self) -> str:
        return entry_url("claim", self.id)

    @property
    def is_disputed(self) -> bool:
        return bool(self.disputed_by)

    @property
    def first_published(self) -> PartialDate:
        """When the entry was published, or else when the claim was made (feeds sort by it)."""
        return self.published or self.date

    @cached_property
    def last_updated(self) -> PartialDate:
        """The date of its latest update, or when it was first published (kept: every
        listing page's date is the latest of its claims', worked out again on each save)."""
        return max((u.date for u in self.updates), key=lambda d: d.sort_key,
                   default=self.first_published)

    @cached_property
    def relations(self) -> dict[str, tuple[Claim, ...]]:
        """The claims directly linked to this one by how they relate to it, each claim once.

        Keys: disputed_by, disputes, supported_by, supports; a claim linked two ways is
        listed under the first of these.
        """
        seen: set[Claim] = set()
        groups = {}
        for relation, others in (("disputed_by", self.disputed_by), ("disputes", self.disputes),
                                 ("supported_by", self.supported_by), ("supports", self.supports)):
            groups[relation] = tuple(c for c in others if c not in seen)
            seen.update(others)
        return groups

    def chronological(self) -> tuple[Any, ...]:
        return self.date.sort_key, self.id


@dataclass(frozen=True, eq=False)
class ThreadNode:
    """A claim in a dispute thread, with how it relates to the claim above it.

    ``size``, ``height`` and ``holds_disputes`` are worked out from the children when a
    node is made (children first), so nothing walks a thread recursively: a chain of
    thousands of claims, each answering the one before, is a thread thousands deep.
    """

    claim: Claim
    relation: str | None  # None at the root; else disputes | supports | disputed_by | supported_by
    children: tuple[ThreadNode, ...]
    # What else this claim disputes or supports in the thread, placed elsewhere in the tree:
    # (disputes | supports, claim). So every link of the thread shows.
    also: tuple[tuple[str, Claim], ...] = ()
    # The claim it relates to when that is not the one shown above it (a part of a thread
    # too large or too deep for one tree: see :func:`thread_parts`).
    above: Claim | None = None
    size: int = field(init=False)  # claims in the tree it heads
    height: int = field(init=False)  # levels of the tree it heads: 1 for a claim alone
    holds_disputes: bool = field(init=False)  # any link below it is a dispute (else supports)

    def __post_init__(self) -> None:
        children = self.children
        object.__setattr__(self, "size", 1 + sum(c.size for c in children))
        object.__setattr__(self, "height", 1 + max((c.height for c in children), default=0))
        object.__setattr__(self, "holds_disputes", any(
            c.relation in ("disputes", "disputed_by") or c.holds_disputes for c in children))

    def __repr__(self) -> str:
        return f"<ThreadNode {self.claim.id}>"

    def walk(self) -> Iterator[ThreadNode]:
        """Every node of the tree it heads, in document order (each before its children)."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))


def build_threads(claims: tuple[Claim, ...]) -> tuple[ThreadNode, ...]:
    """Every connected group of claims linked by disputes or supports, as a tree.

    Each tree starts at the group's earliest claim and reaches every other claim of the
    group once, breadth first, so a claim's place shows its nearest link to the start.
    """
    placed: set[str] = set()
    threads = []
    for root in claims:  # chronological, so each group starts at its earliest claim
        if root.id in placed or not _neighbours(root):
            continue
        placed.add(root.id)
        order: list[tuple[Claim, str | None, Claim | None]] = [(root, None, None)]
        children_of: dict[str, list[tuple[Claim, str]]] = {}
        for current, _, _ in order:  # grows as it goes: breadth first
            children_of[current.id] = []
            for relation, other in _neighbours(current):
                if other.id not in placed:
                    placed.add(other.id)
                    children_of[current.id].append((other, relation))
                    order.append((other, relation, current))
        made: dict[str, ThreadNode] = {}
        for claim, relation, parent in reversed(order):  # children before their parents
            children = children_of[claim.id]
            linked = {id(parent), *(id(child) for child, _ in children)}
            also = tuple((kind, other) for kind, others in (("disputes", claim.disputes),
                                                            ("supports", claim.supports))
                         for other in others if id(other) not in linked)
            made[claim.id] = ThreadNode(claim, relation, tuple(
                made.pop(child.id) for child, _ in children), also)
        threads.append(made[root.id])
    return tuple(threads)


THREAD_DEPTH = 6  # levels of a thread shown nested; a deeper claim starts a tree of its own


@dataclass(frozen=True)
class ThreadPart:
    """What a threads page shows of a thread: all of it, or one part of a thread that is
    larger than a page, as the trees it shows."""

    thread: ThreadNode  # the whole thread
    roots: tuple[ThreadNode, ...]  # the trees shown: ``(thread,)`` when it is shown whole
    number: int  # 1-based
    count: int  # the thread's parts

    @property
    def anchor(self) -> str:
        """The part's id on its page (the first part's is the thread's)."""
        suffix = f"--part-{self.number}" if self.number > 1 else ""  # '--': in no claim id
        return f"thread-{self.thread.claim.id}{suffix}"

    @property
    def size(self) -> int:
        return sum(root.size for root in self.roots)

    def claims(self) -> Iterator[Claim]:
        return (node.claim for root in self.roots for node in root.walk())


def thread_parts(thread: ThreadNode, size: int) -> tuple[ThreadPart, ...]:
    """``thread`` whole, or cut in document order into parts of ``size`` claims; each part's
    trees at most :data:`THREAD_DEPTH` levels deep. A claim whose parent is not shown above
    it (on an earlier page, or past that depth) heads a tree that names the claim it
    relates to (``above``)."""
    if thread.size <= size and thread.height <= THREAD_DEPTH:
        return (ThreadPart(thread, (thread,), 1, 1),)
    order: list[tuple[ThreadNode, ThreadNode | None]] = []
    stack: list[tuple[ThreadNode, ThreadNode | None]] = [(thread, None)]
    while stack:
        node, parent = stack.pop()
        order.append((node, parent))
        stack.extend((child, node) for child in reversed(node.children))
    count = -(-len(order) // size)
    parts = []
    for number in range(1, count + 1):
        chunk = order[(number - 1) * size:number * size]
        level: dict[int, int] = {}  # id(node) → its level in the part's trees
        under = []  # whether each is shown under its parent
        for node, parent in chunk:
            up = level.get(id(parent))
            under.append(up is not None and up + 1 < THREAD_DEPTH)
            level[id(node)] = up + 1 if under[-1] else 0
        children: dict[int, list[ThreadNode]] = {}
        roots = []
        for (node, parent), nested in zip(reversed(chunk), reversed(under)):  # children first
            shown = ThreadNode(node.claim, node.relation,
                               tuple(reversed(children.pop(id(node), []))), node.also,
                               None if nested or parent is None else parent.claim)
            (children.setdefault(id(parent), []) if nested else roots).append(shown)
        parts.append(ThreadPart(thread, tuple(reversed(roots)), number, count))
    return tuple(parts)


def _neighbours(claim: Claim) -> list[tuple[str, Claim]]:
    """(how the neighbour relates to ``claim``, neighbour)."""
    return ([("disputes", c) for c in claim.disputed_by]
            + [("supports", c) for c in claim.supported_by]
            + [("disputed_by", c) for c in claim.disputes]
            + [("supported_by", c) for c in claim.supports])


@_entity
class Page:
    id: str
    title: str
    description: str | None
    html: Prose

    @cached_property
    def url(self) -> str:
        return entry_url("page", self.id)


@_entity
class Site:
    title: str
    description: str | None
    base_url: str
    language: str
    publisher: Publisher
    ratings: tuple[Rating, ...]
    topics: tuple[Topic, ...]
    claimants: tuple[Claimant, ...]
    sources: tuple[Source, ...]
    claims: tuple[Claim, ...]  # chronological
    pages: tuple[Page, ...]
    page_size: int = 50  # claims per page of a listing
    feed_size: int = 50  # entries in feed.xml

    def absolute(self, url: str) -> str:
        """A site-relative URL made absolute under ``base_url`` (canonical links, feeds)."""
        return self.base_url + url

    def tag_uri(self, url: str, date: PartialDate) -> str:
        """A ``tag:`` URI (RFC 4151) for the page at ``url``: an id that outlives base_url.

        Its authority is the publisher's domain (else the site's), with the date it named
        the page first.
        """
        authority = urlsplit(self.publisher.url or self.base_url).hostname or "localhost"
        return f"tag:{authority},{date.iso}:{url}"

    @cached_property
    def busiest_claimants(self) -> tuple[Claimant, ...]:
        """The claimants with the most claims, for the home page (the rest have a listing)."""
        return _busiest(self.claimants, lambda c: c.name)

    @cached_property
    def busiest_topics(self) -> tuple[Topic, ...]:
        return _busiest(self.topics, lambda t: t.label)

    @cached_property
    def disputed_count(self) -> int:
        return sum(1 for c in self.claims if c.is_disputed)

    @cached_property
    def threads(self) -> tuple[ThreadNode, ...]:
        return tuple(c.thread for c in self.claims if c.thread and c.thread.claim is c)

    @cached_property
    def corrections(self) -> tuple[tuple[Claim, Update], ...]:
        """Every update of every claim, newest first."""
        return tuple(sorted(((c, u) for c in self.claims for u in c.updates),
                            key=lambda cu: (cu[1].date.sort_key, cu[0].id), reverse=True))

    @cached_property
    def latest_claims(self) -> tuple[Claim, ...]:
        """Newest first: ``claims`` (in date order, then by id) reversed."""
        return self.claims[::-1]

    def __reduce__(self) -> tuple:
        """Pickle as a flat table: the default recursion follows relations and overflows."""
        return _unflatten, (_flatten(self),)


class _Ref(int):
    """A reference to the n-th entity of a flattened site."""


def _flatten(site: Site) -> list[tuple[type, list[Any]]]:
    """Every entity reachable from ``site`` as (class, field values), references as :class:`_Ref`."""
    position: dict[int, int] = {}
    entities: list[Any] = []

    def encode(value: Any) -> Any:
        if type(value) in _GRAPH:
            if id(value) not in position:
                position[id(value)] = len(entities)
                entities.append(value)
            return _Ref(position[id(value)])
        if type(value) is tuple:
            return tuple(encode(item) for item in value)
        return value

    encode(site)
    rows = []
    for entity in entities:  # grows while we encode: breadth first, no recursion
        rows.append((type(entity), [encode(getattr(entity, f.name)) for f in fields(entity)]))
    return rows


def _unflatten(rows: list[tuple[type, list[Any]]]) -> Site:
    entities = [object.__new__(cls) for cls, _ in rows]

    def decode(value: Any) -> Any:
        if type(value) is _Ref:
            return entities[value]
        if type(value) is tuple:
            return tuple(decode(item) for item in value)
        return value

    for entity, (cls, values) in zip(entities, rows):
        for f, value in zip(fields(cls), values):
            object.__setattr__(entity, f.name, decode(value))
    return entities[0]


_GRAPH = frozenset({Site, Claim, Claimant, Source, Topic, Rating, Publisher, Passage, Update, Page,
                    ThreadNode})
_FIELDS = {cls: tuple(f.name for f in fields(cls)) for cls in _GRAPH}
# Each class's fields as a tuple, read in C: a generator of getattr calls took half the time
# of pickling the site (0.18 s of 0.40 at 10,000 claims).
# (Every class of the graph has two fields or more: attrgetter of one name gives no tuple.)
_ROW = {cls: attrgetter(*names) for cls, names in _FIELDS.items()}


class _SitePickler(pickle.Pickler):
    """Writes each entity as an empty object of its class where it is first met, and its
    fields in a later row: no recursion along relations. Every later reference to it is
    the pickler's memo, and the override below is asked only about objects that are not
    strings, numbers or builtin containers (a persistent id was asked about every one of
    them: 1.1 million calls and a third of the time at 10,000 claims)."""

    def __init__(self, file: BinaryIO):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.met: list[Any] = []

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) not in _GRAPH:
            return NotImplemented
        self.met.append(obj)
        return copyreg.__newobj__, (type(obj),)


def pickle_site(site: Site, file: BinaryIO) -> None:
    """Pickle ``site`` into ``file`` for :func:`unpickle_site`, a few times faster than its
    flat table (:meth:`Site.__reduce__`): the rows of the entities met so far, each
    (entity, its fields), in rounds, until a round meets no new entity."""
    pickler = _SitePickler(file)
    pickler.dump(site)
    done = 0
    while done < len(pickler.met):
        round_, done = pickler.met[done:], len(pickler.met)
        pickler.dump([(entity, _ROW[type(entity)](entity)) for entity in round_])
    pickler.dump(None)


def unpickle_site(file: BinaryIO) -> Site:
    """The site :func:`pickle_site` wrote into ``file``."""
    unpickler = pickle.Unpickler(file)  # one memo for every row: entities met in earlier ones
    site = unpickler.load()
    while (rows := unpickler.load()) is not None:
        for entity, values in rows:
            entity.__dict__.update(zip(_FIELDS[type(entity)], values))
    return site


FACET_SIZE = 12  # entries of a way to browse on the home page


def _busiest(entries: tuple[Any, ...], name: Callable[[Any], str]) -> tuple[Any, ...]:
    return tuple(sorted((e for e in entries if e.claims),
                        key=lambda e: (-len(e.claims), name(e)))[:FACET_SIZE])


def link(obj: Any, **references: Any) -> None:
    """Set back-references on a frozen entity while the site is being assembled."""
    for name, value in references.items():
        object.__setattr__(obj, name, value)


def forget_computed(entity: Any) -> None:
    """Drop an entity's cached properties: they were worked out from fields that changed
    (the dev server patches entities in place)."""
    names = {f.name for f in fields(entity)}
    for name in [name for name in entity.__dict__ if name not in names]:
        del entity.__dict__[name]


@dataclass(frozen=True)
class Pagination:
    """One page of a listing: the items it shows and the way to the listing's other pages.

    Page 1 is at the listing's own URL, page N at ``<listing>page/N/``.
    """

    items: tuple[Any, ...]
    number: int  # 1-based
    count: int  # pages in the listing
    listing_url: str

    def url_of(self, number: int) -> str:
        return self.listing_url if number == 1 else f"{self.listing_url}page/{number}/"

    @property
    def url(self) -> str:
        return self.url_of(self.number)

    @property
    def prev_url(self) -> str | None:
        return self.url_of(self.number - 1) if self.number > 1 else None

    @property
    def next_url(self) -> str | None:
        return self.url_of(self.number + 1) if self.number < self.count else None

    @property
    def links(self) -> tuple[int | None, ...]:
        """Page numbers to link: the first, the last and two either side; None marks a gap."""
        shown = sorted({1, self.count, *range(max(1, self.number - 2),
                                              min(self.count, self.number + 2) + 1)})
        links: list[int | None] = []
        for n in shown:
            if links and n - links[-1] == 2:  # a gap of one page: show it rather than "…"
                links.append(n - 1)
            elif links and n - links[-1] > 2:
                links.append(None)
            links.append(n)
        return tuple(links)


def paginate(items: tuple[Any, ...] | list[Any], listing_url: str, size: int,
             ) -> tuple[Pagination, ...]:
    """``items`` cut into pages of ``size``; an empty listing still has its first page."""
    count = max(1, -(-len(items) // size))
    return tuple(Pagination(tuple(items[(n - 1) * size:n * size]), n, count, listing_url)
                 for n in range(1, count + 1))
