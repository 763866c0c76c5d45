"""The build engine on a generated archive: worker processes, streaming, interruption, progress."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from factsite import pipeline, render
from factsite.cache import CACHE_DIR, BuildState
from factsite.diagnostics import ContentError
from factsite.model import _flatten, pickle_site, unpickle_site
from factsite.render import CHUNK, plan, render_pages
from tests.conftest import FIXTURE, ROOT, TEMPLATES
from tests.corpus import generate
from tests.test_build import every_file

CLAIMS = 300  # enough pages for several chunks per worker


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    content = tmp_path_factory.mktemp("archive") / "content"
    generate(content, CLAIMS)
    return content


@pytest.fixture(scope="module")
def one_process(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The archive built without worker processes."""
    out = tmp_path_factory.mktemp("one") / "site"
    pipeline.build(archive, TEMPLATES, out, jobs=1)
    return every_file(out)


def test_workers_build_the_same_bytes_as_one_process(archive, one_process, tmp_path):
    result = pipeline.build(archive, TEMPLATES, tmp_path / "site", jobs=2)
    assert every_file(tmp_path / "site") == one_process
    assert result.pages > 4 * 64 and result.files == len(one_process) - 1  # not the marker
    assert [stage for stage, _ in result.stages] == [
        "load and check", "plan", "compare with the last build", "render", "search index",
        "write"]


def test_workers_forked_per_batch_render_and_record_what_one_process_does(archive, tmp_path):
    """Workers that exit after each chunk (a fresh one forked for the next) write the same
    bytes and record, page by page, the same reads and templates as one process."""
    site, _ = pipeline.load_site(archive)
    pages = plan(site)
    recorded = {}
    for jobs, batch in ((1, None), (2, 1)):
        state = BuildState()
        (tmp_path / str(jobs)).mkdir()
        written = render_pages(site, TEMPLATES, pages, tmp_path / str(jobs), jobs=jobs,
                               batch=batch, state=state)
        recorded[jobs] = {page.path: (page.digest, page.templates,
                                      sorted(state.key(n) for n in page.reads))
                          for page in written}
    assert len(pages) > 4 * CHUNK
    assert every_file(tmp_path / "1") == every_file(tmp_path / "2")
    assert recorded[1] == recorded[2]
    assert all(reads for _, templates, reads in recorded[2].values() if templates)


def test_reused_cards_render_and_record_what_cards_rendered_where_shown_do(archive, tmp_path,
                                                                            monkeypatch):
    """Cards rendered once, placed on each page and their reads replayed (in one process, or
    rendered before forking two workers) give the bytes and the recorded reads, page by page,
    of each card rendered where it is shown; also with cards that link to the site's root
    itself ('./' from the home page: those are rendered where shown), and that load a
    template."""
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    partials = templates / "_partials.html"
    card = '<article class="claim-card'
    partials.write_text(partials.read_text().replace(card, (
        '{% if claim.id.endswith("7") %}<a href="{{ \'\'|rel }}">home</a>{% endif %}'
        '{% include "note.html" %}') + card, 1))
    (templates / "note.html").write_text("<!-- a template a card loads -->")
    site, _ = pipeline.load_site(archive)
    pages = plan(site)
    recorded = {}
    for run, jobs, cards in (("where shown", 1, frozenset()), ("one", 1, render.CARDS),
                             ("forked", 2, render.CARDS)):
        monkeypatch.setattr(render, "CARDS", cards)
        state = BuildState()
        (tmp_path / run).mkdir()
        written = render_pages(site, templates, pages, tmp_path / run, jobs=jobs, batch=1,
                               state=state)
        recorded[run] = {page.path: (page.digest, page.templates,
                                     sorted(state.key(n) for n in page.reads))
                         for page in written}
    assert b'<a href="./">home</a>' in (tmp_path / "one" / "index.html").read_bytes()
    assert "note.html" in recorded["forked"]["topics/topic-01/index.html"][1]
    assert every_file(tmp_path / "one") == every_file(tmp_path / "where shown")
    assert every_file(tmp_path / "forked") == every_file(tmp_path / "where shown")
    assert recorded["one"] == recorded["where shown"] == recorded["forked"]


def test_forked_workers_take_each_value_read_down_once(archive, tmp_path):
    """The value of each field pages read goes to the build state once, from whichever
    worker met it first (each worker used to take down every value it met: the site's
    title once per worker), and the state holds the values one process records."""
    site, _ = pipeline.load_site(archive)
    pages = plan(site)
    values = {}
    for jobs, batch in ((1, None), (2, 1)):
        state = BuildState()
        handed: list[int] = []
        take = state.take

        def counting(fresh, handed=handed, take=take):
            fresh = list(fresh)
            handed.extend(number for number, _ in fresh)
            take(fresh)
        state.take = counting
        (tmp_path / str(jobs)).mkdir()
        render_pages(site, TEMPLATES, pages, tmp_path / str(jobs), jobs=jobs, batch=batch,
                     state=state)
        values[jobs] = bytes(state.values)
        counts = Counter(handed)
        assert len(counts) > 1000
        # two workers at once may meet a field for the first time at the same moment
        assert max(counts.values()) <= jobs
    assert values[1] == values[2]


def test_a_site_pickled_as_rows_unpickles_to_the_same_site(archive):
    """How the process that loaded and checked the content sends the site to the build."""
    site, _ = pipeline.load_site(archive)
    buffer = io.BytesIO()
    pickle_site(site, buffer)
    buffer.seek(0)
    received = unpickle_site(buffer)
    assert received is not site and received.claims[0] is not site.claims[0]
    assert pickle.dumps(_flatten(received)) == pickle.dumps(_flatten(site))


def test_spawned_workers_receive_the_site_pickled(tmp_path):
    site, _ = pipeline.load_site(FIXTURE)
    pages = plan(site)
    for method in ("fork", "spawn"):
        (tmp_path / method).mkdir()
        written = render_pages(site, TEMPLATES, pages, tmp_path / method, jobs=2,
                               start_method=method)
        assert [page.path for page in written] == [page.path for page in pages]
    assert every_file(tmp_path / "fork") == every_file(tmp_path / "spawn")


def test_rendered_pages_report_their_digest(tmp_path):
    site, _ = pipeline.load_site(FIXTURE)
    written = render_pages(site, TEMPLATES, plan(site), tmp_path, jobs=1)
    for page in written:
        assert hashlib.sha256((tmp_path / page.path).read_bytes()).hexdigest() == page.digest


def test_a_template_error_met_by_every_worker_is_reported_once(archive, tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    (templates / "claim.html").write_text(
        '{% extends "base.html" %}\n{% block main %}\n{{ claim.nonexistent }}\n{% endblock %}\n')
    (tmp_path / "site").mkdir()
    with pytest.raises(ContentError) as caught:
        pipeline.build(archive, templates, tmp_path / "site", jobs=2)
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.path, diagnostic.line) == (str(templates / "claim.html"), 3)
    assert diagnostic.hint == (f"while rendering claims/claim-000000/index.html "
                               f"and {CLAIMS - 1:,} other pages")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != CACHE_DIR) == ["site", "templates"]


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except FileNotFoundError:  # removed since it was listed
        return None


def test_interrupted_build_leaves_the_previous_site_whole(archive, one_process, tmp_path):
    """Ctrl-C while workers write pages: site/ stays as it was and no staging is left."""
    out = tmp_path / "site"
    shutil.copytree(archive, tmp_path / "content")
    pipeline.build(tmp_path / "content", TEMPLATES, out, jobs=1)
    before = every_file(out)
    # Once the build swaps, its staging name holds the previous site (whole): not the build.
    previous = out.stat().st_ino
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "build.py"), "build", "--content", "content",
         "--templates", str(TEMPLATES), "--jobs", "2", "--no-cache"],
        cwd=tmp_path, start_new_session=True, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not any(_inode(d) not in (previous, None) and len(list(d.glob("claims/*"))) > 20
                      for d in tmp_path.glob(".site.new-*")):
            assert process.poll() is None and time.monotonic() < deadline, "build ended too soon"
            time.sleep(0.01)
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130  # one line, no traceback
    assert process.stderr.read() == "interrupted; site/ unchanged\n"
    assert every_file(out) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != CACHE_DIR) == ["content", "site"]


def _run_on_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run build.py with its stderr on a pseudo-terminal; return its exit code and stderr."""
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, str(ROOT / "build.py"), *args], cwd=cwd,
                               stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 1)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed: the process is gone
                break
            if not chunk:
                break
            seen += chunk
        elif process.poll() is not None:
            break
    os.close(leader)
    return process.wait(), seen.decode()


def test_progress_line_on_a_terminal_only(archive, tmp_path):
    args = ["build", "--content", str(archive), "--templates", str(TEMPLATES)]
    code, seen = _run_on_terminal(args, tmp_path)
    assert code == 0
    assert "\r\x1b[Kchecking content" in seen
    assert re.search(r"\r\x1b\[Krendering \d+/[\d,]+ pages", seen)
    assert "\r\x1b[Kindexing for search" in seen
    assert seen.endswith("\r\x1b[K")  # the line is cleared before the summary

    piped = subprocess.run([sys.executable, str(ROOT / "build.py"), *args], cwd=tmp_path,
                           capture_output=True, text=True, check=True)
    assert piped.stderr == "" and "\r" not in piped.stdout


def test_verbose_prints_each_stage_time(archive, tmp_path):
    built = subprocess.run([sys.executable, str(ROOT / "build.py"), "build", "--verbose",
                            "--content", str(archive), "--templates", str(TEMPLATES)],
                           cwd=tmp_path, capture_output=True, text=True, check=True)
    stages = [line.split(":")[0].strip() for line in built.stderr.splitlines()]
    assert stages == ["load and check", "plan", "compare with the last build", "render",
                      "search index", "write"]
    assert all(line.endswith(" s") for line in built.stderr.splitlines())
    checked = subprocess.run([sys.executable, str(ROOT / "build.py"), "check", "--verbose",
                              "--content", str(archive)], capture_output=True, text=True, check=True)
    assert checked.stderr.startswith("  load and check: ")
