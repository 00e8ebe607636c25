"""`terp-actions report`: comments and Deployments through the GitHub stand-in."""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path

import pytest

from terp_actions.report import (
    MARKER,
    parse_state,
)
from terp_actions.sandbox.fake_github import Deployment, GitHubStandIn, secondary_rate_limit
from terp_actions.sandbox.http import Fault

from ..test_report import gh  # noqa: F401 - a fixture
from .conftest import invoke


def test_cli_report_posts_comments_and_the_deployment(
    gh: GitHubStandIn, origin: Path, tmp_path: Path
) -> None:
    """`report` takes the PR numbers as sync and plan output them and updates everything."""
    sha = subprocess.run(
        ["git", "rev-parse", "main"], cwd=origin, capture_output=True, text=True, check=True
    ).stdout.strip()
    out, summary = tmp_path / "out", tmp_path / "summary"
    env = {
        "GITHUB_TOKEN": "ghs_sandbox",
        "GITHUB_REPOSITORY": "terp/terp",
        "GITHUB_API_URL": gh.url,
        "GITHUB_RUN_ID": "99",
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(out),
        "GITHUB_STEP_SUMMARY": str(summary),
        "TERP_PULL_REQUESTS": "[12]",
    }
    args = [
        "report",
        "--stage",
        "verified",
        "--status",
        "success",
        "--sha",
        sha,
        "--env",
        "staging",
        "--p95-ms",
        "120",
    ]
    result = invoke(args, env=env)
    assert result.exit_code == 0, result.stderr
    assert "#12: comment created" in result.stdout
    assert "comments<<" in out.read_text() and "deployment-id<<" in out.read_text()
    assert "| verified | ✅ success |" in summary.read_text()
    [deployment] = gh.deployments.values()
    assert deployment.statuses[-1]["log_url"] == "https://github.com/terp/terp/actions/runs/99"
    assert "p95=120ms" in deployment.statuses[-1]["description"]


def test_cli_report_without_github_only_warns(tmp_path: Path) -> None:
    """Without a token it renders, warns and exits 0: reporting never fails the run."""
    result = invoke(["report", "--stage", "planned", "--status", "skipped", "--pr", "7"], env={})
    assert result.exit_code == 0 and "nothing posted" in result.stderr and MARKER in result.stdout


@pytest.mark.parametrize("args", [["--sha", "not-hex"], ["--pr", "abc"], ["--deployment", "a/b"]])
def test_cli_report_bad_input_exits_2(args: list[str]) -> None:
    """Malformed commit ids, PR numbers or deployment ids are refused."""
    result = invoke(["report", "--stage", "synced", "--status", "success", *args], env={})
    assert result.exit_code == 2


def test_cli_report_finds_the_pull_requests_of_the_commit(gh: GitHubStandIn, origin: Path) -> None:
    """Without PR numbers, `report` comments on the merged PRs GitHub associates with --sha."""
    sha = subprocess.run(
        ["git", "rev-parse", "feature"], cwd=origin, capture_output=True, text=True, check=True
    ).stdout.strip()
    gh.add_pull("Feature", "feature", "main", merged_sha=sha, number=30)
    env = {"GITHUB_TOKEN": "ghs_sandbox", "GITHUB_REPOSITORY": "terp/terp", "GITHUB_API_URL": gh.url}
    result = invoke(["report", "--stage", "synced", "--status", "success", "--sha", sha], env=env)
    assert result.exit_code == 0, result.stderr
    assert "#30: comment created" in result.stdout


SESSION = "sess-" + "Q9x" * 6
PEPPER = "pepper-" + "k2" * 6


def _everything_github_holds(gh: GitHubStandIn) -> str:
    """Every comment (with its hidden state decoded) and every Deployment description and status."""
    texts = []
    for comment in gh.comments.values():
        texts.append(comment.body)
        for block in re.findall(r"terp-actions:state v\d+ ([A-Za-z0-9+/=]+)", comment.body):
            texts.append(base64.b64decode(block).decode())
    for deployment in gh.deployments.values():
        texts.append(json.dumps(deployment.__dict__, default=str))
    return "\n".join(texts)


@pytest.mark.parametrize("dry_run", [False, True], ids=["posted", "dry-run"])
def test_secrets_in_a_detail_never_reach_github_or_the_printed_comment(
    gh: GitHubStandIn, origin: Path, tmp_path: Path, dry_run: bool
) -> None:
    """A detail quoting secret values (a secret-named variable, a name listed under `secrets:`,
    a URL password) is redacted before it is rendered, put in the hidden state or a Deployment."""
    sha = subprocess.run(
        ["git", "rev-parse", "main"], cwd=origin, capture_output=True, text=True, check=True
    ).stdout.strip()
    repo = tmp_path / "repo"
    (repo / ".github").mkdir(parents=True)
    (repo / ".github" / "terp-actions.yml").write_text("secrets: [APP_PEPPER]\n")
    env = {
        "GITHUB_TOKEN": "ghs_sandbox",
        "GITHUB_REPOSITORY": "terp/terp",
        "GITHUB_API_URL": gh.url,
        "SESSION_SECRET": SESSION,
        "APP_PEPPER": PEPPER,
        "DATABASE_URL": "postgres://terp:dbPassw0rd!@db/terp",
    }
    encoded = base64.b64encode(PEPPER.encode()).decode()
    detail = f"boot failed: SESSION={SESSION} pepper {PEPPER}; password was dbPassw0rd! ({encoded})"
    args = ["report", "--stage", "deployed", "--status", "failure", "--pr", "12", "--sha", sha,
            "--env", "staging", "--detail", detail, "--repo", str(repo)]  # fmt: skip
    result = invoke([*args, "--dry-run"] if dry_run else args, env)
    assert result.exit_code == 0, result.stderr
    printed = result.stdout + result.stderr
    for block in re.findall(r"terp-actions:state v\d+ ([A-Za-z0-9+/=]+)", printed):
        printed += base64.b64decode(block).decode()
    seen = printed + _everything_github_holds(gh)
    assert "boot failed" in seen
    for secret in (SESSION, PEPPER, "dbPassw0rd!", base64.b64encode(PEPPER.encode()).decode()):
        assert secret not in seen
    assert bool(gh.comments) is not dry_run


@pytest.mark.parametrize("kind", ["truncate", "invalid_json"])
@pytest.mark.parametrize("operation", ["issues/create-comment", "repos/create-deployment-status"])
def test_an_unreadable_github_answer_is_a_warning_not_a_traceback(
    gh: GitHubStandIn, origin: Path, kind: str, operation: str
) -> None:
    """A write GitHub answers with a truncated or non-JSON body: report finds a comment it made
    (never a second one) or warns in one line, and exits 0 (reads: tests/test_github.py)."""
    sha = subprocess.run(
        ["git", "rev-parse", "main"], cwd=origin, capture_output=True, text=True, check=True
    ).stdout.strip()
    gh.inject(Fault(operation, kind))  # type: ignore[arg-type]
    env = {"GITHUB_TOKEN": "ghs_sandbox", "GITHUB_REPOSITORY": "terp/terp", "GITHUB_API_URL": gh.url}
    args = [
        "report",
        "--stage",
        "verified",
        "--status",
        "success",
        "--pr",
        "12",
        "--sha",
        sha,
        "--env",
        "staging",
    ]
    result = invoke(args, env)
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    if operation == "issues/create-comment":
        # The create was processed and its answer lost: looked for, found, and not made twice.
        assert [c.issue for c in gh.comments.values()] == [12]
    else:
        assert (
            "the GitHub Deployment was not updated: create deployment status: unreadable answer"
            in result.stderr
        )


def test_cli_report_fails_when_a_rate_limit_outlasts_the_budget(gh: GitHubStandIn, origin: Path) -> None:
    """A secondary rate limit asking for longer than github.rate_limit_budget fails the report
    (exit 1) saying when to rerun: the row is never dropped behind a green run."""
    sha = subprocess.run(
        ["git", "rev-parse", "main"], cwd=origin, capture_output=True, text=True, check=True
    ).stdout.strip()
    gh.inject(secondary_rate_limit("issues/create-comment", 400))
    env = {
        "GITHUB_TOKEN": "ghs_sandbox", "GITHUB_REPOSITORY": "terp/terp", "GITHUB_API_URL": gh.url,
        "TERP_PULL_REQUESTS": "[12]",
    }  # fmt: skip
    result = invoke(["report", "--stage", "verified", "--status", "success", "--sha", sha], env=env)
    assert result.exit_code == 1
    assert "asks for 400 s" in result.stderr and "rerun the job after" in result.stderr
    assert not [c for c in gh.comments.values() if c.issue == 12]


def test_one_report_reads_few_deployment_pages_whatever_the_history(gh: GitHubStandIn, origin: Path) -> None:
    """With 1,200 earlier staging Deployments, a `report` of a new commit reads at most six
    pages of Deployments: it stops paging as soon as it has what it asked for."""
    main = subprocess.run(
        ["git", "rev-parse", "main"], cwd=origin, capture_output=True, text=True, check=True
    ).stdout.strip()
    feature = subprocess.run(
        ["git", "rev-parse", "feature"], cwd=origin, capture_output=True, text=True, check=True
    ).stdout.strip()
    with gh.lock:
        for _ in range(1200):
            d = Deployment(
                next(gh.ids), main, "staging", "staging", "deploy", "", "github-actions[bot]", {}, 0.0
            )
            d.statuses.append({"id": next(gh.ids), "state": "success", "creator": "github-actions[bot]",
                               "description": "verified (p95=100ms)", "log_url": "", "environment_url": "",
                               "created": 0.0})  # fmt: skip
            gh.deployments[d.id] = d
    env = {
        "GITHUB_TOKEN": "ghs_sandbox", "GITHUB_REPOSITORY": "terp/terp", "GITHUB_API_URL": gh.url,
        "TERP_PULL_REQUESTS": "[12]",
    }  # fmt: skip
    args = ["report", "--stage", "verified", "--status", "success", "--sha", feature, "--env", "staging"]
    result = invoke(args, env=env)
    assert result.exit_code == 0, result.stderr
    assert 1 <= gh.calls["repos/list-deployments"] <= 6


def test_an_earlier_stage_goes_in_the_same_edit(gh: GitHubStandIn, origin: Path) -> None:
    """--also-stage records the deployed row with the verified one: one comment write and one
    read-back for both, and the Deployment follows the verified state."""
    sha = subprocess.run(
        ["git", "rev-parse", "main"], cwd=origin, capture_output=True, text=True, check=True
    ).stdout.strip()
    env = {
        "GITHUB_TOKEN": "ghs_sandbox", "GITHUB_REPOSITORY": "terp/terp", "GITHUB_API_URL": gh.url,
        "TERP_PULL_REQUESTS": "[12]",
    }  # fmt: skip
    args = ["report", "--stage", "verified", "--status", "success", "--sha", sha, "--env", "staging",
            "--also-stage", "deployed", "--also-status", "success",
            "--also-detail", "healed on attempt 2"]  # fmt: skip
    result = invoke(args, env=env)
    assert result.exit_code == 0, result.stderr
    [comment] = [c for c in gh.comments.values() if c.issue == 12]
    state = parse_state(comment.body, 12)
    assert state is not None
    assert (
        state.stages["deployed"].status == "success"
        and state.stages["deployed"].detail == "healed on attempt 2"
    )
    assert state.stages["verified"].status == "success"
    assert gh.calls["issues/create-comment"] + gh.calls["issues/update-comment"] == 1
    [deployment] = gh.deployments.values()
    assert deployment.statuses[-1]["state"] == "success"
    lonely = invoke(
        ["report", "--stage", "verified", "--status", "success", "--sha", sha, "--also-stage", "deployed"],
        env=env,
    )
    assert lonely.exit_code == 2 and "--also-stage and --also-status go together" in lonely.stderr


def test_report_with_nothing_to_report_on_is_bad_input(tmp_path: Path) -> None:
    """No pull request and no commit: exit 2 saying what to give, never a silent success."""
    result = invoke(["report", "--stage", "synced", "--status", "success", "--repo", str(tmp_path)], env={})
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "terp-actions: error: nothing to report on: give the pull requests (--pr, TERP_PULL_REQUESTS) "
        "or the commit (--sha) whose pull requests GitHub knows"
    ]
