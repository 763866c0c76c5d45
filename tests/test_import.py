"""`build.py import`: saved pages, PDFs, web archives and URLs become sources, verbatim.

Every fixture is made here: HTML pages with a site's boilerplate, a PDF
written by hand, WARCs written with warcio, and a web server on 127.0.0.1.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import threading
import time
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

import build
from factsite import capture, pipeline
from factsite.load import load_file
from tests.conftest import TEMPLATES, soup

SPOKEN = ("“Russia will not discuss with anyone the withdrawal of any missiles, any weapons "
          "from Kaliningrad, since Kaliningrad is the territory of Russia,” Dmitry Peskov told "
          "CNN… He added that the talks were “a good start — but only a start”.")
ARTICLE = f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>Peskov: Kaliningrad weapons “not up for discussion” | Example News</title>
<link rel="canonical" href="https://news.example.org/world/2022/01/16/kaliningrad">
<meta property="og:title" content="Peskov: Kaliningrad weapons “not up for discussion”">
<meta property="og:site_name" content="Example News">
<meta property="article:published_time" content="2022-01-16T09:30:00+03:00">
<script>window.dataLayer = [];</script>
</head>
<body>
<div id="cookie-banner" class="cookie-consent"><p>We use cookies to improve your experience.
By continuing you accept our cookie policy.</p><button>Accept all cookies</button></div>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li>
<li><a href="/politics">Politics</a></li><li><a href="/sport">Sport</a></li></ul></nav></header>
<main><article>
<h1>Peskov: Kaliningrad weapons “not up for discussion”</h1>
<p class="byline">By Jane Reporter · <time datetime="2022-01-16">16 January 2022</time></p>
<div class="share"><a href="https://twitter.example/share">Share on Twitter</a>
<a href="https://facebook.example/share">Share on Facebook</a></div>
<p>Russia will not discuss with anyone the withdrawal of any missiles, any weapons from
Kaliningrad, the Kremlin’s spokesman said on Sunday.</p>
<p>{SPOKEN}</p>
<p>The remarks came after a week of talks in Geneva, Brussels and Vienna. “We don’t see any
reason to be optimistic,” he&nbsp;said. The word «безопасность» came up&nbsp;often.</p>
<p>Asked about the 9M729 missile, Peskov said its deploy&shy;ment was ‘a matter for the
Ministry of Defence’ and declined to comment further.</p>
</article>
<aside class="related"><h2>Related stories</h2><ul><li><a href="/a">NATO responds to Russian
proposals</a></li><li><a href="/b">Talks in Geneva end without breakthrough</a></li></ul></aside>
</main>
<footer><p>© 2022 Example News. All rights reserved.</p><a href="/privacy">Privacy</a></footer>
</body>
</html>
"""
BOILERPLATE = ("cookie", "Home", "Sport", "Share on", "Related stories", "NATO responds",
               "All rights reserved", "Privacy", "dataLayer", "Jane Reporter")
ARTICLE_ID = "2022-01-16-peskov-kaliningrad-weapons-not-up-for-discussion"


@pytest.fixture
def cli(tmp_path, content, monkeypatch, capsys):
    """Run build.py in a directory holding a copy of the fixture content; (code, out, err)."""
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> tuple[int, str, str]:
        code = build.main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err
    return run


def written(content: Path) -> set[str]:
    return {str(p.relative_to(content)) for p in content.rglob("*") if p.is_file()}


def body(path: Path) -> str:
    return load_file(path, "source").body


def fields(path: Path) -> dict:
    return load_file(path, "source").data


# -- saved web pages ----------------------------------------------------------------------

def test_saved_page_gives_its_text_without_boilerplate_and_its_metadata(cli, tmp_path, content):
    (tmp_path / "page.html").write_text(ARTICLE, encoding="utf-8")
    code, out, err = cli("import", "page.html")
    path = f"content/sources/{ARTICLE_ID}.txt"
    assert (code, err) == (0, "")
    assert out == (f"imported {path} (5 paragraphs)\n"
                   f"next: python build.py new claim CLAIM-ID, and quote it from source "
                   f"'{ARTICLE_ID}'\n")
    assert fields(tmp_path / path) == {
        "title": "Peskov: Kaliningrad weapons “not up for discussion”",
        "outlet": "Example News", "url": "https://news.example.org/world/2022/01/16/kaliningrad",
        "published": "2022-01-16", "language": "en-GB"}
    text = body(tmp_path / path)
    paragraphs = text.split("\n\n")
    assert paragraphs[0] == "Peskov: Kaliningrad weapons “not up for discussion”"
    assert paragraphs[2] == SPOKEN  # typographic quotes, ellipsis and dash as published
    assert "he said" in text and "«безопасность»" in text  # whitespace runs become one space
    assert "its deployment was ‘a matter for the Ministry of Defence’" in text  # no soft hyphen
    assert not [word for word in BOILERPLATE if word in text]
    assert text.endswith("comment further.\n")


def test_a_quote_copied_from_the_original_page_checks_against_the_imported_text(
        cli, tmp_path, content):
    (tmp_path / "page.html").write_text(ARTICLE, encoding="utf-8")
    assert cli("import", "page.html", "--id", "kaliningrad")[0] == 0
    quote = ("since Kaliningrad is the territory of Russia,” Dmitry Peskov told CNN… He added "
             "that the talks were “a good start — but only a start”.")
    (content / "claims" / "not-negotiable.yaml").write_text(
        f"claim: Kaliningrad's weapons are not negotiable.\nclaimant: press-office\n"
        f"date: 2022-01-16\npassages:\n  - source: kaliningrad\n    quote: '{quote}'\n"
        f"  - source: kaliningrad\n    quote: We don’t see any reason to be optimistic\n",
        encoding="utf-8")
    site, warnings = pipeline.load_site(content)
    claim = next(c for c in site.claims if c.id == "not-negotiable")
    assert [p.text for p in claim.passages] == [quote, "We don’t see any reason to be optimistic"]


def test_missing_metadata_becomes_placeholders_that_check_reports(cli, tmp_path, content):
    (tmp_path / "Minutes of the meeting.htm").write_text(
        "<html><body><main><p>" + "The council met on Monday and agreed the budget. " * 8
        + "</p><p>The bridge will cost “forty million”.</p></main></body></html>",
        encoding="utf-8")
    code, out, err = cli("import", "Minutes of the meeting.htm")
    assert (code, err) == (0, "")
    assert out.splitlines()[:2] == [
        "imported content/sources/minutes-of-the-meeting.txt (2 paragraphs)",
        "  to fill in: title, outlet, url, published, language (TODO placeholders; "
        "python build.py check lists them)"]
    code, out, err = cli("check")
    assert code == 1
    assert err.splitlines() == [
        "content/sources/minutes-of-the-meeting.txt:2:8: error: 'title' is still a TODO placeholder",
        "  hint: the headline, as published",
        "content/sources/minutes-of-the-meeting.txt:3:9: error: 'outlet' is still a TODO placeholder",
        "  hint: the publication, or delete this line",
        "content/sources/minutes-of-the-meeting.txt:4:6: error: 'url' is still a TODO placeholder",
        "  hint: the original address, or delete this line",
        "content/sources/minutes-of-the-meeting.txt:5:12: error: 'published' is still a TODO "
        "placeholder",
        "  hint: the publication date, as YYYY-MM-DD",
        "content/sources/minutes-of-the-meeting.txt:6:11: error: 'language' is still a TODO "
        "placeholder",
        "  hint: its language tag: en, ru, pt-BR, ...",
        "check failed: 5 errors"]


def test_options_set_the_id_url_and_language(cli, tmp_path, content):
    (tmp_path / "page.html").write_text(ARTICLE.replace('lang="en-GB"', ""), encoding="utf-8")
    assert cli("import", "page.html", "--id", "peskov-cnn", "--url", "https://cnn.example/x",
               "--language", "en")[0] == 0
    data = fields(content / "sources" / "peskov-cnn.txt")
    assert (data["url"], data["language"]) == ("https://cnn.example/x", "en")


@pytest.mark.parametrize("note", [
    "<!-- saved from url=(0032)https://news.example.org/saved -->",
    "<!--\n Page saved with SingleFile \n url: https://news.example.org/saved \n saved date: "
    "Sun Jan 16 2022 10:15:00 GMT+0000 -->"])
def test_the_address_a_browser_noted_when_saving_stands_in_for_a_canonical_link(
        cli, tmp_path, content, note):
    page = ARTICLE.replace('<link rel="canonical" href="https://news.example.org/world/2022/01/16/'
                           'kaliningrad">', "").replace("<!DOCTYPE html>", "<!DOCTYPE html>" + note)
    (tmp_path / "page.html").write_text(page, encoding="utf-8")
    assert cli("import", "page.html", "--id", "saved")[0] == 0
    assert fields(content / "sources" / "saved.txt")["url"] == "https://news.example.org/saved"


def test_a_page_saved_as_a_single_file_mhtml(cli, tmp_path, content):
    """What Chrome's "Webpage, Single File" writes: MIME parts, quoted-printable HTML."""
    import quopri
    page = ARTICLE.replace('<link rel="canonical" href="https://news.example.org/world/2022/01/16/'
                           'kaliningrad">', "")
    (tmp_path / "page.mhtml").write_bytes(
        b"From: <Saved by Blink>\r\nSnapshot-Content-Location: https://news.example.org/k/\r\n"
        b"Subject: Peskov\r\nMIME-Version: 1.0\r\nContent-Type: multipart/related;\r\n"
        b'\ttype="text/html";\r\n\tboundary="----MultipartBoundary--x"\r\n\r\n'
        b"------MultipartBoundary--x\r\nContent-Type: text/html\r\nContent-ID: <frame-1@mhtml.blink>"
        b"\r\nContent-Transfer-Encoding: quoted-printable\r\n"
        b"Content-Location: https://news.example.org/k/\r\n\r\n"
        + quopri.encodestring(page.encode("utf-8")).replace(b"\n", b"\r\n")
        + b"\r\n------MultipartBoundary--x\r\nContent-Type: image/png\r\n"
          b"Content-Transfer-Encoding: base64\r\n"
          b"Content-Location: https://news.example.org/logo.png\r\n\r\niVBORw0KGgo=\r\n"
          b"------MultipartBoundary--x--\r\n")
    assert cli("import", "page.mhtml")[0] == 0
    path = content / "sources" / f"{ARTICLE_ID}.txt"
    assert SPOKEN in body(path)
    assert fields(path)["url"] == "https://news.example.org/k/"


def test_a_page_in_windows_1252_keeps_its_typographic_characters(cli, tmp_path, content):
    page = ARTICLE.replace('charset="utf-8"', 'charset="iso-8859-1"').replace(
        "«безопасность»", "«security»")
    (tmp_path / "page.html").write_bytes(page.encode("cp1252"))
    assert cli("import", "page.html", "--id", "latin")[0] == 0
    assert SPOKEN in body(content / "sources" / "latin.txt")


def test_russian_headlines_give_latin_ids(cli, tmp_path, content):
    page = ARTICLE.replace("Peskov: Kaliningrad weapons “not up for discussion”",
                           "Песков: оружие в Калининграде не обсуждается")
    (tmp_path / "page.html").write_text(page, encoding="utf-8")
    assert cli("import", "page.html")[0] == 0
    assert (content / "sources" / "2022-01-16-peskov-oruzhie-v-kaliningrade-ne-obsuzhdaetsya.txt"
            ).is_file()


def test_import_never_overwrites_and_writes_nothing_on_failure(cli, tmp_path, content):
    (tmp_path / "page.html").write_text(ARTICLE, encoding="utf-8")
    before = written(content)
    assert cli("import", "page.html", "--id", "2021-03-council-minutes") == (
        1, "", "content/sources/2021-03-council-minutes.txt:1:1: error: '2021-03-council-minutes' "
               "already exists; `import` never overwrites a file\n"
               "  hint: choose another id with --id ID\nimport failed: 1 error\n")
    assert written(content) == before


@pytest.mark.parametrize("name, data, message", [
    ("empty.html", b"<html><head><title>Nothing</title></head><body><nav><a href='/'>Home</a>"
                   b"</nav></body></html>",
     "no text found in the page\n  hint: trafilatura found no article text in it: is it the "
     "page itself, not a login wall, a cookie page or a script-only shell?"),
    ("blank.htm", b"  \n", "the page is empty\n  hint: save the whole page (HTML only), "
                           "or import its URL"),
    ("notes.docx", b"PK\x03\x04", "unsupported file type: notes.docx\n  hint: import a saved web "
     "page (.html, .htm, .mhtml), a PDF (.pdf), a web archive (.warc, .warc.gz) or an http(s) URL"),
    ("notes.mhtml", b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhello\r\n",
     "no HTML page in the MHTML file\n  hint: the file may be damaged; save the page again, "
     "or as HTML"),
    ("broken.pdf", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog", None),
    ("broken.warc.gz", b"\x1f\x8b\x08\x00garbage", None),
    ("text.warc", b"hello, not a WARC\n", None),
])
def test_unreadable_files_are_clear_errors_that_write_nothing(cli, tmp_path, content, name,
                                                                data, message):
    (tmp_path / name).write_bytes(data)
    before = written(content)
    code, out, err = cli("import", name)
    assert (code, out) == (1, "")
    if message:
        assert err == f"build.py import: error: {message}\n"
    else:
        kind = "PDF" if name.endswith(".pdf") else "web archive"
        assert err.startswith(f"build.py import: error: cannot read the {kind}: ")
        assert "\n  hint: " in err and err.count("\n") == 2
    assert written(content) == before


def test_missing_file_and_bad_options(cli, tmp_path, content):
    assert cli("import", "nowhere.html") == (
        1, "", "build.py import: error: no such file: nowhere.html\n")
    assert cli("import", "ftp://example.org/x.html") == (
        1, "", "build.py import: error: cannot import a ftp: address\n"
               "  hint: give an http(s) URL or a file\n")
    assert cli("import", "https://example.org/a", "--url", "https://example.org/b") == (
        1, "", "build.py import: error: --url is for a saved page, a PDF or a web archive\n"
               "  hint: the address is https://example.org/a itself: leave out --url\n")
    assert cli("import", "x.html", "--id", "Bad_Id") == (
        1, "", "build.py import: error: invalid id 'Bad_Id'\n"
               "  hint: ids use lowercase letters, digits and single hyphens, like 'bad-id'\n")
    assert cli("import", "x.html", "--language", "english please") == (
        1, "", "build.py import: error: invalid language tag 'english please'\n"
               "  hint: write one like en, ru or pt-BR\n")


# -- PDFs ----------------------------------------------------------------------------------

def make_pdf(pages: list[list[str]], title: str | None = None) -> bytes:
    """A PDF whose pages show these lines in Helvetica (WinAnsiEncoding), with an xref table."""
    def string(raw: bytes) -> bytes:
        return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"]
    kids = []
    for lines in pages:
        ops = b"BT /F1 12 Tf 14 TL 72 720 Td " + b" ".join(
            string(line.encode("cp1252")) + b" Tj T*" for line in lines) + b" ET"
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(ops), ops))
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % len(objects))
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    info = b""
    if title:
        objects.append(b"<< /Title " + string(title.encode("latin-1")) + b" >>")
        info = b" /Info %d 0 R" % len(objects)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, info, xref)
    return bytes(out)


def test_pdf_gives_its_text_page_by_page_with_line_end_hyphens_kept(cli, tmp_path, content):
    (tmp_path / "statement.pdf").write_bytes(make_pdf([
        ["Statement by the Ministry of Foreign Affairs",
         "“We will not discuss it,” the minister’s spokes-",
         "man said… Negotiations went on."],
        ["Page two — the annex."]], title="Statement on the security talks"))
    code, out, err = cli("import", "statement.pdf", "--url", "https://mfa.example/statement.pdf")
    assert (code, err) == (0, "")
    path = content / "sources" / "statement-on-the-security-talks.txt"
    assert out.splitlines()[:2] == [
        "imported content/sources/statement-on-the-security-talks.txt (2 paragraphs)",
        "  to fill in: outlet, published, language (TODO placeholders; "
        "python build.py check lists them)"]
    assert body(path) == ("Statement by the Ministry of Foreign Affairs\n"
                          "“We will not discuss it,” the minister’s spokes-\n"
                          "man said… Negotiations went on.\n\nPage two — the annex.\n")
    assert fields(path)["url"] == "https://mfa.example/statement.pdf"


def test_pdf_without_text_is_an_error(cli, tmp_path, content):
    (tmp_path / "scan.pdf").write_bytes(make_pdf([[]]))
    assert cli("import", "scan.pdf") == (
        1, "", "build.py import: error: no text found in the PDF\n"
               "  hint: it may be scanned images without a text layer: run OCR on it first\n")


# -- web archives --------------------------------------------------------------------------

def warc_record(writer: WARCWriter, url: str, status: str, headers: list, body: bytes,
                date: str = "2022-01-16T10:15:30Z"):
    http_headers = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
    response = writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                         http_headers=http_headers,
                                         warc_headers_dict={"WARC-Date": date})
    request = writer.create_warc_record(
        url, "request", payload=io.BytesIO(b""),
        http_headers=StatusAndHeaders(f"GET {url} HTTP/1.1", [], is_http_request=True),
        warc_headers_dict={"WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID"),
                           "WARC-Date": date})
    writer.write_record(request)
    writer.write_record(response)


def make_warc(gzipped: bool = True) -> bytes:
    """A browser's archive: a redirect to the article, the article, a picture, another page."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=gzipped)
    warc_record(writer, "http://news.example.org/k", "301 Moved Permanently",
                [("Location", "https://news.example.org/k/")], b"")
    warc_record(writer, "https://news.example.org/k/", "200 OK",
                [("Content-Type", "text/html; charset=utf-8")], ARTICLE.encode("utf-8"),
                date="2022-01-16T10:15:31.123456Z")
    warc_record(writer, "https://news.example.org/logo.png", "200 OK",
                [("Content-Type", "image/png")], b"\x89PNG\r\n")
    warc_record(writer, "https://news.example.org/other/", "200 OK",
                [("Content-Type", "text/html")], ARTICLE.replace("Peskov:", "Other:").encode())
    warc_record(writer, "https://news.example.org/gone/", "404 Not Found",
                [("Content-Type", "text/html")], b"<p>Not found</p>")
    warc_record(writer, "https://news.example.org/a", "302 Found", [("Location", "/b")], b"")
    warc_record(writer, "https://news.example.org/b", "302 Found", [("Location", "/a")], b"")
    return out.getvalue()


def records(path: Path) -> list[tuple[str, str]]:
    with path.open("rb") as stream:
        return [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI"))
                for r in ArchiveIterator(stream)]


@pytest.mark.parametrize("name, gzipped", [("page.warc.gz", True), ("page.warc", False)])
def test_warc_gives_the_page_its_capture_and_keeps_its_records(cli, tmp_path, content, name,
                                                               gzipped):
    (tmp_path / name).write_bytes(make_warc(gzipped))
    code, out, err = cli("import", name, "--url", "http://news.example.org/k")
    assert (code, err) == (0, "")
    path = content / "sources" / f"{ARTICLE_ID}.txt"
    warc = content / "captures" / f"{ARTICLE_ID}.warc.gz"
    assert out.splitlines()[:2] == [f"imported content/sources/{ARTICLE_ID}.txt (5 paragraphs)",
                                    f"  capture: content/captures/{ARTICLE_ID}.warc.gz"]
    data = fields(path)
    assert data["capture"] == {"url": "https://news.example.org/k/",
                               "date": "2022-01-16T10:15:31Z",
                               "sha256": hashlib.sha256(warc.read_bytes()).hexdigest()}
    assert data["url"] == "https://news.example.org/k/"  # not the canonical link: the capture
    assert SPOKEN in body(path)
    assert records(warc) == [("request", "http://news.example.org/k"),
                             ("response", "http://news.example.org/k"),
                             ("request", "https://news.example.org/k/"),
                             ("response", "https://news.example.org/k/")]
    site, _ = pipeline.load_site(content)
    source = next(s for s in site.sources if s.id == ARTICLE_ID)
    assert (source.capture.url, source.capture.time) == ("https://news.example.org/k/", "10:15")


def test_source_page_shows_readers_when_and_from_where_the_text_was_captured(
        cli, tmp_path, content):
    (tmp_path / "page.warc.gz").write_bytes(make_warc())
    assert cli("import", "page.warc.gz", "--id", "captured")[0] == 0
    digest = fields(content / "sources" / "captured.txt")["capture"]["sha256"]
    pipeline.build(content, TEMPLATES, tmp_path / "site")
    facts = {div.dt.get_text().removesuffix(": "): div.dd for div in
             soup(tmp_path / "site" / "sources" / "captured" / "index.html").select("dl.facts > div")}
    assert " ".join(facts["Captured"].get_text().split()) == \
        "16 January 2022, 10:15 UTC, from https://news.example.org/k/"
    assert facts["Captured"].time["datetime"] == "2022-01-16T10:15:31Z"
    assert facts["Captured"].a["href"] == "https://news.example.org/k/"
    assert facts["Capture SHA-256"].get_text() == digest


def test_warc_target_uris_written_in_angle_brackets_are_read(cli, tmp_path, content):
    out = io.BytesIO()
    warc_record(WARCWriter(out, gzip=True), "<https://news.example.org/k/>", "200 OK",
                [("Content-Type", "text/html")], ARTICLE.encode("utf-8"))
    (tmp_path / "page.warc.gz").write_bytes(out.getvalue())
    assert cli("import", "page.warc.gz", "--url", "https://news.example.org/k/", "--id", "k")[0] == 0
    assert fields(content / "sources" / "k.txt")["url"] == "https://news.example.org/k/"


def test_warc_without_url_gives_its_first_page(cli, tmp_path, content):
    (tmp_path / "page.warc.gz").write_bytes(make_warc())
    assert cli("import", "page.warc.gz", "--id", "first")[0] == 0
    assert fields(content / "sources" / "first.txt")["capture"]["url"] == \
        "https://news.example.org/k/"


@pytest.mark.parametrize("url, message", [
    ("https://news.example.org/logo.png",
     "https://news.example.org/logo.png is not an HTML page (Content-Type: image/png)\n  hint: "
     "save the document and import the file: python build.py import FILE --url URL"),
    ("https://news.example.org/gone/",
     "https://news.example.org/gone/ answered HTTP 404, not a page\n"
     "  hint: check the address; only a successful response can be imported"),
    ("https://news.example.org/a",
     "redirect loop: https://news.example.org/a -> https://news.example.org/b -> "
     "https://news.example.org/a\n  hint: the address never leads to a page; check it in a browser"),
    ("https://news.example.org/missing",
     "the web archive has no capture of https://news.example.org/missing\n  hint: pages it "
     "holds: https://news.example.org/k/, https://news.example.org/other/, "
     "https://news.example.org/gone/"),
])
def test_warc_errors(cli, tmp_path, content, url, message):
    (tmp_path / "page.warc.gz").write_bytes(make_warc())
    before = written(content)
    assert cli("import", "page.warc.gz", "--url", url) == (
        1, "", f"build.py import: error: {message}\n")
    assert written(content) == before


# -- URLs ----------------------------------------------------------------------------------

class Handler(http.server.BaseHTTPRequestHandler):
    """The routes of a small news site, and of broken ones."""

    requests: list = []

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        Handler.requests.append((self.path, dict(self.headers)))
        routes = {
            "/article": (200, [("Content-Type", "text/html; charset=utf-8")], ARTICLE.encode()),
            "/old": (301, [("Location", "/article")], b""),
            "/loop-a": (302, [("Location", "/loop-b")], b""),
            "/loop-b": (302, [("Location", "/loop-a")], b""),
            "/missing": (404, [("Content-Type", "text/html")], b"<h1>Not found</h1>"),
            "/doc.pdf": (200, [("Content-Type", "application/pdf")], make_pdf([["x"]])),
            "/big": (200, [("Content-Type", "text/html")], b"<p>" + b"x" * 5000 + b"</p>"),
        }
        if self.path.startswith("/hop/"):  # /hop/1 -> /hop/2 -> ... never ending
            routes[self.path] = (302, [("Location", f"/hop/{int(self.path[5:]) + 1}")], b"")
        if self.path == "/slow":
            time.sleep(1.5)
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            data = ARTICLE.encode()
            for start in range(0, len(data), 700):
                piece = data[start:start + 700]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
            return
        status, headers, data = routes.get(self.path, (200, [("Content-Type", "text/html")],
                                                       ARTICLE.encode()))
        self.send_response(status)
        for name, value in headers + [("Content-Length", str(len(data)))]:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        pass  # a client that stops reading (too large, not HTML) is what some tests want


@pytest.fixture(scope="module")
def server():
    httpd = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("route", ["/old", "/chunked"])
def test_url_is_captured_as_warc_then_imported(cli, content, server, route):
    Handler.requests.clear()
    code, out, err = cli("import", server + route)
    assert (code, err) == (0, "")
    path = content / "sources" / f"{ARTICLE_ID}.txt"
    warc = content / "captures" / f"{ARTICLE_ID}.warc.gz"
    assert out.splitlines()[1] == f"  capture: content/captures/{ARTICLE_ID}.warc.gz"
    data = fields(path)
    assert data["capture"]["url"] == server + ("/article" if route == "/old" else route)
    assert data["capture"]["sha256"] == hashlib.sha256(warc.read_bytes()).hexdigest()
    assert data["url"] == data["capture"]["url"]
    assert SPOKEN in body(path)
    hops = [server + "/old", server + "/article"] if route == "/old" else [server + route]
    assert records(warc) == [(kind, url) for url in hops for kind in ("request", "response")]
    assert [path for path, _ in Handler.requests] == [h.removeprefix(server) for h in hops]
    headers = {name.lower() for name in Handler.requests[0][1]}
    assert not headers & {"cookie", "authorization", "proxy-authorization"}
    with gzip.open(warc) as stream:  # the raw exchange as it went over the wire
        raw = stream.read()
    assert b"GET " + route.encode() + b" HTTP/1.1\r\n" in raw
    if route == "/chunked":
        assert b"Transfer-Encoding: chunked" in raw and b"\r\n2bc\r\n" in raw


@pytest.mark.parametrize("route, message", [
    ("/loop-a", "redirect loop: {s}/loop-a -> {s}/loop-b -> {s}/loop-a\n"
                "  hint: the address never leads to a page; check it in a browser"),
    ("/hop/1", "more than 10 redirects from {s}/hop/1\n"
               "  hint: import the address the redirects end at"),
    ("/missing", "{s}/missing answered HTTP 404, not a page\n"
                 "  hint: check the address; only a successful response can be imported"),
    ("/doc.pdf", "{s}/doc.pdf is not an HTML page (Content-Type: application/pdf)\n  hint: save "
                 "the document and import the file: python build.py import FILE --url URL"),
    ("/big", "{s}/big is larger than 0 MiB\n"
             "  hint: save the page in a browser and import the file"),
    ("/slow", "{s}/slow did not answer within 0.5 seconds\n"
              "  hint: try again later, or save the page in a browser and import the file"),
])
def test_url_errors_write_nothing(cli, content, server, monkeypatch, route, message):
    monkeypatch.setattr(capture, "MAX_BYTES", 4096)
    monkeypatch.setattr(capture, "TIMEOUT", 0.5)
    before = written(content)
    assert cli("import", server + route) == (
        1, "", "build.py import: error: " + message.format(s=server) + "\n")
    assert written(content) == before


def test_unreachable_url_and_credentials(cli, content):
    code, out, err = cli("import", "http://127.0.0.1:9/nothing-listens-here")
    assert (code, out) == (1, "")
    assert err.startswith("build.py import: error: cannot reach http://127.0.0.1:9/nothing-"
                          "listens-here: ")
    assert err.endswith("\n  hint: check the address and your connection\n")
    assert cli("import", "https://user:secret@example.org/page") == (
        1, "", "build.py import: error: 'https://user:secret@example.org/page' contains a user "
               "name or password\n  hint: import never sends credentials: remove the "
               "'user:password@' part\n")
