"""UI strings and date formats of the theme, in the site's language.

Translations live beside the templates, in ``templates/i18n/<language>.yaml``:
a flat mapping of message keys to text with ``{placeholders}``; plural messages
map CLDR plural categories (``one``, ``few``, ``many``, ``other``) to text.
English is complete and the fallback: a language without a file, or a key
missing from a file, uses English.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from .diagnostics import ContentError, Diagnostic
from .load import load_yaml
from .model import PartialDate

FALLBACK = "en"


def plural_category(language: str, n: int) -> str:
    """CLDR cardinal plural category for the languages we ship; 'one'/'other' elsewhere."""
    if language == "ru":
        if n % 10 == 1 and n % 100 != 11:
            return "one"
        if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            return "few"
        return "many"
    return "one" if n == 1 else "other"


class MissingTranslation(LookupError):
    """A template asked for a message no translation file has."""


class Translations:
    def __init__(self, language: str, messages: dict[str, Any], fallback: dict[str, Any]):
        self.language = language
        self.messages = messages
        self.fallback = fallback
        # Rendering asks for the same strings and dates thousands of times.
        self._escaped: dict[str, Markup] = {}
        self._dates: dict[PartialDate, Markup] = {}
        self._plurals: dict[tuple[str, int], Markup] = {}  # (key, n) given no other values

    @classmethod
    def load(cls, directory: Path, language: str) -> Translations:
        """Read the fallback and the language's file; raises ContentError for a broken one."""
        fallback = _read(directory / f"{FALLBACK}.yaml")
        for candidate in (language, language.split("-")[0]):
            file = directory / f"{candidate}.yaml"
            if file.is_file():
                return cls(candidate, _read(file), fallback)
        return cls(FALLBACK, fallback, fallback)

    def lookup(self, key: str) -> Any:
        if key in self.messages:
            return self.messages[key]
        if key in self.fallback:
            return self.fallback[key]
        raise MissingTranslation(
            f"no translation for '{key}' in {self.language}.yaml or {FALLBACK}.yaml")

    def text(self, key: str, **values: Any) -> Markup:
        """The message with ``values`` filled in, HTML-escaped unless already markup."""
        message = self._escaped.get(key)
        if message is None:
            message = self._escaped[key] = escape(str(self.lookup(key)))
        return _format(message, values) if values else message

    def plural(self, key: str, n: int, **values: Any) -> Markup:
        """The form of the message for ``n``, with ``n`` and ``values`` filled in; made once
        per key and whole number when there are no other values (a claim page asks for
        ~3 counts, mostly the same few: 3.4 → 0.4 µs each)."""
        if values or type(n) is not int:  # True == 1, yet shows as "True"
            return self._plural(key, n, values)
        found = self._plurals.get((key, n))
        if found is None:
            found = self._plurals[key, n] = self._plural(key, n, values)
        return found

    def _plural(self, key: str, n: int, values: dict[str, Any]) -> Markup:
        forms = self.lookup(key)
        language = self.language if key in self.messages else FALLBACK
        form = forms.get(plural_category(language, n)) or forms["other"]
        return _format(escape(form), {"n": n, **values})

    def date(self, date: PartialDate) -> Markup:
        found = self._dates.get(date)
        if found is None:
            found = self._dates[date] = self._format_date(date)
        return found

    def _format_date(self, date: PartialDate) -> Markup:
        if date.month is None:
            return Markup(date.year)
        if date.day is None:
            return self.text("date_month", month=self.lookup("months")[date.month - 1],
                             year=date.year)
        return self.text("date_day", day=date.day, year=date.year,
                         month=self.lookup("months_in_date")[date.month - 1])


_PLAIN_FIELDS: dict[str, bool] = {}  # message → whether its fields are all bare {names}
_FIELD_TYPES = frozenset({str, Markup, int})


def _format(message: Markup, values: dict[str, Any]) -> Markup:
    """``message.format(**values)``, sooner for bare ``{name}`` fields given text, markup or
    whole numbers (every message a template fills): each value escaped as ``Markup.format``
    escapes it, then one ``str.format`` in C instead of markupsafe's formatter in Python
    (a twentieth of a page's CPU)."""
    plain = _PLAIN_FIELDS.get(message)
    if plain is None:
        plain = _PLAIN_FIELDS[message] = all(
            name is None or name.isidentifier() and not spec and conversion is None
            for _, name, spec, conversion in _FORMATTER.parse(message))
    if not plain or not _FIELD_TYPES.issuperset(map(type, values.values())):
        return message.format(**values)
    return _new_markup(Markup, str.format(message, **{
        name: value if type(value) is not str else _escape_text(value)
        for name, value in values.items()}))


_new_markup = str.__new__  # Markup of text known to be safe, without markupsafe's Python
try:  # markupsafe 3: its escaping in C, without the Python around it
    from markupsafe import _escape_inner as _escape_text
except ImportError:  # markupsafe 2: all of escape() is in C
    _escape_text = escape


_FORMATTER = string.Formatter()


def _read(file: Path) -> dict[str, Any]:
    """A translation file, read with content's YAML 1.2 loader; its problems at their lines."""
    try:
        document = load_yaml(file, "translations")
    except FileNotFoundError:
        raise ContentError([Diagnostic(str(file), 1, 1, "translation file not found",
                                       f"the theme needs {file.name}: every other language "
                                       "falls back to it")]) from None
    data = document.data
    if not isinstance(data, dict):
        raise ContentError([Diagnostic(str(file), 1, 1, "a translation file maps message keys "
                                                        "to text", "write 'key: text' lines")])
    problems = []
    for key, value in data.items():
        if not (isinstance(value, str)
                or isinstance(value, list) and all(isinstance(v, str) for v in value)
                or isinstance(value, dict) and all(isinstance(v, str) for v in value.values())):
            problems.append(Diagnostic(str(file), *document.mark((key,)),
                                       f"'{key}' must be text, a list of texts or plural forms",
                                       'e.g. \'{one: "{n} claim", other: "{n} claims"}\''))
    if problems:
        raise ContentError(problems)
    return data
