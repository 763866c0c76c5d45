"""Loading: positions of every key and value, front matter, YAML 1.2 meaning, file discovery."""

from __future__ import annotations

import pytest

from factsite.load import _Problem, load_content, parse_yaml, split_front_matter


def test_values_and_keys_keep_their_line_and_column():
    data, marks, keys = parse_yaml("claim: x\npassages:\n  - source: s\n    quote: |\n      q\n")
    assert data == {"claim": "x", "passages": [{"source": "s", "quote": "q\n"}]}
    assert marks[("claim",)] == (1, 8)
    assert keys[("passages", 0, "quote")] == (4, 5)
    assert marks[("passages", 0, "source")] == (3, 13)
    assert marks[("passages", 0, "quote")] == (5, 7)  # a block scalar starts on its next line


@pytest.mark.parametrize("text, value", [
    ("v: true", True), ("v: false", False), ("v: NO", "NO"), ("v: off", "off"), ("v: yes", "yes"),
    ("v: True", "True"), ("v: 2022-01-16", "2022-01-16"), ("v: 12", "12"), ("v: 1e3", "1e3"),
    ("v: ~", None), ("v:", None), ("v: null", None), ('v: "true"', "true"), ("v: '~'", "~"),
])
def test_yaml_1_2_meaning(text, value):
    assert parse_yaml(text)[0] == {"v": value}


@pytest.mark.parametrize("text, mark, message", [
    ("a: 1\nb:\n  c: 2\n  c: 3\n", (4, 3), "duplicate key 'c'"),
    ("a: [1, *x]\n", (1, 8), "YAML aliases are not allowed"),
    ("a: !!binary aGk=\n", (1, 4), "YAML tags are not allowed: !!binary"),
    ("a: !custom x\n", (1, 4), "YAML tags are not allowed: !custom"),
    ("? [a, b]\n: c\n", (1, 3), "mapping keys must be plain text"),
])
def test_refused_yaml(text, mark, message):
    with pytest.raises(_Problem) as caught:
        parse_yaml(text)
    assert (caught.value.mark, caught.value.message) == (mark, message)


def test_line_offset_applies_to_front_matter():
    _, marks, _ = parse_yaml("title: x\n", line_offset=1)
    assert marks[("title",)] == (2, 8)


def test_front_matter_keeps_the_body_byte_for_byte():
    front, body, line = split_front_matter("---\ntitle: x\n---\n  body\r\n\nend")
    assert (front, body, line) == ("title: x\n", "  body\r\n\nend", 4)
    front, body, line = split_front_matter("---\r\ntitle: x\r\n---\r\n text")
    assert (front, body, line) == ("title: x\r\n", " text", 4)
    assert split_front_matter("---\ntitle: x\n---")[1] == ""


@pytest.mark.parametrize("text, message", [
    ("title: x\n", "missing front matter"),
    ("---\ntitle: x\nbody", "front matter is not closed"),
])
def test_broken_front_matter(text, message):
    with pytest.raises(_Problem) as caught:
        split_front_matter(text)
    assert caught.value.message == message


def test_discovery_skips_editor_leftovers_and_reports_wrong_extensions(tmp_path):
    (tmp_path / "claims").mkdir()
    (tmp_path / "site.yaml").write_text("title: t\n")
    for name in (".a.yaml.swp", "a.yaml~", "#a.yaml#", "a.yaml.bak", ".hidden.yaml"):
        (tmp_path / "claims" / name).write_text("x")
    (tmp_path / "claims" / "b.yml").write_text("claim: x\n")
    (tmp_path / "claims" / "c.yaml").write_text("\ufeffclaim: x\n")
    documents, diagnostics = load_content(tmp_path)
    assert sorted((d.kind, d.id) for d in documents) == [("claim", "c"), ("site", "site")]
    assert next(d for d in documents if d.id == "c").data == {"claim": "x"}  # BOM dropped
    assert [(d.message, d.hint) for d in diagnostics] == [
        ("claims files must end in .yaml: 'b.yml' is not read", "rename it to 'b.yaml'")]


def test_missing_site_yaml_and_content_directory(tmp_path):
    _, diagnostics = load_content(tmp_path)
    assert [d.message for d in diagnostics] == ["site.yaml not found"]
    _, diagnostics = load_content(tmp_path / "nope")
    assert [d.format_text() for d in diagnostics] == [
        f"{tmp_path / 'nope'}:1:1: error: content directory not found\n"
        "  hint: pass --content DIR or run from the project root"]
