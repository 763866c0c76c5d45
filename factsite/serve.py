"""Dev server: serve site/ with live reload, rebuild on every change, show errors over the page.

The :class:`Watcher` hears of changes to the content and templates
directories from the operating system; as soon as a burst of changes has
ended (``WATCH_STEP_MS``) the server's event loop is woken and the save is taken
in on another thread (:class:`factsite.live.LiveSite`), open pages are told to
reload, and then the search index is refreshed in the background. Requests are answered all the while, from
the last site/ until the new one is swapped in whole.

Pages get livereload's script, and after a failed build the error overlay from
:func:`diagnostics.format_overlay`, while site/ keeps the last good build.
livereload provides the websocket and its own ``livereload.js``, served
locally; the files are served by :class:`SiteApp`, which refuses any path that
could leave the output directory. Requests whose ``Host`` is not a loopback
name are refused, so a web page cannot reach the server through DNS rebinding.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import json
import logging
import mimetypes
import os
import re
import socket
import sys
import threading
import time
import traceback
from pathlib import Path
from dataclasses import replace
from typing import Any, Callable, Iterable, Iterator, Sequence
from urllib.parse import quote, urlsplit

import watchfiles
from livereload.handlers import LiveReloadHandler, LiveReloadJSHandler
from tornado import httputil, web
from tornado.httpserver import HTTPServer
from tornado.ioloop import PeriodicCallback
from tornado.netutil import bind_sockets
from tornado.routing import Matcher, Rule
from tornado.websocket import WebSocketClosedError, WebSocketHandler
from tornado.wsgi import WSGIContainer

from . import pipeline
from .cache import Cache
from .live import SUPERSEDED, LiveSite
from .diagnostics import ContentError, Diagnostic, format_overlay
from .load import EDITOR_LEFTOVERS
from .write import MARKER

POLL_SECONDS = 0.01  # how often the event loop reaps writers and resumes a save's leftovers
DEBOUNCE_SECONDS = 0.0  # watchfiles already waits for a burst of changes to end
# watchfiles looks for changes every step and reports them once a step brings no more: a
# save is heard 1-2 steps after it, whole when its writes (an editor's truncate and write,
# or write and rename) are less than a step apart. 20 ms and a 10 ms debounce on top,
# polled every 10 ms, put 32-63 ms (median 45) between a write and the rebuild's start.
WATCH_STEP_MS = 5
# livereload.js reads the server's host and port from its own (resolved) src.
LIVERELOAD_SCRIPT = b'<script src="/livereload.js" defer></script>'

_NOT_FOUND = (b'<!doctype html><html lang="en"><head><meta charset="utf-8">'
              b"<title>Not found</title></head><body><p>Not found.</p></body></html>")
_HEAD_END = re.compile(rb"</head\s*>", re.IGNORECASE)
_BODY_START = re.compile(rb"<body\b[^>]*>", re.IGNORECASE)
_ENCODED_SEPARATOR = re.compile(r"%(2f|5c|00)", re.IGNORECASE)


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (``127.0.0.1``, ``[::1]``...)."""
    host = host.lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False


def host_allowed(name: str, bound: str) -> bool:
    """Whether to answer a request for ``Host: name`` (without port) on a server bound to ``bound``.

    A DNS-rebinding page reaches the server under the attacker's domain name:
    only loopback names are answered, and when the server was deliberately bound
    beyond loopback, its own ``--host`` and IP addresses too.
    """
    if is_loopback(name):
        return True
    if is_loopback(bound):
        return False
    try:
        ipaddress.ip_address(name.removeprefix("[").removesuffix("]"))
    except ValueError:
        return name.lower() == bound.lower()
    return True


def watched(name: str) -> bool:
    """Whether a change to a file or directory of this name can change the site."""
    return not EDITOR_LEFTOVERS.search(name)


class Watcher:
    """Reports a change to directory trees once they have been quiet for a step of
    watchfiles' (and then ``debounce`` seconds, none by default).

    The operating system reports changes (watchfiles: inotify, FSEvents,
    ReadDirectoryChangesW) to a background thread; nothing walks the trees. A
    burst of saves (an editor's temporary file and rename, a checkout, a
    search-and-replace over many files) gives one rebuild, of the final state.
    ``exclude`` skips directories such as an output directory inside a watched one,
    whose every build would otherwise trigger the next.
    """

    def __init__(self, roots: Iterable[Path], debounce: float = DEBOUNCE_SECONDS,
                 exclude: Iterable[Path] = ()):
        self.roots = [Path(root) for root in roots]
        self.debounce = debounce
        self.exclude = tuple(os.path.abspath(path) for path in exclude)
        self._changed_at: float | None = None
        self._paths: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Called on the watcher's thread when changes were heard (the server wakes its
        # event loop: no polling delay between a save and its rebuild)
        self.on_change: Callable[[], None] = lambda: None

    def start(self) -> None:
        """Start listening (changes before this are not seen)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._listen, name="factsite-watch",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _listen(self) -> None:
        roots = [str(root) for root in self.roots if root.is_dir()]
        if roots:
            for changes in watchfiles.watch(*roots, watch_filter=self.wanted, step=WATCH_STEP_MS,
                                            stop_event=self._stop, raise_interrupt=False):
                self.note(time.monotonic(), [path for _, path in changes])
                self.on_change()

    def wanted(self, change: object, path: str) -> bool:
        """A change to this path can change the site (not an editor's leftover, not excluded)."""
        path = os.path.abspath(path)
        if any(path == folder or path.startswith(folder + os.sep) for folder in self.exclude):
            return False
        for root in self.roots:
            root = os.path.abspath(root)
            if path.startswith(root + os.sep):
                return all(watched(part) for part in path[len(root) + 1:].split(os.sep))
        return watched(os.path.basename(path))

    @property
    def pending(self) -> bool:
        """Something changed that :meth:`poll` has not reported yet."""
        with self._lock:
            return self._changed_at is not None

    def note(self, now: float, paths: Iterable[str] = ()) -> None:
        """``paths`` changed at ``now``."""
        with self._lock:
            self._changed_at = now
            self._paths.update(paths)

    def poll(self, now: float) -> bool:
        """True when the trees changed and have not changed again for ``debounce`` seconds."""
        with self._lock:
            if self._changed_at is not None and now - self._changed_at >= self.debounce:
                self._changed_at = None
                return True
        return False

    def take(self) -> set[str]:
        """The paths reported since the last call."""
        with self._lock:
            paths, self._paths = self._paths, set()
        return paths


def inject(page: bytes, head: bytes, body: bytes) -> bytes:
    """Put ``head`` before ``</head>`` and ``body`` right after the ``<body>`` tag.

    Either goes at the start of the page when the page lacks that tag.
    """
    if body:
        match = _BODY_START.search(page)
        at = match.end() if match else 0
        page = page[:at] + body + page[at:]
    if head:
        match = _HEAD_END.search(page)
        at = match.start() if match else 0
        page = page[:at] + head + page[at:]
    return page


class SiteApp:
    """WSGI app serving the files of a factsite output directory, and nothing outside it.

    ``dir/`` serves ``dir/index.html``, ``dir`` redirects to ``dir/``, a missing
    file gets ``404.html`` with status 404. Paths with ``.`` or ``..`` segments,
    backslashes, NUL or encoded separators are refused with 400; hidden files
    and a directory without factsite's marker file are not served. HTML pages
    get ``head`` before ``</head>`` and ``overlay`` (when set) after ``<body>``.
    ``fresh`` holds files newer than the output directory's (path → (generation, bytes)):
    pages a save rendered, served from memory until written (bytes None: a page a save
    removed, answered 404 at once).
    """

    def __init__(self, root: Path, head: bytes = b"",
                 fresh: dict[str, tuple[int, bytes]] | None = None):
        self.root = Path(root)
        self.head = head
        self.fresh = {} if fresh is None else fresh
        self.overlay: str | None = None

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        method = environ["REQUEST_METHOD"]
        if method not in ("GET", "HEAD"):
            status, headers, body = _text(405, "only GET and HEAD are supported")
            headers.append(("Allow", "GET, HEAD"))
        else:
            status, headers, body = self.respond(_request_path(environ), environ.get("QUERY_STRING"))
        start_response(f"{status} {httputil.responses[status]}", headers)
        return [b"" if method == "HEAD" else body]

    def respond(self, path: str | None, query: str | None = None) -> tuple[int, list, bytes]:
        if path is None:
            return _text(400, "this path is not served")
        body, name = self._memory(path), path.rsplit("/", 1)[-1] or "index.html"
        file = None if body is not None or self._gone(path) else self._file(path)
        if body is None and (file is not None and file.is_dir()
                             or self._memory(path + "/") is not None):
            if not path.endswith("/"):
                location = quote(path + "/") + (f"?{query}" if query else "")
                status, headers, body = _text(301, f"moved to {location}")
                return status, headers + [("Location", location)], body
            file = None if self._gone(path + "index.html") else self._file(path + "index.html")
        status = 200
        if body is None:
            body, name = _read(file), file.name if file else ""
        if body is None:
            status, body, name = 404, _read(self._file("/404.html")) or _NOT_FOUND, "404.html"
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if kind == "text/html":
            body = inject(body, self.head, (self.overlay or "").encode("utf-8"))
        return status, _headers(kind, body), body

    def _memory(self, path: str) -> bytes | None:
        """The file at ``path`` as a save rendered it, if it is not written yet."""
        found = self._fresh(path)
        return found[1] if found else None

    def _gone(self, path: str) -> bool:
        """Whether a save removed the page at ``path`` (site/ holds it until written)."""
        found = self._fresh(path)
        return found is not None and found[1] is None

    def _fresh(self, path: str) -> tuple[int, bytes | None] | None:
        parts = [part for part in path.split("/") if part]
        if any(part.startswith(".") for part in parts) or not (self.root / MARKER).is_file():
            return None
        return self.fresh.get("/".join(parts + ["index.html"] if path.endswith("/") else parts))

    def _file(self, path: str) -> Path | None:
        """The file or directory ``path`` names under the root, if it is there and may be served."""
        parts = [part for part in path.split("/") if part]
        if any(part.startswith(".") for part in parts) or not (self.root / MARKER).is_file():
            return None
        root = self.root.resolve()
        try:
            target = root.joinpath(*parts).resolve(strict=True)
        except (OSError, RuntimeError):  # missing, or a symlink loop
            return None
        return target if target == root or root in target.parents else None


def _read(file: Path | None) -> bytes | None:
    try:
        return file.read_bytes() if file is not None and file.is_file() else None
    except OSError:
        return None


def _request_path(environ: dict) -> str | None:
    """The decoded request path, or None when it could name anything outside the root."""
    raw = environ.get("REQUEST_URI", "").partition("?")[0]
    if _ENCODED_SEPARATOR.search(raw):
        return None
    try:  # PEP 3333: PATH_INFO holds the decoded bytes as latin-1
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8")
    except UnicodeError:
        return None
    if not path.startswith("/"):  # "GET http://host/..." or "GET C:\..."
        return None
    if any(part in (".", "..") or "\\" in part or "\0" in part for part in path.split("/")):
        return None
    return path


def _headers(kind: str, body: bytes) -> list[tuple[str, str]]:
    textual = kind.startswith("text/") or kind.endswith(("json", "xml", "javascript"))
    return [
        ("Content-Type", f"{kind}; charset=utf-8" if textual else kind),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
    ]


def _text(status: int, message: str) -> tuple[int, list, bytes]:
    body = f"{status} {httputil.responses[status]}: {message}\n".encode("utf-8")
    return status, _headers("text/plain", body), body


class _Container(WSGIContainer):
    """Runs the WSGI app on the event loop thread, passing the raw path as ``REQUEST_URI``.

    tornado decodes ``PATH_INFO``, which would hide an encoded ``/`` among real ones.
    """

    def environ(self, request: httputil.HTTPServerRequest) -> dict:
        environ = super().environ(request)
        environ["REQUEST_URI"] = request.uri
        return environ


class _HostAllowed(Matcher):
    def __init__(self, bound: str):
        self.bound = bound

    def match(self, request: httputil.HTTPServerRequest) -> dict | None:
        return {} if host_allowed(request.host_name, self.bound) else None


class _ForeignHost(web.RequestHandler):
    def prepare(self) -> None:
        status, headers, body = _text(403, "the dev server answers to localhost, "
                                           "127.0.0.1 and [::1] only")
        self.set_status(status)
        for name, value in headers:
            self.set_header(name, value)
        self.finish(body)


class _LiveReloadSocket(LiveReloadHandler):
    """livereload's websocket, for this server's own pages only (livereload takes any origin)."""

    check_origin = WebSocketHandler.check_origin
    url: str | None = None  # the page it shows, from livereload's 'info' message

    def on_message(self, message: str | bytes) -> None:
        """livereload's handshake, for well-formed messages; anything else closes the socket.

        A broken or hostile client is its own problem: nothing is logged for it.
        """
        try:
            data = json.loads(message)
        except ValueError:  # not JSON, or not UTF-8
            data = None
        if not (isinstance(data, dict) and isinstance(data.get("command"), str)
                and isinstance(data.get("url", ""), str)):
            self.close(1003, "not a livereload message")
            return
        if data["command"] == "info" and "url" in data:
            self.url = data["url"]
        super().on_message(message)

    def send_message(self, message: dict) -> None:
        """Send, or forget a page that went away without closing its socket."""
        try:
            self.write_message(json.dumps(message))
        except WebSocketClosedError:
            self.on_close()

    def reload(self, path: str = "*") -> None:
        """Reload the page (``path``: a stylesheet or image livereload.js swaps in place)."""
        self.send_message({"command": "reload", "path": path, "liveCSS": path != "*",
                           "liveImg": path != "*"})

    @classmethod
    def open_pages(cls) -> dict[_LiveReloadSocket, str]:
        """The connected pages and the URL path each shows (on the event loop)."""
        return {page: urlsplit(page.url).path for page in cls.waiters if page.url}


def application(site: SiteApp, bound: str) -> web.Application:
    """The tornado app: livereload's endpoints and the site, for allowed ``Host`` names only."""
    return web.Application([
        Rule(_HostAllowed(bound), [
            (r"/livereload", _LiveReloadSocket),
            (r"/livereload\.js", LiveReloadJSHandler),
            (r".*", web.FallbackHandler, {"fallback": _Container(site)}),
        ]),
        (r".*", _ForeignHost),
    ])


class DevServer:
    """Rebuilds on change and keeps the overlay in step with the last build.

    The site stays in memory between saves (:class:`factsite.live.LiveSite`): a save
    re-reads the files it changed, renders the pages it changed, those open in a
    browser first, and reloads them from memory; a forked writer then swaps the
    whole site into site/ and refreshes the search index.
    """

    def __init__(self, content: Path, templates: Path, out: Path, *,
                 on_built: Callable[[pipeline.BuildResult], None],
                 on_failed: Callable[[Sequence[Diagnostic]], None],
                 strict: bool = False, base_url: str | None = None, debug: bool = False,
                 shard_pages: int | None = None):
        self.content, self.templates, self.out = Path(content), Path(templates), Path(out)
        self.on_built, self.on_failed = on_built, on_failed
        self.strict, self.debug = strict, debug
        self.watcher = Watcher([self.content, self.templates], exclude=[self.out])
        self.live = LiveSite(self.content, self.templates, self.out,
                             Cache.beside(self.out, resident=True), strict=strict,
                             base_url=base_url, shard_pages=shard_pages)
        self.site = SiteApp(self.out, head=LIVERELOAD_SCRIPT, fresh=self.live.fresh)
        self.building = False  # a save's work runs on another thread: one at a time
        self.failed = False  # the errors of the last save are over the pages
        # Tells pages to reload: (pages, URL path each shows, site paths rendered again).
        self.reload: Callable[[dict, list[str]], None] = lambda pages, paths: None

    @property
    def base_url(self) -> str | None:
        return self.live.base_url

    @base_url.setter
    def base_url(self, value: str | None) -> None:
        self.live.base_url = value

    def rebuild(self, index: bool = True) -> None:
        """Build everything (at start); on failure keep the last good site/ and lay the
        errors over its pages."""
        self._report(lambda: self.live.build(index=index))

    def save(self, paths: Iterable[str], pages: dict | None = None) -> None:
        """Take in a save: render the pages it changed, the ``pages`` open in browsers
        (page → URL path) first, reloading each as soon as it is ready; then write site/."""
        pages = pages or {}

        def work() -> pipeline.BuildResult:
            with _uncollected():
                result = self.live.update(paths)
                self.site.overlay = None  # the content holds: pages rendered from now show no errors
                reload = (lambda *_: None) if was_failed else self.reload  # all reload at the end
                if self.live.static:
                    reload(pages, [f"static/{name}" for name in self.live.static])
                # The open pages, then those that show what was saved (the entries' own, the
                # home page when a claim came or went): a save that patched claims in has
                # planned only those yet; settle() plans the listings, threads and sitemap after
                first, problems = self._render_open(pages, reload, self.live.saved)
            self.live.settle()
            then, more = self._render_open(pages, reload)
            rest, left = self.live.render(  # a newer save goes first; the rest comes after it
                sorted(self.live.dirty, key=lambda path: self.live.position.get(path, -1)),
                stop=lambda: self.watcher.pending)
            if problems or more or left:
                raise ContentError(problems + more + left)
            if rest:
                shown = {page: self.live.page_path(url) for page, url in pages.items()}
                reload({page: path for page, path in shown.items() if path in rest}, rest)
            self.live.flush()
            return replace(result, pages=self.live.html_pages(),
                           rendered=len(first) + len(then) + len(rest),
                           seconds=time.perf_counter() - started)

        started = time.perf_counter()
        was_failed = self.failed
        self._report(work)
        if self.failed or was_failed:  # the errors come, or go
            self.reload(pages, ["*"])

    def _render_open(self, pages: dict, reload: Callable[[dict, list[str]], None],
                     also: Iterable[str] = ()) -> tuple[list[str], list[Diagnostic]]:
        """Render the dirty pages the open ``pages`` show (then those ``also``) and reload
        those pages once they are ready (none when a page failed)."""
        shown = {page: self.live.page_path(url) for page, url in pages.items()}
        rendered, problems = self.live.render(dict.fromkeys(
            path for path in (*shown.values(), *also) if path in self.live.dirty))
        if rendered and not problems:
            reload({page: path for page, path in shown.items() if path in rendered}, rendered)
        return rendered, problems

    def poll(self) -> None:
        """On the event loop: start a save's work on another thread when the files settled,
        or to render the pages a save left when a newer one came; forget the writers
        that finished."""
        for status in self.live.reap():
            if status not in (0, SUPERSEDED):
                self.on_failed([Diagnostic(str(self.out), 1, 1, "could not write the site",
                                           "the pages are served from memory; the next save "
                                           "writes them again")])
        if self.building:
            return
        self.live.flush_pending()
        if self.watcher.poll(time.monotonic()):
            paths = self.watcher.take()
        elif self.live.dirty and not self.failed and not self.watcher.pending:
            paths = set()  # pages a save left to render when a newer one came
        else:
            return
        self.building = True
        loop = asyncio.get_running_loop()
        self.reload = lambda pages, paths: loop.call_soon_threadsafe(_reload, pages, paths)
        done = loop.run_in_executor(None, self.save, paths, _LiveReloadSocket.open_pages())
        done.add_done_callback(lambda _: setattr(self, "building", False))

    def _report(self, work: Callable[[], pipeline.BuildResult]) -> None:
        try:
            result = work()
        except ContentError as error:
            diagnostics: Sequence[Diagnostic] = error.diagnostics
        except Exception as error:  # a file unreadable or gone mid-build, or a bug: keep serving
            if self.debug:
                traceback.print_exc()
            diagnostics = [self._unexpected(error)]
        else:
            self.site.overlay, self.failed = None, False
            self.on_built(result)
            return
        self.failed = True
        self.site.overlay = format_overlay(diagnostics, built=(self.out / MARKER).is_file())
        self.on_failed(diagnostics)

    def _unexpected(self, error: Exception) -> Diagnostic:
        if isinstance(error, OSError):
            return Diagnostic(str(error.filename or self.content), 1, 1,
                              f"cannot build: {error.strerror or error}",
                              "the next save rebuilds the site")
        return Diagnostic(str(self.content), 1, 1, f"internal error: {type(error).__name__}: {error}",
                          "this is a bug in factsite; --debug shows the traceback")


@contextlib.contextmanager
def _uncollected() -> Iterator[None]:
    """No cyclic garbage collection until a save's first pages are served: at 10,000 claims
    its passes took 10-40 ms of a save's first 150 ms (the objects a save makes count
    towards them); they run after, with the rest of the save."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _reload(pages: dict[_LiveReloadSocket, Any], paths: list[str]) -> None:
    """On the event loop: reload ``pages`` (a stylesheet or image in place, when the save
    changed only static files)."""
    path = paths[0] if len(paths) == 1 and paths[0].startswith("static/") else "*"
    for page in pages:
        if page in _LiveReloadSocket.waiters:
            page.reload(path if path == "*" else "/" + path)


def listen(host: str, port: int) -> list[socket.socket]:
    """Bind the server's sockets (port 0: any free port); raises OSError."""
    return bind_sockets(port, address=host)


def serve(sockets: list[socket.socket], host: str, dev: DevServer) -> None:
    """Build, then serve and rebuild on change until Ctrl-C."""
    port = sockets[0].getsockname()[1]
    if not is_loopback(host):
        print(f"warning: serving on {host}, which other machines may reach; the dev server is "
              "meant for this machine only (drop --host to serve on 127.0.0.1)", file=sys.stderr)
    shown = f"[{host}]" if ":" in host else host
    sys.stdout.reconfigure(line_buffering=True)  # one line per rebuild, even into a pipe
    # A save works on another thread; the thread answering requests gets the interpreter
    # within 1 ms of asking (5 ms by default, at each step of a request), so a page a
    # save rendered first is served while the save goes on with the rest.
    sys.setswitchinterval(0.001)
    logging.getLogger("tornado.access").setLevel(logging.ERROR)  # no line per request

    if dev.base_url is None:  # the site's own addresses (404 page, canonical links) point here
        dev.base_url = f"http://{shown}:{port}/"

    async def run() -> None:
        HTTPServer(application(dev.site, host)).add_sockets(sockets)
        loop = asyncio.get_running_loop()
        dev.watcher.on_change = lambda: loop.call_soon_threadsafe(dev.poll)
        dev.watcher.start()  # before the first build: a save during it is heard
        dev.rebuild()
        print(f"serving {dev.out}/ on http://{shown}:{port}/ (Ctrl-C to stop)")
        PeriodicCallback(dev.poll, POLL_SECONDS * 1000).start()
        await asyncio.Event().wait()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:  # asyncio.run lets the current rebuild finish, then stops
        pass
    finally:
        dev.live.stop()
