import pytest

from factsite.passages import (
    Ambiguous, ContextMismatch, EmptyQuote, NotFound, SourceText, Span, fold, normalise,
)

TEXT = "“Russia will not discuss it,” he said.\nThe talks — held in Geneva — ended.\n\nThe talks ended."


def quoted(text: str, span: Span) -> str:
    return text[span.start:span.end]


def test_normalise_maps_every_folded_character_to_the_original():
    folded, origin = normalise("a  “b”\n–c")
    assert folded == 'a "b" -c'
    assert [("a  “b”\n–c")[i] for i in origin] == ["a", " ", "“", "b", "”", "\n", "–", "c"]


def test_straight_quotes_match_curly_quotes_and_span_keeps_the_original():
    span = SourceText(TEXT).anchor('"Russia will not discuss it," he said')
    assert quoted(TEXT, span) == "“Russia will not discuss it,” he said"


def test_quote_at_start_and_at_end_of_text():
    text = SourceText(TEXT)
    assert text.anchor("“Russia").start == 0
    span = text.anchor("ended", prefix="The talks")
    assert span.end == len(TEXT) - 1
    assert SourceText("abc def").anchor("def") == Span(4, 7)


def test_quote_across_a_line_break_and_dash_variants():
    text = SourceText(TEXT)
    span = text.anchor("he said. The talks - held in Geneva - ended")
    assert quoted(TEXT, span) == "he said.\nThe talks — held in Geneva — ended"


def test_case_and_words_must_match():
    with pytest.raises(NotFound):
        SourceText(TEXT).anchor("russia will not discuss it")


def test_cyrillic_text():
    text = "Москва заявила: «Россия не является стороной конфликта»."
    span = SourceText(text).anchor('"Россия не является стороной конфликта"')
    assert quoted(text, span) == "«Россия не является стороной конфликта»"


def test_empty_and_blank_quotes_are_refused():
    for quote in ("", "   \n "):
        with pytest.raises(EmptyQuote):
            SourceText(TEXT).anchor(quote)


def test_quote_longer_than_the_source_is_not_found_and_hints_the_whole_text():
    with pytest.raises(NotFound) as caught:
        SourceText("short text").anchor("short text that goes on and on")
    assert caught.value.closest == Span(0, 10)


def test_not_found_hints_the_closest_passage_widened_to_words():
    with pytest.raises(NotFound) as caught:
        SourceText(TEXT).anchor("The talks - held in Genf - ended")
    assert quoted(TEXT, caught.value.closest).startswith("The talks — held in Geneva")


def test_nothing_alike_gives_no_hint():
    with pytest.raises(NotFound) as caught:
        SourceText("aaaa bbbb").anchor("zzzzzzzzzzzzzzzzzzz")
    assert caught.value.closest is None


def test_repeated_quote_is_ambiguous_and_lists_every_occurrence():
    with pytest.raises(Ambiguous) as caught:
        SourceText(TEXT).anchor("The talks")
    assert [s.start for s in caught.value.occurrences] == [39, 76]
    assert not caught.value.narrowed


def test_prefix_and_suffix_pick_one_occurrence():
    text = SourceText(TEXT)
    first = text.anchor("The talks", suffix="— held")
    second = text.anchor("The talks", prefix="ended.")
    assert (first.start, second.start) == (39, 76)


def test_context_that_matches_no_occurrence():
    with pytest.raises(ContextMismatch) as caught:
        SourceText(TEXT).anchor("The talks", prefix="nowhere")
    assert len(caught.value.occurrences) == 2


def test_overlapping_occurrences_are_all_counted():
    with pytest.raises(Ambiguous) as caught:
        SourceText("aaa").anchor("aa")
    assert caught.value.occurrences == [Span(0, 2), Span(1, 3)]


def test_context_stops_at_paragraph_breaks_and_cuts_at_words():
    text = SourceText(TEXT)
    before, after = text.context(text.anchor("ended", prefix="The talks"))
    assert before == "The talks "
    assert after == "."
    long = SourceText("word " * 100 + "QUOTE" + " word" * 100)
    before, after = long.context(long.anchor("QUOTE"), width=20)
    assert before.startswith("…") and before.endswith("word ")
    assert after.endswith("…") and after.startswith(" word")


def test_fold_only_touches_whitespace_quotes_and_dashes():
    assert fold("  A‘b’ «c» x–y—z \t") == "A'b' \"c\" x-y-z"
    assert fold("-‐‑") == "-‐‑"


def test_line_col_is_one_based():
    text = SourceText("ab\ncd")
    assert text.line_col(0) == (1, 1)
    assert text.line_col(4) == (2, 2)


def test_line_and_column_count_lines_as_editors_do():
    text = SourceText("one\rtwo\r\nthree\u2028still three\nfour")
    assert text.line_col(text.text.index("two")) == (2, 1)
    assert text.line_col(text.text.index("still")) == (3, 7)
    assert text.line_col(text.text.index("four")) == (4, 1)


def test_origin_agrees_with_a_character_by_character_fold():
    import random
    import re
    rng = random.Random(11)
    for _ in range(200):
        text = "".join(rng.choice("ab “”–\n\t\r\u2028 ") for _ in range(rng.randint(0, 40)))
        expected = []  # every character kept, except whitespace runs: their first
        for match in re.finditer(r"\s+|\S", text):
            expected.append(match.start())
        folded, origin = normalise(text)
        assert len(folded) == len(origin) == len(expected)
        assert [origin[i] for i in range(len(origin))] == expected
