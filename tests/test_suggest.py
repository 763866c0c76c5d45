"""'Did you mean' only when something is really close."""

from __future__ import annotations

import pytest

from factsite.suggest import FIELD_SYNONYMS, closest, did_you_mean, listing

CLAIMANTS = ["antony-blinken", "dmitry-peskov", "european-union", "russian-government",
             "sergei-ryabkov", "ukrainian-government", "us-state-department"]


@pytest.mark.parametrize("typed, meant", [
    ("dmitri-peskov", ["dmitry-peskov"]),       # a typo in one word
    ("peskov", ["dmitry-peskov"]),              # one word of the id
    ("dmitrypeskov", ["dmitry-peskov"]),        # the hyphen left out
    ("antony-blinken-jr", ["antony-blinken"]),  # a word too many
    ("state-department", ["us-state-department"]),
    ("government", ["russian-government", "ukrainian-government"]),  # a tie names both
])
def test_close_ids_are_suggested(typed, meant):
    assert closest(typed, CLAIMANTS) == meant


@pytest.mark.parametrize("typed", [
    "xq-nobody", "us-government", "joe-biden", "sergey-lavrov", "eu", "john-kirby",
])
def test_ids_that_only_look_alike_are_not_suggested(typed):
    assert closest(typed, CLAIMANTS) == []


@pytest.mark.parametrize("typed, meant", [
    ("publisher", "outlet"), ("site", "outlet"), ("newspaper", "outlet"), ("link", "url"),
    ("archive_url", "archived_url"), ("titel", "title"), ("date", "published"),
])
def test_source_fields_know_typos_and_synonyms(typed, meant):
    fields = ["title", "outlet", "url", "archived_url", "published", "language"]
    assert closest(typed, fields, FIELD_SYNONYMS) == [meant]


@pytest.mark.parametrize("typed", ["author", "speaker", "said_by"])
def test_claim_fields_know_synonyms(typed):
    assert closest(typed, ["claim", "claimant", "date", "venue"], FIELD_SYNONYMS) == ["claimant"]


def test_a_synonym_is_only_suggested_where_that_field_exists():
    assert closest("link", ["name", "kind", "role", "same_as"], FIELD_SYNONYMS) == []


def test_listing_is_complete_or_says_how_many_it_leaves_out():
    assert listing(["b", "a"]) == "b, a"
    ids = [f"id-{n:02d}" for n in range(11)]
    assert listing(ids) == "id-00, id-01, id-02, id-03, id-04, id-05, id-06, id-07 and 3 more"


def test_did_you_mean_wording():
    assert did_you_mean(["a"]) == "did you mean 'a'?"
    assert did_you_mean(["a", "b"]) == "did you mean 'a' or 'b'?"
