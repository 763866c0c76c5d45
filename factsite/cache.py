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
import pickle
import sys
import tempfile
from array import array
from pathlib import Path
from typing import Any, Callable, Iterable

from markupsafe import Markup

from . import model as m

CACHE_DIR = ".factsite-cache"
FORMAT = 2  # bump when the layout of the records changes
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
RECORDED = frozenset(_IDENTITY)  # the types whose attribute reads templates record

# What a method of an entity depends on, when it is less than the whole entity.
_METHOD_READS = {(m.Site, "absolute"): ("base_url",)}


def entity_key(entity: Any) -> str:
    return _IDENTITY[type(entity)](entity)


TOKEN = 16  # bytes of a digest


def digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=TOKEN).digest()


def fingerprint(value: Any, memo: dict[int, tuple[Any, str]] | None = None) -> bytes:
    """A stable digest of ``value``: equal values give equal digests, in any process.

    ``memo`` shares the descriptions of value objects between calls (a thread is
    shared by all its claims).
    """
    parts: list[str] = []
    _describe(value, parts, {} if memo is None else memo)
    return digest("\x1f".join(parts).encode("utf-8", "surrogatepass"))


def token(value: Any, memo: dict[int, tuple[Any, str]]) -> bytes:
    """``fingerprint(value, memo)``, sooner for what templates read most: text, numbers and
    references to entities (one hash of a short description)."""
    kind = type(value)
    if kind is str:
        return digest(b"s" + value.encode("utf-8", "surrogatepass"))
    if value is None or kind is bool or kind is int:
        return digest(repr(value).encode())
    if kind in _IDENTITY:
        return digest(("@" + _IDENTITY[kind](value)).encode("utf-8", "surrogatepass"))
    return fingerprint(value, memo)


def _describe(value: Any, out: list[str], memo: dict[int, tuple[Any, str]]) -> None:  # noqa: C901
    kind = type(value)
    if kind is str:
        out.append("s" + value)
    elif kind is Markup:
        out.append("m" + value)
    elif value is None or kind in (bool, int, float):
        out.append(repr(value))
    elif kind in _IDENTITY:
        out.append("@" + _IDENTITY[kind](value))
    elif kind in (tuple, list):
        out.append(f"[{len(value)}")
        for item in value:
            _describe(item, out, memo)
    elif kind is dict:
        out.append(f"{{{len(value)}")
        for key, item in value.items():
            _describe(key, out, memo)
            _describe(item, out, memo)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Value objects (dates, spans, highlights, thread nodes, publisher, updates):
        # their fields. A thread is shared by all its claims: described once.
        # The memo holds the value too, so that its id is not reused while the memo lives.
        known = memo.get(id(value))
        if known is None:
            parts: list[str] = [kind.__name__]
            for field in dataclasses.fields(value):
                _describe(getattr(value, field.name), parts, memo)
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


# -- recording what a page read --------------------------------------------------


class Recorder:
    """Collects, per page, the entity fields and templates read while it rendered.

    Read keys are numbered in the order this recorder first saw them; each
    value is taken down once (as its :func:`token`), as it was then. :meth:`new_keys` hands the
    keys seen since its last call to whoever merges records from several
    processes (see :meth:`BuildState.merge`), and forgets them: a render worker
    keeps only the numbers.
    """

    def __init__(self) -> None:
        self.ids: dict[tuple[Any, str], int] = {}  # (entity object, attribute) → local id
        self._fresh: list[tuple[int, ReadKey, bytes]] = []  # (local id, read key, token) not sent
        self._entity_keys: dict[Any, str] = {}  # one key string per entity, shared by its reads
        self._memo: dict[int, tuple[Any, str]] = {}
        self.reads: set[tuple[Any, str]] | None = None
        self.templates: set[str] | None = None

    def start(self) -> None:
        self.reads, self.templates = set(), set()

    def stop(self) -> tuple[array, tuple[str, ...]]:
        """The local ids of what the page read, and the names of the templates it loaded."""
        ids = array("I")
        known = self.ids
        for read in self.reads:
            number = known.get(read)
            if number is None:
                entity, attribute = read
                number = known[read] = len(known)
                key = self._entity_keys.get(entity)
                if key is None:
                    key = self._entity_keys[entity] = entity_key(entity)
                self._fresh.append((number, (key, attribute),
                                    token(getattr(entity, attribute), self._memo)))
            ids.append(number)
        templates = tuple(sorted(self.templates))
        self.reads = self.templates = None
        return ids, templates

    def new_keys(self) -> list[tuple[int, ReadKey, bytes]]:
        """(local id, read key, token) of every key first seen since the last call."""
        fresh, self._fresh = self._fresh, []
        return fresh


@dataclasses.dataclass
class PageRecord:
    """What one output file was made from, and its digest."""

    made_from: bytes  # fingerprint of the template name, URL and context of its Page
    templates: tuple[str, ...]
    reads: array  # ids into BuildState.keys
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
    keys: list[ReadKey] = dataclasses.field(default_factory=list)
    # The token of each key's value, TOKEN bytes each: 282,000 keys at 10,000 claims
    # (values held as objects took ~40 MiB).
    values: bytearray = dataclasses.field(default_factory=bytearray)
    templates: dict[str, bytes] = dataclasses.field(default_factory=dict)  # name → digest
    theme: bytes = b""  # translations, factsite's code: a change re-renders everything
    pages: dict[str, PageRecord] = dataclasses.field(default_factory=dict)

    def changed_reads(self, site: m.Site) -> set[int]:
        """Ids of the recorded reads whose value differs in ``site`` (or is gone)."""
        return self.changed(range(len(self.keys)), _entities(site))

    def changed(self, numbers: Iterable[int], entities: dict[str, Any]) -> set[int]:
        """Of the reads ``numbers``, those whose value differs in ``entities`` (by key; one
        missing is gone), taking down the new values."""
        memo: dict[int, tuple[Any, str]] = {}
        changed = set()
        values, keys = self.values, self.keys
        for number in numbers:
            key, attribute = keys[number]
            entity = entities.get(key)
            value = _GONE if entity is None else getattr(entity, attribute, _GONE)
            now = _GONE_TOKEN if value is _GONE else token(value, memo)
            at = number * TOKEN
            if values[at:at + TOKEN] != now:
                changed.add(number)
                values[at:at + TOKEN] = now
        return changed

    def merge(self, local_ids: dict[int, int], fresh: Iterable[tuple[int, ReadKey, bytes]]) -> None:
        """Take in a recorder's new keys, noting in ``local_ids`` which of ours each became."""
        index = self._index()
        for local, key, value in fresh:
            number = index.get(key)
            if number is None:  # its strings shared with every other read of the entity
                key = (sys.intern(key[0]), sys.intern(key[1]))
                number = index[key] = len(self.keys)
                self.keys.append(key)
                self.values += value
            else:
                self.values[number * TOKEN:(number + 1) * TOKEN] = value
            local_ids[local] = number

    def merged(self) -> None:
        """All records are in: drop the lookup table of :meth:`merge` (the next merge
        makes it again)."""
        self.__dict__.pop("_index_cache", None)

    def _index(self) -> dict[ReadKey, int]:
        index = self.__dict__.get("_index_cache")
        if index is None or len(index) != len(self.keys):
            index = self.__dict__["_index_cache"] = {k: i for i, k in enumerate(self.keys)}
        return index

    def compact(self) -> None:
        """Drop keys no page reads any more, once they are most of the table."""
        used = set()
        for record in self.pages.values():
            used.update(record.reads)
        if len(used) * 2 >= len(self.keys):
            return
        renumber = {old: new for new, old in enumerate(sorted(used))}
        self.keys = [self.keys[old] for old in sorted(used)]
        self.values = bytearray().join(self.values[old * TOKEN:(old + 1) * TOKEN]
                                       for old in sorted(used))
        for record in self.pages.values():
            record.reads = array("I", (renumber[i] for i in record.reads))
        self.__dict__.pop("_index_cache", None)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_index_cache", None)
        return state


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

        The function returned gives (keys used, entries made) for :meth:`adopt`.
        """
        self._table(kind)
        used: set[Any] = set()
        made: dict[Any, Any] = {}
        self._used[kind], self._made[kind] = used, made
        return lambda: (used, made)

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

    def save_memos(self) -> None:
        """Write the memos a build changed and drop the ones it no longer used.

        Not resident, the tables then leave memory (the rest of the build does not
        need them; a later use reads them again): parsed documents, with every
        value's position, are most of what a build holds.
        """
        for kind, table in self._memos.items():
            used = self._used[kind]
            if len(used) != len(table):
                for key in [k for k in table if k not in used]:
                    del table[key]
                self._dirty.add(kind)
            if kind in self._dirty and not self.resident:
                self._write(f"{kind}.pickle", table)
                self._dirty.discard(kind)
            self._used[kind] = set()
        if not self.resident:
            self._memos.clear()
            self._used.clear()
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
        state.compact()
        head = {"inputs": state.inputs, "output": state.output, "summary": state.summary}
        name = self._state_name(out)
        if self.resident:
            self._states[name] = state
        self._write(f"{name}.pickle", {**state.__getstate__(), **head})
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
