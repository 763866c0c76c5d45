"""The dev server: overlay, injection, watch filter and debounce, safe file serving as units;
then `build.py serve` in a subprocess: rebuilds, the error overlay, traversal, Host, Ctrl-C."""

from __future__ import annotations

import asyncio
import html
import json
import http.client
import os
import queue
import re
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote_to_bytes

import pytest
from bs4 import BeautifulSoup

import build
from factsite import pipeline, serve
from factsite.diagnostics import ContentError, Diagnostic, format_overlay, format_text
from tests.browser import harness
from tests.conftest import FIXTURE, ROOT, TEMPLATES
from tests.test_build import every_file

CLAIM = "claims/opens-2023.yaml"
QUOTE = "quote: The bridge will open in 2022"
TIMEOUT = 15  # seconds; every wait below ends as soon as its condition holds


# ---- the overlay and its injection ------------------------------------------------------

DIAGNOSTICS = [
    Diagnostic("content/claims/b.yaml", 7, 12, "quote not found in <script>alert(1)</script>",
               'closest passage: "Kaliningrad & co" \'x\''),
    Diagnostic("content/claims/a.yaml", 2, 1, "unknown field 'clam'", "did you mean 'claim'?"),
]


def test_overlay_is_the_terminal_text_escaped():
    overlay = format_overlay(DIAGNOSTICS)
    assert html.escape(format_text(DIAGNOSTICS)) in overlay
    assert "<script" not in overlay and "&lt;script&gt;" in overlay
    node = BeautifulSoup(overlay, "html.parser")
    assert node.pre.get_text() == format_text(DIAGNOSTICS)
    assert node.summary.get_text() == "build failed: 2 errors"


def test_overlay_is_accessible_and_self_contained():
    node = BeautifulSoup(format_overlay(DIAGNOSTICS), "html.parser").div
    assert node["role"] == "alert" and node["lang"] == "en"
    assert node.details.has_attr("open")  # folds away without JavaScript
    assert not node.find_all(["script", "link", "img", "style", "iframe"])
    assert not re.search(r"\b(src|href)=|url\(|@import", str(node))
    assert "position:fixed" in node["style"]


PAGE = (b'<!doctype html><html><head><title>t</title></head>\n'
        b'<body class="home"><h1>Claims</h1></body></html>')


def test_inject_puts_the_script_in_head_and_the_overlay_first_in_body():
    page = serve.inject(PAGE, b"<script src=/x></script>", b"<div>oops</div>")
    assert page == (b'<!doctype html><html><head><title>t</title><script src=/x></script></head>\n'
                    b'<body class="home"><div>oops</div><h1>Claims</h1></body></html>')
    assert serve.inject(PAGE, b"", b"") == PAGE
    assert serve.inject(b"<p>bare", b"<s>", b"<o>") == b"<s><o><p>bare"


# ---- the watcher --------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("opens-2023.yaml", True), ("2021-04-press-office.txt", True), ("claim.html", True),
    ("static", True), ("4913", True),
    (".opens-2023.yaml.swp", False), (".opens-2023.yaml.swx", False), ("opens-2023.yaml~", False),
    ("#opens-2023.yaml#", False), (".#opens-2023.yaml", False), ("x.yaml.bak", False),
    ("x.yaml.orig", False), ("x.tmp", False), (".git", False), (".DS_Store", False),
])
def test_watch_filter(name, expected):
    assert serve.watched(name) is expected


def test_watcher_turns_a_burst_of_changes_into_one(tmp_path):
    watcher = serve.Watcher([tmp_path], debounce=0.1)
    assert not watcher.poll(0.0)
    watcher.note(1.0)
    assert not watcher.poll(1.0)  # changed: wait for quiet
    watcher.note(1.05)
    assert not watcher.poll(1.1)  # changed again: wait again
    assert watcher.pending
    assert watcher.poll(1.16)  # quiet for 0.11 s: rebuild once
    assert not watcher.poll(2.0) and not watcher.pending


def wait_for_change(watcher: serve.Watcher, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if watcher.poll(time.monotonic()):
            return True
        time.sleep(0.01)
    return False


def test_watcher_hears_saves_and_deletions_from_the_system(tmp_path):
    claim = tmp_path / "claims" / "a.yaml"
    claim.parent.mkdir()
    claim.write_text("claim: one\n")
    watcher = serve.Watcher([tmp_path, tmp_path / "missing"], debounce=0.05)
    watcher.start()
    try:
        time.sleep(0.3)  # the system's watch is set up
        claim.write_text("claim: two\n")
        assert wait_for_change(watcher, TIMEOUT)
        claim.unlink()
        assert wait_for_change(watcher, TIMEOUT)  # a deletion is a change too
        assert not wait_for_change(watcher, 0.3)  # and nothing more
    finally:
        watcher.stop()


@pytest.mark.parametrize("how", ["in place", "renamed"])
def test_watcher_wakes_the_server_once_an_editors_two_step_save_is_whole(tmp_path, how):
    """An editor saves in two steps: truncates the file then writes it, or writes a
    temporary file then renames it over the old one. The watcher calls ``on_change``
    (the server's wake-up: no polling delay) once the save is whole, and only once."""
    claim = tmp_path / "claims" / "a.yaml"
    claim.parent.mkdir()
    claim.write_text("claim: zero\n")
    heard: queue.Queue = queue.Queue()
    watcher = serve.Watcher([tmp_path])
    watcher.on_change = lambda: heard.put((claim.read_text(), watcher.poll(time.monotonic()),
                                           watcher.take()))
    watcher.start()
    try:
        time.sleep(0.3)  # the system's watch is set up
        for n in range(1, 4):
            text = f"claim: save {n}\ntopics: [one, two]\n" * 50
            if how == "in place":
                with claim.open("w") as file:  # truncated: the first step
                    file.write(text[:100])
                    file.flush()
                    file.write(text[100:])
            else:
                (tmp_path / "claims" / ".a.yaml.swp").write_text(text)
                os.replace(tmp_path / "claims" / ".a.yaml.swp", claim)
            seen, due, paths = heard.get(timeout=TIMEOUT)
            assert seen == text and due and str(claim) in paths
            time.sleep(0.1)
            assert heard.empty()  # one wake-up for the save
    finally:
        watcher.stop()


def test_watcher_ignores_editor_leftovers_and_excluded_directories(tmp_path):
    (tmp_path / "site").mkdir()
    watcher = serve.Watcher([tmp_path], debounce=0.0, exclude=[tmp_path / "site"])
    for name in (".a.yaml.swp", "a.yaml~", "#a.yaml#", ".#a.yaml", "a.yaml.bak", ".git/index",
                 "site/index.html", "site/claims/x/index.html"):
        assert not watcher.wanted(None, str(tmp_path / name)), name
    assert watcher.wanted(None, str(tmp_path / "claims" / "a.yaml"))
    watcher.start()
    try:
        time.sleep(0.3)
        for name in (".a.yaml.swp", "a.yaml~", "#a.yaml#", "a.yaml.bak", ".git/index",
                     "site/index.html"):
            (tmp_path / name).parent.mkdir(exist_ok=True)
            (tmp_path / name).write_text("x")
        assert not wait_for_change(watcher, 0.5)
    finally:
        watcher.stop()


# ---- serving files ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("serve") / "site"
    pipeline.build(FIXTURE, TEMPLATES, out)
    (out.parent / "secret.txt").write_text("TOPSECRET")
    return out


def get(app: serve.SiteApp, path: str, method: str = "GET", raw: str | None = None):
    """Call the WSGI app as tornado does: PATH_INFO decoded (latin-1), REQUEST_URI raw."""
    raw = path if raw is None else raw
    environ = {"REQUEST_METHOD": method, "REQUEST_URI": raw,
               "PATH_INFO": unquote_to_bytes(raw.partition("?")[0]).decode("latin-1"),
               "QUERY_STRING": raw.partition("?")[2]}
    started = {}
    body = b"".join(app(environ, lambda status, headers: started.update(s=status, h=dict(headers))))
    return int(started["s"][:3]), started["h"], body


def test_app_serves_pages_with_the_script_and_other_files_untouched(built):
    app = serve.SiteApp(built, head=serve.LIVERELOAD_SCRIPT)
    status, headers, body = get(app, "/claims/opens-2023/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert body == serve.inject((built / "claims/opens-2023/index.html").read_bytes(),
                                serve.LIVERELOAD_SCRIPT, b"")
    assert headers["Cache-Control"] == "no-store" and int(headers["Content-Length"]) == len(body)
    status, headers, body = get(app, "/static/style.css")
    assert (status, headers["Content-Type"]) == (200, "text/css; charset=utf-8")
    assert body == (built / "static/style.css").read_bytes()
    status, headers, body = get(app, "/claims/opens-2023/", method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0
    assert get(app, "/", method="POST")[0] == 405


def test_app_redirects_directories_and_serves_404_html(built):
    app = serve.SiteApp(built)
    status, headers, _ = get(app, "/claims/opens-2023?x=1")
    assert (status, headers["Location"]) == (301, "/claims/opens-2023/?x=1")
    status, headers, body = get(app, "/no/such/page/")
    assert status == 404 and body == (built / "404.html").read_bytes()
    assert get(app, "/.factsite")[0] == 404  # hidden files are not served


def test_app_lays_the_overlay_over_every_page_until_cleared(built):
    app = serve.SiteApp(built)
    app.overlay = format_overlay(DIAGNOSTICS)
    for path in ("/", "/claims/opens-2023/", "/no/such/page/"):
        body = get(app, path)[2].decode()
        assert body.count('id="factsite-overlay"') == 1
        assert re.search(r"<body[^>]*><div id=\"factsite-overlay\"", body)
    assert "factsite-overlay" not in get(app, "/static/style.css")[2].decode()
    app.overlay = None
    assert "factsite-overlay" not in get(app, "/")[2].decode()


TRAVERSALS = [
    "/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/..%2fsecret.txt",
    "/claims/..%2f..%2fsecret.txt", "/claims/%2e%2e/%2e%2e/secret.txt", "/./../secret.txt",
    "/..\\secret.txt", "/%5c..%5csecret.txt", "/claims%2fopens-2023/", "/%c0%ae%c0%ae/secret.txt",
    "/secret.txt%00.html", "http://127.0.0.1/../secret.txt",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_app_refuses_paths_outside_the_output_directory(built, path):
    status, _, body = get(serve.SiteApp(built), path)
    assert status == 400 and b"TOPSECRET" not in body


def test_app_serves_nothing_outside_its_root_even_by_absolute_path_or_symlink(built, tmp_path):
    secret = built.parent / "secret.txt"
    for path in (f"/{secret}", f"/{secret.relative_to(secret.anchor)}"):
        status, _, body = get(serve.SiteApp(built), path)
        assert status == 404 and b"TOPSECRET" not in body
    root = tmp_path / "site"
    shutil.copytree(built, root)
    (root / "leak.txt").symlink_to(secret)
    assert get(serve.SiteApp(root), "/leak.txt")[0] == 404


def test_app_serves_nothing_from_a_directory_factsite_did_not_write(tmp_path):
    (tmp_path / "index.html").write_text("<p>not a factsite build</p>")
    status, _, body = get(serve.SiteApp(tmp_path), "/")
    assert status == 404 and b"not a factsite build" not in body


@pytest.mark.parametrize("name, bound, allowed", [
    ("127.0.0.1", "127.0.0.1", True), ("localhost", "127.0.0.1", True),
    ("[::1]", "127.0.0.1", True), ("127.0.0.2", "localhost", True),
    ("evil.example", "127.0.0.1", False), ("127.0.0.1.evil.example", "127.0.0.1", False),
    ("192.168.1.20", "127.0.0.1", False), ("localhost.evil.example", "::1", False),
    ("192.168.1.20", "0.0.0.0", True), ("[fe80::1]", "::", True),
    ("devbox.lan", "devbox.lan", True), ("evil.example", "0.0.0.0", False),
])
def test_host_allowed(name, bound, allowed):
    assert serve.host_allowed(name, bound) is allowed


# ---- rebuilding -------------------------------------------------------------------------

def test_rebuild_keeps_the_last_good_site_and_reports_every_failure(content, tmp_path, monkeypatch):
    events = []
    dev = serve.DevServer(content, TEMPLATES, tmp_path / "site",
                          on_built=lambda result: events.append("built"),
                          on_failed=lambda diagnostics: events.append(format_text(diagnostics)))
    dev.rebuild()
    good = (tmp_path / "site/index.html").read_bytes()
    assert events == ["built"] and dev.site.overlay is None

    (content / CLAIM).write_text("claim: The bridge\npassages:\n  - source: [")  # half-written
    dev.rebuild()
    with pytest.raises(ContentError) as error:
        pipeline.load_site(content)
    assert events[-1] == format_text(error.value.diagnostics)
    assert dev.site.overlay == format_overlay(error.value.diagnostics)
    assert (tmp_path / "site/index.html").read_bytes() == good

    def crash(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(content / CLAIM))

    monkeypatch.setattr(pipeline, "load_model", crash)
    dev.rebuild()
    assert events[-1] == f"{content / CLAIM}:1:1: error: cannot build: Permission denied\n" \
                         "  hint: the next save rebuilds the site"
    monkeypatch.setattr(pipeline, "load_model", lambda *a, **k: 1 / 0)
    dev.rebuild()
    assert "error: internal error: ZeroDivisionError: division by zero" in events[-1]
    assert "ZeroDivisionError" in dev.site.overlay


def wait_for_writers(dev: serve.DevServer) -> None:
    """Until the forked writers of site/ (and of its search index) are done, the flush a
    save left for the writer going too (as the server's poll() starts it)."""
    deadline = time.monotonic() + 4 * TIMEOUT
    while dev.live.writers or dev.live.pending:
        assert time.monotonic() < deadline, "the writer of site/ never finished"
        dev.live.reap()
        dev.live.flush_pending()
        time.sleep(0.02)


def test_saves_in_a_row_fork_one_writer_at_a_time_and_the_last_save_is_written(
        content, tmp_path, monkeypatch):
    """Each writer is a copy of the server's memory: saves made while one writes fork no
    other; the newest is written once it is done, and site/ is then a cold build's."""
    from factsite import live

    out = tmp_path / "site"
    dev = serve.DevServer(content, TEMPLATES, out, on_built=lambda result: None,
                          on_failed=lambda diagnostics: pytest.fail(str(diagnostics)))
    dev.rebuild()
    wait_for_writers(dev)
    write_site = live.LiveSite._write_site

    def slow(self, fresh, generation):  # in the writer: long enough for the saves below
        time.sleep(1.0)
        return write_site(self, fresh, generation)
    monkeypatch.setattr(live.LiveSite, "_write_site", slow)
    claim = content / CLAIM
    forked = []
    for year in (2024, 2025, 2026):
        claim.write_text(re.sub(r"^claim: .*$", f"claim: The bridge opens in {year}.",
                                claim.read_text(), flags=re.M))
        dev.save([str(claim)])
        forked += [writer for writer, _ in dev.live.writers if writer not in forked]
        assert sum(writer.exitcode is None for writer, _ in dev.live.writers) <= 1
    assert len(forked) == 1 and dev.live.pending  # the first save's; the last one's waits
    deadline = time.monotonic() + 4 * TIMEOUT
    while dev.live.writers or dev.live.pending:  # the server's poll() starts the flush left
        assert time.monotonic() < deadline, "the flush left was never written"
        dev.poll()
        time.sleep(0.02)
    assert not dev.live.fresh
    assert b"opens in 2026" in (out / "claims" / "opens-2023" / "index.html").read_bytes()
    pipeline.build(content, TEMPLATES, tmp_path / "cold", use_cache=False)
    assert every_file(out) == every_file(tmp_path / "cold")


def test_a_save_reloads_open_pages_first_from_memory_and_the_site_follows(content, tmp_path):
    """A save renders the pages open in browsers first and reloads them, served from memory;
    the other pages it changed follow; a writer then swaps the whole site into site/ and
    refreshes the search index, after which site/ is a cold build's."""
    out = tmp_path / "site"
    dev = serve.DevServer(content, TEMPLATES, out, on_built=lambda result: None,
                          on_failed=lambda diagnostics: None)
    dev.rebuild()
    index = {p: p.read_bytes() for p in (out / "pagefind").rglob("*") if p.is_file()}
    reloads = []
    dev.reload = lambda pages, paths: reloads.append((dict(pages), list(paths)))
    claim = content / CLAIM
    claim.write_text(claim.read_text().replace("will open in 2023", "opens in 2023"))
    dev.save([str(claim)], {"tab": "/claims/opens-2023/", "other": "/about/"})
    (first, first_paths), (rest, rest_paths) = reloads
    assert first == {"tab": "claims/opens-2023/index.html"}
    assert first_paths == ["claims/opens-2023/index.html"]
    assert rest == {} and "index.html" in rest_paths  # /about/ shows nothing that changed
    status, _, body = get(dev.site, "/claims/opens-2023/")
    assert status == 200 and b"The bridge opens in 2023." in body
    wait_for_writers(dev)
    assert not dev.live.fresh  # all of it is in site/ now
    assert {p: p.read_bytes() for p in (out / "pagefind").rglob("*") if p.is_file()} != index
    pipeline.build(content, TEMPLATES, tmp_path / "cold", use_cache=False)
    assert every_file(out) == every_file(tmp_path / "cold")


def test_the_writer_holds_none_of_the_servers_sockets(content, tmp_path, monkeypatch):
    """The forked writer closes the sockets it inherited (listening, connections) before
    it writes anything, and the server's own stay open."""
    from factsite import live

    dev = serve.DevServer(content, TEMPLATES, tmp_path / "site", on_built=lambda result: None,
                          on_failed=lambda diagnostics: None)
    dev.rebuild()
    found = tmp_path / "sockets-in-writer"

    def write_site(self, fresh, generation):  # in the writer: which sockets are open
        held = [name for name in os.listdir("/proc/self/fd")
                if _is_socket(f"/proc/self/fd/{name}")]
        found.write_text(" ".join(held))
        return 0
    monkeypatch.setattr(live.LiveSite, "_write_site", write_site)
    listening = socket.create_server(("127.0.0.1", 0))
    browser, server_side = socket.socketpair()
    try:
        claim = content / CLAIM
        claim.write_text(claim.read_text().replace("will open in 2023", "opens in 2023"))
        dev.save([str(claim)])
        wait_for_writers(dev)
        assert found.read_text() == ""
        browser.sendall(b"still open")
        assert server_side.recv(10) == b"still open"
        assert listening.fileno() >= 0 and listening.getsockname()[1]
    finally:
        for held in (listening, browser, server_side):
            held.close()


def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def test_a_newer_save_goes_before_the_rest_of_a_long_one(tmp_path, monkeypatch):
    """A template edit that changes every page stops rendering when another save is
    waiting, and site/ is written only once the pages it left are rendered too."""
    from tests import corpus
    content, templates, out = tmp_path / "content", tmp_path / "templates", tmp_path / "site"
    corpus.generate(content, 30)
    shutil.copytree(TEMPLATES, templates)
    dev = serve.DevServer(content, templates, out, on_built=lambda result: None,
                          on_failed=lambda diagnostics: pytest.fail(str(diagnostics)))
    dev.rebuild()
    base = templates / "base.html"
    base.write_text(base.read_text().replace('class="', 'data-edit="1" class="', 1))
    monkeypatch.setattr(serve.Watcher, "pending", property(lambda self: True))
    dev.save([str(base)], {"tab": "/about/"})
    assert b'data-edit="1"' in get(dev.site, "/about/")[2]  # the open page first
    left = len(dev.live.dirty)
    assert left > 0 and not dev.live.writers  # nothing written while pages are missing
    monkeypatch.undo()
    dev.save([])  # what poll() starts once no save is waiting
    assert not dev.live.dirty
    wait_for_writers(dev)
    pipeline.build(content, templates, tmp_path / "cold", use_cache=False)
    assert every_file(out) == every_file(tmp_path / "cold")


def test_rebuilds_run_off_the_event_loop(content, tmp_path, monkeypatch):
    """poll() only starts a save's work; the loop keeps answering while it runs."""
    built = threading.Event()
    dev = serve.DevServer(content, TEMPLATES, tmp_path / "site",
                          on_built=lambda result: built.wait(TIMEOUT),
                          on_failed=lambda diagnostics: None)
    built.set()
    dev.rebuild()
    built.clear()
    claim = content / CLAIM
    claim.write_text(claim.read_text().replace("will open in 2023", "opens in 2023"))
    monkeypatch.setattr(dev.watcher, "poll", lambda now: True)
    monkeypatch.setattr(dev.watcher, "take", lambda: {str(claim)})

    async def scenario() -> None:
        dev.poll()
        assert dev.building  # poll returned while the save waits in on_built
        dev.poll()  # a second change meanwhile starts nothing new
        assert get(dev.site, "/")[0] == 200
        await asyncio.sleep(0)
        built.set()
        while dev.building:
            await asyncio.sleep(0.01)

    # On a thread of its own: another test's event loop may still run on this one.
    runner = ThreadPoolExecutor(1)
    runner.submit(asyncio.run, scenario()).result(TIMEOUT)
    runner.shutdown()
    assert b"The bridge opens in 2023." in get(dev.site, "/claims/opens-2023/")[2]
    wait_for_writers(dev)


def test_overlay_claims_a_last_good_build_only_when_there_is_one(content, tmp_path):
    (content / CLAIM).write_text("claim: [")
    dev = serve.DevServer(content, TEMPLATES, tmp_path / "site",
                          on_built=lambda result: None, on_failed=lambda diagnostics: None)
    dev.rebuild()  # nothing was ever built: a bare page under the errors
    status, _, body = get(dev.site, "/")
    page = BeautifulSoup(body, "html.parser")
    assert status == 404 and page.find(id="factsite-overlay")
    assert page.find(id="factsite-overlay").p.get_text() == (
        "Nothing has been built yet. Fix the problems below and save: "
        "the page reloads by itself.")
    shutil.copy(FIXTURE / CLAIM, content / CLAIM)
    dev.rebuild()
    (content / CLAIM).write_text("claim: [")
    dev.rebuild()
    status, _, body = get(dev.site, "/")
    assert status == 200
    assert BeautifulSoup(body, "html.parser").find(id="factsite-overlay").p.get_text() == (
        "This is the last good build. Fix the problems below and save: "
        "the page reloads by itself.")


def test_a_save_after_a_failed_start_builds_everything(content, tmp_path):
    """With nothing in memory yet (the content did not check at start), a save, even of a
    stylesheet alone, reads and builds the whole site."""
    (content / CLAIM).write_text("claim: [")
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    dev = serve.DevServer(content, templates, tmp_path / "site",
                          on_built=lambda result: None, on_failed=lambda diagnostics: None)
    dev.rebuild()
    assert dev.failed and dev.live.model is None
    shutil.copy(FIXTURE / CLAIM, content / CLAIM)
    style = templates / "static" / "style.css"
    style.write_text(style.read_text() + "/* saved */\n")
    dev.save([str(style)])
    assert not dev.failed and get(dev.site, "/claims/opens-2023/")[0] == 200
    assert get(dev.site, "/static/style.css")[2].endswith(b"/* saved */\n")


def test_serve_reports_a_busy_port_as_a_usage_error(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert build.main(["serve", "--port", str(port)]) == build.EXIT_USAGE
    assert capsys.readouterr().err == (
        f"build.py serve: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
        "  hint: choose another --port or --host\n")


# ---- `build.py serve` in a subprocess -----------------------------------------------------

class Server:
    """`build.py serve --port 0` on a copy of the fixture site, its output read as it comes."""

    def __init__(self, root: Path):
        self.content, self.out = root / "content", root / "site"
        shutil.copytree(FIXTURE, self.content)
        (root / "secret.txt").write_text("TOPSECRET")
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "build.py"), "serve", "--port", "0",
             "--content", str(self.content), "--templates", str(TEMPLATES), "--out", str(self.out)],
            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.stdout: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=lambda: [self.stdout.put(l) for l in self.process.stdout],
                         daemon=True).start()
        self.stderr_reader = threading.Thread(
            target=lambda: self.stderr.extend(self.process.stderr), daemon=True)
        self.stderr_reader.start()
        deadline = time.monotonic() + TIMEOUT
        while not (match := re.search(r"http://127\.0\.0\.1:(\d+)/", self._line(deadline))):
            pass
        self.port = int(match.group(1))

    def _line(self, deadline: float) -> str:
        try:
            return self.stdout.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            pytest.fail(f"server did not start; stderr:\n{''.join(self.stderr)}")

    def request(self, path: str, host: str | None = None, headers: dict | None = None):
        """GET ``path`` exactly as given, with this ``Host`` header: (status, body)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            connection.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
            connection.putheader("Host", host or f"127.0.0.1:{self.port}")
            for name, value in (headers or {}).items():
                connection.putheader(name, value)
            connection.endheaders()
            response = connection.getresponse()
            return response.status, b"" if response.status == 101 else response.read()
        finally:
            connection.close()

    def page_once(self, path: str, condition) -> str:
        """Fetch ``path`` until ``condition(text)`` holds, which it must within TIMEOUT."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            status, body = self.request(path)
            text = body.decode()
            if status == 200 and condition(text):
                return text
            if time.monotonic() > deadline:
                pytest.fail(f"GET {path}: condition never held; last page:\n{text[:2000]}")
            time.sleep(0.05)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = Server(tmp_path_factory.mktemp("served"))
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait(TIMEOUT)


def test_serve_rebuilds_on_save_and_overlays_errors_until_fixed(server):
    page = "/claims/opens-2023/"
    text = server.page_once(page, lambda text: "will open in 2023" in text)
    assert serve.LIVERELOAD_SCRIPT.decode() + "</head>" in text
    claim = server.content / CLAIM

    claim.write_text(claim.read_text().replace("will open in 2023", "opens in spring 2023"))
    server.page_once(page, lambda text: "opens in spring 2023" in text)

    claim.write_text(claim.read_text().replace(QUOTE, QUOTE + " for sure"))
    with pytest.raises(ContentError) as error:
        pipeline.load_site(server.content)
    expected = format_text(error.value.diagnostics)
    assert "error: quote not found in" in expected and '"' in expected
    text = server.page_once(page, lambda text: "factsite-overlay" in text)
    assert html.escape(expected) in text
    assert "opens in spring 2023" in text  # the last good build, under the overlay
    for other in ("/", "/no/such/page/"):
        assert "factsite-overlay" in server.request(other)[1].decode()

    claim.write_text(claim.read_text().replace(QUOTE + " for sure", QUOTE)
                     .replace("spring 2023", "summer 2023"))
    text = server.page_once(page, lambda text: "summer 2023" in text)
    assert "factsite-overlay" not in text
    assert expected in "".join(server.stderr)  # the same text reached the terminal


def test_serve_404_page_links_to_pages_it_serves(server):
    status, body = server.request("/no/such/page/")
    assert status == 404
    links = re.findall(r'<main.*?href="([^"]+)".*?href="([^"]+)"', body.decode(), re.S)[0]
    assert links == ("/", "/timeline/")
    assert all(server.request(link)[0] == 200 for link in links)
    canonical = server.request("/")[1].decode()
    assert f'<link rel="canonical" href="http://127.0.0.1:{server.port}/">' in canonical


@pytest.mark.parametrize("path", TRAVERSALS + ["/%00", "//etc/passwd"])
def test_serve_refuses_traversal(server, path):
    if path.startswith("http://"):
        path = path.replace("127.0.0.1", f"127.0.0.1:{server.port}")
    status, body = server.request(path)
    assert status in (400, 404) and b"TOPSECRET" not in body and b"root:" not in body


@pytest.mark.parametrize("path", ["/", "/livereload.js", "/livereload"])
@pytest.mark.parametrize("host, expected", [
    ("127.0.0.1:{port}", 200), ("localhost:{port}", 200), ("LOCALHOST:{port}", 200),
    ("[::1]:{port}", 200), ("evil.example", 403), ("evil.example:{port}", 403),
    ("127.0.0.1.evil.example:{port}", 403), ("localhost.evil.example:{port}", 403),
])
def test_serve_answers_loopback_host_names_only(server, path, host, expected):
    status, body = server.request(path, host=host.format(port=server.port))
    if path == "/livereload" and expected == 200:
        expected = 400  # a websocket endpoint, asked without an upgrade
    assert status == expected
    if path == "/livereload.js" and status == 200:
        assert b"LiveReload" in body  # livereload's own client, served locally


@pytest.mark.parametrize("origin, expected", [
    ("http://127.0.0.1:{port}", 101), ("http://evil.example", 403), ("null", 403),
])
def test_serve_websocket_takes_its_own_pages_only(server, origin, expected):
    status, _ = server.request("/livereload", headers={
        "Origin": origin.format(port=server.port), "Upgrade": "websocket", "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"})
    assert status == expected


def test_serve_reloads_open_pages_in_a_browser(server):
    """livereload's client reloads an open page after every build, good or failed, and
    nothing is fetched from anywhere but the dev server."""
    problem = harness.chromium_problem()
    if problem:
        harness.unavailable(problem)  # skips locally, fails under CI
    # A thread of its own: the browser tests' session-wide Playwright owns this one's event loop.
    with ThreadPoolExecutor(1) as pool:
        origins = pool.submit(_edit_under_a_browser, server).result()
    assert origins == {f"127.0.0.1:{server.port}"}


def _edit_under_a_browser(server: Server) -> set[str]:
    from playwright import sync_api

    claim, wait, origins = server.content / CLAIM, TIMEOUT * 1000, set()
    with sync_api.sync_playwright() as playwright:
        browser = harness.launch(playwright)
        try:
            page = browser.new_page()
            page.add_init_script(
                "document.addEventListener('LiveReloadConnect', () => { window.connected = true })")
            page.on("request", lambda request: origins.add(request.url.split("/")[2]))
            page.goto(f"http://127.0.0.1:{server.port}/claims/opens-2023/")

            def save_and_see(edit, condition: str) -> None:
                page.wait_for_function("window.connected === true", timeout=wait)
                claim.write_text(edit(claim.read_text()))
                page.wait_for_function(condition, timeout=wait)

            save_and_see(lambda text: re.sub(r"(?m)^claim: .*", "claim: Opens in autumn.", text),
                         "document.body.innerText.includes('Opens in autumn.')")
            save_and_see(lambda text: text.replace(QUOTE, QUOTE + " for sure"),
                         "document.getElementById('factsite-overlay') !== null")
            save_and_see(lambda text: text.replace(QUOTE + " for sure", QUOTE),
                         "document.getElementById('factsite-overlay') === null")
        finally:
            browser.close()
    return origins


def _websocket(server: Server) -> socket.socket:
    """A livereload websocket opened by hand, so that it can misbehave as no library would."""
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
    host = f"127.0.0.1:{server.port}"
    connection.sendall(
        f"GET /livereload HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        .encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += connection.recv(4096)
    assert answer.startswith(b"HTTP/1.1 101")
    return connection


def _frame(payload: bytes, opcode: int = 1) -> bytes:
    """One client frame (masked, as clients must, with a zero key: the payload as it is)."""
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + b"\0\0\0\0" + payload


def test_serve_logs_nothing_for_misbehaving_livereload_clients(server):
    """Malformed messages, and pages that vanish without closing their websocket, are the
    clients' business: no traceback, and the server keeps serving."""
    before = len(server.stderr)
    for payload, opcode in [(b"not json", 1), (b"[1, 2]", 1), (b'{"command": 5}', 1),
                            (b"null", 1), (b"{}", 1), (b'{"command": "info"}', 1),
                            (b"\xff\xfe", 2), (b"\xff\xfe", 1)]:
        connection = _websocket(server)
        connection.sendall(_frame(payload, opcode))
        time.sleep(0.05)
        connection.close()
    dropped = []
    for _ in range(3):  # pages that say hello, then vanish without a closing frame
        connection = _websocket(server)
        connection.sendall(_frame(b'{"command": "hello"}'))
        connection.sendall(_frame(b'{"command": "info", "url": "http://x/"}'))
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        dropped.append(connection)
    time.sleep(0.2)
    for connection in dropped:
        connection.close()  # a reset, as when a laptop sleeps or a tab crashes
    claim = server.content / CLAIM
    claim.write_text(claim.read_text().replace("claim: ", "claim: Still ", 1))  # reload: sends
    server.page_once("/claims/opens-2023/", lambda text: "Still " in text)
    time.sleep(0.5)
    assert server.request("/")[0] == 200
    assert "".join(server.stderr[before:]) == ""


def _messages(connection: socket.socket, seconds: float) -> list[dict]:
    """The server's websocket messages (text frames) that arrive within ``seconds``."""
    connection.settimeout(seconds)
    data = b""
    try:
        while True:
            chunk = connection.recv(4096)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    found = []
    while len(data) >= 2:
        size, start = data[1] & 0x7F, 2
        if size == 126:
            size, start = struct.unpack(">H", data[2:4])[0], 4
        found.append(json.loads(data[start:start + size]))
        data = data[start + size:]
    return found


def test_serve_reloads_the_pages_a_save_changed_as_their_clients_report_them(server):
    """livereload.js says which page it shows ('info' with its URL): a save reloads the open
    pages it changed, and leaves the others alone."""
    pages = {}
    for name, url in (("claim", "/claims/opens-2023/"), ("about", "/about/")):
        pages[name] = connection = _websocket(server)
        connection.sendall(_frame(b'{"command": "hello", "protocols": []}'))
        connection.sendall(_frame(json.dumps(
            {"command": "info", "url": f"http://127.0.0.1:{server.port}{url}"}).encode()))
    time.sleep(0.3)
    for connection in pages.values():
        assert [m["command"] for m in _messages(connection, 0.2)] == ["hello"]
    claim = server.content / CLAIM
    claim.write_text(claim.read_text().replace("claim: ", "claim: Reloaded ", 1))
    server.page_once("/claims/opens-2023/", lambda text: "Reloaded " in text)
    assert [m["command"] for m in _messages(pages["claim"], 1.0)] == ["reload"]
    assert _messages(pages["about"], 0.5) == []
    for connection in pages.values():
        connection.close()


def test_serve_stops_cleanly_on_ctrl_c(server):
    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(TIMEOUT) == 0
    server.stderr_reader.join(TIMEOUT)
    assert "Traceback" not in "".join(server.stderr)
    assert not list(server.out.parent.glob(".site.*"))  # no staging directory left behind
