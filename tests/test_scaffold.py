"""`build.py new claim|claimant|source|page <id>`: commented templates that fail `check` at
every value the editor must choose, and check once filled in."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

import build
from factsite import scaffold
from factsite.load import parse_yaml, split_front_matter
from factsite.schema import MODELS
from tests.conftest import TEMPLATES, soup

COUNCIL = "content/sources/2021-03-council-minutes.txt"


@pytest.fixture
def cli(tmp_path, content, monkeypatch, capsys):
    """Run build.py in a directory holding a copy of the fixture content; (code, out, err)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        code = build.main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err
    return run


def _fields(model: type[BaseModel]) -> set[str]:
    """Every field name of the model and of the models nested in it."""
    names = set()
    for name, field in model.model_fields.items():
        names.add(name)
        for arg in [field.annotation, *typing.get_args(field.annotation)]:
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                names |= _fields(arg)
    return names


@pytest.mark.parametrize("kind", sorted(scaffold.KINDS))
def test_template_explains_every_field_and_is_valid_yaml(kind):
    text = scaffold.template(kind, "new-thing", scaffold.Known(("a-source",), ("a-claimant",)))
    for field in _fields(MODELS[kind]):
        assert re.search(rf"(^[\s#-]*|[{{,] ?){field}:", text, re.MULTILINE), field
    front = split_front_matter(text)[0] if kind in ("source", "page") else text
    data, _, _ = parse_yaml(front)
    assert isinstance(data, dict)
    assert all(len(line) <= 100 for line in text.splitlines())


def test_claim_lists_known_ids_but_names_none(cli, content):
    assert cli("new", "claim", "tunnel-instead") == (
        0, "created content/claims/tunnel-instead.yaml: replace its TODO values, then run: "
           "python build.py check\n", "")
    text = (content / "claims" / "tunnel-instead.yaml").read_text(encoding="utf-8")
    data, _, _ = parse_yaml(text)
    assert data["claimant"] == "TODO a claimant id (add one with python build.py new claimant <id>)"
    assert data["passages"][0]["source"] == \
        "TODO a source id (add one with python build.py new source <id>)"
    assert "# Known claimants: ana-lima, opposition, press-office.\n" in text
    assert "# optional: a rating id from content/site.yaml: accurate, misleading, \"false\"." \
           in text
    assert "# optional: topic ids from content/site.yaml: bridge, budget.\n" in text
    known = scaffold.known_ids(content)
    for line in text.splitlines():  # no existing id anywhere but in the lists of known ids
        if not line.startswith(("# Known ", "# optional: ")):
            assert not any(re.search(rf"\b{re.escape(i)}\b", line)
                           for i in (*known.claimants, *known.sources, *known.ratings,
                                     *known.topics)), line


def test_scaffolded_claim_fails_at_each_placeholder_line(cli):
    cli("new", "claim", "tunnel-instead")
    code, out, err = cli("check")
    assert (code, out) == (1, "")
    claim = "content/claims/tunnel-instead.yaml"
    assert err == (
        f"{claim}:12:8: error: 'claim' is still a TODO placeholder\n"
        "  hint: state the claim in one sentence\n"
        f"{claim}:17:11: error: 'claimant' is still a TODO placeholder\n"
        "  hint: a claimant id (add one with python build.py new claimant <id>)\n"
        f"{claim}:20:7: error: 'date' is still a TODO placeholder\n"
        "  hint: the date it was made, as YYYY-MM-DD (or YYYY-MM, or YYYY)\n"
        f"{claim}:33:13: error: 'passages[0].source' is still a TODO placeholder\n"
        "  hint: a source id (add one with python build.py new source <id>)\n"
        f"{claim}:34:12: error: 'passages[0].quote' is still a TODO placeholder\n"
        "  hint: copy the exact words from the source\n"
        "check failed: 5 errors\n")


def uncomment_every_field(text: str, kind: str) -> str:
    """The template with every optional field's line uncommented, values unchanged."""
    fields = _fields(MODELS[kind])
    lines = []
    for line in text.splitlines(keepends=True):
        indent, rest = re.match(r"(\s*)(?:# )?(.*)", line, re.DOTALL).groups()
        if line.lstrip().startswith("# ") and (
                rest.split(":")[0].strip() in fields or rest.lstrip().startswith(("TODO", "- {"))):
            line = indent + rest
        lines.append(line)
    return "".join(lines)


@pytest.mark.parametrize("kind", sorted(scaffold.KINDS))
def test_an_optional_field_used_as_it_is_fails_at_its_line(cli, content, kind):
    """An example value left in place would publish something nobody chose: every value of
    every field, optional ones uncommented, is a placeholder reported at its line."""
    assert cli("new", kind, "new-entry")[0] == 0
    dirname, ext = scaffold.KINDS[kind]
    path = content / dirname / f"new-entry{ext}"
    text = uncomment_every_field(path.read_text(encoding="utf-8"), kind)
    if kind == "source":
        text += "The text as published.\n"
    path.write_text(text, encoding="utf-8")
    code, out, err = cli("check")
    assert (code, out) == (1, "")
    reported = re.findall(rf"^content/{dirname}/new-entry{ext}:(\d+):(\d+): error: (.*)$",
                          err, re.MULTILINE)
    assert all(message.endswith("is still a TODO placeholder") for _, _, message in reported), err
    expected = [(str(number), str(match.start() + 1))
                for number, line in enumerate(text.splitlines(), 1) if not line.startswith("#")
                for match in re.finditer(r"TODO", line)]
    assert [(line, col) for line, col, _ in reported] == expected
    assert len(expected) >= {"claim": 15, "claimant": 5, "source": 6, "page": 3}[kind]


def test_scaffolded_claim_checks_once_the_placeholders_are_filled(cli, content):
    cli("new", "claim", "tunnel-instead")
    path = content / "claims" / "tunnel-instead.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("claim: TODO state the claim in one sentence",
                        "claim: The opposition says the bridge will open in 2024 at the earliest.")
    text = re.sub(r"date: TODO.*", "date: 2021-03", text)
    text = text.replace("quote: TODO copy the exact words from the source",
                        "quote: will not open before 2024")
    text = re.sub(r"claimant: TODO.*", "claimant: opposition", text)
    text = re.sub(r"source: TODO.*", "source: 2021-03-council-minutes", text)
    path.write_text(text, encoding="utf-8")
    assert cli("check") == (0, "ok: 5 claims, 3 claimants, 2 sources checked\n", "")


def test_scaffolded_claimant_fails_on_its_name_and_kind_until_chosen(cli, content):
    assert cli("new", "claimant", "harbour-authority") == (
        0, "created content/claimants/harbour-authority.yaml: replace its TODO values, then run: "
           "python build.py check\n", "")
    claimant = "content/claimants/harbour-authority.yaml"
    assert cli("check") == (1, "", (
        f"{claimant}:12:7: error: 'name' is still a TODO placeholder\n"
        "  hint: the name as readers should see it\n"
        f"{claimant}:15:7: error: 'kind' is still a TODO placeholder\n"
        "  hint: person or organization\n"
        "check failed: 2 errors\n"))
    path = content / "claimants" / "harbour-authority.yaml"
    path.write_text(path.read_text().replace("TODO the name as readers should see it",
                                             "Harbour Authority")
                    .replace("TODO person or organization", "organization"))
    assert cli("check") == (
        0, "ok: 4 claims, 4 claimants, 2 sources checked; 1 warning\n",
        f"{claimant}:12:1: warning: claimant 'harbour-authority' has no claims\n")


def test_scaffolded_source_reports_its_title_and_missing_text(cli, content):
    assert cli("new", "source", "2021-05-harbour-report") == (
        0, "created content/sources/2021-05-harbour-report.txt: fill in the title, paste the "
           "text after the closing '---', then run: python build.py check\n", "")
    source = "content/sources/2021-05-harbour-report.txt"
    assert cli("check") == (1, "", (
        f"{source}:15:8: error: 'title' is still a TODO placeholder\n"
        "  hint: the headline, as published\n"
        f"{source}:37:1: error: source text is empty\n"
        "  hint: paste the archived text after the closing '---' line\n"
        "check failed: 2 errors\n"))
    path = content / "sources" / "2021-05-harbour-report.txt"
    path.write_text(path.read_text().replace("TODO the headline, as published", "Harbour report")
                    + "The harbour report.\n")
    assert cli("check") == (
        0, "ok: 4 claims, 3 claimants, 3 sources checked; 1 warning\n",
        f"{source}:15:1: warning: source '2021-05-harbour-report' is not cited by any claim\n")


def test_new_never_overwrites(cli, content):
    path = content / "claims" / "opens-2023.yaml"
    before = path.read_bytes()
    assert cli("new", "claim", "opens-2023") == (1, "", (
        "content/claims/opens-2023.yaml:1:1: error: claim 'opens-2023' already exists; "
        "`new` never overwrites a file\n"
        "  hint: edit the file, or choose another id\n"
        "new failed: 1 error\n"))
    assert path.read_bytes() == before


@pytest.mark.parametrize("raw, suggestion", [
    ("Tunnel_Instead", "tunnel-instead"),
    ("tunnel-instead.yaml", "tunnel-instead"),
    ("tunnel--instead", "tunnel-instead"),
    ("../escape", "escape"),
    ("-", "my-id"),
])
def test_invalid_id_is_a_usage_error_with_a_valid_suggestion(cli, content, raw, suggestion):
    before = sorted(p.name for p in (content / "claims").iterdir())
    assert cli("new", "claim", raw) == (2, "", (
        f"build.py new: error: invalid id '{raw}'\n"
        f"  hint: ids use lowercase letters, digits and single hyphens, like '{suggestion}'\n"))
    assert sorted(p.name for p in (content / "claims").iterdir()) == before
    assert not (content.parent / "escape.yaml").exists()


def test_scaffolded_page_fails_on_its_title_and_text_then_builds(cli, content, tmp_path):
    assert cli("new", "page", "how-we-work") == (
        0, "created content/pages/how-we-work.md: fill in the title, write the text after the "
           "closing '---', then run: python build.py check\n", "")
    page = "content/pages/how-we-work.md"
    assert cli("check") == (1, "", (
        f"{page}:16:8: error: 'title' is still a TODO placeholder\n"
        "  hint: the page title\n"
        f"{page}:21:1: error: page text is still a TODO placeholder\n"
        "  hint: write the page in Markdown, replacing this line\n"
        "check failed: 2 errors\n"))
    path = content / "pages" / "how-we-work.md"
    text = path.read_text().replace("TODO the page title", "How we work")
    path.write_text(text.replace("TODO write the page in Markdown, replacing this line",
                                 "We read [the minutes](../sources/2021-03-council-minutes/)."))
    assert cli("check") == (0, "ok: 4 claims, 3 claimants, 2 sources checked\n", "")
    assert cli("build", "--templates", str(TEMPLATES))[0] == 0
    html = soup(tmp_path / "site" / "how-we-work" / "index.html")
    assert html.h1.get_text() == "How we work"
    assert html.find("a", href="../sources/2021-03-council-minutes/")


@pytest.mark.parametrize("raw", ["search", "claims", "404"])
def test_a_page_id_of_a_generated_page_is_a_usage_error(cli, content, raw):
    assert cli("new", "page", raw) == (2, "", (
        f"build.py new: error: page id '{raw}' is reserved for a generated page\n"
        f"  hint: choose another id, like 'about-{raw}'\n"))
    assert not (content / "pages" / f"{raw}.md").exists()


def test_unknown_kind_is_a_usage_error(cli):
    with pytest.raises(SystemExit) as exited:
        cli("new", "topic", "bridges")
    assert exited.value.code == 2


def test_first_claim_of_an_empty_site_points_to_new_claimant_and_source(tmp_path, cli):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli("new", "claim", "first", "--content", "empty") == (
        0, "created empty/claims/first.yaml: replace its TODO values, then run: "
           "python build.py check\n", "")
    data, _, _ = parse_yaml((empty / "claims" / "first.yaml").read_text())
    assert data["claimant"] == "TODO a claimant id (add one with python build.py new claimant <id>)"
    assert data["passages"][0]["source"] == \
        "TODO a source id (add one with python build.py new source <id>)"


def test_missing_content_directory(cli):
    assert cli("new", "claimant", "someone", "--content", "nowhere") == (1, "", (
        "nowhere:1:1: error: content directory not found\n"
        "  hint: pass --content DIR or run from the project root\n"
        "new failed: 1 error\n"))
    assert not Path("nowhere").exists()


def test_known_ids_skip_editor_leftovers_and_wrong_extensions(content):
    (content / "claimants" / ".aaa.yaml.swp").write_text("x")
    (content / "claimants" / "aaa.yml").write_text("x")
    (content / "claimants" / "AAA.yaml").write_text("x")
    known = scaffold.known_ids(content)
    assert known.claimants == ("ana-lima", "opposition", "press-office")
    assert known.sources == ("2021-03-council-minutes", "2021-04-press-office")
    assert (known.ratings, known.topics) == (("accurate", "misleading", "false"),
                                              ("bridge", "budget"))

