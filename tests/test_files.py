"""File-system oddities in the content tree: each is an error at its path with a hint,
never a traceback, a hang or a silent skip. File names are shown escaped."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

import build
from factsite import load
from tests.conftest import ROOT

HINT_SPECIAL = "  hint: content files must be plain files: replace it with one, or remove it\n"


def check(content: Path, monkeypatch, capsys) -> tuple[int, str]:
    monkeypatch.chdir(content.parent)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    code = build.main(["check", "--content", "content"])
    return code, capsys.readouterr().err


def test_every_oddity_is_an_error_at_its_path(content, monkeypatch, capsys):
    claims, claimants = content / "claims", content / "claimants"
    (claims / "loop.yaml").symlink_to("loop.yaml")
    (claims / "dangling.yaml").symlink_to("gone.yaml")
    (claims / "folder.yaml").mkdir()
    (claims / "drafts").mkdir()
    os.mkfifo(claimants / "pipe.yaml")
    (claimants / "null.yaml").symlink_to(os.devnull)
    (content / "pages" / "about.md").unlink()
    (content / "pages").rmdir()
    (content / "pages").write_text("not a directory\n")
    code, err = check(content, monkeypatch, capsys)
    assert code == 1
    assert err == (
        "content/claimants/null.yaml:1:1: error: is a character device, not a regular file\n"
        + HINT_SPECIAL +
        "content/claimants/pipe.yaml:1:1: error: is a named pipe, not a regular file\n"
        + HINT_SPECIAL +
        "content/claims/dangling.yaml:1:1: error: broken symbolic link: its target does not exist\n"
        "  hint: it points to 'gone.yaml'; fix the link or replace it with the file\n"
        "content/claims/drafts:1:1: error: 'drafts' is a directory; content/claims/ holds one "
        ".yaml file per claim\n"
        "  hint: factsite does not read subdirectories: move the files it holds into "
        "content/claims/ or remove it\n"
        "content/claims/folder.yaml:1:1: error: 'folder.yaml' is a directory; content/claims/ "
        "holds one .yaml file per claim\n"
        "  hint: factsite does not read subdirectories: move the files it holds into "
        "content/claims/ or remove it\n"
        "content/claims/loop.yaml:1:1: error: symbolic link loop: the link leads back to itself\n"
        "  hint: replace the link with the file it should point to\n"
        "content/pages:1:1: error: not a directory\n"
        "  hint: this should be content/pages/, where the page files go\n"
        "check failed: 7 errors\n")


def test_site_yaml_as_a_directory_and_content_as_a_file(tmp_path, content, monkeypatch, capsys):
    (content / "site.yaml").unlink()
    (content / "site.yaml").mkdir()
    code, err = check(content, monkeypatch, capsys)
    assert (code, err) == (1, "content/site.yaml:1:1: error: is a directory, not a file\n"
                              "  hint: replace it with a file, or remove it\n"
                              "check failed: 1 error\n")
    (tmp_path / "file").write_text("x")
    documents, diagnostics = load.load_content(tmp_path / "file")
    assert [d.format_text() for d in diagnostics] == [
        f"{tmp_path / 'file'}:1:1: error: not a directory\n"
        "  hint: this should be the content directory"]


def test_a_claims_file_in_place_of_the_directory_fails_the_build_and_keeps_site(
        tmp_path, content, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    templates = ["--templates", str(ROOT / "templates")]
    assert build.main(["build", "--content", "content", *templates]) == 0
    before = sorted(p.relative_to(tmp_path) for p in (tmp_path / "site").rglob("*"))
    for file in (content / "claims").iterdir():
        file.unlink()
    (content / "claims").rmdir()
    (content / "claims").write_text("")
    capsys.readouterr()
    assert build.main(["build", "--content", "content", *templates]) == 1
    assert "content/claims:1:1: error: not a directory" in capsys.readouterr().err
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "site").rglob("*")) == before


@pytest.mark.parametrize("failing", ["open", "scandir"])
def test_permission_denied(content, monkeypatch, capsys, failing):
    """Simulated: the suite may run as root, whom no permission stops."""
    real = getattr(os, failing)

    def denied(path, *args, **kwargs):
        if str(path).endswith(("opposition.yaml", "claimants")):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(load.os, failing, denied)
    code, err = check(content, monkeypatch, capsys)
    where = "content/claimants/opposition.yaml" if failing == "open" else "content/claimants"
    assert code == 1
    assert err.startswith(
        f"{where}:1:1: error: permission denied: factsite cannot read this\n"
        "  hint: make it readable for the user running the build (chmod a+r)\n")


def test_a_read_error_names_the_file(content, monkeypatch, capsys):
    """Simulated: a failing disk (or a link to a device that fails, refused before this)."""
    real_open, real_read = os.open, os.read
    opened = set()  # files the loader opened: reading any of them fails

    def opening(path, *args, **kwargs):
        fd = real_open(path, *args, **kwargs)
        opened.add(fd)
        return fd

    def reading(fd, size):
        if fd in opened:
            opened.discard(fd)  # closed after the failure: the number may come back
            raise OSError(errno.EIO, "Input/output error")
        return real_read(fd, size)

    monkeypatch.setattr(load.os, "open", opening)
    monkeypatch.setattr(load.os, "read", reading)
    code, err = check(content, monkeypatch, capsys)
    assert code == 1
    assert err.startswith("content/claimants/ana-lima.yaml:1:1: error: cannot read: "
                          "Input/output error\n"
                          "  hint: check the disk, or replace the file with a fresh copy\n")


def test_a_named_pipe_never_blocks_the_build(content):
    """Refused before opening; the timeout guards against the hang this used to be."""
    os.mkfifo(content / "claimants" / "pipe.yaml")
    result = subprocess.run([sys.executable, str(ROOT / "build.py"), "build", "--templates",
                             str(ROOT / "templates")], cwd=content.parent,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("content/claimants/pipe.yaml:1:1: error: is a named pipe")
    assert not (content.parent / "site").exists()


@pytest.mark.parametrize("kind, folder, limit", [
    ("source", "sources", load.SOURCE_LIMIT), ("claimant", "claimants", load.FILE_LIMIT)])
def test_size_limits(content, monkeypatch, capsys, kind, folder, limit):
    name = "big.txt" if kind == "source" else "big.yaml"
    with open(content / folder / name, "wb") as file:
        file.truncate(limit + 1)  # sparse: the size is refused before anything is read
    code, err = check(content, monkeypatch, capsys)
    what = "a source" if kind == "source" else "a claimant file"
    hint = ("keep only the text of the document" if kind == "source"
            else "content files are written by hand: is this the file you meant?")
    assert code == 1
    assert err.startswith(
        f"content/{folder}/{name}:1:1: error: file is too large: {limit + 1:,} bytes; "
        f"{what} may have at most {limit:,} ({limit // 2**20} MiB)\n  hint: {hint}\n")


def test_file_names_are_escaped_and_never_suggested(content, monkeypatch, capsys):
    claimants = content / "claimants"
    bad = os.fsdecode(b"press-offic\xff")  # one letter short of an existing id, and not UTF-8
    (claimants / f"{bad}.yaml").write_text("name: X\nkind: person\n")
    (claimants / "new\nline.yaml").write_text("name: Y\nkind: person\n")
    claim = content / "claims" / "opens-2023.yaml"
    claim.write_text(claim.read_text().replace("claimant: press-office", "claimant: press-offic"))
    code, err = check(content, monkeypatch, capsys)
    assert code == 1
    assert err == (
        "content/claimants/new<U+000A>line.yaml:1:1: error: invalid id 'new<U+000A>line' "
        "(the file name)\n"
        "  hint: ids use lowercase letters, digits and single hyphens: rename to 'new-line' "
        "(<U+000A> is LINE FEED, a line break)\n"
        "content/claimants/press-offic\\xff.yaml:1:1: error: invalid id 'press-offic\\xff' "
        "(the file name)\n"
        "  hint: ids use lowercase letters, digits and single hyphens: rename to 'press-offic'\n"
        "content/claims/opens-2023.yaml:2:11: error: unknown claimant 'press-offic'\n"
        "  hint: did you mean 'press-office'?\n"
        "check failed: 3 errors\n")


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_a_page_placeholder_is_placed_as_editors_count_lines(content, monkeypatch, capsys, end):
    page = content / "pages" / "about.md"
    page.write_bytes(end.join(["---", "title: About", "---", "", "  TODO: say who we are",
                               ""]).encode())
    code, err = check(content, monkeypatch, capsys)
    assert (code, err) == (1, "content/pages/about.md:5:3: error: page text is still a TODO "
                              "placeholder\n  hint: say who we are\ncheck failed: 1 error\n")
