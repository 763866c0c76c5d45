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
import json
import os
import re
import shutil
import subprocess
from bisect import bisect_left
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import cbor2
from pagefind.service import get_executable

from .diagnostics import ContentError, Diagnostic
from .write import link_file

BUNDLE = "pagefind"  # the index's folder in site/
SHARDS_FILE = f"{BUNDLE}/shards.json"  # the folders of the bundles merged into the first
SHARD_PAGES = 1000  # pages a Pagefind run indexes at most (about 130 MiB of its memory)
_SCRATCH = ".pagefind-shards"  # in the staging directory while shards are indexed
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
    total)`` after each run.
    """
    root, last = Path(root), last or {}
    shards = partition(pages, shard_pages)
    if not shards:
        raise _failure("there is no page to index")
    made = {shard.folder: _made_from(shard, pages, language) for shard in shards}
    reused = [s for s in shards if last_root is not None
              and not _stale(s, pages, language, last, Path(last_root))]
    to_index = [shard for shard in shards if shard not in reused]
    bundles: Bundles = {}
    for shard in reused:
        files = last[shard.folder][1]
        for path in files:
            link_file(Path(last_root), root, path)
        bundles[shard.folder] = (made[shard.folder], files)
    binary = get_executable() if to_index else None
    if to_index and binary is None:
        raise _failure("the Pagefind binary is not installed")
    scratch = root / _SCRATCH
    done = 0
    if progress and to_index:
        progress(0, len(to_index))
    try:
        with ThreadPoolExecutor(max(1, jobs or os.cpu_count() or 1)) as pool:
            runs = [pool.submit(_index_shard, binary, root, scratch, shard, language)
                    for shard in to_index]
            try:
                for shard, run in zip(to_index, runs):
                    bundles[shard.folder] = (made[shard.folder], run.result())
                    done += 1
                    if progress:
                        progress(done, len(to_index))
            except BaseException:  # a failed shard, Ctrl-C, a signal: start no other
                for run in runs:
                    run.cancel()
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    merged = [shard.folder.removeprefix(BUNDLE + "/") + "/" for shard in shards if not shard.first]
    (root / SHARDS_FILE).write_bytes(json.dumps(merged, separators=(",", ":")).encode())
    ordered = {shard.folder: bundles[shard.folder] for shard in shards}
    files = sorted({SHARDS_FILE}.union(*(files for _, files in ordered.values())))
    return files, ordered


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


def _index_shard(binary: Path, root: Path, scratch: Path, shard: Shard, language: str) -> list[str]:
    """Run Pagefind over one shard's pages; move its bundle into place; return the bundle's
    files, site-relative."""
    name = shard.bits or "all"
    work, output = scratch / name, scratch / f"{name}.bundle"
    work.mkdir(parents=True)
    # Pagefind reads pagefind.json in its working directory: the glob of the shard's pages
    # goes there (a command-line argument holds at most 128 KiB).
    (work / "pagefind.json").write_text(json.dumps({"glob": _glob(shard.pages)}), "utf-8")
    command = [str(binary), "--site", str(root.resolve()), "--output-path", str(output.resolve()),
               "--force-language", language.split("-")[0].lower(), "--quiet"]
    result = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise _failure((result.stderr or result.stdout).strip() or "it exited with an error")
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


def _glob(pages: Iterable[str]) -> str:
    """A glob (Pagefind's: the wax crate) matching exactly ``pages``."""
    return "{" + ",".join(re.sub(r"[\\?*$:<>\[\]{},!#]", lambda m: "\\" + m[0], page)
                          for page in pages) + "}"


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
