"""The W3C Nu HTML checker (npm `vnu-jar`, run with the machine's Java) over the whole
built demo: every HTML page, the stylesheets and the SVG files of static/. Zero errors."""

from __future__ import annotations

import json
import shutil
import subprocess

from .harness import VNU_JAR, describe, unavailable


def test_nu_html_checker_finds_no_errors(site_dir):
    java = shutil.which("java")
    if not java:
        unavailable("java not found: `make test` installs Debian's default-jre-headless")
    if not VNU_JAR.is_file():
        unavailable(f"{VNU_JAR} not found: `make test` runs `npm ci` (package.json)")
    pages = sorted(site_dir.rglob("*.html"))
    static = sorted(site_dir.glob("static/**/*.css")) + sorted(site_dir.glob("static/**/*.svg"))
    assert len(pages) > 40
    run = subprocess.run(
        [java, "-jar", str(VNU_JAR), "--errors-only", "--format", "json", "--stdout",
         "--also-check-css", "--also-check-svg", *map(str, pages + static)],
        capture_output=True, text=True, timeout=300,
    )
    try:
        messages = json.loads(run.stdout)["messages"]
    except (ValueError, KeyError):
        raise AssertionError(f"vnu exited {run.returncode} without a report:\n{run.stdout}{run.stderr}")
    found = [f"{m.get('url', '?').removeprefix('file:' + str(site_dir) + '/')}:"
             f"{m.get('lastLine', '?')}:{m.get('firstColumn', m.get('lastColumn', '?'))}: "
             f"{m.get('type')}: {m.get('message')}" for m in messages]
    assert not found, f"{len(found)} problems:\n{describe(found)}"
    assert run.returncode == 0, run.stderr
