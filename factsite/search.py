"""Full-text search: a Pagefind index of the rendered pages, in shards.

Pagefind (``pagefind[bin]`` ships its binary on PyPI) reads the HTML we
rendered, honouring the ``data-pagefind-*`` attributes in the templates. Its
memory grows with the pages of one run (about 125 KiB a page), so the indexed
pages are cut into **shards** of at most ``shard_pages`` pages, each indexed by
its own Pagefind run (two at a time on two cores) into its own bundle; the
search page merges them in the browser (Pagefind's ``mergeIndex``).

The partition is a function of the indexed pages' paths alone, stable when
pages come and go: each path has a 64-bit hash, and a shard is the set of pages
whose hashes start with the same bits, split further (one more bit) while it
holds more than ``shard_pages`` pages. Adding or removing a page changes the
shard it falls in (which splits, or merges with its sibling, at the limit) and
no other, so a build runs Pagefind again only over the shards whose pages
changed, and links the others' files from the last build.

The first shard's bundle is ``pagefind/`` itself, with Pagefind's scripts (the
search page loads them from there); the others are ``pagefind/<bits>/``, holding
only their index, listed in ``pagefind/shards.json``. (We call the binary rather
than the ``pagefind`` Python service, which takes seconds to shut down.) Each
bundle's filter indexes are rewritten in a fixed order so that builds are
reproducible.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import math
import os
import re
import shutil
import subprocess
from bisect import bisect_left, insort
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Container, Iterable, Iterator, Mapping, Sequence

import cbor2
from pagefind.service import get_executable

from .diagnostics import ContentError, Diagnostic
from .write import link_file

BUNDLE = "pagefind"  # the index's folder in site/
SHARDS_FILE = f"{BUNDLE}/shards.json"  # the folders of the bundles merged into the first
SHARD_PAGES = 1000  # pages a Pagefind run indexes at most (about 130 MiB of its memory)
_SCRATCH = ".pagefind-shards"  # in the staging directory while shards are indexed
FOLDERS = (BUNDLE, _SCRATCH)  # all the index writes in the staging directory
# What a merged bundle keeps: its index. Pagefind's scripts are loaded from the first.
_INDEX_PARTS = ("pagefind-entry.json", "index", "fragment", "filter")


@dataclass(frozen=True)
class Shard:
    """Pages indexed together by one Pagefind run, into one bundle."""

    bits: str  # the first bits of its pages' path hashes ('' when one shard holds them all)
    pages: tuple[str, ...]  # site-relative paths, sorted
    first: bool  # the first shard's bundle is pagefind/ itself

    @property
    def folder(self) -> str:
        return BUNDLE if self.first else f"{BUNDLE}/{self.bits}"


def partition(pages: Iterable[str], shard_pages: int = SHARD_PAGES) -> list[Shard]:
    """The shards of ``pages``, in order of their bits; see the module's docstring."""
    keyed = sorted((_hash(path), path) for path in pages)
    keys = [key for key, _ in keyed]
    found: list[tuple[str, int, int]] = []

    def split(low: int, high: int, bits: str, prefix: int) -> None:
        if high - low <= max(1, shard_pages) or len(bits) == 64:
            if high > low:
                found.append((bits, low, high))
            return
        one = prefix | 1 << (63 - len(bits))
        middle = bisect_left(keys, one, low, high)
        split(low, middle, bits + "0", prefix)
        split(middle, high, bits + "1", one)

    split(0, len(keyed), "", 0)
    return [Shard(bits, tuple(sorted(path for _, path in keyed[low:high])), number == 0)
            for number, (bits, low, high) in enumerate(found)]


def _hash(path: str) -> int:
    return int.from_bytes(hashlib.blake2b(path.encode("utf-8", "surrogatepass"),
                                          digest_size=8).digest(), "big")


Bundles = dict[str, tuple[str, list[str]]]  # folder → (what it was made from, its files)


def stale(pages: Mapping[str, str], language: str, last: Bundles, out: Path,
          shard_pages: int = SHARD_PAGES) -> bool:
    """Whether :func:`index_site` would run Pagefind: a shard's pages changed, or files are gone."""
    shards = partition(pages, shard_pages)
    return (not shards or set(last) != {s.folder for s in shards}
            or any(_stale(shard, pages, language, last, out) for shard in shards))


def index_site(root: Path, pages: Mapping[str, str], language: str, *,
               last: Bundles | None = None, last_root: Path | None = None,
               shard_pages: int = SHARD_PAGES, jobs: int | None = None,
               progress: Callable[[int, int], None] | None = None) -> tuple[list[str], Bundles]:
    """Index ``pages`` (site-relative path → digest of its bytes) under ``root`` (a staging
    directory) into ``root/pagefind/``; return the index's files and its bundles.

    ``last``, ``last_root``: the bundles of the last build and the directory holding them;
    a shard whose pages and their bytes are unchanged is linked from there, not indexed
    again. ``jobs``: Pagefind runs at once (default: one per core); ``progress(done,
    total)`` after each run. :class:`Indexing` does the same while the pages render.
    """
    with Indexing(root, language, pages, last=last, last_root=last_root,
                  shard_pages=shard_pages, jobs=jobs) as indexing:
        for path, digest in pages.items():
            indexing.written(path, digest, True)
        return indexing.finish(pages, progress)


def shard_key(path: str) -> int:
    """The order in which to render pages so that their shards are complete soonest: a shard
    is a range of this key (see :class:`Indexing`)."""
    return _hash(path)


class Indexing:
    """The search index, made while the pages render: each shard is indexed as soon as all
    its pages are written, so Pagefind and the render workers share the cores.

    A shard is a range of path hashes (:func:`partition`), so pages rendered in
    :func:`shard_key` order complete the shards one after the other. Whether a shard
    is final is known before every page is: its range was written whole, and its
    parent range (which it splits) already holds more pages to index than a shard
    may. The shards this finds are those :func:`partition` gives for the pages
    finally indexed, so the bundles are a whole build's. While pages still render,
    at most ``beside`` Pagefind runs go at once (default ``jobs - 1``; see
    :meth:`beside_build`); then ``jobs``. A run starts as soon as a core is free, the
    largest shard waiting first, so that the last runs, the smallest, end close together.
    (Runs used to start only once those going were half-way through, to keep two runs'
    peaks of memory apart; held to one core each, a run over ~800 pages reaches most of
    its memory early, and two runs peaked as high either way: 185-192 MiB at 10,000
    claims, while the stagger left a core idle at many starts, ~0.3 s each.) A failed run
    stops the build at the next page written; leaving the block (done, failed or
    interrupted) starts no other run and waits for those going.
    """

    def __init__(self, root: Path, language: str, paths: Iterable[str], *,
                 last: Bundles | None = None, last_root: Path | None = None,
                 shard_pages: int = SHARD_PAGES, jobs: int | None = None,
                 beside: int | None = None):
        self.root, self.language, self.last = Path(root), language, last or {}
        self.last_root = None if last_root is None else Path(last_root)
        self.shard_pages, self.jobs = shard_pages, max(1, jobs or os.cpu_count() or 1)
        self.beside = max(1, self.jobs - 1) if beside is None else beside
        self.order = sorted((_hash(path), path) for path in paths)
        self.place = {path: number for number, (_, path) in enumerate(self.order)}
        self.done = bytearray(len(self.order))
        self.next = 0  # the first place not written yet
        self.marked: list[tuple[int, str]] = []  # (hash, path) of the pages to index, sorted
        self.digests: dict[str, str] = {}
        self.found: dict[str, Shard] = {}  # bits → shard, in order
        self.bundles: Bundles = {}
        self.waiting: list[Shard] = []  # to index
        self.running: dict[Future, Shard] = {}
        self.indexed = 0  # Pagefind runs done
        self.pool = ThreadPoolExecutor(self.jobs)
        self.scratch = self.root / _SCRATCH
        self.binary: Path | None = None
        self.cores: dict[Future, int | None] = {}  # the core each run going is held to
        self.pids: dict[str, int] = {}  # shard bits → its run's process, once started
        self.spread = False  # runs going may use every core (see :meth:`_spread`)

    def __enter__(self) -> Indexing:
        return self

    def __exit__(self, *_: Any) -> None:
        self.waiting.clear()
        self.pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.scratch, ignore_errors=True)

    def written(self, path: str, digest: str, indexed: bool) -> None:
        """``path`` is written (or kept from the last build) with bytes of ``digest``;
        ``indexed``: marked for the search index."""
        number = self.place.get(path)
        if number is None:  # not an HTML page (a data file): never indexed
            return
        self.done[number] = 1
        self.digests[path] = digest
        if indexed:
            insort(self.marked, self.order[number])

    def advance(self) -> None:
        """Start the runs of the shards now complete, as many as may go at once; raise the
        error of a run that failed."""
        self._collect(wait=False)
        while self.next < len(self.done) and self.done[self.next]:
            self.next += 1
        frontier = self.order[self.next][0] if self.next < len(self.order) else 1 << 64
        self._split("", 0, frontier)
        self._start(self.beside)

    def beside_build(self, runs: int) -> None:
        """Let ``runs`` Pagefind runs go at once from now on (the cores the build's own work
        leaves, e.g. once its render workers are done), and start those that may."""
        self.beside = runs
        self.advance()

    def finish(self, pages: Mapping[str, str],
               progress: Callable[[int, int], None] | None = None,
               meanwhile: Callable[[], None] | None = None) -> tuple[list[str], Bundles]:
        """Once every page is written: index the rest of ``pages`` (path → digest: the
        pages to index, all of them marked or, when none is, every HTML page); return the
        index's files and its bundles, as :func:`index_site`. ``meanwhile``: the build's
        work that does not wait for the index, done beside the last run (once no shard
        waits and a core is free; at once if no run goes)."""
        shards = partition(pages, self.shard_pages)
        if not shards:
            raise _failure("there is no page to index")
        self.marked = sorted((_hash(path), path) for path in pages)  # none marked: every HTML page
        self.next = len(self.order)
        self._split("", 0, 1 << 64)
        total = self.indexed + len(self.running) + len(self.waiting)
        while self.running or self.waiting:
            if progress:
                progress(self.indexed, total)
            self._start(self.jobs)
            if not self.waiting and len(self.running) < self.jobs:
                self._spread()
                if meanwhile:
                    meanwhile()
                    meanwhile = None
            self._collect(wait=True)
        if meanwhile:
            meanwhile()
        if progress and total:
            progress(total, total)
        merged = [s.folder.removeprefix(BUNDLE + "/") + "/" for s in shards if not s.first]
        (self.root / SHARDS_FILE).write_bytes(json.dumps(merged, separators=(",", ":")).encode())
        ordered = {shard.folder: self.bundles[shard.folder] for shard in shards}
        files = sorted({SHARDS_FILE}.union(*(files for _, files in ordered.values())))
        return files, ordered

    def _split(self, bits: str, prefix: int, frontier: int) -> None:
        """Find the shards of the range of hashes starting with ``bits`` that are final
        with every page before ``frontier`` written (as :func:`partition` splits)."""
        end = prefix + (1 << (64 - len(bits)))
        low = bisect_left(self.marked, (prefix,))
        high = bisect_left(self.marked, (end,)) if end < 1 << 64 else len(self.marked)
        whole = high - low <= max(1, self.shard_pages) or len(bits) == 64
        if end <= frontier and whole:
            if high > low and bits not in self.found:
                self._found(Shard(bits, tuple(sorted(path for _, path in self.marked[low:high])),
                                  not self.found))
            return
        if whole:  # not all written yet, and it may still fit in one shard
            return
        one = prefix | 1 << (63 - len(bits))
        self._split(bits + "0", prefix, frontier)
        self._split(bits + "1", one, frontier)

    def _found(self, shard: Shard) -> None:
        self.found[shard.bits] = shard
        made = _made_from(shard, self.digests, self.language)
        if self.last_root is not None and not _stale(shard, self.digests, self.language,
                                                     self.last, self.last_root):
            files = self.last[shard.folder][1]
            for path in files:
                link_file(self.last_root, self.root, path)
            self.bundles[shard.folder] = (made, files)
        else:
            self.bundles[shard.folder] = (made, [])
            self.waiting.append(shard)

    def _start(self, at_once: int) -> None:
        while self.waiting and len(self.running) < at_once:
            if self.binary is None:
                self.binary = get_executable()
                if self.binary is None:
                    raise _failure("the Pagefind binary is not installed")
            shard = max(self.waiting, key=lambda waiting: len(waiting.pages))
            self.waiting.remove(shard)
            held = list(self.cores.values())
            core = min(_CORES, key=held.count) if _CORES else None  # the least held
            run = self.pool.submit(_index_shard, self.binary, self.root, self.scratch, shard,
                                   self.language, _glob(shard.pages, self.place), core,
                                   partial(self._started, shard.bits))
            self.running[run] = shard
            self.cores[run] = core

    def _started(self, bits: str, pid: int) -> None:  # in the run's thread
        self.pids[bits] = pid
        if self.spread:
            _release(pid)

    def _spread(self) -> None:
        """Let the runs going use every core: none waits and a core is free, so the last
        runs (held to one core each) would end alone. A Pagefind run's threads, on two
        cores, end a run over 1,000 pages ~15-30% sooner than held to one (a cold build's
        last ~1 s left one core idle)."""
        self.spread = bool(_CORES)
        for pid in list(self.pids.values()) if self.spread else ():
            _release(pid)

    def _collect(self, wait: bool) -> None:
        if wait and self.running:
            finished = futures_wait(self.running, return_when=FIRST_COMPLETED).done
        else:
            finished = {run for run in self.running if run.done()}
        for run in finished:
            shard = self.running.pop(run)
            self.cores.pop(run, None)
            self.pids.pop(shard.bits, None)
            self.bundles[shard.folder] = (self.bundles[shard.folder][0], run.result())
            self.indexed += 1


def _made_from(shard: Shard, pages: Mapping[str, str], language: str) -> str:
    """A digest of all a shard's bundle depends on: its folder, language, pages and Pagefind."""
    hasher = hashlib.blake2b(digest_size=16)
    hasher.update(f"{shard.folder}\0{language}\0{_pagefind_version()}\0".encode())
    for path in shard.pages:
        hasher.update(f"{path}\0{pages[path]}\0".encode("utf-8", "surrogatepass"))
    return hasher.hexdigest()


def _stale(shard: Shard, pages: Mapping[str, str], language: str, last: Bundles,
           out: Path) -> bool:
    recorded = last.get(shard.folder)
    return (recorded is None or recorded[0] != _made_from(shard, pages, language)
            or not all(os.path.isfile(out / path) for path in recorded[1]))


def _pagefind_version() -> str:
    try:
        return metadata.version("pagefind_bin")
    except metadata.PackageNotFoundError:
        return ""


def _allowed_cores() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return []


_CORES = _allowed_cores()


def _index_shard(binary: Path, root: Path, scratch: Path, shard: Shard, language: str,
                 glob: str, core: int | None = None,
                 started: Callable[[int], None] | None = None) -> list[str]:
    """Run Pagefind over ``glob``, one shard's pages, held to ``core``; move its bundle into
    place; return the bundle's files, site-relative. ``started``: told the run's process id.

    A run over a shard keeps about one core busy, but its threads (Tokio's) spread over
    all of them, and the memory they free and map again then costs a flush of every
    core's TLB: held to one core, a run over 1,000 pages at 10,000 claims took 17% less
    CPU (most of it the kernel's) and 16% less memory.
    """
    name = shard.bits or "all"
    work, output = scratch / name, scratch / f"{name}.bundle"
    work.mkdir(parents=True)
    # Pagefind reads pagefind.json in its working directory: the glob of the shard's pages
    # goes there (a command-line argument holds at most 128 KiB).
    (work / "pagefind.json").write_text(json.dumps({"glob": glob}), "utf-8")
    command = [str(binary), "--site", str(root.resolve()), "--output-path", str(output.resolve()),
               "--force-language", language.split("-")[0].lower(), "--quiet"]
    with _held_to(core):
        process = subprocess.Popen(command, cwd=work, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=_pagefind_env())
    with process:
        try:
            if started is not None:
                started(process.pid)
            stdout, stderr = process.communicate(timeout=600)
        except BaseException:
            process.kill()
            raise
    if process.returncode != 0:
        raise _failure((stderr or stdout).strip() or "it exited with an error")
    _stable_filters(output)
    files: list[str] = []
    target = root / shard.folder
    target.mkdir(parents=True, exist_ok=True)
    for entry in os.scandir(output):  # whole folders at once: a rename each
        if shard.first or entry.name in _INDEX_PARTS or entry.name.endswith(".pf_meta"):
            os.rename(entry.path, target / entry.name)
            if not entry.is_dir():
                files.append(f"{shard.folder}/{entry.name}")
            for folder, _, names in os.walk(target / entry.name):
                inside = Path(folder).relative_to(root).as_posix()
                files += [f"{inside}/{name}" for name in names]
    shutil.rmtree(output, ignore_errors=True)
    return sorted(files)


# Pagefind's allocator (jemalloc, its settings read from this variable) caches freed blocks
# of up to 32 KiB per thread; larger ones (two of 68 KiB and one of 44 KiB a page) went
# back to the arena and to the kernel (madvise), to be faulted in again at the next page:
# 3,100 madvise calls and 41,000 of a run's 72,000 page faults over 1,000 claim pages.
# Cached up to 128 KiB: 30% less system time, the same memory and index, 2% more user
# instructions (a block used again is zeroed by Pagefind, a fresh page by the kernel).
MALLOC_CONF = ("_RJEM_MALLOC_CONF", "tcache_max:131072")


def _pagefind_env() -> dict[str, str]:
    """The environment of a Pagefind run: this one's, with :data:`MALLOC_CONF` unless set."""
    name, value = MALLOC_CONF
    return {name: value, **os.environ}


@contextmanager
def _held_to(core: int | None) -> Iterator[None]:
    """Hold the calling thread, and so the processes it starts, to ``core`` in the block."""
    try:
        before = os.sched_getaffinity(0)  # 0: the calling thread
        if core is not None:
            os.sched_setaffinity(0, {core})
    except OSError:  # the core is gone (CPU hotplug, a new cpuset): anywhere will do
        core = None
    try:
        yield
    finally:
        if core is not None:
            os.sched_setaffinity(0, before)


def _release(pid: int) -> None:
    """Let every thread of the process ``pid`` run on any core allowed to this one."""
    try:
        for thread in os.listdir(f"/proc/{pid}/task"):
            os.sched_setaffinity(int(thread), _CORES)
    except (AttributeError, OSError):  # ended already, or not Linux
        pass


def _glob(pages: Sequence[str], others: Container[str]) -> str:
    """A glob (Pagefind's: the wax crate) matching ``pages`` and none of ``others``.

    Pagefind walks the site below the glob's literal prefix, skipping the folders
    whose names no component of the glob can match. A glob of whole paths
    (``{claims/a/index.html,sources/b/index.html}``) has no such component: each run
    read every folder of the site and matched each of its files (~28,000 at 10,000
    claims: a fifth of the instructions of a run over 100 pages). A glob of
    alternatives per component (``{claims,sources}/{a,b}/index.html``) reads only the
    folders named. It also names their cross product, so it is used when none of that
    is one of ``others`` (the site's other pages) and the product is small.
    """
    columns = list(zip(*(page.split("/") for page in pages)))
    if pages and all(page.count("/") == len(columns) - 1 for page in pages):
        names = [sorted(set(column)) for column in columns]
        if math.prod(map(len, names)) <= 8 * len(pages):
            product = {"/".join(path) for path in itertools.product(*names)}
            if not any(path in others for path in product.difference(pages)):
                return "/".join(_alternatives(column) for column in names)
    return _alternatives(pages)


def _alternatives(names: Iterable[str]) -> str:
    escaped = [re.sub(r"[\\?*$:<>\[\]{},!#]", lambda m: "\\" + m[0], name) for name in names]
    return escaped[0] if len(escaped) == 1 else "{" + ",".join(escaped) + "}"


def _stable_filters(bundle: Path) -> None:
    """Write Pagefind's filter indexes in a fixed order, so the same pages give the same bytes.

    Pagefind (up to 1.5 at least) emits each filter's values, and the list of filters,
    in hash-map order. Its index files are gzipped CBOR after a ``pagefind_dcd`` tag:
    we sort the values and the filters, and rename the filter and metadata files by
    their new content's hash (they are found through the names recorded in the
    metadata and in ``pagefind-entry.json``).
    """
    entry_file = bundle / "pagefind-entry.json"
    entry = json.loads(entry_file.read_bytes())
    renamed: dict[str, str] = {}
    rewritten: dict[Path, bytes] = {}
    for path in sorted((bundle / "filter").glob("*.pf_filter")):
        name, values = _read_cbor(path.read_bytes())
        data = _write_cbor([name, sorted(values, key=lambda value: value[0])])
        old = path.name.removesuffix(".pf_filter")
        renamed[old] = f"{old.split('_')[0]}_{hashlib.sha256(data).hexdigest()[:7]}"
        path.unlink()
        rewritten[path.with_name(f"{renamed[old]}.pf_filter")] = data
    for language in entry["languages"].values():
        meta_file = bundle / f"pagefind.{language['hash']}.pf_meta"
        meta = _read_cbor(meta_file.read_bytes())
        meta_file.unlink()
        meta[3] = sorted([name, renamed.get(chunk, chunk)] for name, chunk in meta[3])
        data = _write_cbor(meta)
        language["hash"] = f"{language['hash'].split('_')[0]}_{hashlib.sha256(data).hexdigest()[:10]}"
        rewritten[bundle / f"pagefind.{language['hash']}.pf_meta"] = data
    rewritten[entry_file] = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode()
    for path, data in rewritten.items():
        path.write_bytes(data)


_TAG = b"pagefind_dcd"


def _read_cbor(data: bytes) -> Any:
    plain = gzip.decompress(data)
    if not plain.startswith(_TAG):
        raise _failure("unexpected Pagefind index format (is this a newer Pagefind?)")
    return cbor2.loads(plain[len(_TAG):])


def _write_cbor(value: Any) -> bytes:
    return gzip.compress(_TAG + cbor2.dumps(value), mtime=0)


def _failure(reason: str) -> ContentError:
    return ContentError([Diagnostic(
        "pagefind", 1, 1, f"search index failed: {reason}",
        "install factsite's dependencies (pip install -e .), which include pagefind[bin]")])
