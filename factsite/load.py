"""Read content/ into documents: YAML and front matter with positions, no meaning.

YAML is read from libyaml's event stream (``CSafeLoader`` when available)
into plain values by our own builder, which gives YAML 1.2 meaning: only
``true``/``false`` are booleans, ``null``/``~``/empty are null, every other
plain scalar stays a string (dates and numbers included, validated later).
Aliases, anchors, tags, duplicate keys, several documents per file and
deep nesting are refused with the file, line and column.
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import re
import stat
from array import array
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any, Iterator

import yaml

from .cache import Cache, digest
from .diagnostics import ContentError, Diagnostic, Lines
from .parallel import ignore_sigint

YamlPath = tuple[str | int, ...]
Mark = tuple[int, int]  # 1-based line and column in the file

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_DEPTH = 32
SOURCE_LIMIT = 10 * 2**20  # bytes of a source file
FILE_LIMIT = 2**20  # bytes of any other content file
PARALLEL_FROM = 2000  # files to parse: below this, forking costs more than it saves

# Directory → (document kind, file extension).
COLLECTIONS = {
    "sources": ("source", ".txt"),
    "claimants": ("claimant", ".yaml"),
    "claims": ("claim", ".yaml"),
    "pages": ("page", ".md"),
}
_FRONT_MATTER_KINDS = {"source", "page"}
# Hidden, swap and backup file names: never content; the dev server does not watch them either.
EDITOR_LEFTOVERS = re.compile(r"(^[.#])|(~$)|(\.(swp|swo|swx|tmp|bak|orig)$)")


@dataclass(frozen=True)
class Document:
    """One content file: its values, where each value and key sits, and its body."""

    path: str
    kind: str
    id: str
    data: Any
    positions: Positions | None = None
    body: str | None = None
    body_line: int = 1
    failed: bool = False  # unreadable: reported already, but its id still exists

    def mark(self, path: YamlPath) -> Mark:
        """Position of the value at ``path``, or of its nearest enclosing value."""
        if not self.positions:
            return 1, 1
        while (found := self.positions.value(path)) is None and path:
            path = path[:-1]
        return found or (1, 1)

    def key_mark(self, path: YamlPath) -> Mark:
        found = self.positions.keys().get(path) if self.positions else None
        return found or self.mark(path)


class Positions:
    """Where each value and key of a YAML document sits, stored compactly.

    The parser records a line and a column per value and per key, in the order it
    meets them, which is the order :func:`_walk` visits the values it built (a
    mapping's keys and lists keep their order). So the positions need no paths: the
    tables by path are made when a diagnostic first asks for one. A table of paths
    for every value took most of a parsed document's memory (~400 MiB at 100,000
    claims); the flat array takes 8 bytes a position.
    """

    __slots__ = ("data", "flat", "_tables")

    def __init__(self, data: Any, flat: array):
        self.data, self.flat = data, flat  # flat: line, column, line, column, ...
        self._tables: tuple[dict[YamlPath, Mark], dict[YamlPath, Mark]] | None = None

    def values(self) -> dict[YamlPath, Mark]:
        """Path → position of each value."""
        return self._made()[0]

    def value(self, path: YamlPath) -> Mark | None:
        """Position of the value at ``path``, if it has one. Without the tables, counted
        along the way :func:`_walk` goes: every link in Markdown is placed by its field,
        and making the tables for one place took ~30 µs a claim."""
        if self._tables is not None:
            return self._tables[0].get(path)
        index, value = 0, self.data  # index in the walk (of line, column pairs)
        for step in path:
            index += 1  # past the container's own position
            if isinstance(value, dict) and step in value:
                for key, item in value.items():
                    if key == step:
                        index, value = index + 1, item  # past the key's position
                        break
                    index += 1 + _count(item)
            elif isinstance(value, list) and isinstance(step, int) and 0 <= step < len(value):
                index += sum(_count(item) for item in value[:step])
                value = value[step]
            else:
                return None
        if 2 * index + 1 >= len(self.flat):  # a prefix of the walk (a parse not finished)
            return None
        return self.flat[2 * index], self.flat[2 * index + 1]

    def keys(self) -> dict[YamlPath, Mark]:
        """Path → position of each mapping key (the path of its value)."""
        return self._made()[1]

    def _made(self) -> tuple[dict[YamlPath, Mark], dict[YamlPath, Mark]]:
        if self._tables is None:
            self._tables = _tables(self.data, self.flat)
        return self._tables

    def __reduce__(self) -> tuple:  # without the tables, which are made again when asked for
        return Positions, (self.data, self.flat)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Positions) and self.flat == other.flat

    __hash__ = None  # type: ignore[assignment]  # like the data it places

    def __repr__(self) -> str:
        return f"Positions({len(self.flat) // 2})"


def _tables(data: Any, flat: array) -> tuple[dict[YamlPath, Mark], dict[YamlPath, Mark]]:
    """The positions in ``flat`` by path, as :func:`_walk` of ``data`` meets them (a prefix
    of it: the parser asks in the middle of a document, for a duplicate key)."""
    values: dict[YamlPath, Mark] = {}
    keys: dict[YamlPath, Mark] = {}
    pairs = iter(flat)
    for (path, is_key), line, col in zip(_walk(data, ()), pairs, pairs):
        (keys if is_key else values)[path] = (line, col)
    return values, keys


def _walk(value: Any, path: YamlPath) -> Iterator[tuple[YamlPath, bool]]:
    """(path, whether it is a key's) of ``value`` and all it holds, in the order the parser
    recorded their positions: each value, then for a mapping each key and its value."""
    yield path, False
    if isinstance(value, dict):
        for key, item in value.items():
            yield path + (key,), True
            yield from _walk(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, path + (index,))


def _count(value: Any) -> int:
    """How many positions :func:`_walk` of ``value`` meets."""
    if isinstance(value, dict):
        return 1 + sum(1 + _count(item) for item in value.values())
    if isinstance(value, list):
        return 1 + sum(_count(item) for item in value)
    return 1


class _Problem(Exception):
    def __init__(self, mark: Mark, message: str, hint: str | None = None):
        super().__init__(message)
        self.mark, self.message, self.hint = mark, message, hint


def load_content(content_dir: Path, cache: Cache | None = None, *, jobs: int | None = None,
                 ) -> tuple[list[Document], list[Diagnostic]]:
    """Read every content file; unreadable files become diagnostics, not documents.

    With a ``cache``, a file whose bytes were parsed before is not parsed again.
    A large archive the cache does not hold is parsed in ``jobs`` forked processes
    (default: one per core).
    """
    documents: list[Document] = []
    diagnostics: list[Diagnostic] = []
    content_dir = Path(content_dir)

    def problem(path: Path, problem: _Problem) -> None:
        diagnostics.append(Diagnostic(str(path), *problem.mark, problem.message, problem.hint))

    try:
        _directory(content_dir, "the content directory")
    except FileNotFoundError:
        diagnostics.append(
            Diagnostic(str(content_dir), 1, 1, "content directory not found",
                       "pass --content DIR or run from the project root")
        )
        return documents, diagnostics
    except _Problem as found:
        problem(content_dir, found)
        return documents, diagnostics

    wanted: list[tuple[Path, str]] = [(content_dir / "site.yaml", "site")]
    for dirname, (kind, ext) in COLLECTIONS.items():
        folder = content_dir / dirname
        try:
            entries = _directory(folder, f"content/{dirname}/, where the {kind} files go")
        except FileNotFoundError:
            continue
        except _Problem as found:
            problem(folder, found)
            continue
        for entry in entries:
            name = entry.name
            if EDITOR_LEFTOVERS.search(name):
                continue
            file = folder / name
            if _is_directory(entry):
                problem(file, _Problem((1, 1), f"'{name}' is a directory; content/{dirname}/ "
                                               f"holds one {ext} file per {kind}",
                                       "factsite does not read subdirectories: move the files "
                                       f"it holds into content/{dirname}/ or remove it"))
            elif not name.endswith(ext):  # its suffix: a name starting with '.' was left out
                problem(file, _Problem((1, 1), f"{dirname} files must end in {ext}: "
                                               f"'{name}' is not read",
                                       f"rename it to '{file.stem}{ext}'"))
            else:
                wanted.append((file, kind))

    for document, found in _load_all(wanted, cache, jobs):
        diagnostics += found
        if document is not None:
            documents.append(document)
    return documents, diagnostics


Loaded = tuple[Document | None, list[Diagnostic]]
PARSE_TASK = 500  # files a worker parses and sends back at a time
_parse_job: tuple[list[tuple[Path, str]], Cache | None] | None = None  # what forked workers read


def _load_all(wanted: list[tuple[Path, str]], cache: Cache | None, jobs: int | None,
              ) -> list[Loaded]:
    """:func:`load_one` of each file, in order.

    Parsing is most of loading (libyaml's events, a position for every value), and
    the check after it runs on one core until its Markdown: a large archive that is
    not in the cache is parsed by ``jobs`` forked workers, :data:`PARSE_TASK` files
    at a time, which send their documents back pickled (a tenth of the cost of
    parsing them) with the cache's new memos (sent at once, a worker's half of
    100,000 claims took 870 MiB); this process only takes them in. It used to parse
    a share itself beside ``jobs - 1`` workers, and busy parsing it took in their
    documents late: a core was idle a third of the time (10,000 claims: 1.83-1.90 s,
    1.07-1.16 idle core-seconds; now 1.32-1.44 s, 0.22-0.26).
    """
    jobs = jobs or os.cpu_count() or 1
    known = len(cache.table("documents")) if cache else 0
    if jobs < 2 or len(wanted) < PARALLEL_FROM or known * 2 >= len(wanted):
        return [load_one(file, kind, cache) for file, kind in wanted]
    global _parse_job
    _parse_job = (wanted, cache)
    loaded: list[Loaded] = []
    tasks = [range(start, min(start + PARSE_TASK, len(wanted)))
             for start in range(0, len(wanted), PARSE_TASK)]
    try:
        with multiprocessing.get_context("fork").Pool(jobs, initializer=ignore_sigint) as pool:
            for found, memos in pool.imap(_load_task, tasks):
                loaded += found
                if cache:
                    cache.adopt("documents", *memos)
    finally:
        _parse_job = None
    return loaded


def _load_task(indexes: range) -> tuple[list[Loaded], Any]:
    """In a worker: the files at ``indexes``, and the document memos used and made."""
    wanted, cache = _parse_job
    memos = cache.record("documents") if cache else None
    found = [load_one(*wanted[index], cache) for index in indexes]
    return found, memos and memos()


def load_one(file: Path, kind: str, cache: Cache | None = None,
             ) -> tuple[Document | None, list[Diagnostic]]:
    """One content file as :func:`load_content` reads it (None: it is gone), and its problems.

    The dev server reads the files a save changed with it.
    """
    try:
        return load_file(file, kind, cache), []
    except _Problem as found:
        return (Document(str(file), kind, file.stem, None, failed=True),
                [Diagnostic(str(file), *found.mark, found.message, found.hint)])
    except FileNotFoundError:
        if kind == "site":
            return None, [Diagnostic(
                str(file), 1, 1, "site.yaml not found",
                "every site needs content/site.yaml with title, base_url and language")]
        return None, []  # deleted since it was listed (an editor saving): as if never there


def load_yaml(file: Path, kind: str) -> Document:
    """A YAML file outside content/ (the theme's translations), read as strictly as content.

    Raises ContentError at the file for any problem, FileNotFoundError if it is missing.
    """
    try:
        return load_file(file, kind)
    except _Problem as problem:
        raise ContentError([Diagnostic(str(file), *problem.mark, problem.message,
                                       problem.hint)]) from None


def load_file(file: Path, kind: str, cache: Cache | None = None) -> Document:
    raw = read_limited(file, SOURCE_LIMIT if kind == "source" else FILE_LIMIT,
                       "a source" if kind == "source" else f"a {kind} file")
    if cache is None:
        return _parse(file, kind, raw)
    return cache.memo("documents", (kind, str(file), digest(raw)), lambda: _parse(file, kind, raw))


def _parse(file: Path, kind: str, raw: bytes) -> Document:
    text = _decode(raw)
    doc_id = "site" if kind == "site" else file.stem
    if kind not in _FRONT_MATTER_KINDS:
        return Document(str(file), kind, doc_id, *parse_positions(text))

    front, body, body_line = split_front_matter(text)
    return Document(str(file), kind, doc_id, *parse_positions(front, line_offset=1), body,
                    body_line)


_SPECIAL = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
            (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def read_limited(file: Path, limit: int, what: str) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; anything else is a problem.

    Special files are refused before opening (a named pipe would block forever),
    and the file is opened without blocking and checked again, in case it was
    replaced in between. A missing file raises FileNotFoundError. The file is read
    by the size it has (asking for ``limit`` bytes at once, through a buffered file,
    made each read allocate and give back that much: four fifths of the time of
    reading 13,000 small files).
    """
    _regular(_stat(file), limit, what)
    try:
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as error:
        raise _os_problem(file, error) from None
    try:
        st = os.fstat(fd)
        _regular(st, limit, what)
        chunks, total, ask = [], 0, st.st_size + 1  # one byte more: whether it grew since
        while total <= limit:
            chunk = os.read(fd, min(ask, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            ask = max(ask, 2**16)
    except OSError as error:
        raise _os_problem(file, error) from None
    finally:
        os.close(fd)
    if total > limit:  # it grew since
        raise _too_large(total, limit, what)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _regular(st: os.stat_result, limit: int, what: str) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise _Problem((1, 1), "is a directory, not a file",
                       "replace it with a file, or remove it")
    for test, name in _SPECIAL:
        if test(st.st_mode):
            raise _Problem((1, 1), f"is {name}, not a regular file",
                           "content files must be plain files: replace it with one, or remove it")
    if st.st_size > limit:
        raise _too_large(st.st_size, limit, what)


def _too_large(size: int, limit: int, what: str) -> _Problem:
    return _Problem((1, 1), f"file is too large: {size:,} bytes; {what} may have at most "
                            f"{limit:,} ({limit // 2**20} MiB)",
                    "keep only the text of the document" if what == "a source" else
                    "content files are written by hand: is this the file you meant?")


def _directory(folder: Path, what: str) -> list[os.DirEntry]:
    """The entries of ``folder`` sorted by name; FileNotFoundError if missing, a problem if not
    a directory. An entry knows whether it is a directory without a stat of its own (a
    third of listing 16,000 files)."""
    if not stat.S_ISDIR(_stat(folder).st_mode):
        raise _Problem((1, 1), "not a directory", f"this should be {what}")
    try:
        with os.scandir(folder) as entries:
            return sorted(entries, key=attrgetter("name"))
    except OSError as error:
        raise _os_problem(folder, error) from None


def _is_directory(entry: os.DirEntry) -> bool:
    """Whether ``entry`` is a directory or a link to one, as os.path.isdir says: a link that
    cannot be followed (a loop) is not; reading it reports it."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _stat(path: Path) -> os.stat_result:
    """``os.stat`` with every failure but a missing file turned into a problem at ``path``."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise _Problem((1, 1), "broken symbolic link: its target does not exist",
                           f"it points to '{os.readlink(path)}'; fix the link or replace it "
                           "with the file") from None
        raise
    except OSError as error:
        raise _os_problem(path, error) from None


def _os_problem(path: Path, error: OSError) -> _Problem:
    if error.errno == errno.ELOOP:
        return _Problem((1, 1), "symbolic link loop: the link leads back to itself",
                        "replace the link with the file it should point to")
    if error.errno in (errno.EACCES, errno.EPERM):
        return _Problem((1, 1), "permission denied: factsite cannot read this",
                        "make it readable for the user running the build (chmod a+r)")
    return _Problem((1, 1), f"cannot read: {error.strerror or error}",
                    "check the disk, or replace the file with a fresh copy")


def split_front_matter(text: str) -> tuple[str, str, int]:
    """Split ``---`` front matter from the body, which is kept byte for byte."""
    opening = re.match(r"---[ \t]*(\r\n|\r|\n)", text)
    if not opening:
        raise _Problem((1, 1), "missing front matter",
                       "start the file with a line '---', the fields, then a closing '---' line")
    closing = _CLOSING.search(text, opening.end())
    if not closing:
        raise _Problem((1, 1), "front matter is not closed",
                       "end the fields with a line '---' before the text")
    front = text[opening.end():closing.start()]
    body_line = len(Lines(text[:closing.end()]).starts)
    return front, text[closing.end():], body_line


# A line '---' (lines end in LF, CR LF or CR, as everywhere in factsite).
_CLOSING = re.compile(r"(?<![^\r\n])---[ \t]*(\r\n|\r|\n|$)")


def parse_yaml(text: str, line_offset: int = 0) -> tuple[Any, dict, dict]:
    """The values of a YAML text, and the position of every value and key by path."""
    data, positions = parse_positions(text, line_offset)
    return data, positions.values(), positions.keys()


def parse_positions(text: str, line_offset: int = 0) -> tuple[Any, Positions]:
    """Build plain values from libyaml events, recording every value's and key's position."""
    flat = array("I")  # line, column of each value and key, in the order met
    root: Any = None
    # Each frame: [container, pending mapping key or None, its path]
    stack: list[list[Any]] = []
    documents = 0
    original = text
    lines: Lines | None = None  # made when a position is not libyaml's: rarely
    text, restore = _shield(text)

    def table() -> Lines:
        nonlocal lines
        if lines is None:
            lines = Lines(original)
        return lines

    def position(offset: int) -> Mark:
        line, col = table().position(offset)
        return line + line_offset, col

    end = len(text)

    def block_start(event: Any) -> Mark:
        """Where a block scalar's text starts: on the line after its ``|`` or ``>``."""
        mark = event.start_mark
        found = _NEXT_LINE.match(text, mark.index)
        if found is None:  # no line after it: the indicator itself
            return position(mark.index)
        if found.end() >= end:  # the end of the text, which Lines places
            return position(end)
        return mark.line + 2 + line_offset, found.end() - found.start(1) + 1

    def at(event: Any) -> Mark:
        # libyaml counts lines (LF, CR LF, CR: _shield hid the others) and columns in
        # characters as Lines does; only the end of the text is placed differently.
        mark = event.start_mark
        if mark.index >= end:
            return position(mark.index)
        return mark.line + 1 + line_offset, mark.column + 1

    def place(value: Any, event: Any, mark: Mark) -> bool:
        """Put ``value`` where it goes and record its position; False if it is a mapping key."""
        nonlocal root
        if not stack:
            root = value
        else:
            frame = stack[-1]
            container = frame[0]
            if isinstance(container, list):
                container.append(value)
            elif frame[1] is None:  # this node is a key
                if not isinstance(event, yaml.ScalarEvent):
                    raise _Problem(mark, "mapping keys must be plain text")
                key = event.value.translate(restore) if restore else event.value
                if key in container:
                    first = _tables(root, flat)[1][frame[2] + (key,)][0]
                    raise _Problem(mark, f"duplicate key '{key}'",
                                   f"'{key}' is already set on line {first}; keep one of them")
                frame[1] = key
                flat.extend(mark)
                return False
            else:
                container[frame[1]] = value
                frame[1] = None
        flat.extend(mark)
        return True

    try:
        for event in yaml.parse(text, Loader=_Loader):
            kind = type(event)  # PyYAML's event classes have no subclasses
            if kind is _SCALAR or kind is _MAPPING or kind is _SEQUENCE:
                start = event.start_mark  # at(event), without a call
                mark = ((start.line + 1 + line_offset, start.column + 1) if start.index < end
                        else position(start.index))
                if event.anchor is not None:
                    raise _Problem(mark, "YAML anchors and aliases are not allowed",
                                   f"remove '&{event.anchor}' and write values out in full")
                if event.tag is not None:
                    _refuse_tag(event, mark)
                if kind is _SCALAR:
                    if place(_scalar(event, restore), event, mark) and event.style in ("|", ">"):
                        flat[-2:] = array("I", block_start(event))
                    continue
                container: Any = [] if kind is _SEQUENCE else {}
                if stack:  # its path: only containers need theirs, for what they hold
                    parent, pending, above = stack[-1]
                    path = above + ((len(parent),) if isinstance(parent, list) else (pending,))
                else:
                    path = ()
                place(container, event, mark)
                if len(stack) >= MAX_DEPTH:
                    raise _Problem(mark, f"YAML nested deeper than {MAX_DEPTH} levels")
                stack.append([container, None, path])
            elif kind is yaml.SequenceEndEvent or kind is yaml.MappingEndEvent:
                stack.pop()
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise _Problem(at(event), "more than one YAML document in the file",
                                   "remove the extra '---' line")
            elif kind is yaml.AliasEvent:
                raise _Problem(at(event), "YAML aliases are not allowed",
                               "write the value out in full")
            # the stream's and the document's other events hold nothing
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        explained = explain_syntax_error(text, table().position(mark.index)[0] - 1 if mark else 0)
        if explained:
            (line, col), message, hint = explained
            raise _Problem((line + line_offset, col), message, hint) from None
        raise _Problem(position(mark.index) if mark else (1 + line_offset, 1),
                       f"YAML syntax error: {error.problem or error.context}",
                       _syntax_hint(error.problem or "")) from None
    except yaml.reader.ReaderError as error:
        offset = error.position
        if _Loader is not yaml.SafeLoader:  # libyaml counts bytes of UTF-8 here
            offset = len(text.encode("utf-8")[:offset].decode("utf-8", "ignore"))
        raise _Problem(position(offset),
                       f"unacceptable character #x{error.character:04x} in YAML"
                       if isinstance(error.character, int)
                       else f"unreadable YAML: {error.reason}") from None
    return root, Positions(root, flat)


# The rest of a line, its break, and the indentation of the next one.
_NEXT_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)( *)")


_YAML_11_BREAKS = "\u2028\u2029\x85"


def _shield(text: str) -> tuple[str, dict[int, str] | None]:
    """Hide U+2028, U+2029 and U+0085 from libyaml, which (following YAML 1.1) breaks lines
    at them; YAML 1.2 and editors do not. Private-use characters that the text does not
    hold stand in for them while parsing; the returned table puts them back."""
    if not any(char in text for char in _YAML_11_BREAKS):
        return text, None
    present = set(text)
    stand_ins = [chr(c) for c in range(0xE000, 0xF900) if chr(c) not in present][:3]
    text = text.translate(dict(zip(map(ord, _YAML_11_BREAKS), stand_ins)))
    return text, dict(zip(map(ord, stand_ins), _YAML_11_BREAKS))


_SCALAR, _MAPPING, _SEQUENCE = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent


def _scalar(event: yaml.ScalarEvent, restore: dict[int, str] | None) -> Any:
    if event.implicit[0]:  # plain (unquoted) scalar
        if event.value == "true":
            return True
        if event.value == "false":
            return False
        if event.value in ("", "~", "null", "Null", "NULL"):
            return None
    return event.value.translate(restore) if restore else event.value


_ALLOWED_TAGS = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


def _refuse_tag(event: Any, mark: Mark) -> None:
    tag = event.tag
    if tag is None or tag == "!" or tag in _ALLOWED_TAGS:
        return
    shown = "!!" + tag[len("tag:yaml.org,2002:"):] if tag.startswith("tag:yaml.org,2002:") else tag
    raise _Problem(mark, f"YAML tags are not allowed: {shown}",
                   "remove the tag; quote the value if it should be text")


def _syntax_hint(problem: str) -> str | None:
    if "mapping values are not allowed" in problem:
        return "put text containing ': ' in quotes"
    if "found character '\\t'" in problem:
        return "indent with spaces, not tabs"
    if "could not find expected ':'" in problem:
        return "each field needs 'name: value'; check the line above for a missing colon or quote"
    return None


def _decode(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        good = raw[:error.start].decode("utf-8")
        raise _Problem(Lines(good + "x").position(len(good)),
                       f"file is not valid UTF-8 (byte 0x{raw[error.start]:02x})",
                       "save the file as UTF-8") from None
    text = text.removeprefix("\ufeff")
    nul = text.find("\x00")
    if nul != -1:
        raise _Problem(Lines(text).position(nul), "file contains a NUL byte",
                       "remove it; content files are plain UTF-8 text")
    return text


_BREAK = re.compile(r"\r\n|\r|\n")
_KEY_LINE = re.compile(r"( *)((?:- +)*)([A-Za-z_][\w-]*):(.*)")
_ITEM_LINE = re.compile(r"( *)((?:- +)+)(.*)")
_QUOTED = {'"': re.compile(r'"(?:[^"\\]|\\.)*"'), "'": re.compile(r"'(?:[^']|'')*'")}


def explain_syntax_error(text: str, error_line: int) -> tuple[Mark, str, str] | None:
    """The editor's mistake behind a YAML syntax error that libyaml reports at 0-based
    ``error_line``, which is often a line or more after the mistake: a tab in the
    indentation, a value that starts with a quote mark and goes on after the closing one,
    a wrapped line that is not indented, a missing space after a colon. Returns the
    1-based line and column where the mistake starts, a message and a hint; None if the
    lines up to the error show none of these."""
    found: tuple[Mark, str, str] | None = None
    block: int | None = None  # indentation of the key whose block scalar (| or >) we are in
    plain: tuple[str, int] | None = None  # key and indentation of a plain value that may wrap
    quote: str | None = None  # a quoted value left open on an earlier line
    for number, line in enumerate(_BREAK.split(text)[:error_line + 1], start=1):
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if block is not None and (not line.strip() or indent > block):
            continue
        block = None
        if quote is not None:
            if quote in line:  # closed here (near enough for a hint)
                quote = None
            continue
        if not line.strip() or stripped.startswith("#"):
            continue
        if plain and indent > plain[1]:
            continue  # the wrapped value goes on, properly indented
        if stripped.startswith("\t") or "\t" in line[:len(line) - len(line.lstrip(" \t"))]:
            found = ((number, line.index("\t") + 1), "tab in indentation",
                     "indent with spaces, not tabs")
            plain = None
            continue
        key_line, item_line = _KEY_LINE.fullmatch(line), _ITEM_LINE.fullmatch(line)
        if key_line:
            key, after = key_line.group(3), key_line.group(4)
            if after and not after[0].isspace() and not after.startswith("//"):
                found = ((number, key_line.end(3) + 1), f"missing space after the colon of '{key}'",
                         f"write '{key}: {after.strip()}'")
                plain = None
                continue
            value_at = key_line.end(3) + 1 + len(after) - len(after.lstrip())
            what = f"the value of '{key}'"
            plain = (key, len(key_line.group(1)) + len(key_line.group(2)))
        elif item_line:
            key, value_at, what = "-", item_line.start(3), "the list item"
            plain = None
        else:
            if plain and not stripped.startswith(("-", "'", '"', "[", "{")) \
                    and ": " not in line and not line.rstrip().endswith(":"):
                found = ((number, indent + 1),
                         f"this line goes on with the value of '{plain[0]}' but is not indented",
                         f"indent it with spaces further than '{plain[0]}:', "
                         f"or join it to the line above")
            plain = None
            continue
        value = line[value_at:].rstrip()
        if value[:1] in ("|", ">"):
            block, plain = len(line) - len(line.lstrip(" -")), None
        elif value[:1] in _QUOTED:
            plain = None
            closed = _QUOTED[value[0]].match(value)
            if not closed:
                quote = value[0]
                continue
            rest = value[closed.end():].strip()
            if rest and not rest.startswith("#"):
                whole = re.sub(r"\s+#.*$", "", value[closed.end():])
                found = ((number, value_at + 1),
                         f"{what} starts with a quote mark and goes on after the closing one",
                         f"quote the whole value: {_requote(value[:closed.end()] + whole)}")
        elif value[:1] in ("[", "{", "") or key == "-":
            plain = None
    return found


def _requote(value: str) -> str:
    """``value`` as a quoted YAML scalar, in double quotes unless it holds some."""
    if '"' not in value and "\\" not in value:
        return f'"{value}"'
    return "'" + value.replace("'", "''") + "'"
