"""Documents → Site: every check, every reference resolved, all problems collected.

Two separate steps. :func:`check` runs the rules: the shape of each file
(pydantic models in :mod:`factsite.schema`), then everything that spans files
(references, quotes, uniqueness); it returns every diagnostic and, when none
is an error, the :class:`Checked` documents. :func:`assemble` turns those into
the frozen :class:`factsite.model.Site`, building every reverse relation from
one index (linear in the archive). :func:`validate` runs both. :func:`dead_links` is
the one rule over the plan, which the pipeline runs once it has planned.
"""

from __future__ import annotations

import bisect
import importlib.util
import os
import posixpath
import re
import sys
import typing
from collections import defaultdict, namedtuple
from dataclasses import dataclass
from functools import partial
from pathlib import PurePath
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Iterable
from urllib.parse import urlsplit

from . import model as m
from .cache import Cache
from .diagnostics import Diagnostic, Lines, errors
from .load import COLLECTIONS, Document, YamlPath
from .markdown import ENTRY_SCHEMES, ROOT, LinkError, Prose, render_markdown
from .passages import (Ambiguous, ContextMismatch, Corpus, EmptyQuote, NotFound, SourceText,
                       Span)
from .suggest import FIELD_SYNONYMS, closest, did_you_mean, listing

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .schema import CaptureIn, ClaimIn, SiteIn


def _on_first_use(name: str) -> ModuleType:
    """The module ``name``, imported when one of its attributes is first read."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    package, _, child = name.rpartition(".")
    if package:  # as an import does: ``import factsite.schema`` then finds it
        setattr(sys.modules[package], child, module)
    return module


# The checks of each file's shape need pydantic and the schema's models (~0.1 s to import):
# they load when a check first reads them, so that the build's own process, which runs only
# :func:`dead_links` over its plan (the check ran in a forked process), never loads them.
pydantic = _on_first_use("pydantic")
schema = _on_first_use("factsite.schema")

# Google's advice for ClaimReview's claimReviewed: longer text is cut in search results.
CLAIM_REVIEWED_LIMIT = 75
PARALLEL_FROM = 2000  # documents: below this, a process for ``meanwhile`` costs more than it saves
# Page ids that would collide with generated sections or files.
RESERVED_PAGE_IDS = frozenset({
    "claims", "claimants", "sources", "topics", "timeline", "search", "static", "threads",
    "feed", "sitemap", "robots", "404", "index", "pagefind", "ratings", "page",
})

# Output the plan does not list: the theme's static files and the search index.
UNPLANNED = ("static/", "pagefind/")
DIFFERENCES_SHOWN = 3  # word differences a 'quote not found' hint names
# Kinds an editor adds with `python build.py new KIND ID`: one file per entity.
NEW_KINDS = frozenset(kind for kind, _ in COLLECTIONS.values())


def validate(documents: Iterable[Document], cache: Cache | None = None,
             ) -> tuple[m.Site | None, list[Diagnostic]]:
    """Return the site (None when there are errors) and every diagnostic found."""
    checked, diagnostics = check(documents, cache)
    if checked is None:
        return None, diagnostics
    site = assemble(checked)
    return site, sorted(diagnostics + unused(site, checked))


def check(documents: Iterable[Document], cache: Cache | None = None, *, jobs: int | None = None,
          meanwhile: Callable[[bool], Callable[[], None]] | None = None,
          ) -> tuple[Checked | None, list[Diagnostic]]:
    """Run every rule; return the checked documents (None on any error) and all diagnostics.

    With a ``cache``, quotes and Markdown seen in an earlier build are not worked out again.
    Everything is checked in this process: forked workers checking the Markdown and the
    claims took more CPU than one process (copying the documents they read, sending back
    what they found) for no time gained. ``meanwhile(apart)``: other work, started first
    and going on beside the checks of shapes, in a process of its own if ``apart``
    (``jobs`` > 1; by default for a large archive); the function it returns waits for it
    to end.
    """
    documents = list(documents)
    if jobs is None:
        jobs = os.cpu_count() or 1 if len(documents) >= PARALLEL_FROM else 1
    return _Checker(documents, cache).run(jobs > 1, meanwhile)


def recheck(checked: Checked, document: Document, cache: Cache | None = None,
            ids: dict[str, set[str]] | None = None) -> tuple[Checked, list[Diagnostic]]:
    """The rules for one document of ``checked`` (a claimant, claim, source or page) that a
    save changed in what it says but not in what it refers to: the dev server's fast path.

    Runs what :func:`check` runs for that document, with the others as ``checked``
    holds them, and returns its diagnostics with what the rules computed for it (its
    parsed model, anchors, Markdown and links, in a :class:`Checked` of that one
    document; ``parsed`` is empty when there are errors). ``ids``: the ids of
    ``checked`` by kind (:func:`known_ids`), when the caller keeps them.
    """
    checker = _Checker([document], cache)
    checker.known_ids.update(ids or known_ids(checked))
    checker.parsed["site"].update(checked.parsed.get("site", {}))
    checker.check_shape(document)
    if not document.failed:
        checker.check_markdown_fields(document)
    site_entry = checked.parsed.get("site", {}).get("site")
    entry = checker.parsed[document.kind].get(document.id) if document.kind != "site" else None
    if entry and document.kind == "claim":
        sources = checked.parsed.get("source", {})
        for passage in entry[1].passages:
            if passage.source in sources:
                source_doc = sources[passage.source][0]
                checker.source_texts[passage.source] = SourceText(source_doc.body or "")
                checker.source_docs[passage.source] = source_doc
        checker.check_claim(document, entry[1], site_entry[1] if site_entry else None)
    if document.kind == "page" and document.id in RESERVED_PAGE_IDS:
        checker.report(document, (), f"page id '{document.id}' is reserved for a generated page",
                       "rename the file")
    checker.check_body(document)
    parsed = {} if errors(checker.diagnostics) or not entry else {document.kind: {document.id: entry}}
    return (Checked(parsed, checker.anchors, checker.markdown, checker.links),
            sorted(checker.diagnostics))


def known_ids(checked: Checked) -> dict[str, set[str]]:
    """The ids of the checked documents, by kind."""
    return {kind: set(entries) for kind, entries in checked.parsed.items()}


@dataclass(frozen=True)
class Checked:
    """Documents that passed every rule, parsed, with what the rules computed on the way."""

    parsed: dict[str, dict[str, tuple[Document, Any]]]  # kind → id → (document, schema model)
    anchors: dict[tuple[str, int], Anchor]  # (claim id, passage index) → where its quote is
    markdown: dict[tuple[str, YamlPath], Prose]  # (file, field) → rendered HTML
    links: list[SiteLink]  # every link to the site in Markdown, for :func:`dead_links`


def _diagnostic(doc: Document, path: YamlPath, message: str, hint: str | None = None, *,
                at_key: bool = False, severity: str = "error") -> Diagnostic:
    line, col = doc.key_mark(path) if at_key else doc.mark(path)
    return Diagnostic(doc.path, line, col, message, hint, severity)


# Where a quote is in its source (all of it, then each part around omissions), with the
# context shown around it and its URL text fragment, in the order of model.Passage's fields.
Anchor = tuple[Span, str, str, str, tuple[Span, ...]]


class _Checker:
    def __init__(self, documents: list[Document], cache: Cache | None = None):
        self.documents = documents
        self.cache = cache
        self.diagnostics: list[Diagnostic] = []
        self.parsed: dict[str, dict[str, tuple[Document, Any]]] = defaultdict(dict)
        self.known_ids: dict[str, set[str]] = defaultdict(set)
        self.source_texts: dict[str, SourceText] = {}
        self.source_docs: dict[str, Document] = {}
        self.corpus: Corpus | None = None  # built at the first quote not found
        self.anchors: dict[tuple[str, int], Anchor] = {}
        self.markdown: dict[tuple[str, YamlPath], Prose] = {}
        self.links: list[SiteLink] = []

    # -- reporting -----------------------------------------------------------

    def report(self, doc: Document, path: YamlPath, message: str, hint: str | None = None,
               *, at_key: bool = False) -> None:
        self.diagnostics.append(_diagnostic(doc, path, message, hint, at_key=at_key))

    # -- passes ----------------------------------------------------------------

    def run(self, apart: bool = False,
            meanwhile: Callable[[bool], Callable[[], None]] | None = None,
            ) -> tuple[Checked | None, list[Diagnostic]]:
        ended = meanwhile(apart) if meanwhile else None
        try:
            for doc in self.documents:
                self.check_shape(doc)
        finally:
            if ended:
                ended()
        # once every id is known: links name entries
        site_entry = self.parsed["site"].get("site")
        for doc in self.documents:
            if not doc.failed:
                self.check_markdown_fields(doc)
        for doc, claim in self.parsed["claim"].values():
            self.check_claim(doc, claim, site_entry[1] if site_entry else None)
        if site_entry:
            self.check_site(*site_entry)
        for doc, _ in self.parsed["page"].values():
            if doc.id in RESERVED_PAGE_IDS:
                self.report(doc, (), f"page id '{doc.id}' is reserved for a generated page",
                            "rename the file")
        for doc in self.documents:  # also those with other problems: report all at once
            self.check_body(doc)
        if (errors(self.diagnostics) or any(doc.failed for doc in self.documents)
                or "site" not in self.parsed["site"]):  # no site.yaml: load reported it
            return None, sorted(self.diagnostics)
        return (Checked(dict(self.parsed), self.anchors, self.markdown, self.links),
                sorted(self.diagnostics))

    def check_body(self, doc: Document) -> None:
        if doc.kind == "source" and not doc.failed and not (doc.body or "").strip():
            self.diagnostics.append(Diagnostic(doc.path, doc.body_line, 1,
                                               "source text is empty",
                                               "paste the archived text after the closing "
                                               "'---' line"))
        todo = doc.kind == "page" and schema.PLACEHOLDER.match(doc.body or "")
        if todo:
            line, col = Lines(doc.body).position(todo.end() - len("TODO"))
            rest = re.split(r"\r\n|\r|\n", doc.body[todo.end():])[0].strip(" :-")
            self.diagnostics.append(Diagnostic(
                doc.path, doc.body_line + line - 1, col,
                "page text is still a TODO placeholder", rest or "write the page in Markdown"))

    def check_shape(self, doc: Document) -> None:
        if doc.kind != "site" and not re.match(schema.ID_PATTERN, doc.id):
            self.report(doc, (), f"invalid id '{doc.id}' (the file name)",
                        f"ids use lowercase letters, digits and single hyphens: "
                        f"rename to '{schema.suggest_id(doc.id)}'")
        self.known_ids[doc.kind].add(doc.id)
        if doc.failed:
            return
        model = schema.MODELS[doc.kind]
        if doc.kind == "source" and doc.body is not None:
            self.source_texts[doc.id] = SourceText(doc.body)
            self.source_docs[doc.id] = doc
        if not isinstance(doc.data, dict):
            what = "empty" if doc.data is None else f"a {_type_name(doc.data)}"
            where = "front matter" if doc.kind in ("source", "page") else "file"
            self.report(doc, (), f"{where} is {what}; expected fields like "
                                 f"'{next(iter(model.model_fields))}: ...'")
            return
        placeholders = []
        for path, text in _placeholders(doc.data):
            placeholders.append(path)
            rest = text.strip()[len("TODO"):].strip(" :-")
            self.report(doc, path, f"'{_field_label(path)}' is still a TODO placeholder",
                        rest or "replace it with the real value")
        try:
            parsed = model.model_validate(doc.data)
        except pydantic.ValidationError as error:
            for problem in error.errors(include_url=False):
                loc = tuple(problem["loc"])
                if not any(loc[:len(path)] == path for path in placeholders):
                    self.report_shape_problem(doc, model, problem)
            return
        if placeholders:
            return  # checking references and quotes would only repeat the placeholders
        self.parsed[doc.kind][doc.id] = (doc, _plain(parsed))

    def report_shape_problem(self, doc: Document, model: type[BaseModel], problem: dict) -> None:
        loc = tuple(problem["loc"])
        kind, value = problem["type"], problem.get("input")
        name = _field_label(loc)
        if kind == "missing":
            self.report(doc, loc[:-1], f"missing required field '{loc[-1]}'")
        elif kind == "extra_forbidden":
            known = _fields_at(model, loc[:-1])
            close = closest(str(loc[-1]), known, FIELD_SYNONYMS)
            hint = did_you_mean(close) if close else "known fields: " + ", ".join(known)
            if " " in str(loc[-1]) and not close:  # no field name has a space: a wrapped line
                hint = ("if this line goes on with the value above it, indent it further than "
                        "that field's name (or put the value in quotes); " + hint)
            self.report(doc, loc, f"unknown field '{loc[-1]}'", hint, at_key=True)
        elif kind == "value_error" and isinstance(problem.get("ctx", {}).get("error"),
                                                  schema.Invalid):
            invalid = problem["ctx"]["error"]
            self.report(doc, loc, invalid.message, invalid.hint)
        elif kind == "string_pattern_mismatch" and problem["ctx"]["pattern"] == schema.ID_PATTERN:
            self.report(doc, loc, f"invalid id '{value}' in '{name}'",
                        f"ids use lowercase letters, digits and single hyphens, "
                        f"like '{schema.suggest_id(str(value))}'")
        elif kind == "string_pattern_mismatch":
            self.report(doc, loc, f"invalid value '{value}' for '{name}'",
                        "a language tag looks like 'en', 'ru' or 'pt-BR'"
                        if loc[-1] == "language" else None)
        elif kind == "string_type":
            self.report(doc, loc, f"'{name}' must be text, not {_type_name(value)}",
                        "put the value in quotes" if isinstance(value, bool) else None)
        elif kind == "list_type":
            self.report(doc, loc, f"'{name}' must be a list, not {_type_name(value)}",
                        "write [a, b] or one '- item' per line")
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            self.report(doc, loc, f"'{name}' must be a mapping of fields, not {_type_name(value)}")
        elif kind == "too_short" and isinstance(value, list):
            self.report(doc, loc, f"'{name}' needs at least one entry")
        elif kind == "string_too_long":
            limit = problem["ctx"]["max_length"]
            self.report(doc, loc, f"'{name}' is too long: {len(value):,} characters; "
                                  f"at most {limit:,}",
                        "quote only the words that record the claim; another passage can "
                        "record another part" if loc[-1] in ("quote", "prefix", "suffix")
                        else "shorten it")
        elif kind == "too_long":
            limit, count = problem["ctx"]["max_length"], problem["ctx"]["actual_length"]
            self.report(doc, loc, f"'{name}' has too many entries: {count:,}; at most {limit:,}")
        elif kind == "string_too_short":
            self.report(doc, loc, f"'{name}' must not be empty")
        elif kind == "literal_error":
            allowed = problem["ctx"]["expected"].replace("'", "")
            options = re.findall(r"'([^']*)'", problem["ctx"]["expected"])
            close = closest(str(value), options)
            self.report(doc, loc, f"'{name}' must be one of {allowed}, not '{value}'",
                        did_you_mean(close) if close else None)
        else:  # pragma: no cover - a pydantic error type we do not word ourselves
            self.report(doc, loc, f"'{name}': {problem['msg']}")

    def check_claim(self, doc: Document, claim: ClaimIn, site: SiteIn | None) -> None:
        self.check_references(doc, ("claimant",), claim.claimant, "claimant")
        for index, passage in enumerate(claim.passages):
            self.check_passage(doc, index, passage)
        for relation in ("disputes", "supports"):
            targets = getattr(claim, relation)
            self.check_references(doc, (relation,), targets, "claim")
            for index, target in enumerate(targets):
                if target == doc.id:
                    verb = "dispute" if relation == "disputes" else "support"
                    self.report(doc, (relation, index), f"a claim cannot {verb} itself")
        for index, target in enumerate(claim.supports):
            if target in claim.disputes:
                self.report(doc, ("supports", index),
                            f"claim '{target}' is both disputed and supported",
                            "keep it in one of 'disputes' or 'supports'")
        if site is not None:
            if site.topics:
                self.check_references(doc, ("topics",), claim.topics, "topic",
                                      known={t.id for t in site.topics})
            if claim.rating is not None:
                ratings = {r.id for r in site.ratings}
                if not ratings:
                    self.report(doc, ("rating",), f"unknown rating '{claim.rating}'",
                                "content/site.yaml defines no ratings")
                else:
                    self.check_references(doc, ("rating",), [claim.rating], "rating",
                                          known=ratings, single=True)

    def check_references(self, doc: Document, path: YamlPath, ids: list[str], kind: str, *,
                         known: set[str] | None = None, single: bool = False) -> None:
        """Each id must name an existing ``kind`` (claim, claimant, source, topic, rating)."""
        known = self.known_ids[kind] if known is None else known
        seen: set[str] = set()
        for index, ref in enumerate(ids):
            where = path if single else path + (index,)
            if ref in seen:
                self.report(doc, where, f"{kind} '{ref}' is listed twice")
            seen.add(ref)
            if ref not in known:
                self.report(doc, where, f"unknown {kind} '{ref}'",
                            unknown_id_hint(kind, ref, known, doc.path))

    def check_passage(self, doc: Document, index: int, passage: Any) -> None:
        here = ("passages", index)
        if passage.source not in self.known_ids["source"]:
            self.check_references(doc, here + ("source",), [passage.source], "source",
                                  single=True)
            return
        text = self.source_texts.get(passage.source)
        if text is None:
            return  # the source itself failed to load and is reported there
        source_path = self.source_docs[passage.source].path
        try:
            self.anchors[(doc.id, index)] = self.anchor(text, passage)
        except EmptyQuote:
            self.report(doc, here + ("quote",), "quote is empty",
                        "copy the exact words from the source")
        except NotFound as missing:
            self.report(doc, here + ("quote",), f"quote not found in {source_path}",
                        self.not_found_hint(passage, missing))
        except Ambiguous as ambiguous:
            lines = _line_list(self.source_line_col(passage.source, s.start)
                               for s in ambiguous.occurrences)
            count = len(ambiguous.occurrences)
            if ambiguous.narrowed:
                self.report(doc, here + ("quote",),
                            f"quote occurs {count} times in {source_path} ({lines}) "
                            f"even with its prefix/suffix",
                            "make prefix or suffix longer so that only one occurrence matches")
            else:
                self.report(doc, here + ("quote",),
                            f"quote occurs {count} times in {source_path} ({lines})",
                            "add 'prefix:' or 'suffix:' with the words just before or after "
                            "the occurrence you mean")
        except ContextMismatch as mismatch:
            lines = _line_list(self.source_line_col(passage.source, s.start)
                               for s in mismatch.occurrences)
            field = "prefix" if passage.prefix else "suffix"
            self.report(doc, here + (field,),
                        f"prefix/suffix match none of the occurrences of the quote in "
                        f"{source_path} ({lines})",
                        "copy the words just before (prefix) or after (suffix) the quote exactly")

    def not_found_hint(self, passage: Any, missing: NotFound) -> str:
        """Where else the quote is, else the closest passage and how the quote differs."""
        if self.corpus is None:
            self.corpus = Corpus(self.source_texts)
        elsewhere = [(s, span) for s, span in self.corpus.find(passage.quote)
                     if s != passage.source]
        if elsewhere:
            source_id, span = elsewhere[0]
            line, col = self.source_line_col(source_id, span.start)
            others = (f" (and in {len(elsewhere) - 1} other source"
                      f"{'s' if len(elsewhere) > 2 else ''})" if len(elsewhere) > 1 else "")
            return (f"found in {self.source_docs[source_id].path}:{line}:{col}{others} — "
                    f"did you mean 'source: {source_id}'?")
        closest = missing.closest
        if missing.out_of_order:
            return ("each part of the quote is in the source, but not in this order within "
                    "one paragraph; words left out ('…') must be in the same paragraph")
        if closest is None:
            return "nothing in the source is close to it"
        text = self.source_texts[passage.source].text
        line, col = self.source_line_col(passage.source, closest.span.start)
        excerpt = _shorten(text[closest.span.start:closest.span.end])
        hint = (f"closest passage ({self.source_docs[passage.source].path}:{line}:{col}): "
                f"\"{excerpt}\"")
        shown = closest.differences[:DIFFERENCES_SHOWN]
        if shown:
            hint += "; " + "; ".join(shown)
        if len(closest.differences) > len(shown):
            more = len(closest.differences) - len(shown)
            hint += f"; and {more} more difference{'s' if more > 1 else ''}"
        return hint

    def anchor(self, text: SourceText, passage: Any) -> Anchor:
        """Anchor the passage's quote in ``text``; raises an AnchorError when it cannot."""
        def work() -> Anchor:
            pieces = text.anchor_pieces(passage.quote, passage.prefix, passage.suffix)
            span = Span(pieces[0].start, pieces[-1].end)
            return (span, *text.context(span), text.text_fragment(pieces), pieces)
        if self.cache is None:
            return work()
        return self.cache.memo("anchors", (self.cache.key(text.text), passage.quote,
                                           passage.prefix, passage.suffix), work)

    def source_line_col(self, source_id: str, offset: int) -> tuple[int, int]:
        """Line and column in the source *file* of a character of its text."""
        line, col = self.source_texts[source_id].line_col(offset)
        return line + self.source_docs[source_id].body_line - 1, col

    def check_site(self, doc: Document, site: SiteIn) -> None:
        for field in ("ratings", "topics"):
            seen: dict[str, int] = {}
            for index, item in enumerate(getattr(site, field)):
                if item.id in seen:
                    first = doc.mark((field, seen[item.id], "id"))[0]
                    self.report(doc, (field, index, "id"), f"duplicate {field[:-1]} id '{item.id}'",
                                f"'{item.id}' is already defined on line {first}")
                seen.setdefault(item.id, index)

    def check_markdown_fields(self, doc: Document) -> None:
        """Render every Markdown field once, reporting disallowed links where they are.

        Works on the raw values, so links are checked even when the file's shape is wrong.
        """
        data = doc.data if isinstance(doc.data, dict) else {}
        fields: list[tuple[YamlPath, Any]] = []
        if doc.kind == "claimant":
            fields.append((("description",), data.get("description")))
        if doc.kind == "claim":
            fields.append((("analysis",), data.get("analysis")))
            updates = data.get("updates")
            for i, update in enumerate(updates if isinstance(updates, list) else []):
                if isinstance(update, dict):
                    fields.append((("updates", i, "note"), update.get("note")))
        if doc.kind == "page":
            fields.append(((), doc.body))
        for path, text in fields:
            if not isinstance(text, str):
                continue
            html, problems, links = self.render_markdown(text, doc)
            self.markdown[(doc.path, path)] = html

            def where(line: int) -> tuple[int, int]:
                if path == ():
                    return doc.body_line + line, 1
                start, col = doc.mark(path)
                return start + line, col
            for problem in problems:
                self.diagnostics.append(Diagnostic(doc.path, *where(problem.line),
                                                   problem.message, problem.hint))
            self.links += [SiteLink(doc.path, *where(link.line), link.href,
                                    link.target[len(ROOT):])
                           for link in links if link.target.startswith(ROOT)]

    def render_markdown(self, text: str, doc: Document) -> tuple[Prose, list, list]:
        """Markdown → HTML with its links resolved; from the cache when every link it
        holds still resolves to the same place."""
        resolve = partial(self.resolve_link, doc)
        if self.cache is None:
            return render_markdown(text, resolve)

        def same_links(found: tuple[Prose, list, list]) -> bool:
            try:
                return not found[1] and all(resolve(link.href) == link.target for link in found[2])
            except LinkError:
                return False
        return self.cache.memo("markdown", (self.cache.key(text), doc.kind, doc.id),
                               lambda: render_markdown(text, resolve), valid=same_links)

    def resolve_link(self, doc: Document, href: str) -> str:
        """``claim:ID`` and the like → the entry's URL; a relative link → the URL it leads
        to from the page the text is on. Both become site-relative (behind ROOT)."""
        home = m.entry_url(doc.kind, doc.id)
        parts = urlsplit(href)
        scheme = parts.scheme.lower()
        rest = href[len(parts.scheme) + 1:] if scheme else href
        if scheme in ENTRY_SCHEMES:
            entry_id, _, fragment = rest.partition("#")
            known = self.known_topics() if scheme == "topic" else self.known_ids[scheme]
            if entry_id not in known:
                raise LinkError(f"unknown {scheme} '{entry_id}' in link '{href}'",
                                unknown_id_hint(scheme, entry_id, known, doc.path))
            return ROOT + m.entry_url(scheme, entry_id) + (f"#{fragment}" if fragment else "")
        if scheme or parts.netloc or not (parts.path or parts.query):
            return href  # absolute (checked already) or a fragment of the same page
        path = parts.path
        if path.startswith("/"):  # from the site's root (which may be a sub-path when published)
            page = path.lstrip("/")
        else:
            page = posixpath.normpath(posixpath.join(home, path)) if path else home.rstrip("/")
            if page == ".." or page.startswith("../"):
                raise LinkError(f"link '{href}' leads outside the site",
                                "link to an entry as claim:ID, claimant:ID, source:ID, topic:ID "
                                "or page:ID")
            page = "" if page == "." else page
            if page and (path.endswith("/") or path.rsplit("/", 1)[-1] in (".", "..") or not path):
                page += "/"
        return ROOT + page + href[len(parts.path):]

    def known_topics(self) -> set[str]:
        """Topic ids with a page: those site.yaml defines, else those claims use."""
        site = self.parsed["site"].get("site")
        if site and site[1].topics:
            return {t.id for t in site[1].topics}
        return {t for _, claim in self.parsed["claim"].values() for t in claim.topics}


@dataclass(frozen=True)
class SiteLink:
    """A link in Markdown to a page of the site, where it was written."""

    path: str
    line: int
    col: int
    href: str  # as written
    target: str  # site-relative, maybe with '?query' or '#fragment'


def dead_links(links: Iterable[SiteLink], produced: set[str]) -> list[Diagnostic]:
    """Links to pages the build does not produce (``produced``: site-relative URLs and
    file paths of the plan). One set lookup per link."""
    found = []
    for link in links:
        page = link.target.split("#", 1)[0].split("?", 1)[0]
        if page in produced or page.startswith(UNPLANNED):
            continue
        hint = ("link to an entry as claim:ID, claimant:ID, source:ID, topic:ID or page:ID: "
                "those are checked and work from every page")
        if link.href.split("#", 1)[0].split("?", 1)[0] != "/" + page:
            hint = f"from this text it leads to '/{page}'; " + hint
        found.append(Diagnostic(link.path, link.line, link.col,
                                f"link '{link.href}' leads to no page of the site", hint))
    return found


# What makes a source or a claimant used: (kind, the relation that must not be empty, warning).
_UNUSED = {m.Source: ("source", "citations", "source '{}' is not cited by any claim"),
           m.Claimant: ("claimant", "claims", "claimant '{}' has no claims")}


def unused(site: m.Site, checked: Checked, entities: Iterable[Any] | None = None,
           ) -> list[Diagnostic]:
    """Warnings for what nothing uses (uncited sources, claimants without claims) and for
    rated claims without analysis or too long for a ClaimReview; ``entities``: of these
    sources, claimants and claims alone (default: all of the site's)."""
    parsed = checked.parsed
    found = []
    if entities is None:
        entities = (*site.sources, *site.claimants, *site.claims)
    for entity in entities:
        if type(entity) in _UNUSED:
            kind, used, message = _UNUSED[type(entity)]
            if not getattr(entity, used):
                found.append(_diagnostic(parsed[kind][entity.id][0], (),
                                         message.format(entity.id), severity="warning"))
            continue
        claim = entity
        if claim.rating and not claim.analysis_html:
            found.append(_diagnostic(parsed["claim"][claim.id][0], ("rating",),
                                     "rated claim has no analysis",
                                     "explain the verdict in 'analysis' for readers",
                                     severity="warning"))
        if claim.rating and len(claim.text) > CLAIM_REVIEWED_LIMIT:
            found.append(_diagnostic(parsed["claim"][claim.id][0], ("claim",),
                                     f"rated claim is {len(claim.text)} characters long; search "
                                     f"engines show at most {CLAIM_REVIEWED_LIMIT} of a reviewed claim",
                                     f"shorten it to {CLAIM_REVIEWED_LIMIT} characters or fewer",
                                     severity="warning"))
    return found


def assemble(checked: Checked) -> m.Site:
    """The frozen, resolved site. Every relation is indexed once, both ways: linear."""
    parsed, markdown, anchors = checked.parsed, checked.markdown, checked.anchors
    _, site_in = parsed["site"]["site"]
    scale = len(site_in.ratings)
    ratings = {r.id: m.Rating(r.id, r.label, r.description, i + 1, scale)
               for i, r in enumerate(site_in.ratings)}
    topic_labels = {t.id: (t.label, t.description) for t in site_in.topics}

    claimants = {doc.id: new_entity(doc, c, checked)
                 for doc, c in _sorted(parsed.get("claimant", {}))}
    sources = {doc.id: new_entity(doc, s, checked)
               for doc, s in _sorted(parsed.get("source", {}))}
    claim_entries = _sorted(parsed.get("claim", {}))
    used_topics = sorted({t for _, c in claim_entries for t in c.topics})
    topics = {
        topic_id: m.Topic(topic_id, *topic_labels.get(topic_id, _unlisted_topic(topic_id)))
        for topic_id in (list(topic_labels) if topic_labels else used_topics)
    }

    claims = {doc.id: _new_claim(doc, c, claimants, ratings, topics, markdown)
              for doc, c in claim_entries}

    # Reverse indexes, each filled in one pass over the claims in date order: each list of
    # claims comes out in that order, without a sort of its own.
    ordered = _chronological(claims.values())
    citations: dict[str, list[m.Passage]] = defaultdict(list)
    disputed_by: dict[str, list[m.Claim]] = defaultdict(list)
    supported_by: dict[str, list[m.Claim]] = defaultdict(list)
    by_claimant: dict[str, list[m.Claim]] = defaultdict(list)
    by_topic: dict[str, list[m.Claim]] = defaultdict(list)
    by_rating: dict[str, list[m.Claim]] = defaultdict(list)
    entries = {doc.id: c for doc, c in claim_entries}
    for claim in ordered:
        c = entries[claim.id]
        _link_claim(claim, c, claims, sources, anchors)
        for passage in claim.passages:
            citations[passage.source.id].append(passage)
        for target in dict.fromkeys(c.disputes):
            disputed_by[target].append(claim)
        for target in dict.fromkeys(c.supports):
            supported_by[target].append(claim)
        for claimant_id in dict.fromkeys(c.claimant):
            by_claimant[claimant_id].append(claim)
        for topic_id in dict.fromkeys(c.topics):
            by_topic[topic_id].append(claim)
        if c.rating:
            by_rating[c.rating].append(claim)
    for claim in claims.values():
        m.link(claim, disputed_by=tuple(disputed_by[claim.id]),
               supported_by=tuple(supported_by[claim.id]))
    for thread in m.build_threads(ordered):
        for node in thread.walk():
            m.link(node.claim, thread=thread)
    for source in sources.values():
        m.link(source, citations=_in_text_order(citations[source.id]))
    for claimant in claimants.values():
        m.link(claimant, claims=tuple(by_claimant[claimant.id]))
    for topic in topics.values():
        m.link(topic, claims=tuple(by_topic[topic.id]))
    for rating in ratings.values():
        m.link(rating, claims=tuple(by_rating[rating.id]))

    pages = tuple(
        new_entity(doc, p, checked)
        for doc, p in sorted(parsed.get("page", {}).values(), key=lambda e: (e[1].title, e[0].id))
    )
    publisher = m.Publisher(site_in.publisher.name, site_in.publisher.url)
    return m.Site(
        site_in.title, site_in.description, site_in.base_url, site_in.language, publisher,
        tuple(ratings.values()), tuple(topics.values()),
        tuple(claimants.values()), tuple(sources.values()),
        ordered, pages, site_in.page_size, site_in.feed_size,
    )


def _unlisted_topic(topic_id: str) -> tuple[str, None]:
    """The label and description of a topic site.yaml does not list."""
    return topic_id.replace("-", " ").capitalize(), None


def _new_claim(doc: Document, c: ClaimIn, claimants: dict[str, m.Claimant],
               ratings: dict[str, m.Rating], topics: dict[str, m.Topic],
               markdown: dict[tuple[str, YamlPath], Prose]) -> m.Claim:
    """A claim with its own fields, before its passages and relations are linked."""
    updates = tuple(sorted(
        (m.Update(_date(u.date), markdown[(doc.path, ("updates", i, "note"))])
         for i, u in enumerate(c.updates)),
        key=lambda u: u.date.sort_key))
    return m.Claim(
        doc.id, c.claim, tuple(claimants[i] for i in c.claimant), _date(c.date), c.venue,
        ratings.get(c.rating) if c.rating else None,
        tuple(topics[t] for t in c.topics),
        markdown.get((doc.path, ("analysis",))), _date(c.published), updates)


def _link_claim(claim: m.Claim, c: ClaimIn, claims: dict[str, m.Claim],
                sources: dict[str, m.Source], anchors: dict[tuple[str, int], Anchor]) -> None:
    """Give a claim its passages and the claims it disputes and supports."""
    m.link(claim,
           passages=tuple(m.Passage(claim, index + 1, sources[p.source], p.quote,
                                    *anchors[(claim.id, index)])
                          for index, p in enumerate(c.passages)),
           disputes=_chronological(claims[i] for i in c.disputes),
           supports=_chronological(claims[i] for i in c.supports))


def _in_text_order(passages: Iterable[m.Passage]) -> tuple[m.Passage, ...]:
    """A source's citations in the order their quotes appear in its text."""
    return tuple(sorted(passages, key=lambda p: (p.span.start, -p.span.end, p.anchor)))


_CLAIM_OWN = ("text", "claimants", "date", "venue", "rating", "topics", "analysis_html",
              "published", "updates")  # a claim's fields that are not links to others


def patch_claims(site: m.Site, checked: Checked,
                 entries: dict[str, tuple[Document, ClaimIn] | None],
                 by_id: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """:func:`assemble` for a few claims added, changed or deleted, the rest as it was: the
    dev server's path for a save that changes what claims refer to.

    ``entries``: claim id → its checked (document, model), None when it was deleted;
    ``checked`` already holds their anchors and Markdown. Patches ``site`` and its
    entities in place (a changed claim stays the same object) and returns every entity
    whose fields changed, by key (None for one that is gone). Only what the claims
    referred to before and refer to now is visited, and the threads they belong to.
    The caller makes sure no other claim refers to a deleted one. When site.yaml lists no
    topics, the topics are those the claims use: one appears with its first claim and
    goes with its last. ``by_id``: the site's claims, claimants and sources by kind and id,
    which the caller keeps between saves; the claims' table is patched too.
    """
    from .cache import entity_key

    claims, claimants, sources = by_id["claim"], by_id["claimant"], by_id["source"]
    topics = {t.id: t for t in site.topics}
    ratings = {r.id: r for r in site.ratings}
    touched: dict[str, Any] = {}

    def touch(entity: Any) -> None:
        touched[entity_key(entity)] = entity

    region: set[m.Claim] = set()  # claims whose thread may change
    for claim_id in entries:  # what the claims referred to before
        claim = claims.get(claim_id)
        if claim is None:
            continue
        for entity in (*claim.claimants, *claim.topics, *claim.disputes, *claim.supports,
                       *claim.disputed_by, *claim.supported_by, claim.rating):
            if entity is not None:
                touch(entity)
        for passage in claim.passages:
            touch(passage.source)
            touched[entity_key(passage)] = None
        region |= set(_members(claim.thread)) if claim.thread else {claim}
    derived = not checked.parsed["site"]["site"][1].topics
    for entry in entries.values() if derived else ():
        for topic_id in entry[1].topics if entry else ():
            if topic_id not in topics:
                topics[topic_id] = m.Topic(topic_id, *_unlisted_topic(topic_id))
                touch(topics[topic_id])
    changed = {}
    for claim_id, entry in entries.items():
        if entry is None:
            touched[f"claim:{claim_id}"] = None
            region.discard(claims.pop(claim_id))
            continue
        doc, c = entry
        claim = _new_claim(doc, c, claimants, ratings, topics, checked.markdown)
        if claim_id in claims:  # the same object: other claims refer to it
            m.link(claims[claim_id], **{name: getattr(claim, name) for name in _CLAIM_OWN})
            claim = claims[claim_id]
        claims[claim_id] = changed[claim_id] = claim
    for claim_id, claim in changed.items():  # what they refer to now
        _link_claim(claim, entries[claim_id][1], claims, sources, checked.anchors)
        touch(claim)
        region.add(claim)
        for entity in (*claim.claimants, *claim.topics, *claim.disputes, *claim.supports,
                       claim.rating):
            if entity is not None:
                touch(entity)
        for passage in claim.passages:
            touch(passage.source)
            touch(passage)

    def patched(listed: tuple[m.Claim, ...], holds: Any) -> tuple[m.Claim, ...]:
        """``listed`` without the claims of ``changed`` (and the deleted), with those of
        ``changed`` for which ``holds(claim)``, in date order."""
        return _merged(listed, entries_ids, [c for c in changed.values() if holds(c)])

    entries_ids = set(entries)
    for key, entity in list(touched.items()):
        if entity is None:
            continue
        kind = type(entity)
        if kind is m.Claimant:
            m.link(entity, claims=patched(entity.claims, lambda c: entity in c.claimants))
        elif kind is m.Topic:
            m.link(entity, claims=patched(entity.claims, lambda c: entity in c.topics))
        elif kind is m.Rating:
            m.link(entity, claims=patched(entity.claims, lambda c: c.rating is entity))
        elif kind is m.Source:
            m.link(entity, citations=_in_text_order(
                [p for p in entity.citations if p.claim.id not in entries_ids]
                + [p for c in changed.values() for p in c.passages if p.source is entity]))
            for passage in entity.citations:  # its url names the page of the source holding it
                touch(passage)
        elif kind is m.Claim:
            m.link(entity,
                   disputed_by=patched(entity.disputed_by, lambda c: entity in c.disputes),
                   supported_by=patched(entity.supported_by, lambda c: entity in c.supports),
                   disputes=_chronological(entity.disputes),  # a date changed: another order
                   supports=_chronological(entity.supports))
            for claimant in entity.claimants:  # its disputed_by shows on their pages
                touch(claimant)
    for topic in [t for t in topics.values() if derived and not t.claims]:
        del topics[topic.id]
        touched[entity_key(topic)] = None
    m.link(site, claims=_merged(site.claims, entries_ids, changed.values()), topics=tuple(
        topics[t] for t in sorted(topics)) if derived else site.topics)
    touch(site)
    # Threads: those of the claims visited, before and after, built again (the others
    # are the same trees); each claim of the region gets its new node, or none.
    region |= {c for c in touched.values() if type(c) is m.Claim}
    for node in m.build_threads(_chronological(_component(region))):
        for member in node.walk():
            m.link(member.claim, thread=node)
            region.discard(member.claim)
            touch(member.claim)
    for claim in region:
        if claim.id in claims:
            m.link(claim, thread=None)
            touch(claim)
    for entity in touched.values():
        if entity is not None:
            m.forget_computed(entity)
    return touched


def _members(thread: m.ThreadNode) -> Iterable[m.Claim]:
    return (node.claim for node in thread.walk())


def _component(claims: Iterable[m.Claim]) -> set[m.Claim]:
    """``claims`` and every claim linked to them, however far, by disputes or supports."""
    found: set[m.Claim] = set()
    queue = list(claims)
    while queue:
        claim = queue.pop()
        if claim in found:
            continue
        found.add(claim)
        queue += [*claim.disputes, *claim.supports, *claim.disputed_by, *claim.supported_by]
    return found


def new_entity(doc: Document, parsed: Any, checked: Checked) -> Any:
    """The claimant, source or page of a checked document, before anything refers to it."""
    markdown = checked.markdown
    if doc.kind == "claimant":
        return m.Claimant(doc.id, parsed.name, parsed.kind, parsed.role, parsed.same_as,
                          markdown.get((doc.path, ("description",))))
    if doc.kind == "source":
        language = parsed.language or checked.parsed["site"]["site"][1].language
        return m.Source(doc.id, parsed.title, parsed.outlet, parsed.url, parsed.archived_url,
                        _date(parsed.published), language, doc.body or "",
                        _capture(parsed.capture))
    return m.Page(doc.id, parsed.title, parsed.description, markdown[(doc.path, ())])


def unknown_id_hint(kind: str, ref: str, known: Iterable[str], path: str) -> str:
    """What to do about a reference to a missing ``kind``: the close ids, or how to add one.

    ``path`` is the referring file (in ``<content>/<collection>/``), which tells
    where the site's content directory is.
    """
    # never a file name that is no id
    known = sorted(k for k in known if re.match(schema.ID_PATTERN, k))
    close = closest(ref, known)
    if close:
        return did_you_mean(close)
    content = PurePath(path).parent.parent
    if kind in NEW_KINDS:
        option = "" if content == PurePath("content") else f" --content {content}"
        how = f"to add one: python build.py new {kind} {ref}{option}"
    else:
        how = f"{kind}s are defined under '{kind}s' in {content / 'site.yaml'}"
    if not known:
        return f"there are no {kind}s yet; {how}"
    if len(known) == 1:
        return f"nothing is close (the only {kind} is '{known[0]}'); {how}"
    return f"nothing is close among the {len(known)} {kind}s ({listing(known)}); {how}"


def _sorted(entries: dict[str, tuple[Document, Any]]) -> list[tuple[Document, Any]]:
    return [entries[key] for key in sorted(entries)]


def _chronological(claims: Iterable[m.Claim]) -> tuple[m.Claim, ...]:
    claims = tuple(claims)
    return claims if len(claims) < 2 else tuple(sorted(claims, key=m.Claim.chronological))


def _merged(listed: tuple[m.Claim, ...], gone: set[str], added: Iterable[m.Claim],
            ) -> tuple[m.Claim, ...]:
    """``listed`` (in date order) without the claims whose ids are ``gone``, with ``added``
    in their places: no sort of a long list (the site's claims) on every save."""
    kept = [c for c in listed if c.id not in gone]
    for claim in added:
        bisect.insort(kept, claim, key=m.Claim.chronological)
    return tuple(kept)


def _date(text: str | None) -> m.PartialDate | None:
    return m.PartialDate(*schema.parse_date(text)) if text else None


def _capture(capture: CaptureIn | None) -> m.Capture | None:
    return capture and m.Capture(capture.url, capture.date, capture.sha256)


_RECORDS: dict[type[BaseModel], type] = {}  # schema model → its plain record


def _plain(value: Any) -> Any:
    """A validated schema model as a plain named tuple of the same fields, nested models
    too: what the rules and :func:`assemble` read of it. A pydantic instance costs ~2.6 KB
    a claim (its dict and the set of fields given), ~250 MiB at 100,000 claims held
    through the check; the record, a tenth of that."""
    if isinstance(value, pydantic.BaseModel):
        kind = type(value)
        record = _RECORDS.get(kind)
        if record is None:
            record = _RECORDS[kind] = namedtuple(kind.__name__, list(kind.model_fields))
        return record._make(_plain(item) for item in value.__dict__.values())
    if type(value) is list and value and isinstance(value[0], pydantic.BaseModel):
        return [_plain(item) for item in value]
    return value


def _fields_at(model: type[BaseModel], loc: YamlPath) -> list[str]:
    """Field names of the (nested) model that ``loc`` points into."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        annotation = current.model_fields[part].annotation
        current = _find_model(annotation)
        if current is None:
            return []
    return list(current.model_fields)


def _find_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _find_model(arg)
        if found:
            return found
    return None


def _field_label(loc: YamlPath) -> str:
    label = ""
    for part in loc:
        label += f"[{part}]" if isinstance(part, int) else (f".{part}" if label else str(part))
    return label


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "empty"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "text"


def _placeholders(value: Any, path: YamlPath = ()) -> Iterable[tuple[YamlPath, str]]:
    """Text values still holding a scaffold placeholder ('TODO ...'), in file order."""
    if isinstance(value, str) and schema.PLACEHOLDER.match(value):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _placeholders(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _placeholders(item, path + (index,))


def _shorten(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def _line_list(positions: Iterable[tuple[int, int]]) -> str:
    return "at " + ", ".join(f"{line}:{col}" for line, col in positions)
