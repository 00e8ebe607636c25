"""`terp-actions verify` against the stand-ins: the checks table, outputs and exit codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import Result

from terp_actions.sandbox.fake_app import UNHEALTHY, AppStandIn
from terp_actions.sandbox.fake_appplatform import AppPlatformStandIn

from .conftest import invoke


@pytest.fixture
def verify_world(tmp_path: Path, origin: Path, do_stand_in: AppPlatformStandIn) -> tuple[Path, AppStandIn]:
    """A clone configured for staging, an App Platform app with a live deployment, the app itself."""
    app_stand_in = AppStandIn().start()
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
    (clone / ".github").mkdir()
    (clone / ".github" / "terp-actions.yml").write_text(
        f"environments:\n  staging: {{app: terp-staging, url: '{app_stand_in.url}'}}\n"
        "verify: {health: {probes: 2, interval: 0.01s, timeout: 5s}}\n"
    )
    app = do_stand_in.add_app("terp-staging", "staging", repo=origin, timings={})
    do_stand_in.deploy(app)
    return clone, app_stand_in


def test_cli_verify_passes_on_a_healthy_deploy(
    verify_world: tuple[Path, AppStandIn], do_stand_in: AppPlatformStandIn, tmp_path: Path
) -> None:
    """Every check passes, outputs carry the verdict, the checks and the p95."""
    clone, app = verify_world
    out = tmp_path / "out"
    env = {
        "DIGITALOCEAN_TOKEN": "dop_v1_sandbox",
        "TERP_DO_ENDPOINT": do_stand_in.url,
        "TERP_REPO": str(clone),
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(out),
    }
    try:
        result = invoke(["verify", "--env", "staging", "--json"], env=env)
    finally:
        app.stop()
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["verdict"] == "pass"
    assert [c["name"] for c in data["checks"]] == [
        "deployment active",
        "deployed commit",
        "platform health",
        "health",
        "smoke",
        "latency",
        "runtime logs",
        "migrations",
    ]
    assert "verdict<<" in out.read_text() and "health-p95-ms<<" in out.read_text()


def test_cli_verify_fails_when_the_app_is_unhealthy(
    verify_world: tuple[Path, AppStandIn], do_stand_in: AppPlatformStandIn
) -> None:
    """An unhealthy app fails verification with exit 1, naming the failed check."""
    clone, app = verify_world
    app.set_script([], steady=UNHEALTHY)
    env = {
        "DIGITALOCEAN_TOKEN": "dop_v1_sandbox",
        "TERP_DO_ENDPOINT": do_stand_in.url,
        "TERP_REPO": str(clone),
    }
    try:
        result = invoke(["verify", "--env", "staging"], env=env)
    finally:
        app.stop()
    assert result.exit_code == 1
    assert "FAIL  health" in result.stdout and "staging: health failed" in result.stderr


@pytest.mark.parametrize(
    ("links", "run_log", "runtime", "migrations"),
    [
        pytest.param(
            "normal",
            "GET / 200\nERROR boom: invoice total is NaN\n",
            "1 error lines",
            "migrations applied",
            id="run-log-only-live",
        ),
        pytest.param(
            "none", "", "the run log could not be read", "the deploy log could not be read", id="no-link"
        ),
        pytest.param(
            "wss",
            "GET / 200\nERROR boom: over the socket\n",
            "1 error lines",
            "migrations applied",
            id="websocket-only",
        ),
    ],
)
def test_verify_reads_live_logs_and_never_passes_a_log_it_could_not_read(
    verify_world: tuple[Path, AppStandIn],
    do_stand_in: AppPlatformStandIn,
    links: str,
    run_log: str,
    runtime: str,
    migrations: str,
) -> None:
    """The active deployment's run log comes only as live_url (as App Platform hands it out), over
    http streaming or a websocket: it is read, and its error line fails verification. A log with
    no link fails its check saying so: never an empty pass."""
    clone, app = verify_world
    app_platform = next(iter(do_stand_in.apps.values()))
    if run_log:
        app_platform.run_log = run_log
    do_stand_in.log_links = links
    result = _verify(do_stand_in, clone, app)
    assert result.exit_code == 1, result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["runtime logs"]["status"] == "fail" and runtime in checks["runtime logs"]["detail"]
    assert migrations in checks["migrations"]["detail"]
    assert checks["migrations"]["status"] == ("fail" if links == "none" else "pass")


def test_smoke_checks_run_after_health_and_name_what_failed(
    verify_world: tuple[Path, AppStandIn], do_stand_in: AppPlatformStandIn
) -> None:
    """Configured requests are checked once the app is healthy, each a line of the checks: the
    status and body expected, a header filled from the environment (never shown), and a failure
    names the path."""
    clone, app = verify_world
    config = clone / ".github" / "terp-actions.yml"
    config.write_text(
        config.read_text().split("verify:")[0]
        + "verify:\n  health: {probes: 2, interval: 0.01s, timeout: 5s}\n  smoke:\n"
        + "    - {path: /, contains: TERP, headers: {Authorization: 'Bearer ${SMOKE_TOKEN}'}}\n"
        + "    - {path: /health, status: 201}\n"
    )
    token = "smoke-" + "Tq9" * 8
    env = {
        "DIGITALOCEAN_TOKEN": "dop_v1_sandbox",
        "TERP_DO_ENDPOINT": do_stand_in.url,
        "TERP_REPO": str(clone),
        "SMOKE_TOKEN": token,
    }
    try:
        result = invoke(["verify", "--env", "staging", "--json"], env=env)
    finally:
        app.stop()
    assert result.exit_code == 1
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["smoke GET /"]["status"] == "pass"
    assert checks["smoke GET /health"]["status"] == "fail"
    assert checks["smoke GET /health"]["detail"] == "/health: answered 200, expected 201"
    assert "smoke GET /health" in result.stderr and token not in result.stdout + result.stderr


def test_cli_verify_fails_when_app_platform_reports_a_component_short_of_replicas(
    verify_world: tuple[Path, AppStandIn], do_stand_in: AppPlatformStandIn
) -> None:
    """App Platform's own health (apps_get_health): a component with 1 of 3 replicas ready fails
    verification naming it, though /health answers fine."""
    clone, app = verify_world
    [platform_app] = do_stand_in.apps.values()
    platform_app.replicas, platform_app.ready = 3, {"web": 1}
    result = _verify(do_stand_in, clone, app)
    assert result.exit_code == 1
    check = next(c for c in json.loads(result.stdout)["checks"] if c["name"] == "platform health")
    assert check["status"] == "fail" and check["detail"] == "web: 1 of 3 replicas ready"


def _verify(do_stand_in: AppPlatformStandIn, clone: Path, app: AppStandIn, *, as_json: bool = True) -> Result:
    """`verify --env staging` (``--json``) against the stand-ins, the app stand-in stopped afterwards."""
    env = {
        "DIGITALOCEAN_TOKEN": "dop_v1_sandbox",
        "TERP_DO_ENDPOINT": do_stand_in.url,
        "TERP_REPO": str(clone),
    }
    try:
        return invoke(["verify", "--env", "staging", *(["--json"] if as_json else [])], env=env)
    finally:
        app.stop()


def test_verify_ends_with_its_verdict_line(
    verify_world: tuple[Path, AppStandIn], do_stand_in: AppPlatformStandIn
) -> None:
    """People's output ends VERIFIED (as deploy ends LIVE), naming the environment."""
    clone, app = verify_world
    result = _verify(do_stand_in, clone, app, as_json=False)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1].startswith("VERIFIED  staging: ")
