"""The only writer of site/: everything goes into a sibling directory, then swaps in.

A build that fails before :func:`write_site` leaves the previous site/
untouched; one interrupted while writing leaves only a temporary sibling.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Mapping

from .diagnostics import ContentError, Diagnostic

MARKER = ".factsite"
MARKER_TEXT = "This directory is written by factsite and replaced on every build.\n"


def check_output_dir(out: Path, protected: list[Path]) -> None:
    """Refuse to replace a directory factsite did not write (or one holding the content)."""
    out = Path(out)
    resolved = out.resolve()
    for path in protected:
        path = Path(path).resolve()
        if resolved == path or resolved in path.parents:
            _refuse(out, f"output directory '{out}' holds {path}; refusing to replace it")
    if (out / "content").exists() or (out / "pyproject.toml").exists():
        _refuse(out, f"output directory '{out}' looks like a project root; refusing to replace it")
    if out.exists() and not out.is_dir():
        _refuse(out, f"output path '{out}' is a file, not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        _refuse(out, f"output directory '{out}' has files factsite did not write; "
                     "refusing to replace it")


def _refuse(out: Path, message: str) -> None:
    raise ContentError([Diagnostic(str(out), 1, 1, message,
                                   "choose an empty or new directory with --out")])


def write_site(out: Path, files: Mapping[str, str | bytes], static_dir: Path | None) -> int:
    """Write ``files`` (site-relative path → content) and ``static_dir`` as ``out``; return count."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        if static_dir is not None and static_dir.is_dir():
            shutil.copytree(static_dir, staging / "static", dirs_exist_ok=True)
        for relative, content in sorted(files.items()):
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, str):
                content = content.encode("utf-8")
            target.write_bytes(content)
        (staging / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
        count = sum(1 for _ in staging.rglob("*") if _.is_file()) - 1
        _swap(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return count


def _swap(staging: Path, out: Path) -> None:
    os.chmod(staging, 0o755)
    if not out.exists():
        staging.rename(out)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    retired.rmdir()
    out.rename(retired)
    staging.rename(out)
    shutil.rmtree(retired, ignore_errors=True)
