"""JSON Schemas for editors' autocompletion: generated from factsite/schema.py, committed
in schemas/, kept in step with the models, and agreeing with them on real content."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from pydantic import ValidationError

import build
from factsite.load import parse_yaml, split_front_matter
from factsite.schema import MODELS, json_schema_files
from tests.conftest import DEMO, FIXTURE, ROOT

SCHEMAS = ROOT / "schemas"
# kind → where its files are, relative to a content directory
FILES = {"site": "site.yaml", "source": "sources/*.txt", "claimant": "claimants/*.yaml",
         "claim": "claims/*.yaml", "page": "pages/*.md"}


def validator(kind: str) -> jsonschema.Draft7Validator:
    schema = json.loads((SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())


def read(path: Path, kind: str) -> object:
    """A content file's data as factsite reads it (YAML 1.2: dates and numbers are text)."""
    text = path.read_text(encoding="utf-8")
    if kind in ("source", "page"):
        text = split_front_matter(text)[0]
    return parse_yaml(text)[0]


def test_committed_schemas_are_up_to_date():
    expected = json_schema_files()
    committed = {path.name: path.read_bytes() for path in SCHEMAS.glob("*.json")}
    assert sorted(committed) == sorted(expected)
    stale = [name for name, text in expected.items() if committed[name] != text.encode()]
    assert not stale, f"{stale} differ from factsite/schema.py: run `python build.py schema`"


def test_schemas_are_deterministic_draft7_with_descriptions():
    assert json_schema_files() == json_schema_files()
    for kind in MODELS:
        text = (SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8")
        schema = json.loads(text)
        assert text == json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
        jsonschema.Draft7Validator.check_schema(schema)
        assert schema["additionalProperties"] is False
        assert schema["description"].startswith("factsite: ")
        for name, field in schema["properties"].items():
            assert field.get("description"), f"{kind}.{name} has no description"


def test_schema_command_writes_the_committed_files(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert build.main(["schema"]) == 0
    assert capsys.readouterr().out == (
        "wrote 5 JSON Schemas to schemas/: site.schema.json, source.schema.json, "
        "claimant.schema.json, claim.schema.json, page.schema.json\n")
    for path in SCHEMAS.glob("*.json"):
        assert (tmp_path / "schemas" / path.name).read_bytes() == path.read_bytes()
    assert build.main(["schema", "--out", "elsewhere"]) == 0
    assert len(list((tmp_path / "elsewhere").iterdir())) == 5


CONTENT_FILES = sorted(
    (kind, path) for root in (DEMO, FIXTURE)
    for kind, pattern in FILES.items() for path in root.glob(pattern))


def test_there_is_content_of_every_kind_to_check():
    assert {kind for kind, _ in CONTENT_FILES} == set(FILES)
    assert len(CONTENT_FILES) > 40


@pytest.mark.parametrize("kind, path", CONTENT_FILES,
                         ids=[str(p.relative_to(ROOT)) for _, p in CONTENT_FILES])
def test_schemas_accept_the_demo_and_fixture_content(kind, path):
    data = read(path, kind)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator(kind).iter_errors(data)]
    assert not errors


CLAIM = {"claim": "The bridge opens in 2022.", "claimant": "ana-lima", "date": "2021-03-03",
         "passages": [{"source": "minutes", "quote": "The bridge will open in 2022"}]}


@pytest.mark.parametrize("kind, yaml_text, complaint", [
    ("claim", "claimnt: ana-lima", "Additional properties are not allowed ('claimnt'"),
    ("claim", "date: 3 March 2021", "does not match"),
    ("claim", "claimant: Ana_Lima", "is not valid under any of the given schemas"),
    ("claim", "passages: []", "should be non-empty"),
    ("claim", "rating: false", "is not valid under any of the given schemas"),
    ("claim", "venue: ''", "'' is not valid under any of the given schemas"),
    ("claimant", "kind: persn", "'persn' is not one of ['person', 'organization']"),
    ("claimant", "role: [a, b]", "is not valid under any of the given schemas"),
    ("site", "base_url: https://example.org/harbour", "does not match '^https?://.*/$'"),
    ("source", "published: 2021/03/03", "is not valid under any of the given schemas"),
    ("source", "capture: {url: 'https://example.org/', date: '2021-03-03 10:15'}",
     "is not valid under any of the given schemas"),
    ("source", "capture: {url: 'https://example.org/', date: '2021-03-03T10:15:00Z', "
               "sha256: 3F5A}", "is not valid under any of the given schemas"),
    ("source", "capture: {date: '2021-03-03T10:15:00Z'}", "is not valid under any of the given"),
    ("page", "title: true", "True is not of type 'string'"),
])
def test_schemas_and_models_reject_the_same_mistakes(kind, yaml_text, complaint):
    base = {"claim": CLAIM, "claimant": {"name": "Ana Lima", "kind": "person"},
            "site": {"title": "T", "base_url": "https://example.org/", "publisher": {"name": "P"}},
            "source": {"title": "Minutes"}, "page": {"title": "About"}}[kind]
    MODELS[kind].model_validate(base)  # the unbroken document is valid
    assert not list(validator(kind).iter_errors(base))
    data = {**base, **parse_yaml(yaml_text)[0]}
    if "claimnt" in data:
        del data["claimant"]
    with pytest.raises(ValidationError):
        MODELS[kind].model_validate(data)
    messages = [error.message for error in validator(kind).iter_errors(data)]
    assert any(complaint in message for message in messages), messages


def test_missing_required_fields_are_named():
    messages = {error.message for error in validator("claim").iter_errors({})}
    assert messages == {f"'{field}' is a required property"
                        for field in ("claim", "claimant", "date", "passages")}


def test_vscode_settings_map_each_content_kind_to_its_schema():
    settings = json.loads((ROOT / ".vscode" / "settings.json").read_text(encoding="utf-8"))
    assert settings["yaml.yamlVersion"] == "1.2"  # like factsite: `NO` and dates stay text
    mapping = settings["yaml.schemas"]
    assert mapping == {"./schemas/site.schema.json": "/content/site.yaml",
                       "./schemas/claimant.schema.json": "/content/claimants/*.yaml",
                       "./schemas/claim.schema.json": "/content/claims/*.yaml"}
    for schema in mapping:
        assert (ROOT / schema).is_file()
