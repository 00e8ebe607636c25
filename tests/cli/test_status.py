"""`terp-actions status` and `logs`: what runs where, and its logs, redacted."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from terp_actions.sandbox.fake_appplatform import AppPlatformStandIn

from .conftest import invoke
from .test_deploy import cli_env, configured  # noqa: F401 - configured is a fixture


def test_cli_status_and_logs(do_stand_in: AppPlatformStandIn, origin: Path, configured: Path) -> None:
    """`status` names the deployment carrying a commit; `logs` prints the build log."""
    app = do_stand_in.add_app("terp-staging", "staging", repo=origin, timings={})
    do_stand_in.deploy(app)
    head = subprocess.run(
        ["git", "rev-parse", "origin/staging"], cwd=configured, capture_output=True, text=True, check=True
    ).stdout.strip()
    status = invoke(
        ["status", "--env", "staging", "--sha", head, "--json"], env=cli_env(do_stand_in, configured)
    )
    assert status.exit_code == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["carrying"]["deployment-id"] == app.deployments[0].id and data["active"]["phase"] == "ACTIVE"
    logs = invoke(
        ["logs", "--env", "staging", "--type", "build", "--grep", "building"],
        env=cli_env(do_stand_in, configured),
    )
    assert logs.exit_code == 0 and "building commit" in logs.stdout and "token=" not in logs.stdout


def test_status_of_an_unknown_commit_is_bad_input(
    do_stand_in: AppPlatformStandIn, origin: Path, configured: Path
) -> None:
    """`status --sha` naming no commit of the clone is one line and exit 2, not a git error."""
    do_stand_in.add_app("terp-staging", "staging", repo=origin, timings={})
    for sha in ("deadbeefdeadbeef", "mäin"):
        result = invoke(["status", "--env", "staging", "--sha", sha], env=cli_env(do_stand_in, configured))
        assert result.exit_code == 2, result.stderr
        assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("terp-actions: error: --sha")


def test_a_refused_token_is_bad_input_naming_the_token(
    do_stand_in: AppPlatformStandIn, configured: Path
) -> None:
    """A token App Platform refuses (401) says which token and what to do, exit 2, token hidden."""
    env = cli_env(do_stand_in, configured) | {"DIGITALOCEAN_TOKEN": "dop_v1_" + "e" * 64}
    result = invoke(["status", "--env", "staging"], env=env)
    assert result.exit_code == 2
    assert "App Platform refused DIGITALOCEAN_TOKEN (401 unauthorized)" in result.stderr
    assert "hint: it is wrong, expired or revoked" in result.stderr and "e" * 64 not in result.stderr


def test_status_watch_and_logs_follow_from_the_command_line(
    do_stand_in: AppPlatformStandIn, origin: Path, configured: Path
) -> None:
    """`status --watch` with nothing in progress ends at once, exit 0; `logs --follow` of an
    ended build prints its log once (redacted, filtered) and ends, exit 0."""
    app = do_stand_in.add_app("terp-staging", "staging", repo=origin, timings={})
    dep = do_stand_in.deploy(app)
    dep.logs["BUILD"] = "building commit abc\nGITHUB_TOKEN=ghs_" + "x" * 30 + "\nbuild complete\n"
    env = cli_env(do_stand_in, configured)
    watched = invoke(["status", "--env", "staging", "--watch"], env=env)
    assert watched.exit_code == 0 and "no deployment in progress" in watched.stdout
    followed = invoke(["logs", "--env", "staging", "--type", "build", "--follow", "--grep", "build"], env=env)
    assert followed.exit_code == 0, followed.stderr
    assert followed.stdout.splitlines() == ["building commit abc", "build complete"]
    secret = invoke(["logs", "--env", "staging", "--type", "build", "--follow"], env=env)
    assert "GITHUB_TOKEN=***" in secret.stdout and "x" * 30 not in secret.stdout


def test_an_auto_rollback_is_said_by_status_and_fails_verify(
    do_stand_in: AppPlatformStandIn, origin: Path, configured: Path
) -> None:
    """App Platform rolled the app back by itself (cause_details.type AUTO_ROLLBACK): status says
    so and to what, and verify fails with an 'auto rollback' check naming the restored deployment."""
    app = do_stand_in.add_app("terp-staging", "staging", repo=origin, timings={})
    good = do_stand_in.deploy(app)
    do_stand_in.deploy(app)  # a newer build went live…
    rolled = do_stand_in.deploy(
        app, cause="auto rollback", cloned_from=good.id, cause_details={"type": "AUTO_ROLLBACK"}
    )
    config = configured / ".github" / "terp-actions.yml"  # no app answers here: fail health fast
    config.write_text(config.read_text() + "verify: {health: {probes: 1, interval: 0.01s, timeout: 1s}}\n")
    env = cli_env(do_stand_in, configured)
    status = invoke(["status", "--env", "staging"], env=env)
    assert status.exit_code == 0, status.stderr
    assert f"App Platform rolled back by itself: the live deployment restores {good.id}" in status.stdout
    data = json.loads(invoke(["status", "--env", "staging", "--json"], env=env).stdout)
    assert data["active"]["cause-type"] == "AUTO_ROLLBACK" and data["active"]["deployment-id"] == rolled.id
    verify = invoke(["verify", "--env", "staging", "--json"], env=env)
    check = next(c for c in json.loads(verify.stdout)["checks"] if c["name"] == "auto rollback")
    assert verify.exit_code == 1 and check["status"] == "fail" and good.id in check["detail"]


def test_an_app_with_no_deployment_says_so_in_status_and_logs(
    do_stand_in: AppPlatformStandIn, origin: Path, configured: Path
) -> None:
    """status says 'no deployment yet'; logs says the app has none (not 'no such app'), exit 1;
    with a deployment, logs --json names the deployment it read."""
    app = do_stand_in.add_app("terp-staging", "staging", repo=origin, timings={})
    env = cli_env(do_stand_in, configured)
    status = invoke(["status", "--env", "staging"], env=env)
    assert status.exit_code == 0 and "  no deployment yet" in status.stdout
    logs = invoke(["logs", "--env", "staging", "--type", "run"], env=env)
    assert logs.exit_code == 1 and "staging: the app has no deployment yet, so no run log" in logs.stderr
    assert "no such app" not in logs.stderr
    dep = do_stand_in.deploy(app)
    read = invoke(["logs", "--env", "staging", "--type", "build", "--json"], env=env)
    assert read.exit_code == 0 and json.loads(read.stdout)["deployment-id"] == dep.id
