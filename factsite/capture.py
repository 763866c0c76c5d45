"""Web archives (WARC): fetch a URL into one, and find a page's capture in one.

:func:`fetch` is the only code in factsite that reaches the network, and only
``python build.py import URL`` calls it: one GET per address (redirects
followed, each hop recorded), a timeout, a size limit, no cookies, no
credentials, no proxy. The raw HTTP exchange becomes WARC records (warcio).
:func:`find_page` reads a WARC, ours or one from Webrecorder, ArchiveWeb.page
or the Internet Archive, and returns the page's response, following recorded
redirects, with the original bytes of the records of that page.
"""

from __future__ import annotations

import gzip
import http.client
import io
import socket
import ssl
import time
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator, TypeVar
from urllib.parse import urljoin, urlsplit

from .schema import Invalid

TIMEOUT = 20.0  # seconds for the whole of each exchange
MAX_BYTES = 20 * 1024 * 1024  # of one HTTP response, headers included
MAX_REDIRECTS = 10
USER_AGENT = "factsite-import/0.1 (one fetch by an editor; python build.py import)"
HTML_TYPES = ("text/html", "application/xhtml+xml")
_REDIRECTS = (301, 302, 303, 307, 308)
T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    """A page's recorded response, and the WARC records of its capture."""

    url: str  # where the body was captured from (after redirects)
    date: str  # when: YYYY-MM-DDTHH:MM:SSZ
    body: bytes  # the payload, without transfer and content encodings
    charset: str | None
    warc: bytes  # the request and response records of every hop, gzipped record by record


# -- reading a WARC --------------------------------------------------------------------

@dataclass
class _Record:
    kind: str
    uri: str
    id: str
    concurrent_to: str
    date: str
    offset: int = 0  # where the record is stored in the archive, and its length there
    length: int = 0
    status: int = 0
    location: str = ""
    content_type: str = ""
    charset: str | None = None


def find_page(archive: BinaryIO, url: str | None = None) -> Page:
    """The HTML page captured in the WARC ``archive``: the one at ``url``, else the first.

    Redirects recorded in the archive are followed. Raises :class:`Invalid`
    when the archive cannot be read, has no such page, records an error
    response or a redirect loop, or the page is not HTML. Only the records
    of that page are read into memory, so archives of whole sites are fine.
    """
    records = _scan(archive)
    responses: dict[str, _Record] = {}
    for record in records:
        if record.kind == "response":
            responses.setdefault(record.uri, record)
    if not responses:
        raise Invalid("no HTTP response in the web archive",
                      "a WARC of a web page holds 'response' records; is this the right file?")
    if url is None:
        first = next((r for r in responses.values()
                      if r.status in _REDIRECTS or _is_html(r)), next(iter(responses.values())))
        url = first.uri
    elif url not in responses:
        pages = [u for u, r in responses.items() if _is_html(r)][:3]
        raise Invalid(f"the web archive has no capture of {url}",
                      "pages it holds: " + ", ".join(pages) if pages
                      else "it holds no HTML page")
    chain = [responses[url]]
    while chain[-1].status in _REDIRECTS and chain[-1].location:
        target = urljoin(chain[-1].uri, chain[-1].location)
        if any(r.uri == target for r in chain):
            raise Invalid(f"redirect loop: {' -> '.join([r.uri for r in chain] + [target])}",
                          "the address never leads to a page; check it in a browser")
        if len(chain) > MAX_REDIRECTS:
            raise Invalid(f"more than {MAX_REDIRECTS} redirects from {url}",
                          "import the address the redirects end at")
        if target not in responses:
            raise Invalid(f"{chain[-1].uri} redirects to {target}, which the web archive "
                          "does not hold", f"import {target} instead")
        chain.append(responses[target])
    page = chain[-1]
    if not 200 <= page.status < 300:
        raise Invalid(f"{page.uri} answered HTTP {page.status}, not a page",
                      "check the address; only a successful response can be imported")
    if not _is_html(page):
        raise Invalid(f"{page.uri} is not an HTML page (Content-Type: {page.content_type})",
                      "save the document and import the file: "
                      "python build.py import FILE --url URL")
    ids = {r.id for r in chain}
    kept = [r for r in records if r.id in ids or (r.kind == "request" and r.concurrent_to in ids)]
    return _reading(lambda: Page(page.uri, page.date, _body(archive, page), page.charset,
                                 b"".join(_stored(archive, r) for r in kept)))


def _reading(read: Callable[[], T]) -> T:
    """``read()``, with warcio's and the file's errors as :class:`Invalid`."""
    from warcio.exceptions import ArchiveLoadFailed

    try:
        return read()
    except (ArchiveLoadFailed, OSError, EOFError, ValueError, IndexError, StopIteration) as error:
        raise Invalid(f"cannot read the web archive: {error}",
                      "the file may be damaged or not a WARC") from None


def _scan(archive: BinaryIO) -> list[_Record]:
    """Every record's headers and place in the archive; no payload is kept."""
    records = _reading(lambda: list(_records(archive)))
    if not records:  # warcio reads a damaged gzip stream as an empty one
        raise Invalid("cannot read the web archive: no WARC record in it",
                      "the file may be damaged or not a WARC")
    return records


def _records(archive: BinaryIO) -> Iterator[_Record]:
    from warcio.archiveiterator import ArchiveIterator

    archive.seek(0)
    iterator = ArchiveIterator(archive, check_digests=False)
    for record in iterator:
        headers = record.rec_headers
        # WARC 1.1's grammar once showed the URI in <>; some tools still write it so
        item = _Record(record.rec_type, (headers.get_header("WARC-Target-URI") or "").strip("<>"),
                       headers.get_header("WARC-Record-ID") or "",
                       headers.get_header("WARC-Concurrent-To") or "",
                       _warc_date(headers.get_header("WARC-Date") or ""))
        http_headers = record.http_headers
        if item.kind == "response" and http_headers is not None:
            item.status = int(http_headers.get_statuscode() or 0)
            item.location = (http_headers.get_header("Location") or "").strip()
            content_type = http_headers.get_header("Content-Type") or ""
            item.content_type = content_type.split(";")[0].strip().lower()
            item.charset = _charset(content_type)
        iterator.read_to_end(record)
        item.offset, item.length = iterator.get_record_offset(), iterator.get_record_length()
        yield item


def _body(archive: BinaryIO, record: _Record) -> bytes:
    """The payload of the response stored at ``record.offset``, decoded from its transfer."""
    from warcio.archiveiterator import ArchiveIterator

    archive.seek(record.offset)
    return next(iter(ArchiveIterator(archive, check_digests=False))).content_stream().read()


def _stored(archive: BinaryIO, record: _Record) -> bytes:
    """The record's bytes as stored in the archive, as one gzip member."""
    archive.seek(record.offset)
    raw = archive.read(record.length)
    return raw if raw[:2] == b"\x1f\x8b" else gzip.compress(raw + b"\r\n\r\n", mtime=0)


def _is_html(record: _Record) -> bool:
    return record.content_type in HTML_TYPES


def _charset(content_type: str) -> str | None:
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip(" \"'"):
            return value.strip(" \"'")
    return None


def _warc_date(value: str) -> str:
    """``2026-12-01T16:30:05.123456Z`` → ``2026-12-01T16:30:05Z``."""
    value = value.strip()
    return value[:19] + "Z" if len(value) >= 19 else value


# -- fetching ----------------------------------------------------------------------------

def fetch(url: str, *, timeout: float | None = None, max_bytes: int | None = None) -> bytes:
    """GET ``url`` once, following redirects; every exchange as WARC records (gzipped).

    Raises :class:`Invalid` when the address cannot be reached, does not
    answer within ``timeout`` seconds, answers with more than ``max_bytes``
    (defaults: :data:`TIMEOUT`, :data:`MAX_BYTES`) or answers with something else than HTML. A redirect loop stops the
    fetching; :func:`find_page` reports it.
    """
    from warcio.warcwriter import WARCWriter

    check_fetchable(url)
    timeout, max_bytes = timeout or TIMEOUT, max_bytes or MAX_BYTES
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    seen: set[str] = set()
    while url not in seen and len(seen) <= MAX_REDIRECTS:
        seen.add(url)
        sent, received, response, address = _exchange(url, timeout, max_bytes)
        response_record = writer.create_warc_record(
            url, "response", payload=io.BytesIO(received), length=len(received),
            warc_headers_dict={"WARC-IP-Address": address} if address else {})
        request_record = writer.create_warc_record(
            url, "request", payload=io.BytesIO(sent), length=len(sent),
            warc_headers_dict={"WARC-Concurrent-To":
                               response_record.rec_headers.get_header("WARC-Record-ID"),
                               "WARC-Date": response_record.rec_headers.get_header("WARC-Date")})
        writer.write_record(request_record)
        writer.write_record(response_record)
        location = response.getheader("Location")
        if response.status not in _REDIRECTS or not location:
            break
        url = urljoin(url, location.strip())
        if urlsplit(url).scheme not in ("http", "https"):
            raise Invalid(f"redirected to {url}, which is not an http(s) address")
    return out.getvalue()


def check_fetchable(url: str) -> None:
    """An absolute http(s) address without credentials, or :class:`Invalid`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"'{url}' is not an http(s) address", "write it like https://example.org/page")
    if parts.username is not None or parts.password is not None:
        raise Invalid(f"'{url}' contains a user name or password",
                      "import never sends credentials: remove the 'user:password@' part")


def _exchange(url: str, timeout: float, max_bytes: int
              ) -> tuple[bytes, bytes, http.client.HTTPResponse, str | None]:
    """One GET: the bytes sent, the bytes received, the parsed response, the server's address."""
    parts = urlsplit(url)
    deadline = time.monotonic() + timeout
    if parts.scheme == "https":
        connection: _Connection = _HTTPSConnection(parts.hostname, parts.port, timeout=timeout,
                                                   context=ssl.create_default_context())
    else:
        connection = _Connection(parts.hostname, parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("GET", path, headers={
            "User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
            "Connection": "close"})
        response = connection.getresponse()
        received = response.fp  # kept: closing the response drops it
        if 200 <= response.status < 300:
            content_type = (response.getheader("Content-Type") or "").split(";")[0].strip()
            if content_type.lower() not in HTML_TYPES:
                raise Invalid(f"{url} is not an HTML page (Content-Type: {content_type or 'none'})",
                              "save the document and import the file: "
                              "python build.py import FILE --url URL")
        declared = response.getheader("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise _too_large(url, max_bytes)
        while response.read(64 * 1024):
            if len(received.data) > max_bytes:
                raise _too_large(url, max_bytes)
            if time.monotonic() > deadline:
                raise TimeoutError
    except (TimeoutError, socket.timeout):
        raise Invalid(f"{url} did not answer within {timeout:g} seconds",
                      "try again later, or save the page in a browser and import the file") from None
    except (OSError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", None) or getattr(error, "strerror", None) or error
        raise Invalid(f"cannot reach {url}: {reason}",
                      "check the address and your connection") from None
    finally:
        connection.close()
    return bytes(connection.sent), bytes(received.data), response, connection.address


def _too_large(url: str, max_bytes: int) -> Invalid:
    return Invalid(f"{url} is larger than {max_bytes // (1024 * 1024)} MiB",
                   "save the page in a browser and import the file")


class _Recorder(io.RawIOBase):
    """Reads through to the socket's file, keeping every byte read: the raw response."""

    def __init__(self, file: io.BufferedReader):
        super().__init__()
        self.file, self.data = file, bytearray()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001 - a writable buffer
        count = self.file.readinto(buffer)
        self.data += memoryview(buffer)[:count]
        return count

    def readline(self, limit: int = -1) -> bytes:
        line = self.file.readline(limit)
        self.data += line
        return line

    def read(self, size: int = -1) -> bytes:
        chunk = self.file.read(size)
        self.data += chunk
        return chunk

    def close(self) -> None:
        self.file.close()
        super().close()


class _RecordingResponse(http.client.HTTPResponse):
    def __init__(self, sock, *args, **kwargs):  # noqa: ANN001 - as http.client passes them
        super().__init__(sock, *args, **kwargs)
        self.fp = _Recorder(self.fp)


class _Connection(http.client.HTTPConnection):
    """Records the bytes it sends and the address it reached; never uses a proxy."""

    response_class = _RecordingResponse

    def __init__(self, *args, **kwargs):  # noqa: ANN002, ANN003 - as http.client takes them
        super().__init__(*args, **kwargs)
        self.sent, self.address = bytearray(), None

    def connect(self) -> None:
        super().connect()
        self.address = self.sock.getpeername()[0]

    def send(self, data) -> None:  # noqa: ANN001 - bytes or a file, as http.client passes
        if isinstance(data, (bytes, bytearray)):
            self.sent += data
        super().send(data)


class _HTTPSConnection(_Connection, http.client.HTTPSConnection):
    pass
