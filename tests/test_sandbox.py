"""The sandbox as people use it: the app stand-in, scenarios, and `sandbox serve`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from terp_actions.cli.commands.sandbox import export_lines
from terp_actions.digitalocean import AppPlatform
from terp_actions.errors import BadInput
from terp_actions.github import GitHubApi
from terp_actions.sandbox.fake_app import AppStandIn, HealthAnswer
from terp_actions.sandbox.fake_appplatform import ScaledClock
from terp_actions.sandbox.serve import Sandbox, load_scenario

from .cli.conftest import invoke
from .conftest import CONTRACTS


def test_health_fails_n_times_then_recovers() -> None:
    """``failing(2)``: two 503s, then healthy answers."""
    with AppStandIn.failing(2).running() as app:
        codes = [httpx.get(f"{app.url}/health").status_code for _ in range(4)]
    assert codes == [503, 503, 200, 200]


def test_health_scripts_bodies_redirects_and_dropped_connections() -> None:
    """Each scripted answer is served once, in order: body, redirect, dropped connection."""
    script = [
        HealthAnswer(200, {"status": "healthy", "database": "disconnected"}),
        HealthAnswer(302, None, redirect="https://elsewhere.example/health"),
        HealthAnswer(refuse=True),
    ]
    with AppStandIn(script).running() as app:
        first = httpx.get(f"{app.url}/health")
        second = httpx.get(f"{app.url}/health", follow_redirects=False)
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{app.url}/health")
        fourth = httpx.get(f"{app.url}/health")
    assert first.json()["database"] == "disconnected"
    assert (second.status_code, second.headers["location"]) == (302, "https://elsewhere.example/health")
    assert fourth.json() == {"status": "healthy", "database": "connected"}


def test_flapping_health_alternates() -> None:
    """A flapping app alternates healthy and unhealthy answers."""
    with AppStandIn.flapping("ok,fail", repeats=2).running() as app:
        assert [httpx.get(f"{app.url}/health").status_code for _ in range(5)] == [200, 503, 200, 503, 200]


def test_scenario_file_sets_up_apps_faults_and_failures(tmp_path: Path) -> None:
    """A scenario's apps, timings, faults, failures and health script are all applied."""
    scenario_file = tmp_path / "scenario.yml"
    scenario_file.write_text(
        """
digitalocean: {timings: {BUILDING: 1}}
apps:
  - {name: terp-staging, branch: staging, environment: staging}
faults:
  - {service: digitalocean, operation: apps_list_deployments, kind: status, status: 503, calls: [1]}
failures:
  - {app: terp-staging, phase: BUILDING, after: 1, log: "npm ERR! boom"}
health:
  script: [{status: 503}]
"""
    )
    sandbox = Sandbox(load_scenario(scenario_file), CONTRACTS)
    try:
        info = sandbox.describe()
        app = info["apps"]["staging"]
        assert app["branch"] == "staging" and set(info["env"]) >= {"GITHUB_API_URL", "TERP_DO_ENDPOINT"}
        assert httpx.get(f"{app['url']}/health").status_code == 503
        client = AppPlatform(
            info["digitalocean"]["token"], info["digitalocean"]["url"], sleep=lambda _s: None
        )
        assert client.list_deployments(app["id"]) == []  # the 503 was retried
        dep = client.create_deployment(app["id"])
        assert sandbox.digitalocean.apps[app["id"]].deployments[0].failure is not None
        assert dep["phase"] == "PENDING_BUILD"
        assert sandbox.violations() == []
    finally:
        sandbox.stop()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("colour: red", "colour: unknown key", id="unknown-key"),
        pytest.param("apps: [{name: x}]", "each app needs a name and a branch", id="app-without-branch"),
        pytest.param("faults: [{operation: x, kind: status, wat: 1}]", "wat", id="bad-fault-field"),
        pytest.param("- 1", "expected a mapping", id="not-a-mapping"),
    ],
)
def test_bad_scenarios_are_refused_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    """A broken scenario is one clear error naming the file."""
    path = tmp_path / "bad.yml"
    path.write_text(text)
    with pytest.raises(BadInput) as caught:
        load_scenario(path)
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_sandbox_serve_runs_until_interrupted(tmp_path: Path) -> None:
    """`sandbox serve` writes its URLs once listening, serves real clients, and stops on SIGINT."""
    urls = tmp_path / "urls.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "terp_actions", "sandbox", "serve", "--urls-file", str(urls), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        deadline = time.monotonic() + 60
        while not urls.exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "sandbox did not start in 60 s"
            time.sleep(0.05)
        info = json.loads(urls.read_text())
        env = info["env"]
        github = GitHubApi(
            env["GITHUB_TOKEN"], env["GITHUB_REPOSITORY"], env["GITHUB_API_URL"], throttle=False
        )
        assert len(github.branch_sha("staging")) == 40
        do = AppPlatform(env["DIGITALOCEAN_TOKEN"], env["TERP_DO_ENDPOINT"])
        assert do.get_app("terp-staging")["id"] == info["apps"]["staging"]["id"]
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "sandbox: stopped (0 contract violations)" in err
    assert json.loads(out)["github"]["url"] == info["github"]["url"]


def test_the_default_sandbox_is_a_place_to_rehearse(tmp_path: Path) -> None:
    """Without a scenario: the history's pull requests are registered (a report for one of them
    finds it), staging and production have their own URLs, the written configuration names them
    with valid specs, and the export lines point the CLI there."""
    sandbox = Sandbox(load_scenario(None), CONTRACTS)
    try:
        info = sandbox.describe()
        assert info["pull-requests"] == [101, 102, 103, 104, 105, 106]
        assert sandbox.github.pulls[105].title == "Agent prompts and roadmap"  # a merge commit's title
        assert sandbox.github.pulls[101].title == "Add invoice PDF export"  # a squash merge's
        urls = {env: app["url"] for env, app in info["apps"].items()}
        assert urls["staging"] != urls["production"]
        env = info["env"] | {"TERP_REPO": info["env"]["TERP_REPO"]}
        for spec_env in ("staging", "production"):
            checked = invoke(["spec", "validate", "--env", spec_env], env=env)
            assert checked.exit_code == 0, checked.stderr
        head = subprocess.run(
            ["git", "rev-parse", "origin/staging"],
            cwd=env["TERP_REPO"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        reported = invoke(
            ["report", "--stage", "planned", "--status", "skipped", "--sha", head, "--pr", "105"], env=env
        )
        assert reported.exit_code == 0, reported.stderr
        assert 105 in {c.issue for c in sandbox.github.comments.values()}
        doctor = invoke(["doctor", "--repo", env["TERP_REPO"]], env=env)
        assert doctor.exit_code == 0, doctor.stdout  # the sandbox's own configuration is sound
        lines = export_lines(info)
        assert f"export TERP_DO_ENDPOINT={info['digitalocean']['url']}" in lines
        assert "export TERP_CONFIG=" in lines and "#101, #102" in lines
        assert sandbox.violations() == []
    finally:
        sandbox.stop()


def test_app_platform_runs_thirty_times_faster_unless_realistic(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox's App Platform clock: 30 s of deploy time pass in 1 s of wall time by default;
    --realistic-timings (speed 1) keeps the wall's pace."""
    wall = [1000.0]
    monkeypatch.setattr(time, "time", lambda: wall[0])
    fast, real = ScaledClock(load_scenario(None).speed), ScaledClock(1.0)
    start_fast, start_real = fast(), real()
    wall[0] += 1.0
    assert fast() - start_fast == pytest.approx(30.0) and real() - start_real == pytest.approx(1.0)
