#!/usr/bin/env python3
"""Save → page-rebuilt latency of `build.py serve`, on the demo and on a generated corpus.

    .venv/bin/python bench/serve_latency.py [--saves 9] [--claims 1000]

For each corpus it starts the dev server on a copy of the content, then saves
one claim again and again with a new text; a save's latency runs from just
before the write until the claim page, fetched over HTTP every 5 ms, shows the
new text. It prints the median and 90th percentile, the build's own share (from
the server's summary lines) and the rest: what watching, debouncing and serving
add. Target: under 1 s for the demo.
"""

from __future__ import annotations

import argparse
import queue
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 60.0


def generate(content: Path, claims: int) -> None:
    """A valid site: 20 claimants, one source per 20 claims, each claim quoting its own sentence."""
    sources = max(1, claims // 20)
    (content / "site.yaml").parent.mkdir(parents=True)
    (content / "site.yaml").write_text(
        "title: Generated corpus\nbase_url: https://example.org/bench/\nlanguage: en\n"
        "publisher: {name: Bench Desk, url: 'https://example.org/'}\n")
    for folder in ("sources", "claimants", "claims"):
        (content / folder).mkdir()
    for n in range(20):
        (content / f"claimants/person-{n:02}.yaml").write_text(
            f"name: Person {n}\nkind: person\nrole: Spokesperson number {n}\n")
    paragraphs: dict[int, list[str]] = {s: [] for s in range(sources)}
    for n in range(claims):
        sentence = f"Speaker {n % 20} said that the budget of project {n} is {n * 7 % 997} million."
        paragraphs[n % sources].append(f"In a statement on record {n}, {sentence} Others disagreed.")
        (content / f"claims/claim-{n:04}.yaml").write_text(
            f"claim: Project {n} costs {n * 7 % 997} million.\n"
            f"claimant: person-{n % 20:02}\n"
            f"date: 2022-{n % 12 + 1:02}-{n % 28 + 1:02}\n"
            f"passages:\n  - source: source-{n % sources:03}\n    quote: {sentence}\n"
            f"topics: [topic-{n % 10}]\n"
            + (f"disputes: [claim-{n - 1:04}]\n" if n % 2 else ""))
    for s, texts in paragraphs.items():
        (content / f"sources/source-{s:03}.txt").write_text(
            f"---\ntitle: Record {s}\npublished: 2022-01-{s % 28 + 1:02}\n---\n"
            + "\n\n".join(texts) + "\n")


class Server:
    def __init__(self, content: Path):
        out = content.parent / "site"
        self.process = subprocess.Popen(
            [sys.executable, "-u", str(ROOT / "build.py"), "serve", "--port", "0",
             "--content", str(content), "--templates", str(ROOT / "templates"), "--out", str(out)],
            cwd=content.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(l) for l in self.process.stdout],
                         daemon=True).start()
        threading.Thread(target=lambda: [sys.stderr.write(l) for l in self.process.stderr],
                         daemon=True).start()
        built = False
        while not (match := re.search(r"http://127\.0\.0\.1:(\d+)/", line := self.next_line())):
            built = line.startswith("built ")
        if not built:
            self.stop()
            sys.exit(f"bench: {content} does not build")
        self.url = f"http://127.0.0.1:{match.group(1)}/"

    def next_line(self) -> str:
        try:
            return self.lines.get(timeout=TIMEOUT)
        except queue.Empty:
            sys.exit("bench: the server printed nothing for a minute")

    def build_seconds(self) -> float:
        """The build time from the next `built ... in X s` line."""
        while not (match := re.search(r"^built .* in ([\d.]+) s$", self.next_line())):
            pass
        return float(match.group(1))

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(TIMEOUT)


def measure(name: str, content: Path, saves: int) -> None:
    claim = sorted((content / "claims").glob("*.yaml"))[0]
    page = f"claims/{claim.stem}/"
    server = Server(content)
    latencies, builds = [], []
    try:
        for n in range(saves + 1):  # the first save warms up and is not counted
            marker = f"Latency probe {n}."
            text = re.sub(r"(?m)^claim: .*$", f"claim: {marker}", claim.read_text())
            started = time.perf_counter()
            claim.write_text(text)
            while marker not in fetch(server.url + page):
                if time.perf_counter() - started > TIMEOUT:
                    sys.exit(f"bench: {name}: the page never showed the save")
                time.sleep(0.005)
            if n:
                latencies.append(time.perf_counter() - started)
            builds.append(server.build_seconds())
    finally:
        server.stop()
    claims = len(list((content / "claims").glob("*.yaml")))
    overhead = [latency - build for latency, build in zip(latencies, builds[1:])]
    print(f"{name} ({claims} claims), {saves} saves: save → page rebuilt "
          f"median {statistics.median(latencies):.2f} s, p90 {p90(latencies):.2f} s, "
          f"max {max(latencies):.2f} s; the build alone: median "
          f"{statistics.median(builds[1:]):.2f} s; watching, debouncing and serving: median "
          f"{statistics.median(overhead):.2f} s")


def fetch(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return response.read().decode("utf-8")
    except urllib.error.HTTPError:  # not built yet
        return ""


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=9, help="saves measured per corpus (default 9)")
    parser.add_argument("--claims", type=int, default=1000,
                        help="claims in the generated corpus (default 1000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="factsite-bench-") as tmp:
        demo = Path(tmp, "demo", "content")
        shutil.copytree(ROOT / "content", demo)
        measure("demo", demo, args.saves)
        generated = Path(tmp, "generated", "content")
        generate(generated, args.claims)
        measure("generated", generated, args.saves)


if __name__ == "__main__":
    main()
