"""Full-text search: a Pagefind index of the rendered pages.

Pagefind (``pagefind[bin]`` ships its binary on PyPI) reads the HTML we
rendered, honouring the ``data-pagefind-*`` attributes in the templates. It
runs over a scratch copy outside site/ and we read its bundle back, so that
write.py stays the only writer of site/. (We call the binary rather than the
``pagefind`` Python service, which takes seconds to shut down.)
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Mapping

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
        return {f"{BUNDLE}/{file.relative_to(bundle).as_posix()}": file.read_bytes()
                for file in sorted(bundle.rglob("*")) if file.is_file()}


def _failure(reason: str) -> ContentError:
    return ContentError([Diagnostic(
        "pagefind", 1, 1, f"search index failed: {reason}",
        "install factsite's dependencies (pip install -e .), which include pagefind[bin]")])
