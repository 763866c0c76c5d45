"""The text and metadata of an original document: bytes in, :class:`Extracted` out.

Pure: no disk, no network (``python build.py import`` reads and fetches, in
:mod:`factsite.importer` and :mod:`factsite.capture`). The text is kept as
published: typographic quotes, apostrophes, dashes, ellipses, non-breaking
spaces and line-end hyphens stay. Only what readers never see is dropped: the
page's markup and boilerplate (menus, share buttons, related links, cookie
banners: trafilatura, favouring precision), soft hyphens and zero-width spaces
(invisible hyphenation hints, absent from a quote copied from the page).
"""

from __future__ import annotations

import codecs
import io
import re
from dataclasses import dataclass, replace
from urllib.parse import urljoin

from .schema import DATE_PATTERN, LANGUAGE_PATTERN, Invalid

# Markup that readers never see as text (U+00AD soft hyphen, U+200B zero-width
# space, U+2060 word joiner, U+FEFF byte-order mark used as zero-width no-break space).
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u2060\ufeff"))
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.I)
# Labels browsers read as windows-1252 (the WHATWG Encoding Standard): pages that
# say latin-1 but hold typographic quotes as bytes 0x93/0x94 are decoded as readers saw them.
_WINDOWS_1252 = {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "ascii", "us-ascii",
                 "cp819", "ibm819", "iso-ir-100", "windows-1252", "cp1252", "x-cp1252"}
# "<!-- saved from url=(0042)https://... -->" (browsers' "Save Page As"), "url: https://..."
# in SingleFile's comment.
_SAVED_FROM = re.compile(r"<!--\s*(?:saved from url=\(\d+\)|Page saved with SingleFile"
                         r"\s+url:\s*)(https?://[^\s>]+)")


@dataclass(frozen=True)
class Extracted:
    """A document's text (paragraphs separated by blank lines) and what it says of itself."""

    text: str
    title: str | None = None
    outlet: str | None = None
    url: str | None = None
    published: str | None = None  # YYYY-MM-DD
    language: str | None = None


def html(data: bytes, charset: str | None = None, url: str | None = None) -> Extracted:
    """The main text of an HTML page and its metadata.

    ``charset`` is the one an HTTP response declared; ``url`` where the page
    was captured from (a relative canonical link is resolved against it).
    """
    import trafilatura  # imported here: a second to load, and only `import` needs it
    from lxml import html as lxml_html

    page = decode_html(data, charset)
    if not page.strip():
        raise Invalid("the page is empty", "save the whole page (HTML only), or import its URL")
    try:
        tree = lxml_html.document_fromstring(page)
    except Exception as error:  # lxml's parser errors have no common base worth naming  # noqa: BLE001
        raise Invalid(f"cannot read the page as HTML: {error}") from None
    language = _page_language(tree)  # before trafilatura prunes the tree
    document = trafilatura.bare_extraction(
        tree, favor_precision=True, include_comments=False, include_tables=True,
        include_images=False, include_formatting=False, include_links=False,
        deduplicate=False, with_metadata=True,
        date_extraction_params={"extensive_search": False, "original_date": True})
    blocks = [] if document is None or document.body is None else _blocks(document.body)
    if not blocks:
        raise Invalid("no text found in the page",
                      "trafilatura found no article text in it: is it the page itself, "
                      "not a login wall, a cookie page or a script-only shell?")
    date = document.date if document.date and DATE_PATTERN.fullmatch(document.date) else None
    outlet = _clean(document.sitename)
    if outlet and re.fullmatch(r"[\w-]+(\.[\w-]+)+", outlet):
        outlet = None  # trafilatura's stand-in for a missing site name: the host name
    return Extracted("\n\n".join(blocks) + "\n", _clean(document.title), outlet,
                     _http_url(urljoin(url or "", document.url or "")) or _saved_from(page),
                     date, language)


def decode_html(data: bytes, charset: str | None = None) -> str:
    """HTML bytes as text: the HTTP charset, a byte-order mark, ``<meta charset>``, else UTF-8.

    Without any of them a page that is not valid UTF-8 is decoded with the
    most likely encoding (charset_normalizer, via trafilatura).
    """
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace").lstrip("\ufeff")
    meta = _META_CHARSET.search(data[:4096])
    for label in (charset, meta and meta.group(1).decode("ascii"), "utf-8"):
        if not label:
            continue
        label = label.strip().lower()
        try:
            return data.decode("cp1252" if label in _WINDOWS_1252 else label)
        except (LookupError, UnicodeDecodeError):
            continue
    from trafilatura.utils import decode_file
    return decode_file(data)


def mhtml(data: bytes) -> Extracted:
    """A page saved as a single file by Chrome or Edge ("Webpage, Single File", MHTML):
    its HTML part, decoded, and the address it was saved from."""
    import email
    import email.policy

    message = email.message_from_bytes(data, policy=email.policy.compat32)
    part = next((p for p in message.walk() if p.get_content_type() in ("text/html",
                                                                        "application/xhtml+xml")),
                None)
    if part is None:
        raise Invalid("no HTML page in the MHTML file",
                      "the file may be damaged; save the page again, or as HTML")
    location = _http_url(str(message.get("Snapshot-Content-Location")
                             or part.get("Content-Location") or "").strip())
    document = html(part.get_payload(decode=True) or b"", part.get_content_charset(), location)
    return document if document.url else replace(document, url=location)


def pdf(data: bytes) -> Extracted:
    """The text of a PDF, page by page (a blank line between pages), lines as laid out.

    Hyphens at line ends stay as published. The title, when the PDF's
    metadata has one, is the only metadata taken: a PDF's dates are those of
    the file, not of the statement.
    """
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise Invalid("the PDF is encrypted", "save an unencrypted copy and import that")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    except Invalid:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise Invalid(f"cannot read the PDF: {error}",
                      "the file may be damaged or only partly downloaded") from None
    paragraphs = ["\n".join(line.rstrip() for line in page.strip("\n").splitlines())
                  for page in pages]
    paragraphs = [p.translate(_INVISIBLE) for p in paragraphs if p.strip()]
    if not paragraphs:
        raise Invalid("no text found in the PDF",
                      "it may be scanned images without a text layer: run OCR on it first")
    return Extracted("\n\n".join(paragraphs) + "\n", _clean(title))


def _blocks(body) -> list[str]:  # noqa: ANN001 - an lxml element
    """Each paragraph, heading, quote, list and table of trafilatura's output as one block."""
    blocks = []
    for element in body:
        if element.tag == "list":
            text = "\n".join(_text(item) for item in element.iter("item"))
        elif element.tag == "table":
            text = "\n".join("\t".join(_text(cell) for cell in row.iter("cell"))
                             for row in element.iter("row"))
        else:
            text = _text(element)
        text = "\n".join(line.strip() for line in text.translate(_INVISIBLE).splitlines()
                         if line.strip())
        if text:
            blocks.append(text)
    return blocks


def _text(element) -> str:  # noqa: ANN001 - an lxml element
    """An element's text, its ``<lb/>`` line breaks as newlines."""
    parts = [element.text or ""]
    for child in element:
        parts.append("\n" if child.tag == "lb" else _text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _page_language(tree) -> str | None:  # noqa: ANN001 - an lxml element
    """The page's language tag: ``<html lang>``, else its content-language meta."""
    candidates = [tree.get("lang"), tree.get("{http://www.w3.org/XML/1998/namespace}lang")]
    candidates += tree.xpath("//meta[translate(@http-equiv, 'CONTENT-LANGUAGE', "
                             "'content-language')='content-language']/@content")
    for value in candidates:
        value = (value or "").split(",")[0].strip().replace("_", "-")
        if LANGUAGE_PATTERN.fullmatch(value):
            return value
    return None


def _saved_from(page: str) -> str | None:
    """The address a browser or SingleFile noted when saving the page, if any."""
    match = _SAVED_FROM.search(page[:8192])
    return _http_url(match.group(1)) if match else None


def _clean(value: str | None) -> str | None:
    value = " ".join((value or "").translate(_INVISIBLE).split())
    return value or None


def _http_url(value: str | None) -> str | None:
    return value if value and re.match(r"https?://[^\s/]+", value) else None
