"""Read content/ into documents: YAML and front matter with positions, no meaning.

YAML is read from libyaml's event stream (``CSafeLoader`` when available)
into plain values by our own builder, which gives YAML 1.2 meaning: only
``true``/``false`` are booleans, ``null``/``~``/empty are null, every other
plain scalar stays a string (dates and numbers included, validated later).
Aliases, anchors, tags, duplicate keys, several documents per file and
deep nesting are refused with the file, line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import yaml

from .diagnostics import Diagnostic

YamlPath = tuple[str | int, ...]
Mark = tuple[int, int]  # 1-based line and column in the file

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_DEPTH = 32

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
    marks: Mapping[YamlPath, Mark] = field(default_factory=dict)
    key_marks: Mapping[YamlPath, Mark] = field(default_factory=dict)
    body: str | None = None
    body_line: int = 1
    failed: bool = False  # unreadable: reported already, but its id still exists

    def mark(self, path: YamlPath) -> Mark:
        """Position of the value at ``path``, or of its nearest enclosing value."""
        while path and path not in self.marks:
            path = path[:-1]
        return self.marks.get(path, (1, 1))

    def key_mark(self, path: YamlPath) -> Mark:
        return self.key_marks.get(path) or self.mark(path)


class _Problem(Exception):
    def __init__(self, mark: Mark, message: str, hint: str | None = None):
        super().__init__(message)
        self.mark, self.message, self.hint = mark, message, hint


def load_content(content_dir: Path) -> tuple[list[Document], list[Diagnostic]]:
    """Read every content file; unreadable files become diagnostics, not documents."""
    documents: list[Document] = []
    diagnostics: list[Diagnostic] = []
    content_dir = Path(content_dir)
    if not content_dir.is_dir():
        diagnostics.append(
            Diagnostic(str(content_dir), 1, 1, "content directory not found",
                       "pass --content DIR or run from the project root")
        )
        return documents, diagnostics

    wanted: list[tuple[Path, str]] = [(content_dir / "site.yaml", "site")]
    for dirname, (kind, ext) in COLLECTIONS.items():
        folder = content_dir / dirname
        if not folder.is_dir():
            continue
        for file in sorted(folder.iterdir()):
            if EDITOR_LEFTOVERS.search(file.name) or file.is_dir():
                continue
            if file.suffix != ext:
                diagnostics.append(Diagnostic(
                    str(file), 1, 1,
                    f"{dirname} files must end in {ext}: '{file.name}' is not read",
                    f"rename it to '{file.stem}{ext}'",
                ))
                continue
            wanted.append((file, kind))

    for file, kind in wanted:
        try:
            documents.append(load_file(file, kind))
        except _Problem as problem:
            diagnostics.append(Diagnostic(str(file), *problem.mark, problem.message, problem.hint))
            documents.append(Document(str(file), kind, file.stem, None, failed=True))
        except FileNotFoundError:
            if kind == "site":
                diagnostics.append(Diagnostic(
                    str(file), 1, 1, "site.yaml not found",
                    "every site needs content/site.yaml with title, base_url and language",
                ))
            # else: deleted since it was listed (an editor saving): as if never there
    return documents, diagnostics


def load_file(file: Path, kind: str) -> Document:
    text = _decode(file.read_bytes())
    doc_id = "site" if kind == "site" else file.stem
    if kind not in _FRONT_MATTER_KINDS:
        data, marks, key_marks = parse_yaml(text)
        return Document(str(file), kind, doc_id, data, _freeze(marks), _freeze(key_marks))

    front, body, body_line = split_front_matter(text)
    data, marks, key_marks = parse_yaml(front, line_offset=1)
    return Document(str(file), kind, doc_id, data, _freeze(marks), _freeze(key_marks),
                    body, body_line)


def split_front_matter(text: str) -> tuple[str, str, int]:
    """Split ``---`` front matter from the body, which is kept byte for byte."""
    opening = re.match(r"---[ \t]*\r?\n", text)
    if not opening:
        raise _Problem((1, 1), "missing front matter",
                       "start the file with a line '---', the fields, then a closing '---' line")
    closing = re.compile(r"^---[ \t]*(\r?\n|$)", re.MULTILINE).search(text, opening.end())
    if not closing:
        raise _Problem((1, 1), "front matter is not closed",
                       "end the fields with a line '---' before the text")
    front = text[opening.end():closing.start()]
    body_line = text.count("\n", 0, closing.end()) + 1
    return front, text[closing.end():], body_line


def parse_yaml(text: str, line_offset: int = 0) -> tuple[Any, dict, dict]:
    """Build plain values from libyaml events, recording every value's and key's position."""
    marks: dict[YamlPath, Mark] = {}
    key_marks: dict[YamlPath, Mark] = {}
    root: Any = None
    # Each frame: [container, its path, pending mapping key or None]
    stack: list[list[Any]] = []
    documents = 0

    def at(event: Any) -> Mark:
        return event.start_mark.line + 1 + line_offset, event.start_mark.column + 1

    def place(value: Any, event: Any) -> YamlPath | None:
        nonlocal root
        mark = at(event)
        if not stack:
            root = value
            marks[()] = mark
            return ()
        frame = stack[-1]
        container, path = frame[0], frame[1]
        if isinstance(container, list):
            child = path + (len(container),)
            container.append(value)
            marks[child] = mark
            return child
        if frame[2] is None:  # this node is a key
            if not isinstance(event, yaml.ScalarEvent):
                raise _Problem(mark, "mapping keys must be plain text")
            key = event.value
            if key in container:
                first = key_marks[path + (key,)][0]
                raise _Problem(mark, f"duplicate key '{key}'",
                               f"'{key}' is already set on line {first}; keep one of them")
            frame[2] = key
            key_marks[path + (key,)] = mark
            return None
        child = path + (frame[2],)
        container[frame[2]] = value
        frame[2] = None
        marks[child] = mark
        return child

    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise _Problem(at(event), "more than one YAML document in the file",
                                   "remove the extra '---' line")
                continue
            if isinstance(event, (yaml.StreamStartEvent, yaml.StreamEndEvent,
                                  yaml.DocumentEndEvent)):
                continue
            if isinstance(event, yaml.AliasEvent):
                raise _Problem(at(event), "YAML aliases are not allowed",
                               "write the value out in full")
            if isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                stack.pop()
                continue
            if event.anchor is not None:
                raise _Problem(at(event), "YAML anchors and aliases are not allowed",
                               f"remove '&{event.anchor}' and write values out in full")
            _refuse_tag(event, at(event))
            if isinstance(event, yaml.ScalarEvent):
                child = place(_scalar(event), event)
                if child is not None and event.style in ("|", ">"):
                    marks[child] = _block_start(text, event, line_offset)
                continue
            container: Any = [] if isinstance(event, yaml.SequenceStartEvent) else {}
            path = place(container, event)
            if len(stack) >= MAX_DEPTH:
                raise _Problem(at(event), f"YAML nested deeper than {MAX_DEPTH} levels")
            stack.append([container, path, None])
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        position = (mark.line + 1 + line_offset, mark.column + 1) if mark else (1, 1)
        raise _Problem(position, f"YAML syntax error: {error.problem or error.context}",
                       _syntax_hint(error.problem or "")) from None
    except yaml.reader.ReaderError as error:
        raise _Problem(_line_col(text, error.position, line_offset),
                       f"unacceptable character #x{error.character:04x} in YAML"
                       if isinstance(error.character, int)
                       else f"unreadable YAML: {error.reason}") from None
    return root, marks, key_marks


def _block_start(text: str, event: yaml.ScalarEvent, line_offset: int) -> Mark:
    """A block scalar's text starts on the line after its ``|`` or ``>``."""
    lines = text.splitlines()
    index = event.start_mark.line + 1
    if index >= len(lines):
        return event.start_mark.line + 1 + line_offset, event.start_mark.column + 1
    content = lines[index]
    return index + 1 + line_offset, len(content) - len(content.lstrip(" ")) + 1


def _scalar(event: yaml.ScalarEvent) -> Any:
    if event.implicit[0]:  # plain (unquoted) scalar
        if event.value == "true":
            return True
        if event.value == "false":
            return False
        if event.value in ("", "~", "null", "Null", "NULL"):
            return None
    return event.value


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
        raise _Problem(_line_col(good, len(good)),
                       f"file is not valid UTF-8 (byte 0x{raw[error.start]:02x})",
                       "save the file as UTF-8") from None
    text = text.removeprefix("\ufeff")
    nul = text.find("\x00")
    if nul != -1:
        raise _Problem(_line_col(text, nul), "file contains a NUL byte",
                       "remove it; content files are plain UTF-8 text")
    return text


def _line_col(text: str, offset: int, line_offset: int = 0) -> Mark:
    line = text.count("\n", 0, offset)
    start = text.rfind("\n", 0, offset) + 1
    return line + 1 + line_offset, offset - start + 1


def _freeze(mapping: dict) -> Mapping:
    return MappingProxyType(mapping)
