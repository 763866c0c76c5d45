"""Loading: positions of every key and value, front matter, YAML 1.2 meaning, file discovery."""

from __future__ import annotations

import pytest

from factsite.load import (Positions, _Problem, load_content, parse_positions, parse_yaml,
                           split_front_matter)


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
    ("a: !!int 3\n", (1, 4), "YAML tags are not allowed: !!int"),
    ("? [a, b]\n: c\n", (1, 3), "mapping keys must be plain text"),
    ("a: 1\n---\nb: 2\n", (2, 1), "more than one YAML document in the file"),
    ("a: &x [1]\nb: 2\n", (1, 4), "YAML anchors and aliases are not allowed"),
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


# -- positions as editors count them ---------------------------------------------------------

@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_unicode_line_separators_are_text_not_line_breaks(separator):
    """YAML 1.1 (libyaml) breaks lines at them; YAML 1.2 and editors do not."""
    text = f"a: x{separator}y\nb: \"p{separator}q\"\nc: |\n  r{separator}s\nd: z\n"
    data, marks, _ = parse_yaml(text)
    assert data == {"a": f"x{separator}y", "b": f"p{separator}q", "c": f"r{separator}s\n",
                    "d": "z"}
    assert marks[("d",)] == (5, 4)
    with pytest.raises(_Problem) as caught:
        parse_yaml(f"a: x{separator}y\nb: [\n")
    assert caught.value.mark == (2, 5)


def test_private_use_characters_in_the_text_survive_the_separator_stand_ins():
    text = "a: \ue000\ue001\ue002 \u2028\n"
    assert parse_yaml(text)[0] == {"a": "\ue000\ue001\ue002 \u2028"}


@pytest.mark.parametrize("text, mark", [
    ("a: b\nc: [d", (2, 6)),          # no final newline: at the end of the last line
    ("a: b\nc: [d\n", (2, 6)),        # a final newline: still on the last line
    ("a: b\r\nc: [d\r\n", (2, 6)),
    ("a: b\rc: [d\r", (2, 6)),        # CR-only line ends
    ('a: "b\n', (1, 6)),
    ("a: é\nb: \x07\n", (2, 4)),      # libyaml reports this one in bytes
])
def test_errors_at_the_end_point_into_the_file(text, mark):
    with pytest.raises(_Problem) as caught:
        parse_yaml(text)
    assert caught.value.mark == mark


def test_cr_only_files_have_front_matter_and_lines():
    front, body, line = split_front_matter("---\rtitle: x\r---\rbody\r")
    assert (front, body, line) == ("title: x\r", "body\r", 4)
    _, marks, _ = parse_yaml("a: 1\rb: 2\r", line_offset=1)
    assert marks[("b",)] == (3, 4)


@pytest.mark.parametrize("text, mark, message", [
    # a tab in the indentation, also after spaces
    ("a: x\nb:\n\t- c\n", (3, 1), "tab in indentation"),
    ("a:\n  - b: 1\n  \tc: 2\n", (3, 3), "tab in indentation"),
    # quoted, then more: found on its line, also in a list item and after a flow value
    ('a: "b" c\nd: e\n', (1, 4), "the value of 'a' starts with a quote mark and goes on after the closing one"),
    ("l:\n  - 'b' c\n", (2, 5), "the list item starts with a quote mark and goes on after the closing one"),
    # a wrapped line: reported where it starts, not where libyaml stops
    ("a: one\ntwo\nthree\nd: e\n", (2, 1), "this line goes on with the value of 'a' but is not indented"),
    ("l:\n  - a: one\n    two\n  - a: x\n", (3, 5), "this line goes on with the value of 'a' but is not indented"),
    # a missing space after the colon, reported at the colon
    ("a: x\nb:c\nd: e\n", (2, 2), "missing space after the colon of 'b'"),
    ("b:c\nd: e\n", (1, 2), "missing space after the colon of 'b'"),
])
def test_yaml_mistakes_are_named_where_they_start(text, mark, message):
    with pytest.raises(_Problem) as raised:
        parse_yaml(text)
    assert (raised.value.mark, raised.value.message) == (mark, message)


@pytest.mark.parametrize("text, hint", [
    ('a: "b" c # note\n', """quote the whole value: '"b" c'"""),
    ("a: 'it''s' here\n", """quote the whole value: "'it''s' here\""""),
    ("a:b c\nd: e\n", "write 'a: b c'"),
])
def test_yaml_mistake_hints_give_the_fixed_line(text, hint):
    with pytest.raises(_Problem) as raised:
        parse_yaml(text + "x: [\n")  # and a real error later on, which the hint is not about
    assert raised.value.hint == hint


def test_a_syntax_error_elsewhere_is_not_blamed_on_what_only_looks_like_these_mistakes():
    text = ("analysis: |\n  note:this stays text\n  \tand a tab after the indentation is text\n"
            "claim: one\n  wrapped, indented\n  time:10 and https://x.org/y\n"
            "quote: \"a\" # a comment\nurl: https://example.org/\nbad: [\n")
    with pytest.raises(_Problem) as raised:
        parse_yaml(text)
    assert raised.value.message.startswith("YAML syntax error: ")


def test_forked_workers_load_like_one_process(tmp_path, monkeypatch):
    """A large archive is parsed by forked workers too, a few files at a time: same
    documents and problems, in the same order, and the cache keeps what they parsed."""
    from factsite import load
    from factsite.cache import Cache
    from tests.corpus import generate
    content = tmp_path / "content"
    generate(content, 60)
    (content / "claims" / "claim-000003.yaml").write_text("claim: [unclosed\n")
    (content / "claims" / "claim-000010.yaml").write_bytes(b"claim: \xff\n")
    (content / "claims" / "claim-000011.yaml").write_text("claim: a\r\nclaim: b\r\n")
    (content / "claims" / "notes.txt").write_text("not a claim")
    monkeypatch.setattr(load, "PARALLEL_FROM", 10)
    monkeypatch.setattr(load, "PARSE_TASK", 4)
    one = load_content(content, jobs=1)
    assert len(one[0]) >= 70 and len(one[1]) == 4
    assert load_content(content, jobs=3) == one

    cache = Cache(tmp_path / "cache")
    assert load_content(content, cache, jobs=2) == one
    cache.save_memos()

    def parse_again(*args):
        raise AssertionError("parsed again")
    monkeypatch.setattr(load, "_parse", parse_again)
    for broken in ("claim-000003", "claim-000010", "claim-000011"):  # not memos: parsed again
        (content / "claims" / f"{broken}.yaml").unlink()
    assert load_content(content, Cache(tmp_path / "cache"), jobs=2)[0] == [
        doc for doc in one[0] if not doc.failed]


def test_duplicate_key_deep_in_lists_names_the_first():
    with pytest.raises(_Problem) as caught:
        parse_yaml("a:\n  - x: 1\n  - x: 2\n    y: [1, {z: 3}]\n    z: 0\n    y: 4\n")
    assert caught.value.mark == (6, 5)
    assert caught.value.hint == "'y' is already set on line 4; keep one of them"


def test_positions_survive_the_cache(tmp_path):
    """Documents keep their positions compactly (see load.Positions); one read back from
    the build cache places every value and key as the parsed one does."""
    import pickle

    from factsite.load import load_file
    claim = tmp_path / "a.yaml"
    claim.write_text("claim: x\ntopics: [a, b]\npassages:\n  - source: s\n    quote: >\n"
                     "      q\n      r\nupdates:\n  - {date: '2020', note: n}\n")
    parsed = load_file(claim, "claim")
    again = pickle.loads(pickle.dumps(parsed))
    _, marks, keys = parse_yaml(claim.read_text())
    assert len(marks) == 13 and len(keys) == 8
    for path in marks:
        assert again.mark(path) == parsed.mark(path) == marks[path]
    for path in keys:
        assert again.key_mark(path) == parsed.key_mark(path) == keys[path]
    assert again.mark(("passages", 0, "prefix")) == marks[("passages", 0)]  # the nearest value


def test_a_value_is_placed_without_the_tables_as_with_them():
    """Positions.value counts its way to one value (a Markdown link's field) instead of
    making the tables: the same place for every value of nested mappings and lists,
    and none for a path the document does not hold."""
    data, positions = parse_positions(
        "a: 1\nb:\n  - [x, {y: [], z: {}}]\n  - {c: d, e: [f, [g]]}\n  -\nh: {i: {j: k}}\n")
    marks = Positions(data, positions.flat).values()
    assert len(marks) == 18
    for path, mark in marks.items():
        assert Positions(data, positions.flat).value(path) == mark, path
    for missing in [("z",), ("a", 0), ("b", 3), ("b", -1), ("b", "0"), ("h", "i", "j", "k"),
                    ("b", 1, "e", 1, 1)]:
        assert Positions(data, positions.flat).value(missing) is None, missing
    half = Positions(data, positions.flat[:14])  # a parse stopped at the 7th position
    assert half.value(("b", 0, 0)) == marks[("b", 0, 0)] and half.value(("b", 0, 1)) is None

