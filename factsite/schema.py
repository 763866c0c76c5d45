"""The content format (the editors' contract) as pydantic models.

These check the shape of each file: required and unknown fields, types, id
format, dates, URLs. Checks that need more than one file (references,
quotes, uniqueness) live in :mod:`factsite.validate`. The same models give
the JSON Schema that editors' YAML plugins use for autocompletion.
"""

from __future__ import annotations

import calendar
import json
import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from .markdown import SAFE_SCHEMES

ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
DATE_PATTERN = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
TIMESTAMP_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
SHA256_PATTERN = r"^[0-9a-f]{64}$"
LANGUAGE_PATTERN = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")  # a BCP 47 tag's shape
# A text value starting with the word TODO is a placeholder left by `build.py new`:
# validation reports it as an error so that it is never published.
PLACEHOLDER = re.compile(r"\s*TODO\b")


class Invalid(ValueError):
    """A field value that is wrong, with a hint on how to fix it."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message, self.hint = message, hint


def parse_date(text: str) -> tuple[int, int | None, int | None]:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` as (year, month, day); a real calendar date."""
    match = DATE_PATTERN.fullmatch(text)
    if not match:
        raise Invalid(f"invalid date '{text}'", "write YYYY, YYYY-MM or YYYY-MM-DD, e.g. 2022-01-16")
    year, month, day = (int(part) if part else None for part in match.groups())
    if month is not None and not 1 <= month <= 12:
        raise Invalid(f"impossible date '{text}': there is no month {month}",
                      "months run from 01 to 12")
    if day is not None:
        last = calendar.monthrange(year, month)[1]
        if not 1 <= day <= last:
            raise Invalid(f"impossible date '{text}': {calendar.month_name[month]} {year} "
                          f"has {last} days")
    return year, month, day


def check_url(url: str) -> str:
    """Absolute http(s) or mailto URLs only: no ``javascript:``, ``data:`` or bare paths."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in SAFE_SCHEMES or (parts.scheme.lower() != "mailto"
                                                     and not parts.netloc):
        raise Invalid(f"'{url}' is not an absolute http(s) or mailto URL",
                      "write the full address, e.g. https://example.org/page")
    if any(c.isspace() for c in url.strip()):
        raise Invalid(f"'{url}' contains whitespace", "percent-encode spaces as %20")
    return url.strip()


def _check_timestamp(text: str) -> str:
    if not TIMESTAMP_PATTERN.fullmatch(text):
        raise Invalid(f"invalid time '{text}'",
                      "write YYYY-MM-DDTHH:MM:SSZ in UTC, e.g. 2022-01-16T09:30:00Z")
    parse_date(text[:10])
    hour, minute, second = (int(part) for part in text[11:19].split(":"))
    if hour > 23 or minute > 59 or second > 60:  # 60: a leap second
        raise Invalid(f"impossible time '{text}'", "hours run from 00 to 23, minutes from 00 to 59")
    return text


def _check_sha256(text: str) -> str:
    if not re.fullmatch(SHA256_PATTERN, text):
        raise Invalid(f"invalid SHA-256 '{text}'",
                      "64 lowercase hexadecimal digits, as `python build.py import` writes them")
    return text


def _check_date(text: str) -> str:
    parse_date(text)
    return text


def _check_base_url(url: str) -> str:
    url = check_url(url)
    if not url.startswith(("http://", "https://")):
        raise Invalid(f"base_url '{url}' must be an http(s) address")
    if not url.endswith("/"):
        raise Invalid(f"base_url '{url}' must end with '/'", f"write '{url}/'")
    return url


def override_base_url(url: str) -> str:
    """A base URL given on the command line (``--base-url``), checked like site.yaml's.

    One difference: a missing trailing '/' is added, because deployment tools
    hand out addresses without one (GitHub's configure-pages gives
    ``https://owner.github.io/repo``). Queries and fragments are refused.
    """
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise Invalid(f"base_url '{url}' is not an absolute http(s) address",
                      "write the full address, e.g. https://owner.github.io/repo/")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise Invalid(f"base_url '{url}' must not have a query or fragment")
    return _check_base_url(url if url.endswith("/") else url + "/")


def suggest_id(raw: str) -> str:
    """The nearest valid id to ``raw``: lowercase words joined by single hyphens."""
    return "-".join(re.findall(r"[a-z0-9]+", raw.lower())) or "my-id"


def _count(value: object) -> object:
    """A positive whole number, written plainly (YAML numbers reach us as text)."""
    if isinstance(value, str):
        if not re.fullmatch(r"[1-9][0-9]{0,5}", value.strip()):
            raise Invalid(f"'{value}' is not a whole number from 1 to 999999", "write e.g. 50")
        return int(value)
    return value


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


# Limits, in characters or entries: far above what a hand-written entry needs, and low
# enough that every build step stays fast whatever a file holds (a file's size is
# limited too: see factsite.load).
ID_LIMIT = 100
NAME_LIMIT = 300  # names, titles, labels, outlets, roles, venues
TEXT_LIMIT = 2_000  # a claim, a description
QUOTE_LIMIT = 5_000  # a quote, its prefix or its suffix
LIST_LIMIT = 100  # the claimants, passages, relations, topics and updates of one claim
SCALE_LIMIT = 1_000  # the ratings and the topics of a site

Id = Annotated[str, Field(pattern=ID_PATTERN, max_length=ID_LIMIT,
                          description="lowercase letters, digits, single hyphens")]
Name = Annotated[str, Field(min_length=1, max_length=NAME_LIMIT)]
Text = Annotated[str, Field(min_length=1, max_length=TEXT_LIMIT)]
Quote = Annotated[str, Field(max_length=QUOTE_LIMIT)]


def _ids(min_items: int = 0) -> object:
    """One id or a list of ids: `topics: nato` means `topics: [nato]`."""
    one = {"type": "string", "pattern": ID_PATTERN, "maxLength": ID_LIMIT}
    array = {"type": "array", "items": one, "maxItems": LIST_LIMIT}
    return Annotated[list[Id], BeforeValidator(_one_or_many),
                     Field(min_length=min_items, max_length=LIST_LIMIT),
                     WithJsonSchema({"anyOf": [one, {**array, "minItems": min_items} if min_items
                                               else array]})]


Ids = _ids()
OneOrMoreIds = _ids(min_items=1)
Count = Annotated[int, BeforeValidator(_count),
                  WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 999999})]
Date = Annotated[str, AfterValidator(_check_date),
                 WithJsonSchema({"type": "string", "pattern": r"^\d{4}(-\d{2}(-\d{2})?)?$",
                                 "description": "YYYY, YYYY-MM or YYYY-MM-DD"})]
Url = Annotated[str, AfterValidator(check_url),
                WithJsonSchema({"type": "string", "format": "uri",
                                "pattern": "^(https?://|mailto:)"})]
Timestamp = Annotated[str, AfterValidator(_check_timestamp),
                      WithJsonSchema({"type": "string", "pattern": f"^{TIMESTAMP_PATTERN.pattern}$",
                                      "description": "UTC time: YYYY-MM-DDTHH:MM:SSZ"})]
Sha256 = Annotated[str, AfterValidator(_check_sha256),
                   WithJsonSchema({"type": "string", "pattern": SHA256_PATTERN})]
Language = Annotated[str, Field(pattern=f"^{LANGUAGE_PATTERN.pattern}$",
                                description="BCP 47 language tag, e.g. en, ru, pt-BR")]
Markdown = Annotated[str, Field(description="Markdown; raw HTML is not passed through")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# Field descriptions are what editors show on hover (see `python build.py schema`).

class RatingIn(_Strict):
    """One step of the verdict scale."""

    model_config = ConfigDict(title="Rating")
    id: Id = Field(description="rating id used in claims' 'rating'; quote \"false\"")
    label: Name = Field(description="shown to readers, e.g. Accurate")
    description: Text | None = Field(default=None, description="what the verdict means")


class TopicIn(_Strict):
    """A topic claims may be filed under."""

    model_config = ConfigDict(title="Topic")
    id: Id = Field(description="topic id used in claims' 'topics'")
    label: Name = Field(description="shown to readers")
    description: Text | None = Field(default=None, description="shown on the topic page")


class PublisherIn(_Strict):
    """Who publishes the site."""

    model_config = ConfigDict(title="Publisher")
    name: Name = Field(description="name of the fact-checking organisation")
    url: Url | None = Field(default=None, description="its home page")


class SiteIn(_Strict):
    """factsite: content/site.yaml, the site itself."""

    model_config = ConfigDict(title="factsite site.yaml")
    title: Name = Field(description="required: the site's name")
    description: Text | None = Field(default=None, description="one sentence on what it covers")
    base_url: Annotated[str, AfterValidator(_check_base_url),
                        WithJsonSchema({"type": "string", "format": "uri",
                                        "pattern": "^https?://.*/$"})] = Field(
        description="required: absolute address the site is published at, ending in '/'")
    language: Language = Field(default="en", description="language of the site, e.g. en")
    publisher: PublisherIn = Field(description="required: {name: ..., url: ...}")
    ratings: list[RatingIn] = Field(default=[], max_length=SCALE_LIMIT, description="verdict scale, best first")
    topics: list[TopicIn] = Field(
        default=[], max_length=SCALE_LIMIT, description="topics claims may use; when empty, any topic id may be used")
    page_size: Count = Field(
        default=50, description="claims per page of every listing (home, timeline, topics, ...)")
    feed_size: Count = Field(
        default=50, description="entries in feed.xml, the latest first")


class CaptureIn(_Strict):
    """Where and when the text was captured (written by `python build.py import`)."""

    model_config = ConfigDict(title="Capture")
    url: Url = Field(description="required: the address the text was captured from")
    date: Timestamp = Field(description="required: when, in UTC: YYYY-MM-DDTHH:MM:SSZ")
    sha256: Sha256 | None = Field(
        default=None, description="SHA-256 (hex) of content/captures/<id>.warc.gz, "
                                  "the recorded HTTP exchange")


class SourceIn(_Strict):
    """factsite: the front matter of content/sources/<id>.txt, an archived source document."""

    model_config = ConfigDict(title="factsite source")
    title: Name = Field(description="required: the headline of the source")
    outlet: Name | None = Field(default=None, description="the publication, e.g. Sputnik")
    url: Url | None = Field(default=None, description="original address")
    archived_url: Url | None = Field(default=None, description="archive copy")
    published: Date | None = Field(default=None,
                                   description="publication date: YYYY, YYYY-MM or YYYY-MM-DD")
    language: Language | None = Field(default=None,
                                      description="language tag; default: the site's language")
    capture: CaptureIn | None = Field(
        default=None, description="where and when the text was captured: {url, date, sha256}")


class ClaimantIn(_Strict):
    """factsite: content/claimants/<id>.yaml, a person or organisation that makes claims."""

    model_config = ConfigDict(title="factsite claimant")
    name: Name = Field(description="required: the name as readers should see it")
    kind: Literal["person", "organization"] = Field(description="required: person or organization")
    role: Name | None = Field(default=None, description="office or function, e.g. Press Secretary")
    same_as: Url | None = Field(default=None, description="e.g. a Wikidata URL")
    description: Markdown | None = Field(default=None, description="who they are, in Markdown")


class PassageIn(_Strict):
    """Where the record shows the claim: a quote from one source."""

    model_config = ConfigDict(title="Passage")
    source: Id = Field(description="required: a source id (content/sources/<id>.txt)")
    quote: Quote = Field(description="required: the exact words of the source")
    prefix: Quote | None = Field(
        default=None, description="text just before the quote, when it occurs more than once")
    suffix: Quote | None = Field(
        default=None, description="text just after the quote, when it occurs more than once")


class UpdateIn(_Strict):
    """One entry of the corrections log."""

    model_config = ConfigDict(title="Update")
    date: Date = Field(description="required: YYYY, YYYY-MM or YYYY-MM-DD")
    note: Markdown = Field(description="required: what changed, in Markdown")


class ClaimIn(_Strict):
    """factsite: content/claims/<id>.yaml, one claim and the passages that record it."""

    model_config = ConfigDict(title="factsite claim")
    claim: Text = Field(description="required: the claim in one sentence")
    claimant: OneOrMoreIds = Field(
        description="required: a claimant id, or a list of claimant ids")
    date: Date = Field(
        description="required: when the claim was made: YYYY, YYYY-MM or YYYY-MM-DD")
    venue: Name | None = Field(default=None, description="where it was made")
    passages: list[PassageIn] = Field(
        min_length=1, max_length=LIST_LIMIT, description="required, at least one: where the record shows it")
    disputes: Ids = Field(default=[], description="claims this one is a counterclaim of: "
                                                  "a claim id, or a list of claim ids")
    supports: Ids = Field(default=[], description="claims this one corroborates: "
                                                  "a claim id, or a list of claim ids")
    topics: Ids = Field(default=[], description="a topic id, or a list of topic ids")
    rating: Id | None = Field(default=None, description="a rating id from site.yaml")
    analysis: Markdown | None = Field(default=None,
                                      description="the editors' note, in Markdown")
    published: Date | None = Field(default=None, description="when this entry was published")
    updates: list[UpdateIn] = Field(default=[], max_length=LIST_LIMIT, description="corrections log, oldest first")


class PageIn(_Strict):
    """factsite: the front matter of content/pages/<id>.md."""

    model_config = ConfigDict(title="factsite page")
    title: Name = Field(description="required: the page title")
    description: Text | None = Field(default=None, description="one sentence for search results")


MODELS: dict[str, type[_Strict]] = {
    "site": SiteIn, "source": SourceIn, "claimant": ClaimantIn, "claim": ClaimIn, "page": PageIn,
}

JSON_SCHEMA_DIALECT = "http://json-schema.org/draft-07/schema#"


def json_schema_files() -> dict[str, str]:
    """``<kind>.schema.json`` → its text, for ``python build.py schema``.

    Deterministic: sorted keys, two-space indent, a trailing newline. Declared
    as draft-07, the newest draft yaml-language-server fully supports; the
    models only use keywords that mean the same in draft-07 and 2020-12.
    """
    files = {}
    for kind, model in MODELS.items():
        schema = {"$schema": JSON_SCHEMA_DIALECT,
                  "$comment": "generated from factsite/schema.py by `python build.py schema`; "
                              "do not edit",
                  **model.model_json_schema()}
        files[f"{kind}.schema.json"] = json.dumps(schema, indent=2, sort_keys=True,
                                                  ensure_ascii=False) + "\n"
    return files
