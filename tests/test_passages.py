import random
import re

import pytest

from factsite.passages import (
    _FOLD, Ambiguous, ContextMismatch, Corpus, EmptyQuote, NotFound, SourceText, Span, fold,
    normalise,
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
    assert caught.value.closest.span == Span(0, 10)
    assert caught.value.closest.differences == (
        "the quote has 'that goes on and on', which the source does not",)


def test_not_found_hints_the_closest_passage_widened_to_words():
    with pytest.raises(NotFound) as caught:
        SourceText(TEXT).anchor("The talks - held in Genf - ended")
    assert quoted(TEXT, caught.value.closest.span).startswith("The talks — held in Geneva")


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


def test_closest_passage_names_word_differences():
    source = SourceText("Russia will not discuss the withdrawal of any weapons from Kaliningrad.")
    with pytest.raises(NotFound) as caught:
        source.anchor("russia will not discuss the withdrawal of any arms from Kaliningrad")
    closest = caught.value.closest
    assert quoted(source.text, closest.span) == (
        "Russia will not discuss the withdrawal of any weapons from Kaliningrad")
    assert closest.differences == (
        "the quote has 'russia' where the source has 'Russia' (only the case differs)",
        "the quote has 'arms' where the source has 'weapons'")


def test_closest_passage_names_missing_and_extra_words_in_the_source_s_own_typography():
    source = SourceText("He said: “We will not discuss Kaliningrad with anyone at all.”")
    with pytest.raises(NotFound) as caught:
        source.anchor('He said "We will surely not discuss Kaliningrad with anyone')
    assert caught.value.closest.differences == (
        "the source has ':', which the quote leaves out",
        "the quote has 'surely', which the source does not")


def test_closest_passage_of_a_huge_quote_compares_only_its_start():
    source = SourceText("alpha beta gamma delta " * 10)
    with pytest.raises(NotFound) as caught:
        source.anchor("alpha beta gamma delta epsilon " * 200_000)
    assert caught.value.closest.span.start == 0


def test_corpus_finds_a_quote_in_each_source_once_and_never_across_two():
    texts = {"a": SourceText("one two three"), "b": SourceText("four “five” six five"),
             "c": SourceText("three four")}
    corpus = Corpus(texts)
    assert corpus.find('"five"') == [("b", Span(5, 11))]
    assert corpus.find("three") == [("a", Span(8, 13)), ("c", Span(0, 5))]
    assert corpus.find("three four") == [("c", Span(0, 10))]


OMITTED = "The mayor said the bridge, which the council approved in 2019, will open in 2022.\n\nLater: on time."


@pytest.mark.parametrize("mark", ["…", "...", "[…]", "[...]", " … ", "[…] "])
def test_omission_marks_leave_words_out_within_a_paragraph(mark):
    text = SourceText(OMITTED)
    pieces = text.anchor_pieces(f"the bridge,{mark}will open in 2022")
    assert [OMITTED[p.start:p.end] for p in pieces] == ["the bridge,", "will open in 2022"]
    assert text.anchor(f"the bridge,{mark}will open in 2022") == Span(15, 80)


def test_omission_marks_at_either_end_only_say_the_quote_is_cut():
    pieces = SourceText(OMITTED).anchor_pieces("… the council approved in 2019 …")
    assert [OMITTED[p.start:p.end] for p in pieces] == ["the council approved in 2019"]


def test_parts_must_be_in_order_and_in_one_paragraph():
    with pytest.raises(NotFound) as caught:
        SourceText(OMITTED).anchor("will open in 2022 … The mayor said")
    assert caught.value.out_of_order and caught.value.closest is None
    with pytest.raises(NotFound) as caught:
        SourceText(OMITTED).anchor("The mayor said … on time")
    assert caught.value.out_of_order


def test_three_dots_and_the_ellipsis_character_match_each_other_everywhere():
    text = SourceText("He paused... then went on… slowly.")
    assert text.anchor("paused… then") == Span(3, 17)
    assert text.anchor("went on... slowly") == Span(18, 33)
    assert fold("a...b") == fold("a…b") == "a…b"


def test_a_quote_with_omissions_gets_one_text_directive_per_part():
    text = SourceText(OMITTED)
    assert text.text_fragment(text.anchor_pieces("The mayor said […] will open in 2022")) == (
        "#:~:text=The%20mayor%20said&text=will%20open%20in%202022")


def test_paragraph_breaks_are_found_after_folded_runs():
    text = SourceText("a...  b\n \n c … d\r\n\r\ne")
    assert text.anchor_pieces("c … d") == (Span(11, 16),)
    with pytest.raises(NotFound):
        text.anchor("b … c")
    with pytest.raises(NotFound):
        text.anchor("d … e")


def test_folding_skips_only_steps_that_change_nothing():
    """fold and normalise skip a substitution when the text has nothing it would change:
    the same result as every substitution done, on varied whitespace, dots and marks."""
    whitespace, dots = re.compile(r"\s+"), re.compile(r"\.\.\.")
    rng = random.Random(7)
    alphabet = list("ab .,\n\t\r\u00a0\u2028\x85\u3000\u201c\u2019\u2013…é") + ["...", "  "]
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        full = dots.sub("…", whitespace.sub(" ", text)).translate(_FOLD)
        assert normalise(text)[0] == full and fold(text) == full.strip(), repr(text)
