"""`terp-actions spec validate|diff`: offline checks, the live diff with secrets hidden."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from terp_actions.sandbox.fake_appplatform import AppPlatformStandIn

from ..test_spec import CANARY, STAGING_SPEC, TOKEN
from .conftest import actions_env, invoke


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
    ok = invoke(["spec", "validate", "--env", "staging"], env=env)
    assert ok.exit_code == 0, ok.stderr
    assert "valid for staging" in ok.stdout and CANARY not in ok.stdout + ok.stderr

    spec = spec_repo / ".do" / "app.staging.yaml"
    spec.write_text(STAGING_SPEC.replace("name: terp-staging", "name: terp-production"))
    bad = invoke(["spec", "validate", "--env", "staging"], env=env)
    assert bad.exit_code == 2
    assert "app.staging.yaml: name: 'terp-production' is not this environment's app" in bad.stderr


def test_spec_validate_checks_the_shape_without_the_secrets_unless_told(spec_repo: Path) -> None:
    """Without SESSION_SECRET set the spec's shape is still checked (and the placeholder named);
    --require-values insists on every value (exit 2, naming the field)."""
    env = {"TERP_REPO": str(spec_repo)}
    ok = invoke(["spec", "validate", "--env", "staging", "--json"], env=env)
    assert ok.exit_code == 0, ok.stderr
    assert json.loads(ok.stdout)["unfilled"] == ["SESSION_SECRET"]
    said = invoke(["spec", "validate", "--env", "staging"], env=env)
    assert (
        "not filled (no value in the environment; --require-values insists): ${SESSION_SECRET}" in said.stdout
    )
    strict = invoke(["spec", "validate", "--env", "staging", "--require-values"], env=env)
    assert strict.exit_code == 2 and "placeholder ${SESSION_SECRET} has no value" in strict.stderr
    spec = spec_repo / ".do" / "app.staging.yaml"
    spec.write_text(STAGING_SPEC.replace("name: terp-staging", "nmae: terp-staging"))
    bad = invoke(["spec", "validate", "--env", "staging"], env=env)
    assert bad.exit_code == 2 and "app.staging.yaml" in bad.stderr


def test_spec_diff_shows_the_change_without_secrets(
    do_stand_in: AppPlatformStandIn, origin: Path, spec_repo: Path
) -> None:
    """`spec diff` compares the file with the live app; the filled secret is never printed."""
    do_stand_in.add_app("terp-staging", "staging", repo=origin, timings={})
    result = invoke(["spec", "diff", "--env", "staging"], env=env_for(do_stand_in, spec_repo))
    assert result.exit_code == 0, result.stderr
    assert "+    - key: LOG_LEVEL" in result.stdout or "key: LOG_LEVEL" in result.stdout
    assert CANARY not in result.stdout + result.stderr


def test_malformed_yaml_names_the_file_and_line(spec_repo: Path) -> None:
    """A spec that is not YAML: one line naming the file and the line, exit 2."""
    (spec_repo / ".do" / "app.staging.yaml").write_text("name: terp-staging\nservices: [\n  - name: web\n")
    env = {"TERP_REPO": str(spec_repo), "DIGITALOCEAN_TOKEN": ""}
    result = invoke(["spec", "validate", "--env", "staging"], env=env)
    assert result.exit_code == 2
    assert "app.staging.yaml:" in result.stderr and "not valid YAML" in result.stderr


def test_json_output_is_one_document_even_with_a_spec_diff(
    do_stand_in: AppPlatformStandIn, origin: Path, spec_repo: Path
) -> None:
    """With --json, stdout is only the JSON document (the diff and progress go to stderr)."""
    do_stand_in.add_app("terp-staging", "staging", repo=origin, timings={})
    env = env_for(do_stand_in, spec_repo)
    result = invoke(["deploy", "--env", "staging", "--apply-spec", "--json"], env=env)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["spec"] == "app spec applied: services.web.envs"
    assert "+++ new" in result.stderr and CANARY not in result.stdout + result.stderr

    checked = invoke(["spec", "validate", "--env", "staging", "--json"], env=env)
    assert json.loads(checked.stdout) == {
        "valid": True,
        "name": "terp-staging",
        "env": "staging",
        "unfilled": [],
        "remote": False,
        "app-cost": None,
    }


def test_in_actions_json_stdout_holds_no_workflow_command(
    do_stand_in: AppPlatformStandIn, origin: Path, spec_repo: Path, tmp_path: Path
) -> None:
    """In Actions with --json, masks and log groups go to stderr (the runner reads it too):
    stdout is the document alone, and no mask command carries a secret into it."""
    do_stand_in.add_app("terp-staging", "staging", repo=origin, timings={})
    env = env_for(do_stand_in, spec_repo) | actions_env(tmp_path)
    result = invoke(["deploy", "--env", "staging", "--apply-spec", "--json"], env=env)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["spec"] == "app spec applied: services.web.envs"
    assert "::" not in result.stdout and CANARY not in result.stdout
    assert f"::add-mask::{CANARY}" in result.stderr and "::group::App spec" in result.stderr


def test_spec_validate_remote_asks_app_platform_too(spec_repo: Path, do_stand_in: AppPlatformStandIn) -> None:
    """--remote sends the filled spec to App Platform's validation: its answer (and the app's
    monthly cost) is reported; a spec it refuses is one line naming its first problem."""
    env = env_for(do_stand_in, spec_repo)
    ok = invoke(["spec", "validate", "--env", "staging", "--remote", "--json"], env=env)
    assert ok.exit_code == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert data["remote"] is True and data["app-cost"] == 5
    assert do_stand_in.calls["apps_validate_appSpec"] == 1
    offline = invoke(["spec", "validate", "--env", "staging"], env=env)
    assert offline.exit_code == 0 and do_stand_in.calls["apps_validate_appSpec"] == 1  # no request


def test_doctor_and_validate_find_a_misspelt_key_without_a_token(spec_repo: Path) -> None:
    """A top-level 'servces' and a deep 'helth_check' are found offline, naming the nearest key."""
    path = spec_repo / ".do" / "app.staging.yaml"
    path.write_text(STAGING_SPEC.replace("services:", "servces:", 1))
    result = invoke(
        ["spec", "validate", "--env", "staging"], env={"TERP_REPO": str(spec_repo), "SESSION_SECRET": "x"}
    )
    assert result.exit_code == 2 and "servces: unknown key (did you mean 'services'?)" in result.stderr
    doctor = invoke(["doctor", "--repo", str(spec_repo)])
    assert doctor.exit_code == 1 and "app.staging.yaml:3  not a valid app spec: servces" in doctor.stdout
