"""Full-text search: a Pagefind index of the rendered pages.

Pagefind (``pagefind[bin]`` ships its binary on PyPI) reads the HTML we
rendered, honouring the ``data-pagefind-*`` attributes in the templates. It
runs once, over the build's staging directory itself (never site/), and writes
its bundle there. (We call the binary rather than the ``pagefind`` Python
service, which takes seconds to shut down.) The filter indexes are then
rewritten in a fixed order so that builds are reproducible.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import cbor2
from pagefind.service import get_executable

from .diagnostics import ContentError, Diagnostic

BUNDLE = "pagefind"  # the index's folder in site/


def index_site(root: Path, language: str) -> None:
    """Index the HTML pages under ``root`` (a staging directory) into ``root/pagefind/``."""
    binary = get_executable()
    if binary is None:
        raise _failure("the Pagefind binary is not installed")
    bundle = Path(root) / BUNDLE
    command = [str(binary), "--site", str(root), "--output-path", str(bundle),
               "--force-language", language.split("-")[0].lower(), "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise _failure((result.stderr or result.stdout).strip() or "it exited with an error")
    _stable_filters(bundle)


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
