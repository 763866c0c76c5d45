"""The content format (the editors' contract) as pydantic models.

These check the shape of each file: required and unknown fields, types, id
format, dates, URLs. Checks that need more than one file (references,
quotes, uniqueness) live in :mod:`factsite.validate`. The same models give
the JSON Schema that editors' YAML plugins use for autocompletion.
"""

from __future__ import annotations

import calendar
import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
DATE_PATTERN = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
SAFE_SCHEMES = ("http", "https", "mailto")


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


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


Id = Annotated[str, Field(pattern=ID_PATTERN, description="lowercase letters, digits, single hyphens")]
Text = Annotated[str, Field(min_length=1)]
Date = Annotated[str, AfterValidator(_check_date),
                 WithJsonSchema({"type": "string", "pattern": r"^\d{4}(-\d{2}(-\d{2})?)?$",
                                 "description": "YYYY, YYYY-MM or YYYY-MM-DD"})]
Url = Annotated[str, AfterValidator(check_url),
                WithJsonSchema({"type": "string", "format": "uri",
                                "pattern": "^(https?://|mailto:)"})]
Language = Annotated[str, Field(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$",
                                description="BCP 47 language tag, e.g. en, ru, pt-BR")]
Markdown = Annotated[str, Field(description="Markdown; raw HTML is not passed through")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class RatingIn(_Strict):
    id: Id
    label: Text
    description: Text | None = None


class TopicIn(_Strict):
    id: Id
    label: Text
    description: Text | None = None


class PublisherIn(_Strict):
    name: Text
    url: Url | None = None


class SiteIn(_Strict):
    """content/site.yaml"""

    title: Text
    description: Text | None = None
    base_url: Annotated[str, AfterValidator(_check_base_url),
                        WithJsonSchema({"type": "string", "format": "uri",
                                        "pattern": "^https?://.*/$"})] = Field(
        description="absolute address the site is published at, ending in '/'")
    language: Language = "en"
    publisher: PublisherIn
    ratings: list[RatingIn] = Field(default=[], description="verdict scale, best first")
    topics: list[TopicIn] = Field(default=[], description="topics claims may use")


class SourceIn(_Strict):
    """Front matter of content/sources/<id>.txt"""

    title: Text
    outlet: Text | None = None
    url: Url | None = Field(default=None, description="original address")
    archived_url: Url | None = Field(default=None, description="archive copy")
    published: Date | None = None
    language: Language | None = None


class ClaimantIn(_Strict):
    """content/claimants/<id>.yaml"""

    name: Text
    kind: Literal["person", "organization"]
    role: Text | None = None
    same_as: Url | None = Field(default=None, description="e.g. a Wikidata URL")
    description: Markdown | None = None


class PassageIn(_Strict):
    source: Id
    quote: str = Field(description="exact words of the source")
    prefix: str | None = Field(default=None, description="text just before the quote")
    suffix: str | None = Field(default=None, description="text just after the quote")


class UpdateIn(_Strict):
    date: Date
    note: Markdown


class ClaimIn(_Strict):
    """content/claims/<id>.yaml"""

    claim: Text
    claimant: Annotated[list[Id], BeforeValidator(_one_or_many), Field(min_length=1),
                        WithJsonSchema({"anyOf": [
                            {"type": "string", "pattern": ID_PATTERN},
                            {"type": "array", "items": {"type": "string", "pattern": ID_PATTERN},
                             "minItems": 1}]})]
    date: Date = Field(description="when the claim was made")
    venue: Text | None = None
    passages: list[PassageIn] = Field(min_length=1)
    disputes: list[Id] = Field(default=[], description="claims this one is a counterclaim of")
    supports: list[Id] = Field(default=[], description="claims this one corroborates")
    topics: list[Id] = []
    rating: Id | None = None
    analysis: Markdown | None = None
    published: Date | None = Field(default=None, description="when this entry was published")
    updates: list[UpdateIn] = []


class PageIn(_Strict):
    """Front matter of content/pages/<id>.md"""

    title: Text
    description: Text | None = None


MODELS: dict[str, type[_Strict]] = {
    "site": SiteIn, "source": SourceIn, "claimant": ClaimantIn, "claim": ClaimIn, "page": PageIn,
}
