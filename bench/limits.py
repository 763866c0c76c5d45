#!/usr/bin/env python3
"""Content at factsite's limits: how long `check` and `build` take, and their peak memory.

    .venv/bin/python bench/limits.py [--case NAME ...]

Every file within the limits (README: "What check and build enforce") should
build in seconds. Each case starts from the fixture site and pushes one thing
to its limit; `build.py` runs in a subprocess so that its peak memory is its own.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from factsite import load, schema  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "site" / "content"
WORDS = ("the bridge council will open budget mayor press office city year river harbour "
         "cost million said not before works").split()


def _prose(rng: random.Random, size: int) -> str:
    paragraphs, total = [], 0
    while total < size:
        paragraph = " ".join(rng.choice(WORDS) for _ in range(80)) + ".\n\n"
        paragraphs.append(paragraph)
        total += len(paragraph)
    return "".join(paragraphs)[:size]


def _claim(source: str, quote: str, extra: str = "") -> str:
    return (f"claim: A claim.\nclaimant: ana-lima\ndate: 2021-01-01\n"
            f"passages:\n  - source: {source}\n    quote: \"{quote}\"\n{extra}")


def big_source(content: Path, rng: random.Random, found: bool) -> None:
    header = "---\ntitle: A source at the size limit\nlanguage: en\n---\n"
    text = _prose(rng, load.SOURCE_LIMIT - len(header))
    (content / "sources" / "huge.txt").write_text(header + text)
    middle = len(text) // 2
    quote = text[middle:middle + schema.QUOTE_LIMIT - 100].rsplit(" ", 1)[0].split(" ", 1)[1]
    if not found:
        quote = " ".join(rng.choice(WORDS) for _ in range(schema.QUOTE_LIMIT))[
            :schema.QUOTE_LIMIT - 10] + " zzz"
    (content / "claims" / "huge.yaml").write_text(_claim("huge", quote.replace("\n", " ")))


def long_lists(content: Path, rng: random.Random) -> None:
    """A site.yaml with the most topics, and one claim with the longest lists and names."""
    site = (content / "site.yaml").read_text()
    topics = "".join(f"  - {{id: topic-{n}, label: {'Topic ' * 40}{n}}}\n"
                     for n in range(schema.SCALE_LIMIT))
    (content / "site.yaml").write_text(site.split("topics:")[0] + "topics:\n" + topics)
    for claim in (content / "claims").iterdir():  # the fixture's claims use other topics
        claim.write_text("".join(line for line in claim.read_text().splitlines(keepends=True)
                                 if not line.startswith("topics:")))
    ids = [f"claim-{n}" for n in range(schema.LIST_LIMIT + 1)]
    (content / "sources" / "statements.txt").write_text("---\ntitle: Statements\n---\n" + "".join(
        f"Statement number {n} says the bridge will open.\n\n" for n in range(len(ids))))
    for n, claim_id in enumerate(ids):
        extra = ""
        if n == 0:
            topic_ids = rng.sample(range(schema.SCALE_LIMIT), schema.LIST_LIMIT)
            extra = (f"disputes: [{', '.join(ids[1:])}]\n"
                     f"topics: [{', '.join(f'topic-{t}' for t in topic_ids)}]\n"
                     f"venue: {'V' * schema.NAME_LIMIT}\n")
        (content / "claims" / f"{claim_id}.yaml").write_text(_claim(
            "statements", f"Statement number {n} says", extra))
    (content / "claimants" / "ana-lima.yaml").write_text(
        f"name: {'N' * schema.NAME_LIMIT}\nkind: person\n")


def cited_source(content: Path, rng: random.Random) -> None:
    """A source at the size limit cited by 1,000 claims, each passage also printed in
    capitals at the end, so that every link to the original needs the words around it."""
    statements = [f"Statement number {n} says the bridge will open" for n in range(1000)]
    header = ("---\ntitle: A source at the size limit\nurl: https://example.org/huge\n"
              "language: en\n---\n")
    head = "".join(f"{line}.\n\n" for line in statements)
    tail = "".join(f"{line.upper()}.\n\n" for line in statements)
    prose = _prose(rng, load.SOURCE_LIMIT - len(header) - len(head) - len(tail) - 2)
    (content / "sources" / "huge.txt").write_text(header + head + prose + "\n\n" + tail)
    for n, line in enumerate(statements):
        (content / "claims" / f"statement-{n}.yaml").write_text(_claim("huge", line))


CASES = {
    "source-at-limit": lambda c, r: big_source(c, r, found=True),
    "quote-not-found-in-source-at-limit": lambda c, r: big_source(c, r, found=False),
    "lists-and-names-at-limit": long_lists,
    "source-at-limit-cited-by-1000-claims": cited_source,
}


def run(verb: str, content: Path) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    result = subprocess.run([sys.executable, str(ROOT / "build.py"), verb, "--content",
                             str(content), "--templates", str(ROOT / "templates"),
                             "--out", str(content.parent / "site")],
                            capture_output=True, text=True)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    last = (result.stdout + result.stderr).strip().splitlines()[-1]
    return seconds, max(peak, before) / 1024, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", nargs="*", choices=sorted(CASES), default=sorted(CASES))
    parser.add_argument("--keep", type=Path, help="copy each generated content tree here")
    args = parser.parse_args()
    for name in args.case:
        with tempfile.TemporaryDirectory() as scratch:
            content = Path(scratch) / "content"
            shutil.copytree(FIXTURE, content)
            CASES[name](content, random.Random(11))
            if args.keep:
                shutil.copytree(content, args.keep / name)
            for verb in ("check", "build"):
                seconds, peak, last = run(verb, content)
                print(f"{name:36} {verb:6} {seconds:6.1f} s  peak ≤ {peak:5.0f} MiB  {last[:70]}")


if __name__ == "__main__":
    main()
