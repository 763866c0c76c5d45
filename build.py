#!/usr/bin/env python3
"""factsite command line: python build.py [build|check|serve|new|schema|import] [options].

Exit codes: 0 success, 1 content errors, 2 usage errors, 70 a bug in factsite, 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import NoReturn, TextIO

from factsite import pipeline
from factsite.diagnostics import FORMATS, ContentError, summary
from factsite.load import COLLECTIONS

# The verbs import what only they need (the dev server, the scaffold, pydantic's
# schemas) themselves: `build` with nothing to do is over before those would load.

EXIT_OK, EXIT_CONTENT, EXIT_USAGE, EXIT_BUG, EXIT_INTERRUPTED = 0, 1, 2, 70, 130
VERBS = ("build", "check", "serve", "new", "schema", "import")


def main(argv: list[str] | None = None, *, exit_at_once: bool = False) -> int:
    """Run the verb of ``argv``; return the exit code. ``exit_at_once``: end the process
    there and then once a verb other than ``serve`` is done (see :func:`_exit_at_once`)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or (argv[0] not in VERBS and argv[0] not in ("-h", "--help")):
        argv.insert(0, "build")  # `python build.py` is `python build.py build`
    args = _parser().parse_args(argv)
    if args.format is None:
        args.format = "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    code = _run(args)
    if exit_at_once and args.command != "serve":
        _exit_at_once(code)
    return code


def _exit_at_once(code: int) -> NoReturn:
    """End the process with ``code`` without the interpreter's clean-up.

    After a 10,000-claim build, the interpreter's exit took ~0.5 s of one core (a
    collection of what the build left, then freeing every module) while the other
    core had nothing to do: the build's last serial stretch. A verb other than
    ``serve`` leaves no process or thread behind and has written and closed every
    file; only the standard streams may hold output.
    """
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # the reader went away: as the interpreter's own exit reports it
        code = code or 120
    os._exit(code)


def _run(args: argparse.Namespace) -> int:
    try:
        return args.run(args)
    except ContentError as error:
        _failed(error.diagnostics, args.command, args.format)
        if args.debug:
            raise
        return EXIT_CONTENT
    except KeyboardInterrupt:  # Ctrl-C: a build removes its staging directory first
        out = getattr(args, "out", None)
        print(f"interrupted; {out}/ unchanged" if args.command == "build" else "interrupted",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        if args.debug:
            raise
        if isinstance(error, OSError) and error.strerror:  # the disk, not factsite
            print(f"build.py {args.command}: error: {error.filename or ''}"
                  f"{': ' if error.filename else ''}{error.strerror}", file=sys.stderr)
            return EXIT_CONTENT
        print(f"build.py {args.command}: internal error: {type(error).__name__}: {error}\n"
              "  hint: this is a bug in factsite, not a problem in your content or templates; "
              "--debug shows the traceback", file=sys.stderr)
        return EXIT_BUG


def _build(args: argparse.Namespace) -> int:
    progress = ProgressLine(sys.stderr) if sys.stderr.isatty() else None
    try:
        result = pipeline.build(args.content, args.templates, args.out, strict=args.strict,
                                base_url=args.base_url, jobs=args.jobs, progress=progress,
                                use_cache=not args.no_cache)
    finally:
        if progress:
            progress.clear()
    _built(result, args)
    return EXIT_OK


def _built(result: pipeline.BuildResult, args: argparse.Namespace) -> None:
    """A build's warnings and summary line (also after each rebuild of ``serve``)."""
    _report(result.warnings, args.format)
    if args.verbose:
        for stage, seconds in result.stages:
            print(f"  {stage}: {seconds:.2f} s", file=sys.stderr)
    rendered = "" if result.rendered == result.pages else f"; {result.rendered} rendered"
    print(f"built {result.claims} claims, {result.pages} pages "
          f"({result.files} files{rendered}) into {args.out}/ in {result.seconds:.2f} s",
          file=sys.stderr if args.format == "json" else sys.stdout)  # stdout: JSON only


class ProgressLine:
    """What a long build is doing, on one terminal line rewritten in place.

    A new stage shows at once; counts within a stage at most 10 times a second.
    """

    def __init__(self, stream: TextIO):
        self.stream, self.stage, self.last = stream, "", 0.0

    def __call__(self, text: str) -> None:
        now, stage = time.monotonic(), text.split(" ", 1)[0]
        if stage != self.stage or now - self.last >= 0.1:
            self.stream.write(f"\r\x1b[K{text}")
            self.stream.flush()
            self.stage, self.last = stage, now

    def clear(self) -> None:
        if self.stage:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _failed(diagnostics, verb: str, fmt: str) -> None:
    _report(diagnostics, fmt)
    if fmt == "text":
        print(f"{verb} failed: {summary(diagnostics)}", file=sys.stderr)


def _check(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    site, warnings = pipeline.load_site(args.content, base_url=args.base_url, jobs=args.jobs)
    if args.verbose:
        print(f"  load and check: {time.perf_counter() - started:.2f} s", file=sys.stderr)
    if args.strict and warnings:
        raise ContentError(warnings)
    _report(warnings, args.format)
    if args.format == "text":
        print(f"ok: {len(site.claims)} claims, {len(site.claimants)} claimants, "
              f"{len(site.sources)} sources checked" + (f"; {summary(warnings)}" if warnings else ""))
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    from factsite import serve

    try:
        sockets = serve.listen(args.host, args.port)
    except OSError as error:
        print(f"build.py serve: error: cannot listen on {args.host}:{args.port}: "
              f"{error.strerror or error}\n  hint: choose another --port or --host", file=sys.stderr)
        return EXIT_USAGE
    dev = serve.DevServer(args.content, args.templates, args.out, strict=args.strict,
                          base_url=args.base_url, debug=args.debug,
                          on_built=lambda result: _built(result, args),
                          on_failed=lambda diagnostics: _failed(diagnostics, "build", args.format))
    serve.serve(sockets, args.host, dev)
    return EXIT_OK


def _new(args: argparse.Namespace) -> int:
    from factsite import scaffold
    from factsite.schema import Invalid

    try:
        scaffold.check_id(args.kind, args.id)
    except Invalid as invalid:  # a usage error: the file was never there
        print(f"build.py new: error: {invalid.message}\n  hint: {invalid.hint}", file=sys.stderr)
        return EXIT_USAGE
    path = scaffold.create(args.content, args.kind, args.id)
    print(f"created {path}: {scaffold.NEXT_STEP[args.kind]}")
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    from factsite import importer
    from factsite.schema import Invalid

    try:
        done = importer.run(args.content, args.source, source_id=args.id, url=args.url,
                            language=args.language)
    except Invalid as invalid:  # nothing could be imported; nothing was written
        print(f"build.py import: error: {invalid.message}"
              + (f"\n  hint: {invalid.hint}" if invalid.hint else ""), file=sys.stderr)
        return EXIT_CONTENT
    print(f"imported {done.source} ({done.paragraphs} paragraphs)")
    if done.capture:
        print(f"  capture: {done.capture}")
    if done.placeholders:
        print(f"  to fill in: {', '.join(done.placeholders)} (TODO placeholders; "
              f"python build.py check lists them)")
    print(f"next: python build.py new claim CLAIM-ID, and quote it from source '{done.id}'")
    return EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    from factsite.schema import json_schema_files

    args.out.mkdir(parents=True, exist_ok=True)
    files = json_schema_files()
    for name, text in files.items():
        (args.out / name).write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {len(files)} JSON Schemas to {args.out}/: {', '.join(files)}")
    return EXIT_OK


def _base_url(text: str) -> str:
    from factsite.schema import Invalid, override_base_url

    try:
        return override_base_url(text)
    except Invalid as invalid:
        raise argparse.ArgumentTypeError(
            invalid.message + (f" ({invalid.hint})" if invalid.hint else "")) from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not '{text}'")
    return int(text)


def _report(diagnostics, fmt: str) -> None:
    if fmt == "json":
        print(FORMATS["json"](diagnostics))
    elif diagnostics:
        print(FORMATS[fmt](diagnostics), file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--content", type=Path, default=Path("content"),
                        help="content directory (default: content)")
    common.add_argument("--templates", type=Path, default=Path("templates"),
                        help="templates directory (default: templates)")
    common.add_argument("--out", type=Path, default=Path("site"),
                        help="output directory (default: site)")
    common.add_argument("--strict", action="store_true", help="treat warnings as errors")
    common.add_argument("--format", choices=sorted(FORMATS),
                        help="diagnostics format (default: text; github under GitHub Actions)")
    common.add_argument("--base-url", type=_base_url, metavar="URL",
                        help="publish under URL instead of site.yaml's base_url "
                             "(absolute http(s); a missing trailing '/' is added)")
    common.add_argument("--jobs", type=_positive, metavar="N",
                        help="parse and render in N processes, index in N Pagefind runs at once "
                             "(default: one per core)")
    common.add_argument("--verbose", action="store_true", help="print each stage's time")
    common.add_argument("--no-cache", action="store_true",
                        help="ignore and leave alone the build cache (.factsite-cache/ beside "
                             "the output directory): render every page")
    common.add_argument("--debug", action="store_true", help="show tracebacks")
    plain = argparse.ArgumentParser(add_help=False)  # verbs that print no diagnostics lists
    plain.set_defaults(format="text")
    plain.add_argument("--debug", action="store_true", help="show tracebacks")

    parser = argparse.ArgumentParser(
        prog="build.py",
        description="Build and check a factsite fact-check site.",
        epilog="exit codes: 0 ok, 1 content errors, 2 usage errors, 70 a bug in factsite, "
               "130 interrupted",
    )
    verbs = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    verbs.add_parser("build", parents=[common], help="check content and write the site (default)",
                     ).set_defaults(run=_build)
    verbs.add_parser("check", parents=[common], help="check content; write nothing",
                     ).set_defaults(run=_check)
    served = verbs.add_parser("serve", parents=[common],
                              help="build, serve with live reload, rebuild on every change",
                              description="Build, serve the output directory on this machine, "
                                          "rebuild on every change to the content or templates "
                                          "and reload open pages; errors show over the page.")
    served.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1, this machine only)")
    served.add_argument("--port", type=int, default=8000,
                        help="port to listen on (default: 8000; 0: any free port)")
    served.set_defaults(run=_serve)
    new = verbs.add_parser("new", parents=[plain], help="write a commented template for new content",
                           description="Write content/<kind>s/<id> as a commented template; "
                                       "never overwrites a file.")
    new.add_argument("kind", choices=[kind for _, (kind, _) in sorted(COLLECTIONS.items())],
                     help="what to add")
    new.add_argument("id", help="its id: lowercase letters, digits and single hyphens")
    new.add_argument("--content", type=Path, default=Path("content"),
                     help="content directory (default: content)")
    new.set_defaults(run=_new)
    imported = verbs.add_parser(
        "import", parents=[plain], help="add a source from a saved page, a PDF, a WARC or a URL",
        description="Extract the text and metadata of SOURCE into content/sources/<id>.txt "
                    "(a URL is fetched once and its HTTP exchange kept in "
                    "content/captures/<id>.warc.gz); never overwrites a file.")
    imported.add_argument("source", metavar="SOURCE",
                          help="a .html/.htm page, a .pdf, a .warc/.warc.gz or an http(s) URL")
    imported.add_argument("--id", help="the source's id (default: <published>-<slug of the title>)")
    imported.add_argument("--url", help="the original address; in a WARC, the page to import")
    imported.add_argument("--language", metavar="LANG", help="its language tag, e.g. en, ru")
    imported.add_argument("--content", type=Path, default=Path("content"),
                          help="content directory (default: content)")
    imported.set_defaults(run=_import)
    schema = verbs.add_parser("schema", parents=[plain],
                              help="write JSON Schemas of the content format for editors")
    schema.add_argument("--out", type=Path, default=Path("schemas"),
                        help="output directory (default: schemas)")
    schema.set_defaults(run=_schema)
    return parser


if __name__ == "__main__":
    sys.exit(main(exit_at_once=True))
