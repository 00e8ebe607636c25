"""doctor: each finding on a repository that has the mistake, none on a clean one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..conftest import Repo
from .conftest import invoke

TERP_CONFIG = """\
ignore: ["docs/**", "*.md", ".github/**", "docs/**", "legacy/**", "!src/keep.py"]
environments:
  staging: {app: terp-staging, url: "https://terp-app-b9uu5.ondigitalocean.app"}
  production: {app: terp, url: "https://terp-app-b9uu5.ondigitalocean.app"}
"""
STAGING_SPEC = """\
name: terp-staging
services:
  - name: web
    github: {repo: terp/terp, branch: main, deploy_on_push: true}
"""
WORKFLOW = """\
name: deploy
on:
  push:
    branches: [main]
    paths-ignore: ["docs/**", "*.md", ".vscode/"]
  workflow_call: {}
permissions: {}
jobs:
  sync:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
      - uses: terp/terp-actions/actions/sync@0123456789012345678901234567890123456789
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: terp/terp-actions/actions/deploy@0123456789012345678901234567890123456789
        with:
          digitalocean-token: ${{ secrets.DIGITALOCEAN_TOKEN }}
"""


def doctor_json(repo: Path) -> tuple[int, list[dict[str, object]]]:
    result = invoke(["doctor", "--repo", str(repo), "--json"], env={})
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def terp_shaped(repo: Repo) -> Path:
    """A repository with TERP's mistakes: same URL, `*.md`, a wrong spec branch, a leftover railway.json."""
    files = {
        ".github/terp-actions.yml": TERP_CONFIG,
        ".do/app-staging.yaml": STAGING_SPEC,
        ".github/workflows/deploy.yml": WORKFLOW,
        "railway.json": "{}",
        "README.md": "# x",
        "docs/guide/setup.md": "x",
        "app/README.md": "x",
        "src/app.py": "x",
    }
    repo.commit("init", files)
    return repo.path


def messages(findings: list[dict[str, object]], severity: str) -> str:
    return "\n".join(f"{f['file']}:{f['line']} {f['message']}" for f in findings if f["severity"] == severity)


def test_terp_shaped_repository_gets_the_findings_a_reviewer_wants(terp_shaped: Path) -> None:
    """Every planted mistake is reported, with file and line; exit 1 since some are errors."""
    code, findings = doctor_json(terp_shaped)
    errors, warnings, notes = (messages(findings, s) for s in ("error", "warning", "info"))
    fixes = "\n".join(str(f["fix"]) for f in findings)
    assert code == 1
    assert "share the URL https://terp-app-b9uu5.ondigitalocean.app" in errors
    assert ".github/terp-actions.yml:3 " in errors  # the line of the shared URL
    assert "builds branch 'main', but staging is 'staging'" in errors
    assert "paths-ignore: '.vscode/' can never match a changed file" in errors
    assert "job 'sync' syncs but cannot push" in errors
    assert "secret DIGITALOCEAN_TOKEN is used but not declared" in errors
    assert "'*.md' matches only files at the repository root" in warnings and "'**.md'" in fixes
    assert "pattern 'docs/**' is listed twice" in warnings
    assert "'!src/keep.py' re-includes nothing" in warnings
    assert "push.paths-ignore disagrees with the ignore rules" in warnings
    assert "job 'deploy' deploys without a concurrency group" in warnings
    assert "railway.json configures Railway" in warnings
    assert "service 'web' has no health_check" in warnings
    assert "pattern 'legacy/**' matches no file in the history" in notes


def test_deploy_on_push_on_the_staging_branch_is_an_error(repo: Repo) -> None:
    """A staging spec that deploys every push defeats the ignore rules."""
    spec = (
        STAGING_SPEC.replace("branch: main", "branch: staging") + "    health_check: {http_path: /health}\n"
    )
    repo.commit("init", {".do/app-staging.yaml": spec, "src/app.py": "x"})
    code, findings = doctor_json(repo.path)
    assert code == 1
    assert "component 'web' deploys every push to staging" in messages(findings, "error")


def test_a_clean_repository_has_no_errors_or_warnings(terp_history: object) -> None:
    """The TERP-like demo history with the default rules: nothing to fix."""
    code, findings = doctor_json(terp_history.work)  # type: ignore[attr-defined]
    assert code == 0
    assert not [f for f in findings if f["severity"] in ("error", "warning")], findings


def test_unreadable_yaml_is_bad_input(repo: Repo) -> None:
    """A workflow that is not YAML: exit 2 naming the file and line."""
    repo.commit("init", {".github/workflows/broken.yml": "on: [push\njobs: {", "a": "a"})
    result = invoke(["doctor", "--repo", str(repo.path)], env={})
    assert result.exit_code == 2 and ".github/workflows/broken.yml:" in result.stderr


def test_human_output_groups_by_file(terp_shaped: Path) -> None:
    """Findings are grouped under their file, each with its fix, and a count line ends it."""
    result = invoke(["doctor", "--repo", str(terp_shaped)], env={})
    lines = result.stdout.splitlines()
    assert ".do/app-staging.yaml" in lines and "fix:" in result.stdout
    assert lines[-1].startswith("doctor: ") and " errors, " in lines[-1]
    # Each finding is said once; the error line after the list only counts them.
    errors = [x for x in lines if x.startswith("  ERROR")]
    assert errors
    for line in errors:
        assert (
            result.stdout.count(line.split("  ", 2)[-1]) == 1 and line.split("  ", 2)[-1] not in result.stderr
        )
    assert result.stderr.splitlines() == [f"terp-actions: error: doctor found {lines[-1].split()[1]} errors"]


@pytest.mark.parametrize(
    ("workflow", "message"),
    [
        pytest.param("on: push\njobs: [a]\n", "jobs: expected a mapping of jobs", id="jobs-list"),
        pytest.param(
            "on:\n  push:\n    paths-ignore: 5\njobs: {}\n",
            "on.push.paths-ignore: expected a list of patterns",
            id="paths-ignore-number",
        ),
        pytest.param("on: [push]\njobs:\n  a: 5\n", "jobs.a: expected a mapping", id="job-number"),
        pytest.param(
            "on: push\njobs:\n  a:\n    steps: 5\n", "jobs.a.steps: expected a list", id="steps-number"
        ),
        pytest.param("[1, 2]\n", "not a workflow (expected a mapping)", id="top-level-list"),
    ],
)
def test_a_workflow_of_the_wrong_shape_is_one_finding_not_a_traceback(
    repo: Repo, workflow: str, message: str
) -> None:
    """Fields of the wrong kind are an error finding naming the field; doctor exits 1."""
    repo.write({".github/workflows/x.yml": workflow})
    code, findings = doctor_json(repo.path)
    assert code == 1
    [finding] = [f["message"] for f in findings if f["file"] == ".github/workflows/x.yml"]
    assert isinstance(finding, str) and finding.endswith(message)


@pytest.mark.parametrize(
    ("entry", "special"),
    [
        pytest.param("x.yml", "directory", id="directory"),
        pytest.param("gone.yml", "broken-symlink", id="symlink"),
    ],
)
def test_an_unreadable_workflow_file_is_one_line(repo: Repo, entry: str, special: str) -> None:
    """A directory named like a workflow, or a broken symlink, is bad input naming it: exit 2."""
    folder = repo.path / ".github" / "workflows"
    folder.mkdir(parents=True)
    if special == "directory":
        (folder / entry).mkdir()
    else:
        (folder / entry).symlink_to(folder / "nowhere.yml")
    result = invoke(["doctor", "--repo", str(repo.path)])
    assert result.exit_code == 2 and result.stderr.startswith("terp-actions: error:")
    assert entry in result.stderr and "cannot be read" in result.stderr and "Traceback" not in result.stderr


def test_without_a_configuration_file_doctor_says_defaults_are_in_use(repo: Repo) -> None:
    """No file: one note saying so (not one per default pattern), and no error on its own."""
    repo.commit("Initial", {"src/app.py": "x\n", "docs/a.md": "# a\n"})
    code, findings = doctor_json(repo.path)
    assert code == 0
    assert [f["message"] for f in findings] == [
        "no configuration file: the defaults are in use, and no environment is configured"
    ]


def test_a_workflow_deploying_an_unconfigured_environment_is_an_error(repo: Repo) -> None:
    """The deploy action for `staging` (its default env) with no environments configured: error,
    naming the environment and the fix."""
    repo.commit("Initial", {"src/app.py": "x\n", ".github/workflows/deploy.yml": WORKFLOW})
    code, findings = doctor_json(repo.path)
    assert code == 1
    errors = [
        f for f in findings if f["severity"] == "error" and "environment 'staging'" in str(f["message"])
    ]
    assert errors and "add environments.staging" in str(errors[0]["fix"])


def test_findings_point_at_their_own_line_and_read_the_same_every_run(tmp_path: Path) -> None:
    """A pattern listed twice is flagged at its second line, pull_request's paths-ignore at its own
    (not push's), and the example path a warning names is the same on every run."""
    repo = Repo(tmp_path / "r")
    repo.path.mkdir()
    repo.git("init", "-q", "--initial-branch=main")
    repo.commit("files", {f"pkg{n}/notes.md": "x\n" for n in range(30)})
    config = 'ignore:\n  - "docs/**"\n  - "*.md"\n  - "docs/**"\n'
    workflow = (
        "on:\n  push:\n    paths-ignore: ['docs/**']\n  pull_request:\n    paths-ignore:\n"
        "      - 'docs/**'\n      - '.vscode/'\njobs:\n  t:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: make\n"
    )
    repo.commit("config", {".github/terp-actions.yml": config, ".github/workflows/ci.yml": workflow})
    runs = [invoke(["doctor", "--repo", str(repo.path), "--json"]) for _ in range(3)]
    assert runs[0].stdout == runs[1].stdout == runs[2].stdout
    found = {(f["file"], f["message"].split(" ")[0], f["line"]) for f in json.loads(runs[0].stdout)}
    assert (".github/terp-actions.yml", "pattern", 4) in found  # 'docs/**' listed twice: line 4
    assert (".github/workflows/ci.yml", "pull_request.paths-ignore", 5) in found
    assert (".github/workflows/ci.yml", "paths-ignore:", 7) in found  # '.vscode/' on its own line
    warning = next(f for f in json.loads(runs[0].stdout) if "matches only files at the" in f["message"])
    assert "e.g. pkg0/notes.md" in warning["message"]
