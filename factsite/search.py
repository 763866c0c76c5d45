"""Full-text search: a Pagefind index of the rendered pages.

Pagefind (``pagefind[bin]`` ships its binary on PyPI) reads the HTML we
rendered, honouring the ``data-pagefind-*`` attributes in the templates. It
runs over a scratch copy outside site/ and we read its bundle back, so that
write.py stays the only writer of site/. (We call the binary rather than the
``pagefind`` Python service, which takes seconds to shut down.) The filter
indexes are rewritten in a fixed order so that builds are reproducible.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Mapping

import cbor2
from pagefind.service import get_executable

from .diagnostics import ContentError, Diagnostic

BUNDLE = "pagefind"  # the index's folder in site/


def search_index(pages: Mapping[str, str], language: str) -> dict[str, bytes]:
    """Index the HTML ``pages`` (site path → text); return the bundle's files by site path."""
    binary = get_executable()
    if binary is None:
        raise _failure("the Pagefind binary is not installed")
    with tempfile.TemporaryDirectory(prefix="factsite-pagefind-") as scratch:
        site, bundle = Path(scratch) / "site", Path(scratch) / "bundle"
        for path, text in pages.items():
            if path.endswith(".html"):
                target = site / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
        command = [str(binary), "--site", str(site), "--output-path", str(bundle),
                   "--force-language", language.split("-")[0].lower(), "--quiet"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise _failure((result.stderr or result.stdout).strip() or "it exited with an error")
        files = {f"{BUNDLE}/{file.relative_to(bundle).as_posix()}": file.read_bytes()
                 for file in sorted(bundle.rglob("*")) if file.is_file()}
    return _stable_filters(files)


def _stable_filters(files: dict[str, bytes]) -> dict[str, bytes]:
    """Write Pagefind's filter indexes in a fixed order, so the same pages give the same bytes.

    Pagefind (up to 1.5 at least) emits each filter's values, and the list of filters,
    in hash-map order. Its index files are gzipped CBOR after a ``pagefind_dcd`` tag:
    we sort the values and the filters, and rename the filter and metadata files by
    their new content's hash (they are found through the names recorded in the
    metadata and in ``pagefind-entry.json``).
    """
    files = dict(files)
    entry = json.loads(files[f"{BUNDLE}/pagefind-entry.json"])
    renamed: dict[str, str] = {}
    for path in sorted(p for p in files if p.startswith(f"{BUNDLE}/filter/")):
        name, values = _read_cbor(files.pop(path))
        data = _write_cbor([name, sorted(values, key=lambda value: value[0])])
        old = path.rsplit("/", 1)[1].removesuffix(".pf_filter")
        renamed[old] = f"{old.split('_')[0]}_{hashlib.sha256(data).hexdigest()[:7]}"
        files[f"{BUNDLE}/filter/{renamed[old]}.pf_filter"] = data
    for language in entry["languages"].values():
        meta = _read_cbor(files.pop(f"{BUNDLE}/pagefind.{language['hash']}.pf_meta"))
        meta[3] = sorted([name, renamed.get(chunk, chunk)] for name, chunk in meta[3])
        data = _write_cbor(meta)
        language["hash"] = f"{language['hash'].split('_')[0]}_{hashlib.sha256(data).hexdigest()[:10]}"
        files[f"{BUNDLE}/pagefind.{language['hash']}.pf_meta"] = data
    files[f"{BUNDLE}/pagefind-entry.json"] = json.dumps(
        entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return dict(sorted(files.items()))


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
