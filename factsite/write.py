"""The only writer of site/: everything goes into a sibling staging directory, then swaps in.

Pages stream into the staging directory as they render (render workers write
there through :func:`write_file`); site/ is replaced only when the whole build
has succeeded. A build that fails or is interrupted removes its staging
directory and leaves the previous site/ untouched.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

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


@contextmanager
def staged(out: Path, static_dir: Path | None) -> Iterator[Path]:
    """A new staging directory beside ``out`` holding the static files, for the block to fill.

    When the block succeeds the staging directory becomes ``out``; when it raises
    (or is interrupted), the staging directory is removed and ``out`` stays as it was.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        if static_dir is not None and static_dir.is_dir():
            shutil.copytree(static_dir, staging / "static", dirs_exist_ok=True)
        yield staging
        (staging / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
        _swap(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_file(root: Path, relative: str, content: str | bytes) -> None:
    """Write one file of the site under ``root`` (a staging directory)."""
    target = os.path.join(root, relative)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "wb") as file:
        file.write(content.encode("utf-8") if isinstance(content, str) else content)


def count_files(out: Path) -> int:
    """Files of the built site, not counting factsite's marker."""
    return sum(len(files) for _, _, files in os.walk(out)) - (Path(out) / MARKER).is_file()


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
