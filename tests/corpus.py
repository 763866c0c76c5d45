"""Generated archives shaped like a real fact-check desk's, for scale tests and benchmarks.

Each claim has a ~300-word Markdown analysis, two topics and a passage quoted
from its source; there is one source per 5 claims and one claimant per 10.
Every third claim disputes the one before it, every seventh supports one three
before. The same ``claims`` always gives the same files.
"""

from __future__ import annotations

import random
from pathlib import Path

WORDS = (
    "the government said budget minister report record public office council bridge road "
    "project cost million billion year month week agency statement interview press release "
    "official data figures growth tax health school hospital election vote party leader "
    "opposition policy plan law court ruling treaty talks security border army missile "
    "region city village water energy price inflation wage pension debt loan bank market "
    "trade export import deal contract company workers union strike protest police crime "
    "survey study research evidence source document archive published claimed denied "
    "confirmed according estimate rise fall increase decrease percent total share number"
).split()
TOPICS = [f"topic-{n:02}" for n in range(40)]
RATINGS = ("accurate", "misleading", '"false"')  # quoted: YAML 1.2 reads false as a boolean


def analysis(rng: random.Random, words: int = 300) -> str:
    """Markdown paragraphs of plausible words, with emphasis and a relative link."""
    paragraphs, left = [], words
    while left > 0:
        size = min(left, rng.randint(50, 90))
        text = [rng.choice(WORDS) for _ in range(size)]
        text[0] = text[0].capitalize()
        text[size // 2] = f"**{text[size // 2]}**"
        paragraphs.append(" ".join(text) + ".")
        left -= size
    paragraphs.append("See [the methodology](../../about/) for how we rate claims.")
    return "\n\n".join(paragraphs)


def sentence(n: int) -> str:
    """The words of claim ``n``'s quoted passage, unique in its source."""
    return (f"Spokesperson {n % 97} said on record {n} that the cost of project {n} "
            f"reached {n * 7 % 997} million in year {2000 + n % 23}.")


def generate(content: Path, claims: int, *, years: int = 23, settings: str = "",
             shape: str = "desk", words: int = 300) -> None:
    """Write a valid archive of ``claims`` claims into the (new) directory ``content``.

    Claims are dated over ``years`` years from 2000, every month of each; ``settings``
    are more lines of site.yaml (e.g. ``page_size: 10``); ``words``: of each analysis.
    ``shape`` is how claims relate: ``desk`` as above; ``chain``: each claim disputes the
    one before (one thread as deep as the archive); ``hub``: every other claim disputes
    the first, the rest support it, and all quote the one source.
    """
    rng = random.Random(claims)
    sources, claimants = max(1, claims // 5), max(1, claims // 10)
    if shape == "hub":
        sources = 1
    content.mkdir(parents=True)
    (content / "site.yaml").write_text(
        "title: Generated archive\nbase_url: https://example.org/archive/\nlanguage: en\n"
        "publisher: {name: Bench Desk, url: 'https://example.org/'}\n" + settings
        + "ratings:\n  - {id: accurate, label: Accurate}\n  - {id: misleading, label: Misleading}\n"
        "  - {id: \"false\", label: \"False\"}\n", encoding="utf-8")
    for folder in ("sources", "claimants", "claims", "pages"):
        (content / folder).mkdir()
    (content / "pages/about.md").write_text(
        "---\ntitle: About\n---\nA generated archive for benchmarks.\n", encoding="utf-8")
    for n in range(claimants):
        (content / f"claimants/person-{n:05}.yaml").write_text(
            f"name: Person {n}\nkind: person\nrole: Spokesperson number {n}\n", encoding="utf-8")
    paragraphs: list[list[str]] = [[] for _ in range(sources)]
    for n in range(claims):
        paragraphs[n // 5 % sources].append(
            f"In a statement, {sentence(n)} Critics disputed the figure.")
        relations = ""
        if shape == "chain" and n:
            relations = f"disputes: [claim-{n - 1:06}]\n"
        elif shape == "hub" and n:
            relations = f"{'disputes' if n % 2 else 'supports'}: [claim-000000]\n"
        elif shape == "desk":
            if n % 3 == 1:
                relations += f"disputes: [claim-{n - 1:06}]\n"
            if n % 7 == 3 and n >= 3:
                relations += f"supports: [claim-{n - 3:06}]\n"
        body = analysis(rng, words).replace("\n", "\n  ")
        (content / f"claims/claim-{n:06}.yaml").write_text(
            f"claim: Project {n} cost {n * 7 % 997} million.\n"
            f"claimant: person-{n % claimants:05}\n"
            f"date: {2000 + n % years}-{n % 12 + 1:02}-{n % 28 + 1:02}\n"
            f"passages:\n  - source: source-{n // 5 % sources:05}\n"
            f"    quote: {sentence(n)}\n"
            f"topics: [{TOPICS[n % 40]}, {TOPICS[(n * 7 + 3) % 40]}]\n"
            f"rating: {RATINGS[n % 3]}\n"
            + relations + f"analysis: |\n  {body}\n", encoding="utf-8")
    for s, texts in enumerate(paragraphs):
        (content / f"sources/source-{s:05}.txt").write_text(
            f"---\ntitle: Record {s}\npublished: 2022-01-{s % 28 + 1:02}\n---\n"
            + "\n\n".join(texts) + "\n", encoding="utf-8")
