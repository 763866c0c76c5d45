"""The build cache, ``.factsite-cache/``: what earlier builds read and wrote, keyed by content.

Two kinds of records, both safe to delete (the next build is then cold):

- **memos** of pure work keyed by a hash of its input: parsed documents
  (keyed by kind, path and file bytes), anchored quotes (source text, quote,
  prefix, suffix) and rendered Markdown (its text). Pelican's cache.py is the
  model: a small table per kind, rewritten when it changed.
- **the state of the last build into an output directory**: the hash of every
  input (content and theme bytes, factsite's own code, options), and for each
  page the templates it loaded and the entity fields it read while it rendered,
  with a fingerprint of each value (Lektor's dependency recording, per field).
  A page is rendered again only when one of those changed; the others are
  linked from the previous output.

Nothing here uses modification times. Fingerprints describe values, with the
entities a value refers to described by their identity (kind and id): what a
template then reads of those entities is recorded on its own.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import bisect
import pickle
import tempfile
from array import array
from itertools import chain
from pathlib import Path
from typing import Any, Callable, Iterable

from markupsafe import Markup

from . import model as m

CACHE_DIR = ".factsite-cache"
FORMAT = 3  # bump when the layout of the records changes
_PACKAGE = Path(__file__).resolve().parent

ReadKey = tuple[str, str]  # (entity key, attribute)

# Entities with an identity: a value that refers to one is described by its key.
_IDENTITY: dict[type, Callable[[Any], str]] = {
    m.Site: lambda e: "site",
    m.Claim: lambda e: f"claim:{e.id}",
    m.Claimant: lambda e: f"claimant:{e.id}",
    m.Source: lambda e: f"source:{e.id}",
    m.Topic: lambda e: f"topic:{e.id}",
    m.Rating: lambda e: f"rating:{e.id}",
    m.Page: lambda e: f"page:{e.id}",
    m.Passage: lambda e: f"passage:{e.claim.id}:{e.number}",
}
_BY_ID = {kind: f"@{name}:" for kind, name in (  # the entities whose key is their kind and id
    (m.Claim, "claim"), (m.Claimant, "claimant"), (m.Source, "source"), (m.Topic, "topic"),
    (m.Rating, "rating"), (m.Page, "page"))}
RECORDED = frozenset(_IDENTITY)  # the types whose attribute reads templates record

# What a method of an entity depends on, when it is less than the whole entity.
_METHOD_READS = {(m.Site, "absolute"): ("base_url",),
                 (m.Site, "tag_uri"): ("base_url", "publisher")}


def entity_key(entity: Any) -> str:
    return _IDENTITY[type(entity)](entity)


TOKEN = 16  # bytes of a digest


def digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=TOKEN).digest()


class Deferred:
    """A page context's value made each time the page renders or is fingerprinted, rather
    than held by the plan: a claim page's JSON-LD (its dicts were most of the plan's memory,
    ~25 MiB at 10,000 claims, in the process that render workers fork from and beside the
    search index). It fingerprints as the value it makes."""

    __slots__ = ("make", "args")

    def __init__(self, make: Callable[..., Any], *args: Any):
        self.make, self.args = make, args

    def __call__(self) -> Any:
        return self.make(*self.args)


def fingerprint(value: Any, memo: dict[int, tuple[Any, str]] | None = None) -> bytes:
    """A stable digest of ``value``: equal values give equal digests, in any process.

    ``memo`` shares the descriptions of value objects between calls (a thread is
    shared by all its claims).
    """
    parts: list[str] = []
    _describe(value, parts, {} if memo is None else memo)
    return digest("\x1f".join(parts).encode("utf-8", "surrogatepass"))


def token(value: Any, memo: dict[int, tuple[Any, str]]) -> bytes:
    """``fingerprint(value, memo)``, sooner for what templates read most: text, numbers,
    references to entities and runs of them, dates and rendered Markdown (one hash of the
    description :func:`_describe` makes, without its walk)."""
    kind = type(value)
    if kind is str:
        return digest(b"s" + value.encode("utf-8", "surrogatepass"))
    if value is None or kind is bool:
        return _CONSTANT_TOKENS[value]
    if kind is int:
        return digest(repr(value).encode())
    if kind in _IDENTITY:
        return digest(("@" + _IDENTITY[kind](value)).encode("utf-8", "surrogatepass"))
    if kind is tuple:  # a claim's topics, claimants, passages, counterclaims...
        if not value:
            return _EMPTY_TOKEN
        run = _run(value)
        if run is not None:
            return digest("\x1f".join([f"[{len(value)}", *run]).encode("utf-8", "surrogatepass"))
    elif kind is m.PartialDate:
        return digest(f"PartialDate {value.year} {value.month} {value.day}".encode())
    elif kind is m.Prose:
        return digest(("Prose\x1fs" + value.__getstate__()).encode("utf-8", "surrogatepass"))
    return fingerprint(value, memo)


_CONSTANT_TOKENS = {value: digest(repr(value).encode()) for value in (None, True, False)}
_EMPTY_TOKEN = digest(b"[0")  # of an empty tuple (a claim's updates, disputes...)


def _run(value: tuple | list) -> list[str] | None:
    """The description of a run of entities of one kind (a listing's claims, a claim's
    passages) or of text, the commonest long values: as :func:`_describe` describes them
    item by item, sooner. None for another run."""
    first = type(value[0])
    for item in value:
        if type(item) is not first:
            return None
    prefix = _BY_ID.get(first)
    if prefix is not None:
        return [prefix + item.id for item in value]
    if first is str:
        return ["s" + item for item in value]
    if first is m.Passage:
        return [f"@passage:{item.claim.id}:{item.number}" for item in value]
    return None


def _describe(value: Any, out: list[str], memo: dict[int, tuple[Any, str]]) -> None:  # noqa: C901
    kind = type(value)
    if kind is str:
        out.append("s" + value)
    elif isinstance(value, Markup):  # also markup of a kind (export.JsonScript)
        # str's own +: ``"m" + value`` is Markup's __radd__, which escapes "m" and copies the
        # text into a new Markup (a claim page's JSON-LD: 6 of its 9 µs)
        out.append(str.__add__("m", value))
    elif value is None or kind in (bool, int, float):
        out.append(repr(value))
    elif kind in _IDENTITY:
        out.append("@" + _IDENTITY[kind](value))
    elif kind is Deferred:
        _describe(value(), out, memo)
    elif kind is m.PartialDate:  # the most common value object (sitemaps list thousands)
        out.append(f"PartialDate {value.year} {value.month} {value.day}")
    elif kind in (tuple, list):
        out.append(f"[{len(value)}")
        run = _run(value) if value else None
        if run is not None:
            out.extend(run)
            return
        _describe_items(value, out, memo)
    elif kind is dict:
        out.append(f"{{{len(value)}")
        _describe_items(chain.from_iterable(value.items()), out, memo)
    elif kind is m.Pagination:  # a page's own, in nearly every context: in place, unhashed
        out.append(f"Pagination {value.number} {value.count}")
        out.append("s" + value.listing_url)
        _describe(value.items, out, memo)
    elif (names := _field_names(kind)) is not None:
        # Value objects (dates, spans, highlights, thread nodes, publisher, updates):
        # their fields. A thread is shared by all its claims: described once.
        # The memo holds the value too, so that its id is not reused while the memo lives.
        known = memo.get(id(value))
        if kind is m.ThreadNode and known is None and any(
                id(child) not in memo for child in value.children):
            # Its subtrees first, deepest first: a thread may be thousands of claims deep.
            for node in reversed([*value.walk()][1:]):
                if id(node) not in memo:
                    _describe(node, [], memo)
        if known is None:
            parts: list[str] = [kind.__name__]
            for name in names:
                _describe(getattr(value, name), parts, memo)
            known = memo[id(value)] = (value, digest(
                "\x1f".join(parts).encode("utf-8", "surrogatepass")).hex())
        out.append(known[1])
    elif kind.__getstate__ is not object.__getstate__:  # a value that says what it holds
        out.append(kind.__name__)
        _describe(value.__getstate__(), out, memo)
    elif callable(value) and type(getattr(value, "__self__", None)) in _IDENTITY:
        owner = value.__self__
        names = _METHOD_READS.get((type(owner), value.__name__),
                                  [f.name for f in dataclasses.fields(owner)])
        out.append(f"method {type(owner).__name__}.{value.__name__}")
        for name in names:
            _describe(getattr(owner, name), out, memo)
    else:
        raise TypeError(f"cannot fingerprint a {kind.__name__} for the build cache")


def _describe_items(items: Iterable[Any], out: list[str], memo: dict[int, tuple[Any, str]],
                    ) -> None:
    """:func:`_describe` each of ``items``, text and entities without a call each."""
    for item in items:
        kind = type(item)
        if kind is str:
            out.append("s" + item)
        elif kind in _IDENTITY:
            out.append("@" + _IDENTITY[kind](item))
        elif kind is tuple:  # as _describe does (a listing's pairs, a source part's events)
            out.append(f"[{len(item)}")
            run = _run(item) if item else None
            if run is not None:
                out.extend(run)
            elif item:
                _describe_items(item, out, memo)
        else:
            _describe(item, out, memo)


_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}


def _field_names(kind: type) -> tuple[str, ...] | None:
    """The names of a dataclass's fields, None for another kind (asked once per kind)."""
    try:
        return _FIELD_NAMES[kind]
    except KeyError:
        names = _FIELD_NAMES[kind] = (tuple(f.name for f in dataclasses.fields(kind))
                                      if dataclasses.is_dataclass(kind) else None)
        return names


# -- recording what a page read --------------------------------------------------


def _attributes(cls: type) -> tuple[str, ...]:
    """What templates may read of an entity: its fields, properties and methods."""
    return tuple(sorted({f.name for f in dataclasses.fields(cls)}
                        | {name for name in dir(cls) if not name.startswith("_")}))


_KINDS = {"site": m.Site, "claim": m.Claim, "claimant": m.Claimant, "source": m.Source,
          "topic": m.Topic, "rating": m.Rating, "page": m.Page, "passage": m.Passage}
assert set(_KINDS.values()) == RECORDED
ATTRIBUTES = {cls: _attributes(cls) for cls in RECORDED}
_ATTRIBUTE_INDEX = {cls: {name: n for n, name in enumerate(names)}
                    for cls, names in ATTRIBUTES.items()}
_UNRECORDED = bytes(TOKEN)  # the token of a read number no page has read


class ReadNumbers:
    """The number of every read a page may record: each entity gets a run of numbers, one
    per attribute of its kind (:data:`ATTRIBUTES`), the first time it is met.

    So a read's number is the entity's first number plus the attribute's place, in
    every process, with no table of reads: a forked render worker numbers its reads
    itself, and the build state keeps one token per number in a bytearray (a table of
    (entity, attribute) keys took ~450 MiB at 100,000 claims). Numbers last across
    builds; an entity that is gone keeps its run (see :meth:`BuildState.assign`).
    """

    def __init__(self) -> None:
        self.entities: list[str] = []  # entity keys, in the order they were numbered
        self.bases = array("I")  # the first number of each
        self.end = 0  # the next number to give
        self._slots: dict[str, int] | None = None  # entity key → its place in ``entities``

    def slots(self) -> dict[str, int]:
        if self._slots is None:
            self._slots = {key: n for n, key in enumerate(self.entities)}
        return self._slots

    def base(self, key: str) -> int:
        """The first number of the entity ``key``, given now if it has none."""
        slots = self.slots()
        slot = slots.get(key)
        if slot is None:
            slot = slots[key] = len(self.entities)
            self.entities.append(key)
            self.bases.append(self.end)
            self.end += len(ATTRIBUTES[_KINDS[key.split(":", 1)[0]]])
        return self.bases[slot]

    def of(self, key: str) -> range:
        """The numbers of the entity ``key`` (none if it has none)."""
        slot = self.slots().get(key)
        if slot is None:
            return range(0)
        return range(self.bases[slot], self.bases[slot] + len(
            ATTRIBUTES[_KINDS[key.split(":", 1)[0]]]))

    def key(self, number: int) -> ReadKey:
        """(entity key, attribute) of a number."""
        slot = bisect.bisect_right(self.bases, number) - 1
        key = self.entities[slot]
        return key, ATTRIBUTES[_KINDS[key.split(":", 1)[0]]][number - self.bases[slot]]

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_slots": None}


class Recorder:
    """Collects, per page, the entity fields and templates read while it rendered.

    Reads are numbered by ``numbers`` (:class:`ReadNumbers`); each value is taken
    down once (as its :func:`token`), as it was then. :meth:`new_values` hands the
    values of the numbers seen since its last call to whoever keeps them (see
    :meth:`BuildState.take`), and forgets them.
    """

    def __init__(self, numbers: ReadNumbers | None = None, taken: Any = None,
                 bases: dict[Any, int] | None = None) -> None:
        """``taken``: a byte per read number, shared by the render workers forked from one
        process (an anonymous shared mmap): set once a worker has taken that read's value
        down, so that the others do not (a value is the same in every worker). Without it,
        every worker took down every value it met (at 10,000 claims each claim's values
        ~5 times, in the ~28 workers that render its pages). ``bases``: the first number of
        each entity by the entity (:meth:`BuildState.assign`): a render worker numbers
        ~30,000 reads it meets first (10,000 claims), and working out an entity's key
        (``claim:<id>``) to look it up took a third of that."""
        self.numbers = numbers or ReadNumbers()
        # entity → attribute → its number, for the recording environment to look up as each
        # read is made: a page reads ~200 fields, most of them read by earlier pages too
        self.number = _Numbering(self.numbers, taken, bases or {})
        self.reads: set[int] | None = None  # the numbers of what the page being rendered read
        self.templates: set[str] | None = None

    def start(self) -> None:
        self.reads, self.templates = set(), set()

    def stop(self) -> tuple[array, tuple[str, ...]]:
        """The numbers of what the page read (with those of the fragments it reused), and the
        names of the templates it loaded."""
        numbers = self.numbered(self.reads)
        templates = tuple(sorted(self.templates))
        self.reads = self.templates = None
        return numbers, templates

    @staticmethod
    def numbered(reads: set[int]) -> array:
        """``reads`` without the read of a name that is not an attribute of the entity's kind:
        it has no value while factsite's code stays the same."""
        reads.discard(_NOT_AN_ATTRIBUTE)
        return array("I", reads)

    def new_values(self) -> list[tuple[int, bytes]]:
        """(number, token) of every read first seen since the last call."""
        fresh = self.number.fresh
        taken = fresh[:]
        fresh.clear()  # the list each entity's reads append to
        return taken


_NOT_AN_ATTRIBUTE = 0xFFFFFFFF  # the number of a read of a name no entity of its kind has


class _Numbering(dict):
    """entity → the numbers of its reads (:class:`_Reads`), made when first asked for: a read
    is looked up as ``number[entity][attribute]`` (:class:`Recorder`), two lookups by identity
    and interned text where one keyed by a fresh (entity, attribute) pair hashed and compared
    both (80 of a recorded read's ~310 ns)."""

    __slots__ = ("numbers", "taken", "bases", "fresh", "memo")

    def __init__(self, numbers: ReadNumbers, taken: Any, bases: dict[Any, int]) -> None:
        super().__init__()
        self.numbers, self.taken, self.bases = numbers, taken, bases
        self.fresh: list[tuple[int, bytes]] = []  # (number, token) not handed over yet
        self.memo: dict[int, tuple[Any, str]] = {}

    def __missing__(self, entity: Any) -> _Reads:
        base = self.bases.get(entity)
        if base is None:
            base = self.numbers.base(entity_key(entity))
        found = self[entity] = _Reads(entity, base, self.taken, self.fresh, self.memo)
        return found


class _Reads(dict):
    """attribute → the number of its read, for one entity; worked out when first asked for,
    the read's value then taken down (into its numbering's ``fresh``)."""

    __slots__ = ("entity", "base", "places", "taken", "fresh", "memo")

    def __init__(self, entity: Any, base: int, taken: Any, fresh: list[tuple[int, bytes]],
                 memo: dict[int, tuple[Any, str]]) -> None:
        super().__init__()
        self.entity, self.base, self.places = entity, base, _ATTRIBUTE_INDEX[type(entity)]
        self.taken, self.fresh, self.memo = taken, fresh, memo

    def __missing__(self, attribute: str) -> int:
        place = self.places.get(attribute)
        if place is None:
            self[attribute] = _NOT_AN_ATTRIBUTE
            return _NOT_AN_ATTRIBUTE
        number = self[attribute] = self.base + place
        taken = self.taken
        if taken is not None and number < len(taken):
            if taken[number]:  # another worker's
                return number
            taken[number] = 1
        self.fresh.append((number, token(getattr(self.entity, attribute), self.memo)))
        return number


@dataclasses.dataclass
class PageRecord:
    """What one output file was made from, and its digest."""

    made_from: bytes  # fingerprint of the template name, URL and context of its Page
    templates: tuple[str, ...]
    reads: array  # read numbers (BuildState.numbers)
    output: str  # digest of the bytes written (empty: not written yet)
    indexed: bool = False  # an HTML page marked for the search index (data-pagefind-body)


# -- the state of the last build ------------------------------------------------------


@dataclasses.dataclass
class BuildState:
    """The last successful build into one output directory."""

    inputs: bytes = b""  # hash of every input: equal means nothing changed
    # Which output directory that build wrote: device and inode of the directory and of
    # the marker file written into it, and when the marker was made (inode numbers of
    # deleted directories are reused).
    output: tuple[int, ...] = ()
    summary: dict[str, Any] = dataclasses.field(default_factory=dict)  # claims, pages, files, warnings
    numbers: ReadNumbers = dataclasses.field(default_factory=ReadNumbers)
    # The token of each read number's value, TOKEN bytes each (zeros: not recorded).
    values: bytearray = dataclasses.field(default_factory=bytearray)
    templates: dict[str, bytes] = dataclasses.field(default_factory=dict)  # name → digest
    theme: bytes = b""  # translations, factsite's code: a change re-renders everything
    pages: dict[str, PageRecord] = dataclasses.field(default_factory=dict)

    def key(self, number: int) -> ReadKey:
        return self.numbers.key(number)

    def changed_reads(self, site: m.Site) -> set[int]:
        """Numbers of the recorded reads whose value differs in ``site`` (or is gone)."""
        return self.changed(range(self.numbers.end), _entities(site))

    def changed(self, numbers: Iterable[int], entities: dict[str, Any]) -> set[int]:
        """Of the reads ``numbers``, those recorded whose value differs in ``entities`` (by
        key; one missing is gone), taking down the new values."""
        memo: dict[int, tuple[Any, str]] = {}
        changed = set()
        values, bases, keys = self.values, self.numbers.bases, self.numbers.entities
        slot, start, stop, entity, names = -1, 0, 0, None, ()
        for number in numbers:
            at = number * TOKEN
            before = values[at:at + TOKEN]
            if len(before) < TOKEN or before == _UNRECORDED:
                continue
            if not start <= number < stop:  # another entity's run (numbers mostly ascend)
                slot = bisect.bisect_right(bases, number) - 1
                key = keys[slot]
                names = ATTRIBUTES[_KINDS[key.split(":", 1)[0]]]
                start, stop, entity = bases[slot], bases[slot] + len(names), entities.get(key)
            attribute = names[number - start]
            value = _GONE if entity is None else getattr(entity, attribute, _GONE)
            now = _GONE_TOKEN if value is _GONE else token(value, memo)
            if before != now:
                changed.add(number)
                values[at:at + TOKEN] = now
        return changed

    def take(self, fresh: Iterable[tuple[int, bytes]]) -> list[int]:
        """Keep the values a recorder took down (:meth:`Recorder.new_values`); return the
        numbers whose value was recorded before, and differs."""
        values = self.values
        if len(values) < self.numbers.end * TOKEN:
            values.extend(bytes(self.numbers.end * TOKEN - len(values)))
        differ = []
        for number, value in fresh:
            at = number * TOKEN
            before = values[at:at + TOKEN]
            if before != value and before != _UNRECORDED:
                differ.append(number)
            values[at:at + TOKEN] = value
        return differ

    def assign(self, site: m.Site) -> dict[Any, int]:
        """Number every entity of ``site`` now (render workers, forked next, must all number
        alike); return each one's first number, by the entity. When most numbered entities
        are gone, start the numbering afresh: the pages the last build recorded are then
        all rendered again."""
        entities = _entities(site)
        if len(self.numbers.entities) > 2 * len(entities):
            self.numbers, self.values, self.pages = ReadNumbers(), bytearray(), {}
        base = self.numbers.base
        bases = {entity: base(key) for key, entity in entities.items()}
        self.take(())
        return bases


_GONE = ("gone",)  # the value of a read whose entity or attribute no longer exists
_GONE_TOKEN = digest(b"\0gone")  # its token: no description starts with NUL


def _entities(site: m.Site) -> dict[str, Any]:
    """Every entity of the site with an identity, by key."""
    found: dict[str, Any] = {"site": site}
    for group in (site.claims, site.claimants, site.sources, site.topics, site.ratings, site.pages):
        for entity in group:
            found[entity_key(entity)] = entity
    for claim in site.claims:
        for passage in claim.passages:
            found[entity_key(passage)] = passage
    return found


# -- hashing the inputs -------------------------------------------------------------------


def tree_digest(*roots: Path) -> bytes:
    """A hash of every file's relative path and bytes under ``roots`` (missing roots count too)."""
    hasher = hashlib.blake2b(digest_size=16)
    for root in roots:
        hasher.update(b"\0root\0" + os.fsencode(root))
        _hash_tree(os.fsencode(root), b"", hasher)
    return hasher.digest()


def _hash_tree(folder: bytes, relative: bytes, hasher: Any) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:  # missing, or not a directory
        return
    for entry in entries:
        name = relative + entry.name
        if entry.is_symlink():  # never followed (a loop would never end): its target's name
            hasher.update(b"\0link\0" + name + b"\0" + os.readlink(entry.path))
        if entry.is_dir(follow_symlinks=False):
            _hash_tree(entry.path, name + b"/", hasher)
        elif entry.is_file():  # a regular file, or a link to one: its bytes
            try:
                with open(entry.path, "rb") as handle:
                    hasher.update(b"\0file\0" + name + b"\0" + digest(handle.read()))
            except OSError:
                hasher.update(b"\0unreadable\0" + name)
        else:  # a pipe, a socket, a dangling link: never opened (a pipe would block)
            hasher.update(b"\0special\0" + name)


def code_digest() -> bytes:
    """factsite's own code: a changed factsite may make different pages from the same input."""
    hasher = hashlib.blake2b(digest_size=16)
    for file in sorted(_PACKAGE.glob("*.py")):
        hasher.update(file.name.encode() + b"\0" + file.read_bytes())
    return hasher.digest()


# -- the cache directory ---------------------------------------------------------------------


class Cache:
    """``.factsite-cache/`` beside the output directory: memos and the last build's state."""

    def __init__(self, directory: Path, *, resident: bool = False):
        """``resident``: keep memos and the last state in memory between builds (the dev
        server), writing only the state to disk."""
        self.directory = Path(directory)
        self.resident = resident
        self._states: dict[str, BuildState] = {}
        self.code = code_digest()
        self._memos: dict[str, dict[Any, Any]] = {}
        self._used: dict[str, set[Any]] = {}
        self._made: dict[str, dict[Any, Any]] = {}  # kind → memos made since :meth:`record`
        self._dirty: set[str] = set()
        self._keys: dict[str, bytes] = {}

    @classmethod
    def beside(cls, out: Path, *, resident: bool = False) -> Cache:
        return cls(Path(out).resolve().parent / CACHE_DIR, resident=resident)

    def key(self, text: str) -> bytes:
        """A memo key for a (possibly long) text; the same text is hashed once per build."""
        found = self._keys.get(text)
        if found is None:
            found = self._keys[text] = digest(text.encode("utf-8", "surrogatepass"))
        return found

    # memos: kind → key → value; entries not used by a build are dropped when it saves
    def memo(self, kind: str, key: Any, compute: Callable[[], Any],
             valid: Callable[[Any], bool] | None = None) -> Any:
        """``compute()``, or what it gave for ``key`` before (if ``valid`` says it still holds)."""
        table = self._table(kind)
        self._used[kind].add(key)
        if key in table and (valid is None or valid(table[key])):
            return table[key]
        value = table[key] = compute()
        self._dirty.add(kind)
        if kind in self._made:
            self._made[kind][key] = value
        return value

    def load(self, kind: str) -> None:
        """Read the ``kind`` memos now (before forking workers that use them)."""
        self._table(kind)

    def table(self, kind: str) -> dict[Any, Any]:
        """The ``kind`` memos (read now if they were not), to look at, not to change."""
        return self._table(kind)

    def record(self, kind: str) -> Callable[[], tuple[set[Any], dict[Any, Any]]]:
        """In a forked worker: from now on, note the ``kind`` memos used and made here.

        The function returned gives (keys used, entries made) for :meth:`adopt`, and
        this process forgets the entries it made: the parent keeps them, and a worker
        that kept every document or Markdown it made grew by all of them.
        """
        table = self._table(kind)
        used: set[Any] = set()
        made: dict[Any, Any] = {}
        self._used[kind], self._made[kind] = used, made

        def handed() -> tuple[set[Any], dict[Any, Any]]:
            for key in made:
                table.pop(key, None)
            return used, made
        return handed

    def adopt(self, kind: str, used: set[Any], made: dict[Any, Any]) -> None:
        """Keep what a worker's :meth:`record` noted, as if this process had done it."""
        table = self._table(kind)
        self._used[kind] |= used
        if made:
            table.update(made)
            self._dirty.add(kind)

    def _table(self, kind: str) -> dict[Any, Any]:
        if kind not in self._memos:
            self._memos[kind] = self._read(f"{kind}.pickle") or {}
            self._used[kind] = set()
        return self._memos[kind]

    def save_memos(self, kinds: Iterable[str] | None = None, *, written: bool = False) -> None:
        """Write the memos a build changed and drop the ones it no longer used: of ``kinds``
        (default: all), as soon as the build is done with them. ``written``: a process
        forked from this one at this point wrote them; only forget them here.

        Not resident, the tables then leave memory (the rest of the build does not
        need them; a later use reads them again): the keys and the entries made
        (~100 MiB at 100,000 claims).
        """
        for kind in list(self._memos) if kinds is None else [k for k in kinds if k in self._memos]:
            table, used = self._memos[kind], self._used[kind]
            if len(used) != len(table):
                for key in [k for k in table if k not in used]:
                    del table[key]
                self._dirty.add(kind)
            if kind in self._dirty and not self.resident:
                if not written:
                    self._write(f"{kind}.pickle", table)
                self._dirty.discard(kind)
            self._used[kind] = set()
            if not self.resident:
                del self._memos[kind], self._used[kind]
        if kinds is None:
            self._keys.clear()

    def state(self, out: Path, *, head_only: bool = False) -> BuildState:
        """The last build's state; ``head_only``: without the page records (a quick look)."""
        name = self._state_name(out)
        if name in self._states:  # taken out: a build changes it, and a failed one drops it
            return self._states[name] if head_only else self._states.pop(name)
        head = self._read(f"{name}.head.pickle")
        if not isinstance(head, dict):
            return BuildState()
        if head_only:
            return BuildState(**head)
        body = self._read(f"{name}.pickle")
        if not isinstance(body, dict) or body.get("inputs") != head["inputs"]:
            return BuildState()
        return BuildState(**{**body, **head})

    def save_state(self, out: Path, state: BuildState) -> None:
        head = {"inputs": state.inputs, "output": state.output, "summary": state.summary}
        name = self._state_name(out)
        if self.resident:
            self._states[name] = state
        self._write(f"{name}.pickle", {**vars(state), **head})
        self._write(f"{name}.head.pickle", head)  # written last: it vouches for the body

    # other records, by file name (the dev server's search bundles)
    def read(self, name: str) -> Any:
        """What :meth:`write` stored under ``name`` with this factsite, or None."""
        return self._read(name)

    def write(self, name: str, value: Any) -> None:
        self._write(name, value)

    def forget(self, name: str) -> None:
        (self.directory / name).unlink(missing_ok=True)

    def _state_name(self, out: Path) -> str:
        return f"build-{digest(os.fsencode(Path(out).resolve())).hex()[:16]}"

    def _read(self, name: str) -> Any:
        try:
            with open(self.directory / name, "rb") as handle:
                header = pickle.load(handle)
                if header != (FORMAT, self.code):
                    return None
                return pickle.load(handle)
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError,
                IndexError, TypeError, ValueError):
            return None  # missing, from another factsite, or damaged: start afresh

    def _write(self, name: str, value: Any) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        gitignore = self.directory / ".gitignore"
        if not gitignore.exists():
            gitignore.write_text("*\n", encoding="utf-8")
        handle = tempfile.NamedTemporaryFile(dir=self.directory, prefix=f".{name}.", delete=False)
        try:
            with handle:
                pickle.dump((FORMAT, self.code), handle, protocol=pickle.HIGHEST_PROTOCOL)
                pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(handle.name, self.directory / name)
        except BaseException:
            Path(handle.name).unlink(missing_ok=True)
            raise
