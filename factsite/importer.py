"""`python build.py import SOURCE`: a new source from a saved page, a PDF, a WARC or a URL.

Reads the original (or fetches it, through :mod:`factsite.capture`), extracts
its text and metadata (:mod:`factsite.extract`) and writes
``content/sources/<id>.txt``, plus ``content/captures/<id>.warc.gz`` for a web
archive or a URL: the page's HTTP exchange, whose SHA-256 the source records.
A field it cannot fill becomes a ``TODO`` placeholder, which ``check`` reports.
It never overwrites a file, and writes nothing when anything fails.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import capture, extract
from .diagnostics import ContentError, Diagnostic
from .schema import LANGUAGE_PATTERN, Invalid
from .scaffold import KINDS, check_id, yaml_text

CAPTURES = "captures"  # content/captures/<id>.warc.gz, beside content/sources/
FORMATS = {".html": "html", ".htm": "html", ".xhtml": "html", ".mhtml": "mhtml",
           ".mht": "mhtml", ".pdf": "pdf", ".warc": "warc", ".warc.gz": "warc"}
PLACEHOLDERS = {
    "title": "TODO the headline, as published",
    "outlet": "TODO the publication, or delete this line",
    "url": "TODO the original address, or delete this line",
    "published": "TODO the publication date, as YYYY-MM-DD",
    "language": "TODO its language tag: en, ru, pt-BR, ...",
}
_ID_WORDS = 8
# Russian letters spelled in Latin ones, for ids made from Russian headlines.
_CYRILLIC = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
                     "a b v g d e e zh z i i k l m n o p r s t u f kh ts ch sh shch  y  e yu ya"
                     .split(" ")))


@dataclass(frozen=True)
class Imported:
    source: Path  # content/sources/<id>.txt
    capture: Path | None  # content/captures/<id>.warc.gz
    id: str
    paragraphs: int
    placeholders: tuple[str, ...]  # the fields left as TODO


def run(content_dir: Path, original: str, *, source_id: str | None = None,
        url: str | None = None, language: str | None = None) -> Imported:
    """Import ``original`` (a file path or an http(s) URL) as a new source.

    Raises :class:`Invalid` (nothing could be imported) or :class:`ContentError`
    (the source or capture file already exists).
    """
    content_dir = Path(content_dir)
    if source_id is not None:
        check_id("source", source_id)
    if url is not None:
        capture.check_fetchable(url)
    if language is not None and not LANGUAGE_PATTERN.fullmatch(language):
        raise Invalid(f"invalid language tag '{language}'", "write one like en, ru or pt-BR")
    if not content_dir.is_dir():
        raise ContentError([Diagnostic(str(content_dir), 1, 1, "content directory not found",
                                       "pass --content DIR or run from the project root")])
    document, page = _extract(original, url)
    if url is not None and page is None:  # in a web archive, --url picks the page instead
        document = replace(document, url=url)
    if language is not None:
        document = replace(document, language=language)
    source_id = source_id or default_id(document, original)
    source_path = content_dir / KINDS["source"][0] / f"{source_id}{KINDS['source'][1]}"
    capture_path = content_dir / CAPTURES / f"{source_id}.warc.gz" if page else None
    for path in filter(None, (source_path, capture_path)):
        if path.exists():
            raise _exists(path, source_id)
    digest = hashlib.sha256(page.warc).hexdigest() if page else None
    text, placeholders = source_file(document, page, digest)
    written: list[Path] = []
    try:
        if page and capture_path:
            capture_path.parent.mkdir(exist_ok=True)
            _write_new(capture_path, page.warc)
            written.append(capture_path)
        source_path.parent.mkdir(exist_ok=True)
        _write_new(source_path, text.encode("utf-8"))
    except FileExistsError as error:  # created meanwhile by someone else
        for path in written:
            path.unlink()
        raise _exists(error.filename, source_id) from None
    return Imported(source_path, capture_path, source_id, document.text.count("\n\n") + 1,
                    placeholders)


def _extract(original: str, url: str | None) -> tuple[extract.Extracted, capture.Page | None]:
    """The document's text and metadata, and for a WARC or URL the page's capture."""
    scheme = urlsplit(original).scheme.lower()
    if scheme in ("http", "https"):
        if url is not None:
            raise Invalid("--url is for a saved page, a PDF or a web archive",
                          f"the address is {original} itself: leave out --url")
        page = capture.find_page(io.BytesIO(capture.fetch(original)), original)
        return _from_page(page), page
    if len(scheme) > 1:  # one letter: a Windows drive
        raise Invalid(f"cannot import a {scheme}: address", "give an http(s) URL or a file")
    path = Path(original)
    name = path.name.lower()
    kind = next((FORMATS[ext] for ext in sorted(FORMATS, key=len, reverse=True)
                 if name.endswith(ext)), None)
    if kind is None:
        raise Invalid(f"unsupported file type: {path.name}",
                      "import a saved web page (.html, .htm, .mhtml), a PDF (.pdf), a web archive "
                      "(.warc, .warc.gz) or an http(s) URL")
    try:
        if kind == "warc":  # read where needed: an archive of a whole site can be large
            with path.open("rb") as archive:
                page = capture.find_page(archive, url)
            return _from_page(page), page
        data = path.read_bytes()
    except FileNotFoundError:
        raise Invalid(f"no such file: {original}") from None
    except OSError as error:
        raise Invalid(f"cannot read {original}: {error.strerror or error}") from None
    return {"html": extract.html, "mhtml": extract.mhtml, "pdf": extract.pdf}[kind](data), None


def _from_page(page: capture.Page) -> extract.Extracted:
    """A captured page's text; its address is the one it was captured from, which surely
    holds the text (a canonical link may name another variant, or the home page)."""
    return replace(extract.html(page.body, page.charset, page.url), url=page.url)


def source_file(document: extract.Extracted, page: capture.Page | None,
                digest: str | None) -> tuple[str, tuple[str, ...]]:
    """The text of ``content/sources/<id>.txt`` and the fields left as placeholders."""
    fields = {"title": document.title, "outlet": document.outlet, "url": document.url,
              "published": document.published, "language": document.language}
    lines = ["---"]
    placeholders = tuple(name for name, value in fields.items() if not value)
    for name, value in fields.items():
        lines.append(f"{name}: {yaml_text(value or PLACEHOLDERS[name])}")
    if page:
        lines += ["capture:", f"  url: {yaml_text(page.url)}", f"  date: {page.date}",
                  f"  sha256: {digest}"]
    lines.append("---")
    return "\n".join(lines) + "\n" + document.text, placeholders


def default_id(document: extract.Extracted, original: str) -> str:
    """``<published>-<slug of the title>``; the file or page name stands in for a missing title."""
    words = _slug_words(document.title or "")
    if not words:
        name = unquote(urlsplit(original).path.rstrip("/").rsplit("/", 1)[-1]) or \
            urlsplit(original).hostname or "source"
        name = re.sub(r"(\.warc)?\.[a-z]+$", "", name, flags=re.I) if "." in name else name
        words = _slug_words(name) or ["source"]
    slug = "-".join(words[:_ID_WORDS])
    return f"{document.published}-{slug}" if document.published else slug


def _slug_words(text: str) -> list[str]:
    text = "".join(_CYRILLIC.get(c, c) for c in text.lower())
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.findall(r"[a-z0-9]+", re.sub(r"['’]", "", text))


def _exists(path: Path | str, source_id: str) -> ContentError:
    return ContentError([Diagnostic(
        str(path), 1, 1, f"'{source_id}' already exists; `import` never overwrites a file",
        "choose another id with --id ID")])


def _write_new(path: Path, data: bytes) -> None:
    with open(path, "xb") as file:
        file.write(data)
