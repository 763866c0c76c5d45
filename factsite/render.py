"""Templates: plan(site) → pages, render(page) → text, and rendering a whole plan on all cores.

Jinja runs with autoescape on and ``StrictUndefined``; content only ever
reaches templates as values, never as template source.

:func:`render_pages` is the render stage: worker processes render chunks of the
plan and write each page straight into the staging directory, returning only
its path and digest, so no process holds the rendered site. Workers are forked
(they inherit the site and the plan); the model also pickles, for platforms
that spawn.
"""

from __future__ import annotations

import gc
import heapq
import mmap
import multiprocessing
import os
import sys
from array import array
from dataclasses import dataclass, field, replace
from functools import cached_property, partial
from itertools import groupby
from operator import attrgetter
from pathlib import Path
from types import MethodType
from typing import Any, Callable, Iterable, Sequence
from urllib.parse import urlsplit

import jinja2
from jinja2.nodes import EvalContext
from jinja2.utils import missing
from markupsafe import Markup, escape

from . import export
from .cache import RECORDED, BuildState, Deferred, ReadNumbers, Recorder, fingerprint
from .diagnostics import ContentError, Diagnostic
from .i18n import MissingTranslation, Translations
from .markdown import ROOT, Prose, UnplacedProse
from .model import (Claim, Claimant, Pagination, PartialDate, Rating, Site, Source, ThreadNode,
                    ThreadPart, Topic, paginate, thread_parts)
from .parallel import Apart, ignore_sigint
from .write import write_file


SITEMAP_LIMIT = 50_000  # URLs per sitemap file (sitemaps.org protocol)
TIMELINE_YEARS = 25  # years a page of the timeline's index (~40 elements each)
CHUNK = 64  # pages a worker renders per task: few messages, yet a steady progress line
# Chunks a forked worker renders before it exits and a fresh one is forked. CPython's
# reference counts write to every object a page reads, so a worker copies, page by page,
# the parts of the model it touched; and its recorder's table grows with every new read.
# A worker that lives for a bounded batch keeps both bounded, whatever the archive's size.
# Pages render in the order of their search shards (random across the model): after 8
# chunks a worker had copied ~45 MiB at 10,000 claims (4 chunks: ~15 MiB less, ~5% more CPU).
BATCH = 8
# A smaller archive's workers live longer: BATCH_CLAIMS // claims chunks, at least BATCH (so
# from 40,000 claims on, BATCH). A fresh worker copies again what the one before it had
# copied, and numbers its reads again: at 10,000 claims, 32 chunks instead of 8 took the
# render stage's CPU from ~15.0 to ~12.4 s (faults 443,000 → 185,000) for the same peak.
BATCH_CLAIMS = 320_000
# The macros whose text is rendered once per arguments (its links placed at each page's root)
# and reused with what it read: see :meth:`_RecordingEnvironment.card`. Claim cards, which
# listings show: each claim's card is on ~6 pages (its topics', its month's, its rating's, the
# home page's, its claimant's); the rating scale and rating badges, on every claim page alike;
# a claimant's card, on each of its claims' pages.
CARDS = frozenset({"claim_summary", "rating_scale", "rating_badge", "claimant_card"})
CARDS_HELD = 50_000  # cards a process keeps (~0.6 KiB each): the rest are rendered where shown


@dataclass(frozen=True)
class Page:
    url: str  # site-relative, '' for the home page, 'claims/x/' for a claim
    template: str | None  # None for data files, which ``produce`` their text
    context: dict[str, Any] = field(default_factory=dict)
    output: str = ""  # file under site/; derived from url when empty
    produce: Callable[[], Iterable[str]] | None = None  # the text in pieces
    lastmod: PartialDate | None = None  # the latest date a claim it shows was published or updated

    @property
    def path(self) -> str:
        return self.output or f"{self.url}index.html"

    @property
    def in_sitemap(self) -> bool:
        """A page readers reach at its own address (not the 404 page, not a data file)."""
        return self.path.endswith(".html") and self.path != "404.html"


def plan(site: Site) -> list[Page]:
    """Every file of the site with the objects its template shows.

    Listings are cut into pages of ``site.page_size`` claims (:class:`Pagination`);
    each page is an independent object, so pages render in any order.
    """
    return [page for pages in plan_sections(site).values() for page in pages]


Section = tuple[str, ...]  # ('home',), ('claim', id), ('topic', id), ...


def plan_sections(site: Site, keep: dict[Section, list[Page]] | None = None,
                  layout: tuple[ThreadGroups, dict[str, str]] | None = None,
                  ) -> dict[Section, list[Page]]:
    """:func:`plan`'s pages by section (a listing, an entry's pages, the sitemap), in order.

    ``keep``: sections planned earlier for this same site object whose entities did
    not change (the dev server's, after it patched a few claims): they are taken as
    they are, and only the others are planned. A claim's section is kept only while
    its thread's address is the same. The sitemap and the data files are planned
    every time (they list everything). ``layout``: :func:`thread_groups` of the site's
    threads, when the caller has it (the threads' pages are kept only if it is the one
    they were planned from).
    """
    keep = keep or {}
    size = site.page_size
    sections: dict[Section, list[Page]] = {}

    def section(key: Section, make: Callable[[], list[Page]]) -> None:
        found = keep.get(key)
        sections[key] = make() if found is None else found

    groups, thread_urls = layout or thread_groups(site.threads, size)
    dated = {} if all(key in keep for key in DATED) else dated_sections(site)
    for key in DATED[:3]:
        section(key, lambda key=key: dated[key])
    section(("threads",), lambda: _thread_pages(groups))
    section(("search",), lambda: [Page("search/", "search.html")])
    for claim in site.claims:
        found = keep.get(("claim", claim.id))
        if found is None or found[0].context["thread_url"] != thread_url(claim, thread_urls):
            found = entry_pages(site, claim, thread_urls)
        sections[("claim", claim.id)] = found
    for group in (site.claimants, site.sources):
        for entity in group:
            section(entry_section(entity), lambda e=entity: entry_pages(site, e, thread_urls))
    section(("sources",), lambda: _listing("sources/", "sources.html", site.sources, size))
    section(("claimants",), lambda: _listing("claimants/", "claimants.html", site.claimants, size))
    section(("topics",), lambda: _listing("topics/", "topics.html", site.topics, size))
    for group in (site.topics, site.ratings):
        for entity in group:
            section(entry_section(entity), lambda e=entity: entry_pages(site, e, thread_urls))
    for page in site.pages:
        if page.id != "corrections":
            section(("page", page.id), lambda p=page: [Page(p.url, "page.html", {"page": p})])
    section(("corrections",), lambda: dated[("corrections",)])
    sections[("sitemap",)] = _sitemaps([(p.url, p.lastmod) for pages in sections.values()
                                        for p in pages if not p.output or p.in_sitemap])
    sections[("files",)] = [
        Page("", "404.html", {"root": urlsplit(site.base_url).path}, output="404.html"),
        Page("", "feed.xml", {"claims": _newest_first(site.claims, site.feed_size),
                              "updated": _latest(site.claims)},
             output="feed.xml"),
        Page("", "robots.txt", output="robots.txt"),
        *data_pages(site),
    ]
    return sections


def data_pages(site: Site) -> list[Page]:
    """The data files: the whole archive, each made by its own function (never a template)."""
    return [
        Page("", None, output="claims.json", produce=partial(export.claims_json, site)),
        Page("", None, output="claims.csv", produce=partial(export.claims_csv, site)),
        Page("", None, output="claimreview.json", produce=partial(export.claimreview_feed, site)),
    ]


def start_data_files(site: Site, staging: Path) -> Apart:
    """A process forked now that writes :func:`data_pages` into ``staging``, for
    :func:`render_pages` (``data_files``) to take.

    Forked as soon as the site is there, it makes them while this process plans the
    pages and sets up the render workers, which it used to wait for (~0.5 s of one core
    at 10,000 claims). What exists now is frozen out of the collector's reach: a
    collection would write to every object the process shares (render_pages thaws it).
    """
    pages = data_pages(site)
    gc.freeze()
    return Apart("wrote the data files", _data_files, pages, range(len(pages)), staging)


DATED: tuple[Section, ...] = (("home",), ("timeline",), ("months",), ("corrections",))


def dated_sections(site: Site) -> dict[Section, list[Page]]:
    """The sections that list every claim by date (:data:`DATED`): the home page, the
    timeline, the months and the corrections log."""
    size = site.page_size
    months = _by_month(site.claims)
    return {
        ("home",): _listing("", "index.html", site.latest_claims, size),
        ("timeline",): _timeline_pages(months),
        ("months",): _month_pages(months, size),
        # The corrections log, below the text of content/pages/corrections.md if there is one.
        ("corrections",): _listing("corrections/", "corrections.html", site.corrections, size,
                                   page=next((p for p in site.pages if p.id == "corrections"),
                                             None)),
    }


_ENTRY_KINDS = {Claim: "claim", Claimant: "claimant", Source: "source", Topic: "topic",
                Rating: "rating"}


def entry_section(entity: Claim | Claimant | Source | Topic | Rating) -> Section:
    """The section of an entry's own pages: ``('claim', id)``, ``('topic', id)``..."""
    return (_ENTRY_KINDS[type(entity)], entity.id)


def entry_pages(site: Site, entity: Claim | Claimant | Source | Topic | Rating,
                thread_urls: dict[str, str]) -> list[Page]:
    """An entry's own pages: a claim's, a source's, or the listing of a claimant's, a
    topic's or a rating's claims. ``thread_urls``: :func:`thread_groups`' addresses."""
    size = site.page_size
    kind = type(entity)
    if kind is Claim:
        # Its counterclaims, then the claims supporting it: any number, so paginated.
        linked = [("disputed_by", c) for c in entity.disputed_by] + [
            ("supported_by", c) for c in entity.relations["supported_by"]]
        context = {"claim": entity, "jsonld": Deferred(export.claim_jsonld_script, entity, site),
                   "thread_url": thread_url(entity, thread_urls)}
        return [Page(p.url, "claim.html", {
            **context, "pagination": p,
            "counterclaims": tuple(c for relation, c in p.items if relation == "disputed_by"),
            "supporters": tuple(c for relation, c in p.items if relation == "supported_by")},
            lastmod=entity.last_updated) for p in paginate(linked, entity.url, size)]
    if kind is Source:  # a page for each part of its text
        return [Page(p.url, "source.html", {"source": entity, "pagination": p},
                     lastmod=_latest(entity.cited_by)) for p in paginate(entity.parts, entity.url, 1)]
    name = _ENTRY_KINDS[kind]
    return _listing(entity.url, f"{name}.html", entity.claims, size, **{name: entity})


def thread_url(claim: Claim, thread_urls: dict[str, str]) -> str | None:
    """The address of the part of its thread that shows ``claim``, if it is in one."""
    return claim.thread and thread_urls.get(claim.id)


def _month_pages(months: list[tuple[PartialDate, list[Claim]]], size: int) -> list[Page]:
    """Each month's listing, linked to the months either side."""
    pages = []
    linked = [(month, month_url(month)) for month, _ in months]
    for n, (month, claims) in enumerate(months):
        neighbours = {"previous_month": linked[n - 1] if n else None,
                      "next_month": linked[n + 1] if n + 1 < len(months) else None}
        pages += _listing(month_url(month), "month.html", claims, size, month=month, **neighbours)
    return pages


def _listing(url: str, template: str, items: tuple[Any, ...] | list[Any], size: int,
             **context: Any) -> list[Page]:
    """The pages of a listing of claims (or sources), each with its :class:`Pagination`."""
    return [_listed(template, p, context) for p in paginate(items, url, size)]


def _listed(template: str, p: Pagination, context: dict[str, Any]) -> Page:
    return Page(p.url, template, {**context, "pagination": p},
                lastmod=_latest(c for c in p.items if isinstance(c, Claim)))


def home_page(site: Site) -> Page:
    """The home page alone: the first page of the listing :func:`dated_sections` plans, made
    without the others (the dev server renders it first when a claim came or went)."""
    size = site.page_size
    [first] = paginate(site.claims[:-size - 1:-1], "", size)
    return _listed("index.html", replace(first, count=max(1, -(-len(site.claims) // size))), {})


ThreadGroups = list[list[ThreadPart]]


def thread_groups(threads: tuple[ThreadNode, ...], size: int,
                  ) -> tuple[ThreadGroups, dict[str, str]]:
    """Threads packed whole onto pages of at most ``size`` claims (a larger thread is cut
    into parts of ``size``: :func:`thread_parts`), and the address of the part showing
    each claim of a thread, by claim id. Quick: a claim's page links to its thread's, so
    a save plans this before any listing."""
    groups: ThreadGroups = [[]]
    held = 0
    for thread in threads:
        for part in thread_parts(thread, size):
            if groups[-1] and held + part.size > size:
                groups.append([])
                held = 0
            groups[-1].append(part)
            held += part.size
    urls = {}
    listing = Pagination((), 1, len(groups), "threads/")
    for number, group in enumerate(groups, start=1):
        url = listing.url_of(number)
        for part in group:
            address = f"{url}#{part.anchor}"
            urls.update((claim.id, address) for claim in part.claims())
    return groups, urls


def _thread_pages(groups: ThreadGroups) -> list[Page]:
    """The pages of :func:`thread_groups`' groups."""
    pages = []
    for pagination in paginate(groups, "threads/", 1):
        [group] = pagination.items
        pagination = replace(pagination, items=tuple(group))
        pages.append(Page(pagination.url, "threads.html", {"pagination": pagination},
                          lastmod=_latest(c for part in group for c in part.claims())))
    return pages


def month_url(month: PartialDate) -> str:
    """``timeline/2022/01/``; claims dated by year only are at ``timeline/2022/``."""
    return f"timeline/{month.year:04d}/" + (f"{month.month:02d}/" if month.month else "")


def _by_month(claims: tuple[Claim, ...]) -> list[tuple[PartialDate, list[Claim]]]:
    """Claims grouped by month, oldest first; a year-only date heads its year."""
    return [(PartialDate(*month), list(group)) for month, group in
            groupby(claims, key=lambda c: (c.date.year, c.date.month))]


def _timeline_pages(months: list[tuple[PartialDate, list[Claim]]]) -> list[Page]:
    """The timeline's index: :data:`TIMELINE_YEARS` years of months a page."""
    pages = []
    for p in paginate(_month_index(months), "timeline/", TIMELINE_YEARS):
        years = {year for year, _ in p.items}
        pages.append(Page(p.url, "timeline.html", {"pagination": p}, lastmod=_latest(
            c for month, claims in months if month.year in years for c in claims)))
    return pages


def _month_index(months: list[tuple[PartialDate, list[Claim]]],
                 ) -> list[tuple[int, list[tuple[PartialDate, int, str]]]]:
    """(year, [(month, claims in it, its URL)]) for the timeline's index."""
    return [(year, [(month, len(claims), month_url(month)) for month, claims in group])
            for year, group in groupby(months, key=lambda mc: mc[0].year)]


def _latest(claims: Iterable[Claim]) -> PartialDate | None:
    return max(map(_LAST_UPDATED, claims), key=_SORT_KEY, default=None)


_LAST_UPDATED, _SORT_KEY = attrgetter("last_updated"), attrgetter("sort_key")  # on every save


def _sitemaps(entries: list[tuple[str, PartialDate | None]]) -> list[Page]:
    """One sitemap.xml, or an index of sitemap-N.xml files when there are too many URLs."""
    chunks = [entries[i:i + SITEMAP_LIMIT] for i in range(0, len(entries), SITEMAP_LIMIT)] or [[]]
    if len(chunks) == 1:
        return [Page("", "sitemap.xml", {"urls": chunks[0]}, output="sitemap.xml")]
    parts = [Page("", "sitemap.xml", {"urls": chunk}, output=f"sitemap-{n}.xml")
             for n, chunk in enumerate(chunks, start=1)]
    index = Page("", "sitemap-index.xml", {"sitemaps": [p.path for p in parts]},
                 output="sitemap.xml")
    return [index, *parts]


def _newest_first(claims: tuple[Claim, ...], count: int) -> list[Claim]:
    """The ``count`` claims first published last."""
    return heapq.nlargest(count, claims, key=lambda c: (c.first_published.sort_key, c.id))


_new_markup = str.__new__
try:  # markupsafe 3: escaping in C, wrapped in two Python calls
    from markupsafe import _escape_inner
except ImportError:  # markupsafe 2: all of ``escape`` is in C
    _escape_inner = None


def _escape(value: Any) -> Markup:
    """markupsafe's ``escape``, sooner for what templates print most: text and markup.

    The same result, without markupsafe 3's Python-level ``escape`` and
    ``Markup.__new__`` around its C escaping (a sixth of a page's CPU)."""
    kind = type(value)
    if kind is str:
        return _new_markup(Markup, _escape_inner(value))
    if kind is Markup:
        return value
    return escape(value)


class _Macro(jinja2.runtime.Macro):
    """Jinja's macro, called sooner with positional arguments only (what templates do)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._plain = not (self.caller or self.catch_kwargs or self.catch_varargs)
        self._card = self._plain and self.name in CARDS

    @jinja2.pass_eval_context
    def __call__(self, *args: Any, **kwargs: Any) -> str:
        # ``Context.call`` passes the evaluation context first (pass_eval_context).
        if (self._plain and not kwargs and args and type(args[0]) is EvalContext
                and len(args) <= self._argument_count + 1):
            arguments = args[1:]
            if len(arguments) < self._argument_count:  # left to their defaults, as Jinja does
                arguments += (missing,) * (self._argument_count - len(arguments))
            text = self._func(*arguments)
            if not args[0].autoescape:
                return text
            return _new_markup(Markup, text) if type(text) is str else Markup(text)
        return super().__call__(*args, **kwargs)


class _Template(jinja2.Template):
    """Compiled templates that print through :func:`_escape` and make macros as :class:`_Macro`."""

    @classmethod
    def _from_namespace(cls, environment: jinja2.Environment, namespace: Any,
                        globals: Any) -> jinja2.Template:
        # the names the compiled module imported from jinja2.runtime, looked up as it runs
        namespace["Macro"] = _Macro
        if _escape_inner is not None:
            namespace["escape"] = _escape
        return super()._from_namespace(environment, namespace, globals)

    def new_context(self, vars: dict[str, Any] | None = None, shared: bool = False,
                    locals: Any = None) -> jinja2.runtime.Context:
        """Jinja's, given the template's globals as one dict rather than its ChainMap: the
        context copies them (``dict(globals, **vars)``, ``set(globals)``), which for a ChainMap
        walks its maps in Python (~3% of a page)."""
        flat: dict[str, Any] = {}
        for globals in reversed(self.globals.maps):
            flat.update(globals)
        return jinja2.runtime.new_context(self.environment, self.name, self.blocks, vars, shared,
                                          flat, locals)

    def _get_default_module(self, ctx: jinja2.runtime.Context | None = None) -> Any:
        """Jinja's, without its check on every ``{% import %}`` of a page, ``ctx.globals_keys -
        self.globals.keys()`` (a ChainMap's keys view, subtracted in Python: 4.8 µs a page),
        when the context has no global the template lacks: the same test, in C."""
        if ctx is not None and not ctx.globals_keys.difference(*self.globals.maps):
            ctx = None
        return super()._get_default_module(ctx)


class _Context(jinja2.runtime.Context):
    """Jinja's context, calling macros and plain methods sooner.

    ``Context.call`` asks every callable three times whether it wants the context
    (``pass_context``...); a template calls macros and ``_()`` dozens of times a page.
    Those are called here as Jinja would call them: a macro with the evaluation
    context, a method that wants no context with its arguments alone."""

    def call(__self, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        kind = type(__obj)
        if kind is _Macro:
            if __obj._card and __self.environment.cards is not None:
                shown = __self.environment.card(__self.eval_ctx, __obj, args, kwargs)
                if shown is not None:
                    return shown
            args = (__self.eval_ctx, *args)
        elif kind is not MethodType or __obj.__func__ not in _PLAIN_FUNCTIONS:
            if kind is MethodType and not hasattr(__obj, "jinja_pass_arg"):
                _PLAIN_FUNCTIONS.add(__obj.__func__)
            return jinja2.runtime.Context.call(__self, __obj, *args, **kwargs)
        if kwargs:
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
        try:
            return __obj(*args, **kwargs)
        except StopIteration:
            return __self.environment.undefined(
                "value was undefined because a callable raised a StopIteration exception")


_PLAIN_FUNCTIONS: set[Any] = set()  # the functions of methods templates called that want no context


class _RecordingEnvironment(jinja2.Environment):
    """Records which entity fields and templates a page reads while it renders (Lektor's idea).

    Templates reach every field of the model through ``getattr``/``getitem``
    (``claim.text``, ``map(attribute="name")``) and every template through
    ``get_template`` (extends, import, include).
    """

    template_class = _Template
    context_class = _Context
    _recorder: Recorder | None = None
    number: Any = None  # the recorder's numbering (:class:`Recorder`), looked up by each read
    reads: set[int] | None = None  # the recorder's read numbers, while a page renders
    page_root = ""  # the way from the page being rendered to the site's root ('../../')
    cards: dict[tuple, _Card] | None = None  # by macro and arguments; None: none reused
    card_keys: list[tuple] | None = None  # while warming up: the cards each page showed
    # The CARDS macros whose cards are only those made ahead (:meth:`Renderer.warm_up`): a
    # claim's card that no two listings show is on a page or two of the whole build (its
    # claimant's listing, the claim pages it disputes or supports), which a worker rendering
    # a few hundred pages in an order random across the model hardly ever meets twice.
    made_ahead: frozenset[str] = frozenset()

    def card(self, eval_ctx: EvalContext, macro: _Macro, args: tuple, kwargs: dict,
             ) -> Any:
        """A call of a :data:`CARDS` macro, its text made once per arguments and placed at
        the page's root, what it read made part of what the page read; None: call the macro
        (arguments that are not all text, None or entities, or a card that needs the root).

        Macros are imported without the page's context, so a card's text follows from its
        arguments and what it reads, with its links made relative to the page (``|rel``):
        it is rendered with :data:`ROOT` for a root, which each page replaces by its own.
        """
        key = _card_key(macro, args, kwargs)
        if key is None:
            return None
        cards = self.cards
        found = cards.get(key)
        if found is None:
            if macro.name in self.made_ahead:
                return None
            found = self._render_card(key)
            if found is None:
                return None
            if len(cards) < CARDS_HELD:
                cards[key] = found
        if self.card_keys is not None:
            self.card_keys.append(key)
        text, numbers, templates = found
        reads = self.reads
        if reads is not None:  # a page (or a card) being recorded
            reads.update(numbers)
            self.recorder.templates.update(templates)
        text = text.replace(ROOT, self.page_root)
        return _new_markup(Markup, text) if eval_ctx.autoescape else text

    def _render_card(self, key: tuple) -> _Card | None:
        """The card of ``key`` (:func:`_card_key`), recording what it reads on its own."""
        macro, arguments = key[0], key[1:]
        recorder = self.recorder
        root, reads = self.page_root, self.reads
        if recorder is not None:
            templates = recorder.templates
            self.reads, recorder.templates = set(), set()
        self.page_root = ROOT
        try:
            text = macro._func(*arguments)
        except _RootNeeded:
            return None
        finally:
            self.page_root = root
            if recorder is not None:
                card = self.reads, recorder.templates
                self.reads, recorder.templates = reads, templates
        if recorder is None:
            return text, array("I"), ()
        return text, recorder.numbered(card[0]), tuple(card[1])

    def shown_cards(self, keys: Iterable[tuple]) -> None:
        """Render the cards of ``keys`` now (kept while there is room)."""
        cards = self.cards
        for key in keys:
            if len(cards) >= CARDS_HELD:
                return
            if key not in cards:
                found = self._render_card(key)
                if found is not None:
                    cards[key] = found

    @property
    def recorder(self) -> Recorder | None:
        return self._recorder

    @recorder.setter
    def recorder(self, recorder: Recorder | None) -> None:
        self._recorder = recorder
        self.number = None if recorder is None else recorder.number

    def getattr(self, obj: Any, attribute: str) -> Any:  # the hot path of every page
        reads = self.reads
        if reads is not None and type(obj) in RECORDED:
            reads.add(self.number[obj][attribute])
        try:  # Jinja's own getattr, inlined
            return getattr(obj, attribute)
        except AttributeError:
            pass
        try:
            return obj[attribute]
        except (TypeError, LookupError, AttributeError):
            return self.undefined(obj=obj, name=attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if type(obj) in RECORDED and isinstance(argument, str) and self.reads is not None:
            self.reads.add(self.number[obj][argument])
        return super().getitem(obj, argument)

    def get_template(self, name: Any, parent: str | None = None, globals: Any = None) -> Any:
        template = super().get_template(name, parent, globals)
        if self.recorder is not None and self.recorder.templates is not None:
            self.recorder.templates.add(template.name)
        return template


@jinja2.pass_eval_context
def tojson(eval_context: Any, value: Any, indent: int | None = None) -> Markup:
    """Jinja's ``|tojson``, except that JSON already made for a script (a claim page's
    ``jsonld``, :class:`factsite.export.JsonScript`) stays as it is rather than being
    encoded again as a string."""
    if isinstance(value, export.JsonScript):
        return value
    return _JINJA_TOJSON(eval_context, value, indent)


_JINJA_TOJSON = jinja2.filters.FILTERS["tojson"]


def _environment(templates_dir: Path) -> _RecordingEnvironment:
    """A :class:`Renderer`'s environment before it knows the site (its globals and dates)."""
    env = _RecordingEnvironment(
        loader=jinja2.FileSystemLoader(templates_dir),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # a Renderer lives for one build: no stat of templates per page
        # A dict, not an LRU cache: a theme has a few dozen templates, and the LRU's lookup
        # (a lock, a deque reordered) ran for every template a page loads
        cache_size=-1,
    )
    env.filters["rel"] = _relative_url
    env.filters["date"] = _undated  # the Renderer's translations' (templates compile with it)
    env.filters["tojson"] = tojson
    return env


def _undated(date: PartialDate) -> str:
    raise RuntimeError("a template printed a date before the Renderer set its language")


def compiled_environment(templates_dir: Path) -> jinja2.Environment:
    """An environment for :class:`Renderer` with every template of ``templates_dir``
    compiled: the build makes it while another process loads the content (compiling
    took ~0.1 s of the stretch where one core works and the other waits). A template
    that does not compile is left out: the page that loads it reports it."""
    env = _environment(Path(templates_dir))
    for name in env.list_templates(filter_func=_is_template):
        try:
            env.get_template(name)
        except (jinja2.TemplateError, UnicodeError, OSError):
            pass
    return env


def _is_template(name: str) -> bool:
    return not name.startswith(("static/", "i18n/"))


class Renderer:
    def __init__(self, templates_dir: Path, site: Site, recorder: Recorder | None = None,
                 cards: bool = False, environment: jinja2.Environment | None = None):
        """``cards``: reuse the cards of :data:`CARDS` across the pages it renders;
        ``environment``: :func:`compiled_environment` of ``templates_dir``, which this
        Renderer then owns (it sets the site's globals and filters on it): one per Renderer."""
        self.templates_dir = Path(templates_dir)
        self.recorder = recorder
        self.env = _environment(self.templates_dir) if environment is None else environment
        translations = Translations.load(self.templates_dir / "i18n", site.language)
        self.env.globals.update(site=site, _=translations.text, _n=translations.plural)
        self.env.filters["date"] = translations.date
        self.env.recorder = recorder
        self.env.cards = {} if cards else None
        self._globals = dict(self.env.globals)
        # The context of the page rendered last, its deferred values made: what its
        # fingerprint describes (:func:`made_from`), without making them again.
        self.values: dict[str, Any] = {}

    def warm_up(self, pages: Iterable[Page]) -> None:
        """Render the first page of each template of several pages now, for nothing, before
        workers are forked, and compile the others: they then share every template compiled
        (with those it extends and includes), what the model worked out on the way, and the
        bytecode the interpreter specialised while running them. A worker's first page
        otherwise copied 7-9 MiB of the parent's memory (1,000 claims; the 3.11 interpreter
        rewrites the code it runs). A page that fails is left to its worker, which reports it.

        Every entity's cached values are worked out too (:func:`_work_out`).

        Reusing cards, it then renders every claim's card the way two listings or more (of
        different templates) showed the claims they list, with the same arguments but the
        claim: each listing lists every claim, so each such card is shown twice or more.
        Workers render pages in an order random across the model, and each renders too few
        of them to meet a card twice. A card of a claimant, source, topic or rating that a page
        showed is rendered for every entity of its kind (each kind has a fraction of the
        claims, and an entity's card is on the pages of its claims: a claimant's on ~10).
        """
        first: dict[str, Page] = {}
        alone: set[str] = set()  # templates of one page: only compiled (sitemap.xml, 10,000
        for page in pages:  # claims: 0.23 s, the one worker that renders it being none faster)
            if page.template is not None:
                if first.setdefault(page.template, page) is page:
                    alone.add(page.template)
                else:
                    alone.discard(page.template)
        shown: dict[tuple, set[str]] = {}  # card with the claim left out → listings' templates
        for page in first.values():
            self.env.card_keys = keys = []
            try:
                if page.template in alone:
                    self.env.get_template(page.template)
                else:
                    self.render(page)
            except (ContentError, jinja2.TemplateError):
                pass
            pagination = page.context.get("pagination")
            listed = set(map(id, pagination.items)) if type(pagination) is Pagination else ()
            for key in keys:
                pattern = _card_pattern(key)
                if pattern is not None and (pattern[2] is not Claim
                                            or id(key[1 + pattern[1]]) in listed):
                    shown.setdefault(pattern, set()).add(page.template)
        self.env.card_keys = None
        site = self.env.globals["site"]
        _work_out(site)
        if self.env.cards is not None:
            for (macro, slot, kind, *arguments), templates in shown.items():
                if kind is not Claim or len(templates) > 1:
                    self.env.shown_cards((macro, *arguments[:slot], entity, *arguments[slot + 1:])
                                         for entity in _GROUPS[kind](site))
            self.env.made_ahead = frozenset({"claim_summary"})

    def render_page(self, page: Page) -> tuple[str, Any]:
        """The page's text and, with a recorder, what it read: (local read ids, templates)."""
        if self.recorder is None:
            return self.render(page), None
        self.recorder.start()
        self.env.reads = self.recorder.reads
        try:
            text = self.render(page)
        except BaseException:
            self.recorder.reads = self.recorder.templates = None
            raise
        finally:
            self.env.reads = None
        return text, self.recorder.stop()

    def render(self, page: Page) -> str:
        if page.produce is not None:
            return "".join(page.produce())
        if self.env.globals != self._globals:  # a global replaced (entities equal only if the same)
            self._globals_changed()
        try:
            template = self.env.get_template(page.template)
            # Pages served at an unknown depth (404) give their absolute root.
            self.env.page_root = page.context.get("root", "../" * page.url.count("/"))
            self.values = {name: value() if type(value) is Deferred else value
                           for name, value in page.context.items()}
            return template.render(page_url=page.url, **self.values)
        except jinja2.TemplateSyntaxError as error:
            raise ContentError([Diagnostic(
                self._template_path(error.name or page.template), error.lineno or 1, 1,
                f"template syntax error: {error.message}")]) from None
        except jinja2.TemplateNotFound as error:
            raise ContentError([Diagnostic(
                str(self.templates_dir / page.template), 1, 1,
                f"template not found: {error.name}",
                f"templates are read from {self.templates_dir}")]) from None
        except (jinja2.UndefinedError, MissingTranslation, UnplacedProse) as error:
            message = error.message if isinstance(error, jinja2.UndefinedError) else error.args[0]
            path, line = self._failing_template_line(page.template)
            raise ContentError([Diagnostic(path, line, 1, f"template error: {message}",
                                           f"while rendering {page.path}")]) from None

    def _globals_changed(self) -> None:
        """The dev server gave the environment another site: compile the templates again.

        Jinja makes a template's module (``{% import "_partials.html" as ui %}``: its
        macros) once, with the globals of that moment; the pages' macros would show
        the last site.
        """
        self.env.cache.clear()
        if self.env.cards:
            self.env.cards.clear()
        self._globals = dict(self.env.globals)

    def _template_path(self, name: str) -> str:
        return str(self.templates_dir / name)

    def _failing_template_line(self, fallback: str) -> tuple[str, int]:
        """The innermost template frame of the current exception (Jinja maps frames to lines)."""
        tb = sys.exc_info()[2]
        found = (self._template_path(fallback), 1)
        root = str(self.templates_dir.resolve())
        while tb is not None:
            filename = os.path.realpath(tb.tb_frame.f_code.co_filename)  # also for --templates DIR
            if filename.startswith(root):
                found = (str(self.templates_dir / Path(filename).relative_to(root)), tb.tb_lineno)
            tb = tb.tb_next
        return found


def _work_out(site: Site) -> None:
    """Work out each cached property of every entity of ``site``: forked workers then share
    them. Each worker otherwise worked them out again for the entities its pages read, and
    copied the memory it kept them in (a claimant's ``disputed_by``, read by each claim page's
    claimant card: 2.5% of the workers' time at 10,000 claims)."""
    for group in (site.claims, site.claimants, site.sources, site.topics, site.ratings,
                  site.pages, (site,)):
        names = _CACHED[type(group[0])] if group else ()
        for name in names:
            for entity in group:
                getattr(entity, name)


_CACHED = {kind: tuple(name for cls in reversed(kind.__mro__) for name, value in vars(cls).items()
                       if isinstance(value, cached_property))
           for kind in RECORDED}


def made_from(page: Page, values: dict[str, Any] | None = None) -> bytes:
    """What the build cache compares to know whether a page may be kept (with its reads).
    ``values``: the page's context with its deferred values made (:attr:`Renderer.values`),
    which fingerprints the same."""
    return fingerprint((page.template, page.url, page.context if values is None else values))


@jinja2.pass_context  # also keeps Jinja from working out ``'feed.xml'|rel`` as it compiles
def _relative_url(context: jinja2.runtime.Context, target: str | Prose) -> str | Markup:
    """A site-relative URL as seen from the page being rendered, so any sub-path works;
    or rendered Markdown with its links to the site made relative the same way.

    The page's way to the site's root is the renderer's (:meth:`Renderer.render`), not
    the template context's: macros imported without the page's context (so made once,
    not for every page) place links too.
    """
    root = context.environment.page_root
    if isinstance(target, Prose):
        return target.at(root)
    if target:
        return root + target
    if root is ROOT:  # a card's link to the root: "./" from the home page, not ROOT's place
        raise _RootNeeded
    return root or "./"


class _RootNeeded(Exception):
    """A card asked for the page's root itself: it is rendered where shown."""


# A card: its text with links behind ROOT, the numbers of what it read (replayed into
# each page that shows it), the templates it loaded.
_Card = tuple[str, array, tuple[str, ...]]
_KEYABLE = frozenset({str, type(None), type(missing), *RECORDED})  # equal only if alike


def _card_key(macro: _Macro, args: tuple, kwargs: dict) -> tuple | None:
    """(macro, every argument in order, ``missing`` where left to its default), or None if
    an argument may equal another that shows differently (``1 == True``) or the call is
    one Jinja refuses."""
    count = macro._argument_count
    if len(args) > count:
        return None
    arguments = [*args]
    used = 0
    for name in macro.arguments[len(args):]:
        value = kwargs.get(name, missing)
        used += value is not missing
        arguments.append(value)
    if used != len(kwargs) - ("_block_vars" in kwargs) - ("_loop_vars" in kwargs):
        return None
    for argument in arguments:
        if type(argument) not in _KEYABLE:
            return None
    return (macro, *arguments)


def _card_pattern(key: tuple) -> tuple | None:
    """(macro, the entity's place, its kind, the arguments with None there) of a card shown
    with one claim, claimant, source, topic or rating and no other entity; None for another."""
    slots = [n for n, argument in enumerate(key[1:]) if type(argument) in RECORDED]
    if len(slots) != 1 or type(key[1 + slots[0]]) not in _GROUPS:
        return None
    slot = slots[0]
    return (key[0], slot, type(key[1 + slot]), *key[1:1 + slot], None, *key[2 + slot:])


_GROUPS = {Claim: attrgetter("claims"), Claimant: attrgetter("claimants"),  # of the site
           Source: attrgetter("sources"), Topic: attrgetter("topics"), Rating: attrgetter("ratings")}


@dataclass(frozen=True)
class Rendered:
    """A page written to the staging directory: all a worker sends back."""

    path: str  # site-relative
    digest: str  # sha256 of the bytes written
    reads: Sequence[int] = ()  # recorded: what it read (the BuildState's read numbers)
    templates: tuple[str, ...] = ()  # recorded: the templates it loaded
    indexed: bool = False  # marked for the search index (search.py indexes only those pages)
    made_from: bytes = b""  # recorded: the fingerprint of its template, URL and context


def render_pages(site: Site, templates_dir: Path, pages: Sequence[Page], staging: Path, *,
                 only: Sequence[int] | None = None, state: BuildState | None = None,
                 jobs: int | None = None, start_method: str = "fork", batch: int | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 order: Callable[[str], Any] | None = None,
                 written: Callable[[list[Rendered]], None] | None = None,
                 idle: Callable[[int], None] | None = None,
                 environment: jinja2.Environment | None = None,
                 data_files: Apart | None = None) -> list[Rendered]:
    """Render ``pages`` (those at the indexes ``only``) into ``staging``; return what was
    written, in plan order.

    ``jobs`` worker processes (default: one per core, none for a small plan);
    ``progress(done, total)`` after each chunk. Every template error any worker
    met is raised together, once each. Forked workers inherit ``pages``; spawned
    ones receive the site pickled and plan it again, so ``pages`` must then be
    ``plan(site)`` (entities pickle only as part of their site). A worker renders
    ``batch`` chunks of :data:`CHUNK` pages (default: :data:`BATCH_CLAIMS` per claim, at
    least :data:`BATCH`), then a fresh one
    takes over. With a ``state`` (the build cache's), what each page read is
    recorded into it (its entities numbered first). ``order``: a key of the pages' paths
    to render them in (default: the plan's); ``written``: told of each chunk's pages as
    they are written (the search index starts on them); ``idle``: told how many of the
    ``jobs`` cores the stage leaves idle once its workers are done: all but the build's
    own (the search index runs Pagefind on them). ``environment``: the templates already
    compiled (:func:`compiled_environment`). ``data_files``: the process already writing
    the plan's data files (:func:`start_data_files`), whose result is taken here; it is
    stopped here in any case.
    """
    global _taken, _bases
    Translations.load(Path(templates_dir) / "i18n", site.language)  # broken: stop before forking
    indexes = sorted(range(len(pages)) if only is None else only,
                     key=lambda index: index if order is None else order(pages[index].path))
    total = len(indexes)
    jobs = jobs or (os.cpu_count() or 1 if total >= 4 * CHUNK else 1)
    # The data files read every claim: a render worker making one copied the memory pages
    # of most of the site as it grew (reference counts; 740 MiB at 100,000 claims). A
    # process forked for them alone makes them while this one sets up the workers (renders
    # every claim's card: ~0.7 s of one core at 10,000 claims), and the workers are forked
    # once it has ended: beside them, its copy of the claims made the build's peak.
    data = ([index for index in indexes if pages[index].produce is not None]
            if jobs > 1 or data_files else [])
    pooled = [index for index in indexes if pages[index].produce is None] if data else indexes
    chunks = [pooled[start:start + CHUNK] for start in range(0, len(pooled), CHUNK)]
    inherited = jobs == 1 or start_method == "fork"
    numbers = state and state.numbers
    if state is not None:  # before forking: every worker numbers reads alike
        bases = state.assign(site)
        _bases = bases if inherited else None  # a spawned worker's site is another
    job = (site, Path(templates_dir), pages if inherited else None, Path(staging), numbers)
    batch = batch or max(BATCH, BATCH_CLAIMS // max(1, len(site.claims)))
    if jobs == 1:
        _start_worker(*job, environment=environment)
        try:
            results = _collect(map(_render_chunk, chunks), progress, total, state, written)
            if data_files:
                results += _collect([data_files.result()], progress, total, None, written,
                                    done=total - len(data))
        finally:
            if data_files:
                data_files.stop()
            _start_worker(None, None, None, None)
            _bases = None  # the entities: the site is let go of during the search stage
    else:
        apart = data_files
        try:
            gc.freeze()  # what exists now is shared with forked processes: keep GC off it
            if data and start_method == "fork" and apart is None:
                apart = Apart("wrote the data files", _data_files, pages, data, staging)
            if start_method == "fork":  # set up once here: each forked worker inherits it
                if numbers is not None:  # which reads' values a worker took down, for all
                    _taken = mmap.mmap(-1, max(1, numbers.end))
                _start_worker(*job, environment=environment)
                renderer = _worker[0]
                renderer.warm_up(pages)
                if state is not None:  # what its cards read (each worker records with a
                    state.take(renderer.recorder.new_values())  # recorder of its own)
                    renderer.recorder = renderer.env.recorder = None
                job = (None, None, None, None, numbers)
            made = apart.result() if apart else None  # the process has ended
            gc.freeze()  # and what the set-up made
            with multiprocessing.get_context(start_method).Pool(
                    jobs, initializer=_start_worker, initargs=(*job, True),
                    maxtasksperchild=batch) as pool:
                results = _collect(pool.imap(_render_chunk, chunks), progress, total, state,
                                   written)
            if idle:
                idle(jobs - 1)
            if data:
                made = made or _data_files(pages, data, staging)
                results += _collect([made], progress, total, None, written,
                                    done=total - len(data))
        finally:
            if apart:
                apart.stop()
            gc.unfreeze()
            _start_worker(None, None, None, None)
            _bases = None
            if _taken is not None:
                _taken.close()
                _taken = None
    # In the plan's order, whatever the order they rendered in: the first page named is the
    # plan's first to meet the error.
    problems = [d for _, d in sorted((p for _, found in results for p in found),
                                     key=lambda problem: problem[0])]
    if problems:
        raise ContentError(_once_each(problems))
    place = {pages[index].path: index for index in indexes}
    return sorted((page for written, _ in results for page in written),
                  key=lambda page: place[page.path])


def _collect(results, progress: Callable[[int, int], None] | None, total: int,  # noqa: ANN001
             state: BuildState | None, written: Callable[[list[Rendered]], None] | None,
             done: int = 0) -> list[tuple[list[Rendered], list[tuple[int, Diagnostic]]]]:
    """The chunks' results in order; the values of recorded reads kept in ``state``.
    ``done``: pages rendered before these."""
    collected = []
    for pages, problems, fresh in results:
        if state is not None:
            state.take(fresh)
        collected.append((pages, problems))
        if written:
            written(pages)
        done += len(pages) + len(problems)
        if progress:
            progress(min(done, total), total)
    return collected


def _once_each(problems: list[Diagnostic]) -> list[Diagnostic]:
    """One diagnostic per template error, however many pages met it (the first one named)."""
    pages: dict[tuple, list[Diagnostic]] = {}
    for problem in problems:
        pages.setdefault((problem.path, problem.line, problem.col, problem.message), []).append(
            problem)
    return [found[0] if len(found) == 1 or found[0].hint is None else replace(
        found[0], hint=f"{found[0].hint} and {len(found) - 1:,} other pages")
        for found in pages.values()]


_worker: tuple[Renderer, Sequence[Page], Path] | None = None
_taken: mmap.mmap | None = None  # shared by forked workers: see :class:`Recorder`
_bases: dict[Any, int] | None = None  # inherited by forked workers: see :class:`Recorder`


def _start_worker(site: Site | None, templates_dir: Path | None, pages: Sequence[Page] | None,
                  staging: Path | None, numbers: ReadNumbers | None = None,
                  in_pool: bool = False, environment: jinja2.Environment | None = None) -> None:
    """Set up this process to render (``pages`` None: plan them), or forget the job (all None).

    With ``numbers`` (the build state's), what each page reads is recorded. A forked
    worker given no site renders with the one its parent set up, with a recorder of
    its own. A worker ignores Ctrl-C: the parent gets it, stops the pool and removes
    the staging. ``environment``: the templates compiled already (:func:`compiled_environment`).
    """
    global _worker
    recorder = None if numbers is None else Recorder(numbers, _taken, _bases)
    if in_pool:
        ignore_sigint()
        if site is None:  # forked: the parent's renderer, site and plan
            renderer = _worker[0]
            if numbers is not None:
                recorder = Recorder(numbers, _taken, _bases)
            renderer.recorder = renderer.env.recorder = recorder
            return
    _worker = None if site is None else (
        Renderer(templates_dir, site, recorder, cards=True, environment=environment),
        plan(site) if pages is None else pages,
        staging)


def _data_files(pages: Sequence[Page], indexes: Sequence[int], staging: Path,
                ) -> tuple[list[Rendered], list, list]:
    """Write the data files at ``indexes`` in this process, as :func:`_render_chunk` would."""
    return ([Rendered(pages[index].path, write_file(staging, pages[index].path,
                                                    pages[index].produce()))
             for index in indexes], [], [])


def _render_chunk(indexes: Sequence[int],
                  ) -> tuple[list[Rendered], list[tuple[int, Diagnostic]], list]:
    """Render and write the pages at ``indexes``; a template error skips its page (and is
    returned with the page's index).

    Also returns the values of the reads its recorder saw first in this chunk, for
    the build cache.
    """
    renderer, pages, staging = _worker
    written, problems = [], []
    for index in indexes:
        page = pages[index]
        try:
            if page.produce is not None:  # a data file: written as it is made, never whole
                written += _data_files(pages, [index], staging)[0]
                continue
            text, recorded = renderer.render_page(page)
        except ContentError as error:
            problems.extend((index, found) for found in error.diagnostics)
            continue
        data = text.encode("utf-8")
        reads, templates = recorded or ((), ())
        written.append(Rendered(page.path, write_file(staging, page.path, data), reads, templates,
                                b"data-pagefind-body" in data,
                                made_from(page, renderer.values) if recorded else b""))
    fresh = renderer.recorder.new_values() if renderer.recorder else []
    return written, problems, fresh
