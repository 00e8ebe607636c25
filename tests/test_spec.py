"""App specs as code: placeholders, environment checks, diffs with secrets hidden, and
`deploy --apply-spec` against the App Platform stand-in."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from terp_actions.cli import cli
from terp_actions.errors import BadInput
from terp_actions.sandbox.fake_appplatform import AppPlatformStandIn
from terp_actions.sandbox.http import Fault
from terp_actions.spec import changed_fields, fill_placeholders, spec_diff, validate

TOKEN = "dop_v1_sandbox"
CANARY = "CanarySecret-5f1e9c"

STAGING_SPEC = """\
name: terp-staging
region: nyc
services:
  - name: web
    github: {repo: terp/terp, branch: staging, deploy_on_push: false}
    envs:
      - {key: PUBLIC_URL, value: "${APP_URL}"}
      - {key: DATABASE_URL, value: "${db.DATABASE_URL}"}
      - {key: SESSION_SECRET, value: "${SESSION_SECRET}", type: SECRET}
      - {key: LOG_LEVEL, value: info}
"""


# --- pure core --------------------------------------------------------------------------------


def test_placeholders_are_filled_from_the_environment_and_bindables_are_kept() -> None:
    """`${NAME}` comes from the environment; App Platform's own `${APP_URL}`, `${db.X}` stay."""
    filled = fill_placeholders(yaml.safe_load(STAGING_SPEC), {"SESSION_SECRET": CANARY}, where="app.yaml")
    envs = {e["key"]: e["value"] for e in filled.spec["services"][0]["envs"]}
    assert envs == {
        "PUBLIC_URL": "${APP_URL}",
        "DATABASE_URL": "${db.DATABASE_URL}",
        "SESSION_SECRET": CANARY,
        "LOG_LEVEL": "info",
    }
    assert filled.secrets == (CANARY,)


def test_a_missing_placeholder_value_names_the_field() -> None:
    """An unset variable is bad input naming the file, the field and the variable."""
    with pytest.raises(BadInput, match=r"app\.yaml: services\[0\]\.envs\[2\]\.value: .*SESSION_SECRET"):
        fill_placeholders(yaml.safe_load(STAGING_SPEC), {}, where="app.yaml")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        pytest.param({"name": "terp-production"}, "is not this environment's app 'terp-staging'", id="app"),
        pytest.param({"colour": "blue"}, "colour: unknown top-level field", id="unknown-field"),
        pytest.param({"services": []}, "no services", id="no-components"),
    ],
)
def test_a_spec_for_another_app_or_with_a_wrong_shape_is_refused(
    change: dict[str, object], problem: str
) -> None:
    """The spec must be this environment's, and look like an app spec."""
    spec = {**yaml.safe_load(STAGING_SPEC), **change}
    problems = validate(spec, where="app.yaml", app_name="terp-staging", branch="staging")
    assert any(problem in p for p in problems), problems


def test_a_spec_building_another_branch_is_refused() -> None:
    """A staging spec that builds `main` would deploy the wrong code; it is named by field."""
    spec = yaml.safe_load(STAGING_SPEC.replace("branch: staging", "branch: main"))
    assert validate(spec, where="app.yaml", app_name="terp-staging", branch="staging") == [
        "app.yaml: services.web.branch: 'main' is not this environment's branch 'staging'"
    ]
    assert validate(spec, where="app.yaml", app_name="terp-staging", branch="main") == []


def test_diffs_hide_secret_values_and_name_the_changed_fields() -> None:
    """A diff shows what changed, never a secret; a SECRET value's change cannot be seen."""
    live = {"name": "a", "envs": [{"key": "K", "value": "EV[1:abc]", "type": "SECRET"}], "region": "nyc"}
    new = {"name": "a", "envs": [{"key": "K", "value": CANARY, "type": "SECRET"}], "region": "ams"}
    diff = "\n".join(spec_diff(live, new, (CANARY,)))
    assert "-region: nyc" in diff and "+region: ams" in diff
    assert CANARY not in diff and "EV[1:abc]" not in diff
    assert changed_fields(live, new) == ["region"]
    assert changed_fields(new, new) == []


# --- the CLI against the App Platform stand-in ------------------------------------------------


@pytest.fixture
def spec_repo(tmp_path: Path, origin: Path) -> Path:
    """A clone of origin whose configuration names the staging app and its spec file."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
    (clone / ".github").mkdir()
    (clone / ".github" / "terp-actions.yml").write_text(
        "environments:\n"
        "  staging: {app: terp-staging, url: 'https://staging.terp.example', spec: .do/app.staging.yaml}\n"
    )
    (clone / ".do").mkdir()
    (clone / ".do" / "app.staging.yaml").write_text(STAGING_SPEC)
    return clone


def env_for(stand_in: AppPlatformStandIn, repo: Path, **extra: str) -> dict[str, str]:
    return {
        "DIGITALOCEAN_TOKEN": TOKEN,
        "TERP_DO_ENDPOINT": stand_in.url,
        "TERP_REPO": str(repo),
        "SESSION_SECRET": CANARY,
        **extra,
    }


def test_spec_validate_is_offline_and_exits_2_on_a_wrong_spec(spec_repo: Path) -> None:
    """`spec validate` passes a good spec and names the field of a bad one, without any token."""
    env = {"TERP_REPO": str(spec_repo), "SESSION_SECRET": CANARY, "DIGITALOCEAN_TOKEN": ""}
    ok = CliRunner().invoke(cli, ["spec", "validate", "--env", "staging"], env=env)
    assert ok.exit_code == 0, ok.stderr
    assert "valid for staging" in ok.stdout and CANARY not in ok.stdout + ok.stderr

    spec = spec_repo / ".do" / "app.staging.yaml"
    spec.write_text(STAGING_SPEC.replace("name: terp-staging", "name: terp-production"))
    bad = CliRunner().invoke(cli, ["spec", "validate", "--env", "staging"], env=env)
    assert bad.exit_code == 2
    assert "app.staging.yaml: name: 'terp-production' is not this environment's app" in bad.stderr


def test_spec_diff_shows_the_change_without_secrets(
    do_stand_in: AppPlatformStandIn, origin: Path, spec_repo: Path
) -> None:
    """`spec diff` compares the file with the live app; the filled secret is never printed."""
    do_stand_in.add_app("terp-staging", "staging", repo=origin, timings={})
    result = CliRunner().invoke(
        cli, ["spec", "diff", "--env", "staging"], env=env_for(do_stand_in, spec_repo)
    )
    assert result.exit_code == 0, result.stderr
    assert "+    - key: LOG_LEVEL" in result.stdout or "key: LOG_LEVEL" in result.stdout
    assert CANARY not in result.stdout + result.stderr


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
    first = CliRunner().invoke(cli, ["deploy", "--env", "staging", "--apply-spec"], env=env)
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

    second = CliRunner().invoke(cli, ["deploy", "--env", "staging", "--apply-spec"], env=env)
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
    result = CliRunner().invoke(
        cli, ["deploy", "--env", "staging", "--apply-spec"], env=env_for(do_stand_in, spec_repo)
    )
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

    unchanged = CliRunner().invoke(
        cli, ["deploy", "--env", "staging", "--spec-since", "origin/staging"], env=env
    )
    assert unchanged.exit_code == 0, unchanged.stderr
    assert "unchanged in" in unchanged.stdout
    assert do_stand_in.calls["apps_update"] == 0 and app.applied_spec is None

    changed = CliRunner().invoke(cli, ["deploy", "--env", "staging", "--spec-since", before], env=env)
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
    result = CliRunner().invoke(
        cli, ["deploy", "--env", "staging", "--apply-spec"], env=env_for(do_stand_in, spec_repo)
    )
    assert result.exit_code == 2
    assert "app spec region: 'ams' does not match the live app's 'nyc'" in result.stderr
    assert do_stand_in.calls["apps_update"] == 0 and app.deployments == []


def test_a_spec_the_api_refuses_exits_1_with_its_message_and_deploys_nothing(
    do_stand_in: AppPlatformStandIn, origin: Path, spec_repo: Path
) -> None:
    """App Platform answers 422 to the update: its message is shown, no deployment is created."""
    app = do_stand_in.add_app("terp-staging", "staging", repo=origin, timings={})
    do_stand_in.inject(Fault("apps_update", "status", frozenset({1}), 422))
    result = CliRunner().invoke(
        cli, ["deploy", "--env", "staging", "--apply-spec"], env=env_for(do_stand_in, spec_repo)
    )
    assert result.exit_code == 1, result.stdout + result.stderr
    assert (
        "422" in result.stderr
        and CANARY not in result.stdout.replace(f"::add-mask::{CANARY}", "") + result.stderr
    )
    assert app.deployments == [] and do_stand_in.calls["apps_create_deployment"] == 0


def test_changed_fields_name_components_and_envs_by_name() -> None:
    """A changed env value is named down to the variable, not as the whole services list."""
    live = yaml.safe_load(STAGING_SPEC)
    new = yaml.safe_load(STAGING_SPEC.replace("value: info", "value: debug"))
    assert changed_fields(live, new) == ["services.web.envs.LOG_LEVEL.value"]


def test_malformed_yaml_names_the_file_and_line(spec_repo: Path) -> None:
    """A spec that is not YAML: one line naming the file and the line, exit 2."""
    (spec_repo / ".do" / "app.staging.yaml").write_text("name: terp-staging\nservices: [\n  - name: web\n")
    env = {"TERP_REPO": str(spec_repo), "DIGITALOCEAN_TOKEN": ""}
    result = CliRunner().invoke(cli, ["spec", "validate", "--env", "staging"], env=env)
    assert result.exit_code == 2
    assert "app.staging.yaml:" in result.stderr and "not valid YAML" in result.stderr


def test_json_output_is_one_document_even_with_a_spec_diff(
    do_stand_in: AppPlatformStandIn, origin: Path, spec_repo: Path
) -> None:
    """With --json, stdout is only the JSON document (the diff and progress go to stderr)."""
    do_stand_in.add_app("terp-staging", "staging", repo=origin, timings={})
    env = env_for(do_stand_in, spec_repo)
    result = CliRunner().invoke(cli, ["deploy", "--env", "staging", "--apply-spec", "--json"], env=env)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["spec"] == "app spec applied: services.web.envs"
    assert "+++ new" in result.stderr and CANARY not in result.stdout + result.stderr

    checked = CliRunner().invoke(cli, ["spec", "validate", "--env", "staging", "--json"], env=env)
    assert json.loads(checked.stdout) == {"valid": True, "name": "terp-staging", "env": "staging"}
