"""`build.py new claim|claimant|source <id>`: commented templates that check once filled in."""

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
    front = split_front_matter(text)[0] if kind == "source" else text
    data, _, _ = parse_yaml(front)
    assert isinstance(data, dict)
    assert all(len(line) <= 100 for line in text.splitlines())


def test_claim_is_prefilled_with_the_first_claimant_and_source(cli, content):
    assert cli("new", "claim", "tunnel-instead") == (
        0, "created content/claims/tunnel-instead.yaml: replace its TODO values, then run: "
           "python build.py check\n", "")
    text = (content / "claims" / "tunnel-instead.yaml").read_text(encoding="utf-8")
    data, _, _ = parse_yaml(text)
    assert data["claimant"] == "ana-lima"  # alphabetically first of ana-lima, opposition, ...
    assert data["passages"][0]["source"] == "2021-03-council-minutes"
    assert "# Known claimants: ana-lima, opposition, press-office.\n" in text
    assert "# optional: a rating id from content/site.yaml: accurate, misleading, \"false\"." \
           in text
    assert "# topics: [bridge, budget]\n" in text


def test_scaffolded_claim_fails_only_on_its_todo_placeholders(cli):
    cli("new", "claim", "tunnel-instead")
    code, out, err = cli("check")
    assert (code, out) == (1, "")
    claim = "content/claims/tunnel-instead.yaml"
    assert err == (
        f"{claim}:12:8: error: 'claim' is still a TODO placeholder\n"
        "  hint: state the claim in one sentence\n"
        f"{claim}:20:7: error: 'date' is still a TODO placeholder\n"
        "  hint: the date it was made, as YYYY-MM-DD (or YYYY-MM, or YYYY)\n"
        f"{claim}:34:12: error: 'passages[0].quote' is still a TODO placeholder\n"
        "  hint: copy the exact words from the source\n"
        "check failed: 3 errors\n")


def test_scaffolded_claim_checks_once_the_placeholders_are_filled(cli, content):
    cli("new", "claim", "tunnel-instead")
    path = content / "claims" / "tunnel-instead.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("claim: TODO state the claim in one sentence",
                        "claim: The opposition says the bridge will open in 2024 at the earliest.")
    text = re.sub(r"date: TODO.*", "date: 2021-03", text)
    text = text.replace("quote: TODO copy the exact words from the source",
                        "quote: will not open before 2024")
    path.write_text(text, encoding="utf-8")
    assert cli("check") == (0, "ok: 5 claims, 3 claimants, 2 sources checked\n", "")


def test_scaffolded_claimant_checks_as_it_is(cli, content):
    assert cli("new", "claimant", "harbour-authority")[0] == 0
    data, _, _ = parse_yaml((content / "claimants" / "harbour-authority.yaml").read_text())
    assert data == {"name": "Harbour Authority", "kind": "person"}
    assert cli("check") == (
        0, "ok: 4 claims, 4 claimants, 2 sources checked; 1 warning\n",
        "content/claimants/harbour-authority.yaml:9:1: warning: "
        "claimant 'harbour-authority' has no claims\n")


def test_a_claimant_name_that_yaml_would_misread_is_quoted(cli, content):
    assert cli("new", "claimant", "null")[0] == 0
    assert 'name: "Null"\n' in (content / "claimants" / "null.yaml").read_text()
    assert cli("check")[0] == 0


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


def test_unknown_kind_is_a_usage_error(cli):
    with pytest.raises(SystemExit) as exited:
        cli("new", "page", "about-us")
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
