"""The search index in shards: the partition, and builds that index only the shards that changed."""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import subprocess

import pytest

from factsite import pipeline, search
from factsite.cache import Cache
from tests import corpus
from tests.conftest import TEMPLATES
from tests.test_build import every_file

PAGES = [f"claims/claim-{n:06}/index.html" for n in range(5000)]


def test_shards_hold_every_page_once_and_at_most_shard_pages():
    shards = search.partition(PAGES, 300)
    assert sorted(p for s in shards for p in s.pages) == sorted(PAGES)
    assert all(0 < len(s.pages) <= 300 for s in shards)
    assert sum(len(s.pages) for s in shards) / len(shards) > 150  # split only when over
    assert [s.first for s in shards] == [True] + [False] * (len(shards) - 1)
    assert len({s.folder for s in shards}) == len(shards)
    assert search.partition(reversed(PAGES), 300) == shards  # a function of the set


def test_one_shard_when_the_pages_fit():
    assert search.partition(PAGES[:300], 300) == [search.Shard("", tuple(PAGES[:300]), True)]
    assert search.partition([], 300) == []


def test_a_page_added_or_removed_changes_only_its_shard():
    rng = random.Random(7)
    before = {s.bits: s.pages for s in search.partition(PAGES, 300)}
    for page in rng.sample(PAGES, 20):  # removed
        after = {s.bits: s.pages for s in search.partition(set(PAGES) - {page}, 300)}
        changed = {bits for bits in before.keys() | after.keys()
                   if before.get(bits) != after.get(bits)}
        home = next(bits for bits, pages in before.items() if page in pages)
        # its shard, or its shard and its sibling merged into their parent
        assert changed == {home} or changed <= {home, home[:-1], home[:-1] + "0",
                                                home[:-1] + "1"}, (page, changed)
    for n in range(20):  # added
        page = f"claims/new-{n}/index.html"
        after = {s.bits: s.pages for s in search.partition(PAGES + [page], 300)}
        changed = {bits for bits in before.keys() | after.keys()
                   if before.get(bits) != after.get(bits)}
        home = next(bits for bits, pages in after.items() if page in pages)
        assert changed == {home} or all(bits.startswith(home[:-1]) for bits in changed), changed


def test_shards_found_while_pages_are_written_are_the_partition_of_the_indexed_pages(
        tmp_path, monkeypatch):
    """Pages written about in the order of their shards (some early, some late, as
    render workers return them), a few not marked for the index: the shards found
    along the way, then at the end, are exactly :func:`search.partition`'s."""
    rng = random.Random(11)
    runs = []
    monkeypatch.setattr(search, "_index_shard", lambda *args: runs.append(args[3]) or [])
    (tmp_path / "pagefind").mkdir()
    for trial in range(40):
        pages = rng.sample(PAGES, rng.randint(1, 3000)) + ["claims.json", "feed.xml"]
        marked = {page for page in pages if page.endswith(".html") and rng.random() < 0.9}
        if trial % 10 == 0:
            marked = set()  # none marked: every HTML page is indexed
        indexed = marked or {page for page in pages if page.endswith(".html")}
        shard_pages = rng.choice([1, 7, 100, 300, 5000])
        order = sorted(pages, key=lambda page: (page.endswith(".html"), search.shard_key(page)))
        for _ in range(len(order) // 20):  # out of order within a few chunks
            n = rng.randrange(len(order) - 1)
            order[n], order[n + 1] = order[n + 1], order[n]
        runs.clear()
        with search.Indexing(tmp_path, "en", pages, shard_pages=shard_pages, jobs=2) as indexing:
            for n, page in enumerate(order):
                indexing.written(page, f"digest of {page}", page in marked)
                if rng.random() < 0.05:
                    indexing.advance()
                if n == len(order) // 2:
                    halfway = len(indexing.found)
            files, bundles = indexing.finish({page: f"digest of {page}" for page in indexed})
        expected = search.partition(indexed, shard_pages)
        assert list(indexing.found.values()) == expected, trial
        assert sorted(runs, key=lambda shard: shard.bits) == expected
        assert list(bundles) == [shard.folder for shard in expected]
        if marked and len(expected) >= 4:  # the first shards were found halfway through
            assert halfway >= 1, trial


def test_pagefind_starts_while_pages_still_render(tmp_path, monkeypatch):
    content, out = tmp_path / "content", tmp_path / "site"
    corpus.generate(content, 60)
    said, started = [], []  # progress lines; how many chunks had rendered when each run began

    def chunks() -> int:
        return sum(1 for line in said if line.startswith("rendering "))

    index = search._index_shard
    monkeypatch.setattr(search, "_index_shard", lambda *a: started.append(chunks()) or index(*a))
    pipeline.build(content, TEMPLATES, out, shard_pages=10, jobs=1, progress=said.append)
    assert chunks() >= 3 and started[0] < chunks() - 1  # before the last chunk was written
    pipeline.build(content, TEMPLATES, tmp_path / "cold", use_cache=False, shard_pages=10)
    assert every_file(out) == every_file(tmp_path / "cold")


def test_data_files_are_written_apart_and_pagefind_starts_once_render_workers_are_done(
        tmp_path, monkeypatch):
    """Render workers on both cores leave none to Pagefind. The data files are written by a
    process of their own while the build sets up the render workers, which are forked once
    it has ended (its copy of the claims beside theirs made the build's peak); once the
    workers are done, a run starts on the core the build's process leaves (before the
    search stage itself begins)."""
    import time

    from factsite import export, render
    content, out = tmp_path / "content", tmp_path / "site"
    corpus.generate(content, 60)
    said, started = [], []  # progress lines; whether the search stage had begun at each run
    index, make, write = search._index_shard, export.claims_json, render.write_file
    build = os.getpid()

    def claims_json(site):
        (tmp_path / "pid").write_text(str(os.getpid()))
        time.sleep(0.5)  # longer than the set-up of the workers
        yield from make(site)

    def write_file(staging, path, content):  # in a render worker: is the data files' one on?
        if path.endswith(".html") and os.getpid() != build:
            try:
                os.kill(int((tmp_path / "pid").read_text()), 0)
                (tmp_path / "beside").touch()
            except ProcessLookupError:
                pass
        return write(staging, path, content)

    monkeypatch.setattr(search, "_index_shard", lambda *a: started.append(
        any(line.startswith("indexing") for line in said)) or index(*a))
    monkeypatch.setattr(export, "claims_json", claims_json)
    monkeypatch.setattr(render, "write_file", write_file)
    result = pipeline.build(content, TEMPLATES, out, shard_pages=10, jobs=2,
                            progress=said.append)
    assert result.files == len(every_file(out)) - 1  # not the marker; counted beside the index
    assert int((tmp_path / "pid").read_text()) != build
    assert not (tmp_path / "beside").exists()
    assert started[0] is False and len(started) >= 4
    pipeline.build(content, TEMPLATES, tmp_path / "cold", use_cache=False, shard_pages=10,
                   jobs=1)
    assert every_file(out) == every_file(tmp_path / "cold")


def test_the_data_files_are_being_written_while_the_build_plans_its_pages(tmp_path, monkeypatch):
    """The data files' process is forked as soon as the site is back from the loading one:
    the plan and the set-up of the render workers go on beside it."""
    import time

    from factsite import export, render
    content, out = tmp_path / "content", tmp_path / "site"
    corpus.generate(content, 60)
    make, plan = export.claims_json, render.plan_sections
    seen = []  # whether the data files' process had started while the plan was made

    def claims_json(site):
        (tmp_path / "pid").write_text(str(os.getpid()))
        yield from make(site)

    def plan_sections(site, *args, **kwargs):
        deadline = time.monotonic() + 5
        while not (tmp_path / "pid").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append((tmp_path / "pid").exists())
        return plan(site, *args, **kwargs)

    monkeypatch.setattr(export, "claims_json", claims_json)
    monkeypatch.setattr(render, "plan_sections", plan_sections)
    pipeline.build(content, TEMPLATES, out, jobs=2)
    assert seen == [True] and int((tmp_path / "pid").read_text()) != os.getpid()
    pipeline.build(content, TEMPLATES, tmp_path / "one", use_cache=False, jobs=1)
    assert every_file(out) == every_file(tmp_path / "one")


def test_an_error_writing_the_data_files_apart_stops_the_build(tmp_path, monkeypatch):
    from factsite import export
    content, out = tmp_path / "content", tmp_path / "site"
    corpus.generate(content, 60)
    pipeline.build(content, TEMPLATES, out, jobs=2)
    before = every_file(out)

    def claims_json(site):
        yield "["
        raise ValueError("no claims today")

    monkeypatch.setattr(export, "claims_json", claims_json)
    with pytest.raises(ValueError, match="no claims today"):
        pipeline.build(content, TEMPLATES, out, jobs=2, use_cache=False)
    assert every_file(out) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        ".factsite-cache", "content", "site"]


def test_once_pages_are_done_a_run_starts_as_soon_as_a_core_is_free_largest_first(
        tmp_path, monkeypatch):
    """No core idles while shards wait: two runs from the start, each next one as soon as
    one ends, the largest shard waiting first (so that the last runs end close together)."""
    import threading
    import time
    runs, lock = [], threading.Lock()  # (start, end, pages)

    def index(binary, root, scratch, shard, *_):  # 10 ms a page, like a slow Pagefind
        began = time.monotonic()
        time.sleep(0.01 * len(shard.pages))
        with lock:
            runs.append((began, time.monotonic(), len(shard.pages)))
        return []

    monkeypatch.setattr(search, "_index_shard", index)
    (tmp_path / "pagefind").mkdir()
    pages = PAGES[:400]
    with search.Indexing(tmp_path, "en", pages, shard_pages=50, jobs=2, beside=0) as indexing:
        for page in pages:
            indexing.written(page, "digest", True)
        indexing.advance()  # every shard found, none started: no core left beside the render
        assert not runs and not indexing.running
        indexing.finish({page: "digest" for page in pages})
    runs.sort()
    sizes = [size for _, _, size in runs]
    assert len(runs) == len(search.partition(pages, 50)) >= 8
    assert len(set(sizes)) > 1 and sizes == sorted(sizes, reverse=True)
    assert runs[1][0] - runs[0][0] < 0.1  # two at once from the start
    ends = sorted(end for _, end, _ in runs)
    for (began, _, _), freed in zip(runs[2:], ends):  # each next one as a run ended
        assert 0 <= began - freed < 0.1


def test_once_no_shard_waits_and_a_core_is_free_the_runs_going_may_use_every_core(
        tmp_path, monkeypatch):
    """Held to one core each, the last runs would end alone on their cores: once none
    waits and one core is free, each run going (and one starting after) is let go."""
    import time
    released, order = [], []  # pids let go; (event, pid) as it happened

    def index(binary, root, scratch, shard, language, glob, core, started):
        pid = 1000 + len(shard.pages)  # a made-up process: what _release is given
        started(pid)
        order.append(("started", pid))
        time.sleep(0.04 * len(shard.pages))
        order.append(("ended", pid))
        return []

    def release(pid):
        released.append(pid)
        order.append(("released", pid))

    monkeypatch.setattr(search, "_index_shard", index)
    monkeypatch.setattr(search, "_release", release)
    monkeypatch.setattr(search, "_CORES", [0, 1])
    (tmp_path / "pagefind").mkdir()
    pages = PAGES[:100]
    shards = search.partition(pages, 40)  # 33, 20, 24 and 23 pages
    assert len(shards) >= 3 and len({len(s.pages) for s in shards}) == len(shards)
    with search.Indexing(tmp_path, "en", pages, shard_pages=40, jobs=2, beside=0) as indexing:
        for page in pages:
            indexing.written(page, "digest", True)
        indexing.finish({page: "digest" for page in pages})
    smallest = 1000 + min(len(s.pages) for s in shards)  # started last (largest first)
    # The last run started is let go once the one beside it ended, and only it (the runs
    # before always had a shard waiting for the core they would leave).
    assert released == [smallest]
    assert order.index(("released", smallest)) < order.index(("ended", smallest))


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="one core: nothing to let a run go to")
def test_a_process_let_go_may_run_its_threads_on_every_core():
    core = max(os.sched_getaffinity(0))
    script = ("import threading, time; threading.Thread(target=time.sleep, args=(30,)).start(); "
              "print(flush=True); time.sleep(30)")
    with search._held_to(core):
        process = subprocess.Popen(["python3", "-c", script], stdout=subprocess.PIPE)
    try:
        process.stdout.readline()  # its second thread runs
        tasks = os.listdir(f"/proc/{process.pid}/task")
        assert len(tasks) == 2
        assert all(os.sched_getaffinity(int(task)) == {core} for task in tasks)
        search._release(process.pid)
        assert all(os.sched_getaffinity(int(task)) == set(search._CORES) for task in tasks)
    finally:
        process.kill()
        process.wait()
    search._release(process.pid)  # ended: nothing to do, no error


def test_an_edit_indexes_again_only_the_shards_of_the_pages_it_changed(tmp_path, monkeypatch):
    content, templates, out = tmp_path / "content", tmp_path / "templates", tmp_path / "site"
    corpus.generate(content, 60)
    shutil.copytree(TEMPLATES, templates)
    pipeline.build(content, templates, out, shard_pages=10)
    merged = json.loads((out / search.SHARDS_FILE).read_text())
    assert len(merged) >= 5
    for folder in merged:  # a merged bundle holds its index only; the scripts are in pagefind/
        files = {p.name for p in (out / "pagefind" / folder).iterdir()}
        assert "pagefind-entry.json" in files and "pagefind.js" not in files
    assert (out / "pagefind" / "pagefind-ui.js").is_file()

    runs = []
    index = search._index_shard
    monkeypatch.setattr(search, "_index_shard", lambda *a: runs.append(a[3]) or index(*a))
    claim = content / "claims" / "claim-000007.yaml"
    claim.write_text(claim.read_text().replace("analysis: |\n  ", "analysis: |\n  Edited. "),
                     encoding="utf-8")
    result = pipeline.build(content, templates, out, shard_pages=10)
    assert 0 < len(runs) < len(search.partition(_indexed(out), 10))
    assert result.files == len(every_file(out)) - 1  # the shards kept count too
    assert any("claims/claim-000007/index.html" in shard.pages for shard in runs)
    pipeline.build(content, templates, tmp_path / "cold", use_cache=False, shard_pages=10)
    assert every_file(out) == every_file(tmp_path / "cold")


def test_a_failed_or_interrupted_shard_starts_no_other(tmp_path, monkeypatch):
    content, out = tmp_path / "content", tmp_path / "site"
    corpus.generate(content, 30)
    runs = []

    def interrupted(*args):
        runs.append(args[3])
        raise KeyboardInterrupt

    monkeypatch.setattr(search, "_index_shard", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pipeline.build(content, TEMPLATES, out, shard_pages=5, jobs=1)
    assert len(runs) == 1
    assert not out.exists()


def test_the_shard_size_is_an_input_of_the_build(tmp_path):
    content, out = tmp_path / "content", tmp_path / "site"
    corpus.generate(content, 20)
    pipeline.build(content, TEMPLATES, out, shard_pages=5)
    assert json.loads((out / search.SHARDS_FILE).read_text())
    pipeline.build(content, TEMPLATES, out)
    assert json.loads((out / search.SHARDS_FILE).read_text()) == []
    pipeline.build(content, TEMPLATES, tmp_path / "cold", use_cache=False)
    assert every_file(out) == every_file(tmp_path / "cold")


def _indexed(site) -> list[str]:
    return [p.relative_to(site).as_posix() for p in site.rglob("*.html")
            if b"data-pagefind-body" in p.read_bytes()]


def test_a_refresh_after_a_build_without_index_runs_only_the_changed_shards(tmp_path,
                                                                            monkeypatch):
    """The dev server's path: pages first (index=False), then reindex over the site as it is."""
    content, out = tmp_path / "content", tmp_path / "site"
    corpus.generate(content, 60)
    cache = Cache.beside(out, resident=True)
    pipeline.build(content, TEMPLATES, out, shard_pages=10, cache=cache)
    index = {p: p.read_bytes() for p in (out / "pagefind").rglob("*") if p.is_file()}
    claim = content / "claims" / "claim-000007.yaml"
    claim.write_text(claim.read_text().replace("analysis: |\n  ", "analysis: |\n  Edited. "),
                     encoding="utf-8")
    result = pipeline.build(content, TEMPLATES, out, shard_pages=10, cache=cache, index=False)
    assert result.index_pending
    assert {p: p.read_bytes() for p in (out / "pagefind").rglob("*") if p.is_file()} == index
    runs = []
    run = search._index_shard
    monkeypatch.setattr(search, "_index_shard", lambda *a: runs.append(a[3]) or run(*a))
    state = cache.state(out)
    pipeline.reindex(out, pipeline.searched_pages(state.pages), "en", state.summary["bundles"], 10)
    assert 0 < len(runs) < len(json.loads((out / search.SHARDS_FILE).read_text()))
    pipeline.build(content, TEMPLATES, tmp_path / "cold", use_cache=False, shard_pages=10)
    assert every_file(out) == every_file(tmp_path / "cold")


def _page(title: str) -> str:
    return (f'<!doctype html><html lang="en"><head><title>{title}</title></head><body>'
            f'<main data-pagefind-body><h1>{title}</h1><p>Words about {title}.</p></main>'
            '</body></html>')


def test_each_page_is_indexed_once_whatever_its_name(tmp_path):
    """The glob of a shard names each component's alternatives when their cross product
    holds no other page; pages in other folders with the same names, or names with the
    glob's special characters, are still indexed exactly once, by their own shard."""
    names = ["a", "b", "c", "d", "e", "f", "a,b", "x{y}", "[z]", "page"]
    pages = [f"{folder}/{name}/index.html" for folder in ("claims", "topics") for name in names]
    pages += ["about/index.html", "claims/page/2/index.html"]
    for page in pages:
        (tmp_path / page).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / page).write_text(_page(page), encoding="utf-8")
    (tmp_path / "claims" / "g").mkdir()
    (tmp_path / "claims" / "g" / "index.html").write_text("<html><body>not indexed</body></html>")
    files, bundles = search.index_site(tmp_path, {page: "digest" for page in pages}, "en",
                                       shard_pages=4)
    assert len(bundles) >= 6
    urls = []
    for fragment in (tmp_path / "pagefind").rglob("*.pf_fragment"):
        urls.append(json.loads(gzip.decompress(fragment.read_bytes())[len(b"pagefind_dcd"):])["url"])
    assert sorted(urls) == sorted("/" + page.removesuffix("index.html") for page in pages)


def test_a_shard_glob_names_components_only_when_no_other_page_matches():
    shard = ["claims/a/index.html", "topics/b/index.html"]
    assert search._glob(shard, set()) == "{claims,topics}/{a,b}/index.html"
    assert (search._glob(shard, {"claims/b/index.html"})
            == "{claims/a/index.html,topics/b/index.html}")
    assert search._glob(["about/index.html", "topics/b/index.html"], set()) == (
        "{about/index.html,topics/b/index.html}")  # not all as deep
    assert search._glob(["claims/a,b/index.html"], set()) == r"claims/a\,b/index.html"


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="one core: nothing to hold a run to")
def test_a_pagefind_run_is_held_to_one_core_and_the_thread_let_go_after():
    before = os.sched_getaffinity(0)
    core = max(before)
    with search._held_to(core):
        assert os.sched_getaffinity(0) == {core}
        status = subprocess.run(["cat", "/proc/self/status"], capture_output=True, text=True)
        assert f"Cpus_allowed_list:\t{core}\n" in status.stdout
    assert os.sched_getaffinity(0) == before


def test_pagefind_runs_take_the_allocator_setting_and_index_alike(tmp_path):
    """Pagefind's allocator reads :data:`search.MALLOC_CONF` (a Pagefind built otherwise
    would ignore it: this says so), and the index is the same with it as without."""
    binary = search.get_executable()
    site = tmp_path / "site"
    for n in range(3):
        page = site / f"claims/c{n}/index.html"
        page.parent.mkdir(parents=True)
        page.write_text(f'<html lang="en"><body><main data-pagefind-body data-pagefind-filter='
                        f'"type:Claim"><h1 id="t">Claim {n}</h1><p>Words {n} said.</p></main>'
                        f'</body></html>')
    name, value = search.MALLOC_CONF
    bundles = []
    for env in ({**search._pagefind_env(), name: f"{value},stats_print:true"},
                {key: os.environ[key] for key in os.environ if key != name}):
        out = tmp_path / f"bundle{len(bundles)}"
        run = subprocess.run([str(binary), "--site", str(site), "--output-path", str(out),
                              "--force-language", "en", "--quiet"],
                             env=env, capture_output=True, text=True, check=True)
        search._stable_filters(out)
        bundles.append({path.relative_to(out): path.read_bytes()
                        for path in out.rglob("*") if path.is_file()})
        if len(bundles) == 1:
            assert f"opt.{value.replace(':', ': ')}\n" in run.stdout + run.stderr
    assert bundles[0] == bundles[1]
    assert search._pagefind_env()[name] == value
