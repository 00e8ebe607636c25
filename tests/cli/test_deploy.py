"""`terp-actions deploy` against the App Platform stand-in: outputs, failures, bad input, heal rules."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from terp_actions.sandbox.fake_appplatform import AppPlatformStandIn, Failure
from terp_actions.sandbox.http import Fault

from ..test_deploy import TOKEN
from ..test_spec import CANARY, STAGING_SPEC
from .conftest import invoke, read_outputs
from .test_spec import env_for, spec_repo  # noqa: F401 - spec_repo is a fixture


def cli_env(stand_in: AppPlatformStandIn, repo: Path, **extra: str) -> dict[str, str]:
    return {"DIGITALOCEAN_TOKEN": TOKEN, "TERP_DO_ENDPOINT": stand_in.url, "TERP_REPO": str(repo), **extra}


@pytest.fixture
def configured(tmp_path: Path, origin: Path) -> Path:
    """A clone of origin whose configuration names the staging app."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
    (clone / ".github").mkdir()
    (clone / ".github" / "terp-actions.yml").write_text(
        "environments:\n  staging: {app: terp-staging, url: 'https://staging.terp.example'}\n"
    )
    return clone


def test_cli_deploy_writes_outputs(
    do_stand_in: AppPlatformStandIn, origin: Path, configured: Path, tmp_path: Path
) -> None:
    """`deploy --env staging` goes live and sets every output."""
    app = do_stand_in.add_app("terp-staging", "staging", repo=origin, timings={})
    out = tmp_path / "out"
    result = invoke(
        ["deploy", "--env", "staging"],
        env=cli_env(do_stand_in, configured, GITHUB_ACTIONS="true", GITHUB_OUTPUT=str(out)),
    )
    assert result.exit_code == 0, result.stderr
    text = out.read_text()
    for name in ("deployment-id", "phase", "commit", "attempts", "fingerprint", "url", "adopted", "spec"):
        assert f"{name}<<" in text
    assert app.deployments[0].id in text and "ACTIVE" in text


def test_cli_deploy_failure_never_leaks_secrets(
    do_stand_in: AppPlatformStandIn, origin: Path, configured: Path, tmp_path: Path
) -> None:
    """A failed deploy exits 1; a canary token and DATABASE_URL password in the log stay hidden."""
    canary = "dop_v1_" + "c" * 64
    app = do_stand_in.add_app("terp-staging", "staging", repo=origin, timings={})
    do_stand_in.tokens.add(canary)
    log = "Error: environment variable SECRET_KEY is missing; "
    log += f"DATABASE_URL=postgres://terp:CanaryPass99@db/t {canary}"
    do_stand_in.fail_next_deployment(app, Failure("BUILDING", 0, log))
    out, summary = tmp_path / "out", tmp_path / "summary"
    env = cli_env(
        do_stand_in,
        configured,
        GITHUB_ACTIONS="true",
        GITHUB_OUTPUT=str(out),
        GITHUB_STEP_SUMMARY=str(summary),
    )
    env["DIGITALOCEAN_TOKEN"] = canary
    result = invoke(["deploy", "--env", "staging"], env=env)
    assert result.exit_code == 1
    everything = result.stdout + result.stderr + out.read_text() + summary.read_text()
    assert "Deployment failed" in result.stderr
    assert canary not in everything and "CanaryPass99" not in everything


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param({"DIGITALOCEAN_TOKEN": ""}, "DIGITALOCEAN_TOKEN is not set", id="no-token"),
        pytest.param({"TERP_ENV": "qa"}, "environment 'qa' is not configured", id="unknown-env"),
    ],
)
def test_cli_deploy_bad_input_exits_2_before_any_request(
    do_stand_in: AppPlatformStandIn, configured: Path, env: dict[str, str], message: str
) -> None:
    """No token or an unknown environment: exit 2, and the API was not called."""
    args = ["deploy"] + ([] if "TERP_ENV" in env else ["--env", "staging"])
    result = invoke(args, env=cli_env(do_stand_in, configured, **env))
    assert result.exit_code == 2 and message in result.stderr
    assert sum(do_stand_in.calls.values()) == 0


def test_configured_heal_rule_overrides_the_defaults(
    do_stand_in: AppPlatformStandIn, origin: Path, configured: Path
) -> None:
    """A team's own rule marks a failure deterministic: one attempt, exit 1, no retry."""
    (configured / ".github" / "terp-actions.yml").write_text(
        "environments:\n  staging: {app: terp-staging, url: 'https://staging.terp.example'}\n"
        "deploy: {rules: [{pattern: 'quota exceeded', kind: deterministic}]}\n"
    )
    app = do_stand_in.add_app("terp-staging", "staging", repo=origin, timings={})
    do_stand_in.fail_next_deployment(app, Failure("BUILDING", 0, "error: quota exceeded for builds"))
    result = invoke(["deploy", "--env", "staging"], env=cli_env(do_stand_in, configured))
    assert result.exit_code == 1 and "deterministic failure (configured rule)" in result.stderr
    assert len(app.deployments) == 1


def test_deploy_apply_spec_updates_once_and_adopts_the_deployment_it_started(
    do_stand_in: AppPlatformStandIn, origin: Path, spec_repo: Path, tmp_path: Path
) -> None:
    """The spec is applied (one app update), its deployment is followed rather than a second one
    created, and a second run with the same spec applies nothing."""
    app = do_stand_in.add_app("terp-staging", "staging", repo=origin, timings={})
    summary = tmp_path / "summary"
    out = tmp_path / "out"
    env = env_for(
        do_stand_in,
        spec_repo,
        GITHUB_ACTIONS="true",
        GITHUB_STEP_SUMMARY=str(summary),
        GITHUB_OUTPUT=str(out),
    )
    first = invoke(["deploy", "--env", "staging", "--apply-spec"], env=env)
    assert first.exit_code == 0, first.stderr
    # The `spec` output is what the workflow puts in the PR comment's `deployed` row.
    assert "app spec applied: services.web.envs" in out.read_text() and CANARY not in out.read_text()
    assert do_stand_in.calls["apps_update"] == 1
    assert len(app.deployments) == 1 and app.deployments[0].cause == "app spec updated"
    assert app.deployments[0].id in first.stdout
    assert "app spec applied" in first.stdout
    added = [line for line in summary.read_text().splitlines() if line.startswith("+")]
    assert "```diff" in summary.read_text() and any("value: info" in line for line in added)
    # The runner is told to mask the value; that command is the only place it may appear.
    assert f"::add-mask::{CANARY}" in first.stdout
    everything = first.stdout.replace(f"::add-mask::{CANARY}", "") + first.stderr + summary.read_text()
    assert CANARY not in everything

    second = invoke(["deploy", "--env", "staging", "--apply-spec"], env=env)
    assert second.exit_code == 0, second.stderr
    assert "no change from the live spec" in second.stdout
    assert do_stand_in.calls["apps_update"] == 1 and len(app.deployments) == 1


def test_deploy_apply_spec_with_a_bad_spec_changes_nothing(
    do_stand_in: AppPlatformStandIn, origin: Path, spec_repo: Path
) -> None:
    """A spec for the wrong branch: exit 2 before any request, nothing applied or deployed."""
    app = do_stand_in.add_app("terp-staging", "staging", repo=origin, timings={})
    (spec_repo / ".do" / "app.staging.yaml").write_text(
        STAGING_SPEC.replace("branch: staging", "branch: main")
    )
    result = invoke(["deploy", "--env", "staging", "--apply-spec"], env=env_for(do_stand_in, spec_repo))
    assert result.exit_code == 2
    assert "services.web.branch: 'main' is not this environment's branch 'staging'" in result.stderr
    assert sum(do_stand_in.calls.values()) == 0 and app.deployments == []


def _commit_spec_to_staging(clone: Path) -> str:
    """Commit the spec file onto staging and push it; returns the staging tip before."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=clone, check=True, capture_output=True, text=True
        ).stdout.strip()

    before = git("rev-parse", "origin/staging")
    git("checkout", "-q", "-B", "staging", "origin/staging")
    git("add", ".do")
    git("commit", "-qm", "Give staging a LOG_LEVEL")
    git("push", "-q", "origin", "staging")
    git("fetch", "-q", "origin")
    return before


def test_a_range_that_changes_the_spec_applies_it_and_one_that_does_not_leaves_it(
    do_stand_in: AppPlatformStandIn, origin: Path, spec_repo: Path
) -> None:
    """`--spec-since BASE` applies the spec only when BASE..SHA changed the file."""
    app = do_stand_in.add_app("terp-staging", "staging", repo=origin, timings={})
    before = _commit_spec_to_staging(spec_repo)
    env = env_for(do_stand_in, spec_repo)

    unchanged = invoke(["deploy", "--env", "staging", "--spec-since", "origin/staging"], env=env)
    assert unchanged.exit_code == 0, unchanged.stderr
    assert "unchanged in" in unchanged.stdout
    assert do_stand_in.calls["apps_update"] == 0 and app.applied_spec is None

    changed = invoke(["deploy", "--env", "staging", "--spec-since", before], env=env)
    assert changed.exit_code == 0, changed.stderr
    assert "changed in" in changed.stdout and "app spec applied" in changed.stdout
    assert do_stand_in.calls["apps_update"] == 1
    envs = {e["key"] for e in (app.applied_spec or {})["services"][0]["envs"]}
    assert "LOG_LEVEL" in envs


def test_a_spec_for_another_region_is_not_applied(
    do_stand_in: AppPlatformStandIn, origin: Path, spec_repo: Path
) -> None:
    """A spec whose region differs from the live app's is refused (exit 2) before any update."""
    app = do_stand_in.add_app("terp-staging", "staging", repo=origin, timings={})
    (spec_repo / ".do" / "app.staging.yaml").write_text(STAGING_SPEC.replace("region: nyc", "region: ams"))
    result = invoke(["deploy", "--env", "staging", "--apply-spec"], env=env_for(do_stand_in, spec_repo))
    assert result.exit_code == 2
    assert "app spec region: 'ams' does not match the live app's 'nyc'" in result.stderr
    assert do_stand_in.calls["apps_update"] == 0 and app.deployments == []


def test_a_spec_the_api_refuses_exits_1_with_its_message_and_deploys_nothing(
    do_stand_in: AppPlatformStandIn, origin: Path, spec_repo: Path
) -> None:
    """App Platform answers 422 to the update: its message is shown, no deployment is created."""
    app = do_stand_in.add_app("terp-staging", "staging", repo=origin, timings={})
    do_stand_in.inject(Fault("apps_update", "status", frozenset({1}), 422))
    result = invoke(["deploy", "--env", "staging", "--apply-spec"], env=env_for(do_stand_in, spec_repo))
    assert result.exit_code == 1, result.stdout + result.stderr
    assert (
        "422" in result.stderr
        and CANARY not in result.stdout.replace(f"::add-mask::{CANARY}", "") + result.stderr
    )
    assert app.deployments == [] and do_stand_in.calls["apps_create_deployment"] == 0


def test_a_deploy_freeze_stops_the_deploy_before_any_request(
    do_stand_in: AppPlatformStandIn, origin: Path, configured: Path, tmp_path: Path
) -> None:
    """TERP_FREEZE set: nothing is asked of App Platform, exit 0 (a freeze holds merges back, it does
    not turn every run red), one warning naming the freeze and the override, outputs saying so."""
    do_stand_in.add_app("terp-staging", "staging", repo=origin, timings={})
    out = tmp_path / "out"
    result = invoke(
        ["deploy", "--env", "staging"],
        env=cli_env(
            do_stand_in,
            configured,
            TERP_FREEZE="release window",
            GITHUB_ACTIONS="true",
            GITHUB_OUTPUT=str(out),
        ),
    )
    assert result.exit_code == 0, result.stderr
    assert "::warning title=Deploy freeze::deploy freeze (release window): the staging deploy is stopped" in (
        result.stderr
    )
    assert "--override-freeze" in result.stderr
    assert "NOT DEPLOYED  staging: stopped by the deploy freeze (release window)" in result.stdout
    assert sum(do_stand_in.calls.values()) == 0
    outputs = read_outputs(out)
    assert outputs["frozen"] == "true" and outputs["deployment-id"] == ""
    assert outputs["freeze"] == "stopped by the deploy freeze (release window)"


def test_overriding_the_freeze_deploys_and_reports_why(
    do_stand_in: AppPlatformStandIn, origin: Path, configured: Path, tmp_path: Path
) -> None:
    """--override-freeze needs --reason (exit 2, nothing asked); with one it deploys and says why."""
    app = do_stand_in.add_app("terp-staging", "staging", repo=origin, timings={})
    env = cli_env(do_stand_in, configured, TERP_FREEZE="true")
    bare = invoke(["deploy", "--env", "staging", "--override-freeze"], env=env)
    assert bare.exit_code == 2 and "--override-freeze needs --reason" in bare.stderr
    assert sum(do_stand_in.calls.values()) == 0
    result = invoke(
        ["deploy", "--env", "staging", "--override-freeze", "--reason", "hotfix", "--json"], env=env
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["frozen"] is False and data["freeze"] == "deploy freeze (in force) overridden: hotfix"
    assert data["deployment-id"] == app.deployments[0].id


def test_redeploy_creates_a_deployment_although_the_live_one_carries_the_commit(
    do_stand_in: AppPlatformStandIn, origin: Path, configured: Path
) -> None:
    """A plain deploy adopts the live deployment; --redeploy makes a new one (a secret changed)."""
    app = do_stand_in.add_app("terp-staging", "staging", repo=origin, timings={})
    do_stand_in.deploy(app)
    env = cli_env(do_stand_in, configured)
    adopted = invoke(["deploy", "--env", "staging", "--json"], env=env)
    assert adopted.exit_code == 0 and json.loads(adopted.stdout)["adopted"] is True
    assert len(app.deployments) == 1
    again = invoke(
        ["deploy", "--env", "staging", "--json", "--redeploy", "--reason", "secret rotated"], env=env
    )
    assert again.exit_code == 0, again.stderr
    data = json.loads(again.stdout)
    assert data["adopted"] is False and data["redeploy"] == "secret rotated"
    assert len(app.deployments) == 2 and data["deployment-id"] == app.deployments[0].id
