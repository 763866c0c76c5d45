#!/usr/bin/env python3
"""Cost of the hint for a quote that is not found, against anchoring a quote that is.

    .venv/bin/python bench/quote_hint.py

A quote not found is compared with its source to find the closest passage and
the word differences; that comparison must stay bounded however long the quote
or the source. Prints seconds per case and the ratio to folding the same
source once (what every build does anyway), measured in the same run.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from factsite.passages import Corpus, NotFound, SourceText  # noqa: E402

WORDS = ("the bridge will open in on time and budget council minutes treasurer said would "
         "cost million not as reported opposition leader replied that before after talks "
         "security guarantees missile treaty weapons region territory").split()


def text(n_chars: int, seed: int) -> str:
    rng = random.Random(seed)
    out, size = [], 0
    while size < n_chars:
        word = rng.choice(WORDS)
        out.append(word)
        size += len(word) + 1
    return " ".join(out)


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def not_found(source: SourceText, quote: str) -> None:
    try:
        source.anchor(quote)
    except NotFound:
        return
    raise AssertionError("the quote was found")


def main() -> None:
    cases = [("10 KB source, 200-character quote", 10_000, 200),
             ("10 KB source, 10 MB quote", 10_000, 10_000_000),
             ("1 MB source, 300-character quote", 1_000_000, 300),
             ("10 MB source, 300-character quote", 10_000_000, 300)]
    for label, source_size, quote_size in cases:
        body = text(source_size, 1)
        fold_time = timed(lambda: SourceText(body)._folded)
        source = SourceText(body)
        source._folded  # noqa: B018 - folded once per build in any case
        quote = "zq " + text(quote_size, 2)
        hint_time = timed(lambda: not_found(source, quote))
        corpus_time = timed(lambda: Corpus({"a": source}).find(quote))
        print(f"{label:36} hint {hint_time:7.3f} s  other-source search {corpus_time:7.3f} s  "
              f"fold {fold_time:6.3f} s  hint/fold {hint_time / fold_time:6.2f}")


if __name__ == "__main__":
    main()
