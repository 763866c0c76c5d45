"""The only writer of site/: everything goes into a sibling staging directory, then swaps in.

Pages stream into the staging directory as they render (render workers write
there through :func:`write_file`); site/ is replaced only when the whole build
has succeeded, in one atomic exchange on Linux. A build that fails or is
interrupted removes its staging directory and leaves the previous site/
untouched; one killed outright leaves it for the next build to remove.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import hashlib
import os
import re
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Container, Iterable, Iterator

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
    Staging directories that builds killed outright left behind are removed first.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(out)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-{os.getpid()}-", dir=out.parent))
    try:
        if static_dir is not None and static_dir.is_dir():
            shutil.copytree(static_dir, staging / "static", dirs_exist_ok=True)
        yield staging
        (staging / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
        _swap(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_file(root: Path, relative: str, content: str | bytes | Iterable[str]) -> str:
    """Write one file of the site under ``root`` (a staging directory); return the sha256 of
    its bytes. ``content`` may come in pieces (a data file of the whole archive)."""
    target = os.path.join(root, relative)
    folder = os.path.dirname(target)
    try:  # most pages: their own folder, in one made already (makedirs stats it first)
        os.mkdir(folder)
    except OSError:
        os.makedirs(folder, exist_ok=True)
    if isinstance(content, (str, bytes)):  # a page: whole, in one write to the file
        data = content.encode("utf-8") if isinstance(content, str) else content
        handle = os.open(target, _CREATE, 0o666)
        try:
            written = os.write(handle, data)
            while written < len(data):  # a write may take less than it is given
                written += os.write(handle, memoryview(data)[written:])
        finally:
            os.close(handle)
        return hashlib.sha256(data).hexdigest()
    hasher = hashlib.sha256()
    with open(target, "wb") as file:
        for piece in content:
            data = piece.encode("utf-8") if isinstance(piece, str) else piece
            hasher.update(data)
            file.write(data)
    return hasher.hexdigest()


# A page's file opened as ``open(path, "wb")`` would, without the file object: that costs
# three more system calls a page (fstat, the ioctl asking whether it is a terminal, lseek).
_CREATE = (os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
           | getattr(os, "O_BINARY", 0))


def count_files(out: Path, leave_out: Container[str] = ()) -> int:
    """Files of the built site, not counting factsite's marker nor those in the folders of
    ``out`` named in ``leave_out``."""
    count = -(Path(out) / MARKER).is_file()
    for folder, folders, files in os.walk(out):
        if leave_out and folder == os.fspath(out):
            folders[:] = [name for name in folders if name not in leave_out]
        count += len(files)
    return count


def _swap(staging: Path, out: Path) -> None:
    """Put ``staging`` in the place of ``out`` in one step where the system can, then remove
    the old site. Elsewhere two renames leave a moment without ``out``."""
    os.chmod(staging, 0o755)
    if not os.path.lexists(out):
        staging.rename(out)
        return
    if exchange(staging, out):
        retired = staging  # now holds the previous site
    else:
        retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-{os.getpid()}-", dir=out.parent))
        retired.rmdir()
        out.rename(retired)
        staging.rename(out)
    try:
        shutil.rmtree(retired, ignore_errors=True)
    except KeyboardInterrupt:  # the new site is in place; a later build removes the rest
        pass


_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


@functools.cache
def _renameat2() -> Callable[..., int] | None:
    if sys.platform != "linux":
        return None
    try:
        return getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)  # glibc >= 2.28
    except OSError:
        return None


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2`` with ``RENAME_EXCHANGE``).

    False, with nothing changed, where the C library, kernel or file system has no
    such call; any other failure raises OSError.
    """
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def _remove_stale(out: Path) -> None:
    """Remove the staging and retired directories of builds that no longer run.

    Each is named after its build's process id (``.site.new-<pid>-…``), so one whose
    process is gone (killed while indexing, say) is known to be abandoned.
    """
    pattern = re.compile(rf"\.{re.escape(out.name)}\.(?:new|old)-(\d+)-\w+")
    try:
        entries = list(os.scandir(out.parent))
    except OSError:
        return
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match and entry.is_dir(follow_symlinks=False) and not _running(int(match.group(1))):
            shutil.rmtree(entry.path, ignore_errors=True)


def _running(pid: int) -> bool:
    if pid == os.getpid() or os.name != "posix":  # elsewhere os.kill would end the process
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: running
        return True
    return True


def link_file(old_root: Path, root: Path, relative: str) -> None:
    """Put ``old_root``'s file (the last build's) at the same place under ``root``, unchanged.

    A hard link where the file system allows (staging sits beside site/), else a copy.
    """
    source, target = os.path.join(old_root, relative), os.path.join(root, relative)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
