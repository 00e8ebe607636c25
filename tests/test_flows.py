"""Flows driven directly with the stand-ins' clock: following what another client started."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

import pytest

from terp_actions.config import DeploySettings, Environment, HealthSettings, VerifySettings
from terp_actions.digitalocean import AppPlatform
from terp_actions.flows import deploy_environment, follow_logs, verify_environment, watch_environment
from terp_actions.git import Git
from terp_actions.sandbox.demo import Printer
from terp_actions.sandbox.fake_app import AppStandIn, HealthAnswer
from terp_actions.sandbox.fake_appplatform import AppPlatformStandIn, Failure, ManualClock

from .conftest import Sleeps

TOKEN = "dop_v1_sandbox"


def _platform(stand_in: AppPlatformStandIn, clock: ManualClock) -> AppPlatform:
    return AppPlatform(TOKEN, stand_in.url, sleep=clock.advance)


@pytest.mark.parametrize("fails", [False, True], ids=["goes-live", "fails"])
def test_status_watch_follows_a_deployment_another_client_started(
    do_stand_in: AppPlatformStandIn, clock: ManualClock, origin: Path, fails: bool
) -> None:
    """A deployment someone else created is followed phase by phase, with its steps, to its end:
    live is no failure, a failed one is the outcome's failure (exit 1)."""
    app = do_stand_in.add_app("terp-staging", "staging", repo=origin)
    if fails:
        do_stand_in.fail_next_deployment(app, Failure("BUILDING", 10.0, "SyntaxError: bad"))
    do_stand_in.deploy(app)  # started by another client, a push or the console
    lines: list[str] = []
    outcome = watch_environment(
        _platform(do_stand_in, clock), Environment(app.id, "", name="staging"), settings=DeploySettings(),
        console=Printer(lines.append, indent=""), clock=clock, sleep=clock.advance,
    )  # fmt: skip
    phases = [line.split()[1] for line in lines if line.strip().startswith("+")]
    if fails:
        assert outcome.failure is not None and "ended ERROR" in str(outcome.failure)
        assert phases[-1] == "ERROR" and "failed: Building service web" in lines[-1]
    else:
        assert outcome.failure is None and list(dict.fromkeys(phases))[-1] == "ACTIVE"
        assert outcome.data()["active"]["deployment-id"] == app.deployments[0].id  # type: ignore[index]


def test_status_watch_with_nothing_in_progress_says_so(
    do_stand_in: AppPlatformStandIn, clock: ManualClock
) -> None:
    """With no deployment in progress, watching says so and ends at once."""
    app = do_stand_in.add_app("terp-staging", "staging", timings={})
    do_stand_in.deploy(app)
    lines: list[str] = []
    outcome = watch_environment(
        _platform(do_stand_in, clock), Environment(app.id, "", name="staging"), settings=DeploySettings(),
        console=Printer(lines.append, indent=""), clock=clock, sleep=clock.advance,
    )  # fmt: skip
    assert outcome.failure is None and lines == ["staging: no deployment in progress"]


def test_logs_follow_streams_a_growing_log_until_the_deployment_ends(
    do_stand_in: AppPlatformStandIn, clock: ManualClock, sleeps: Sleeps
) -> None:
    """New lines show as the log grows (each once, filtered), and following stops when the
    deployment has ended and its log was read a last time."""
    app = do_stand_in.add_app("terp-staging", "staging")
    dep = do_stand_in.deploy(app)
    dep.logs["BUILD"] = "step 1 fetching\n"
    grown = iter(["step 2 building\n", "noise\n", "step 3 pushing\n", "step 4 done\n"])

    def wait(seconds: float) -> None:
        clock.advance(30)  # the build moves on while we wait
        dep.logs["BUILD"] += next(grown, "")

    shown: list[str] = []
    count = follow_logs(
        _platform(do_stand_in, clock), Environment(app.id, "", name="staging"), "BUILD", deployment=None,
        emit=shown.append, keep=lambda line: line.startswith("step"), clock=clock, sleep=wait,
    )  # fmt: skip
    assert shown == ["step 1 fetching", "step 2 building", "step 3 pushing", "step 4 done"]
    assert count == 4 and do_stand_in.phase(app, dep)[0] == "ACTIVE"


def test_a_deploy_three_times_slower_than_the_baseline_fails_latency(
    do_stand_in: AppPlatformStandIn, clock: ManualClock, origin: Path
) -> None:
    """Latency is timed on the run's clock (the app's delay simulated on it, no real sleeps): a
    deploy answering in 300 ms against a 100 ms baseline fails the latency check."""
    app_stand_in = AppStandIn(steady=HealthAnswer(delay=0.1))
    app_stand_in.elapse = clock.advance
    with app_stand_in.running():
        app = do_stand_in.add_app("terp-staging", "staging", repo=origin, timings={})
        head = do_stand_in.deploy(app).commit
        environment = Environment(app.id, app_stand_in.url, name="staging")
        settings = VerifySettings(health=HealthSettings(probes=2, interval=0.5))
        git = Git(origin)
        console = Printer(lambda _line: None)
        first = verify_environment(_platform(do_stand_in, clock), git, environment, head, settings=settings,
                                   console=console, clock=clock, sleep=clock.advance)  # fmt: skip
        assert first.failure is None and first.p95 == pytest.approx(100, abs=1)
        assert "no baseline yet" in next(c.detail for c in first.verdict.checks if c.name == "latency")
        app_stand_in.steady = HealthAnswer(delay=0.3)
        second = verify_environment(
            _platform(do_stand_in, clock), git, environment, head, settings=settings, console=console,
            baseline=first.p95, clock=clock, sleep=clock.advance,
        )  # fmt: skip
    latency = next(c for c in second.verdict.checks if c.name == "latency")
    assert latency.status == "fail" and "3.00x the previous 100 ms" in latency.detail
    assert len(second.latencies) >= settings.latency.samples  # the p95 has its samples


def _push_to_staging(origin: Path, tmp_path: Path, *, on_top: bool) -> str:
    """A person's push to staging that the runner's clone never fetched: a hotfix on top of
    staging, or (``on_top`` False) a force push of an unrelated commit."""
    person = tmp_path / "person"
    subprocess.run(["git", "clone", "-q", str(origin), str(person)], check=True)
    run = functools.partial(subprocess.run, cwd=person, check=True, capture_output=True, text=True)
    run(["git", "checkout", "-q", "staging" if on_top else "--orphan", *([] if on_top else ["other"])])
    (person / "hotfix.py").write_text("fixed\n")
    run(["git", "add", "--all"])
    run(["git", "commit", "-q", "-m", "Hotfix"])
    run(["git", "push", "-q", "--force", "origin", "HEAD:staging"])
    return run(["git", "rev-parse", "HEAD"]).stdout.strip()


@pytest.mark.parametrize("on_top", [True, False], ids=["hotfix-on-top", "unrelated-force-push"])
def test_a_deployment_superseded_by_a_newer_push_is_followed_when_it_carries_ours(
    do_stand_in: AppPlatformStandIn, clock: ManualClock, origin: Path, tmp_path: Path, on_top: bool
) -> None:
    """A person's push to staging supersedes our deployment with one building a commit the
    runner's clone lacks: it is fetched and, when it contains ours, followed to its end; when it
    does not, the deploy fails naming the commit that replaced ours."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
    git = Git(clone)
    head = git.text(["rev-parse", "origin/staging"])
    app = do_stand_in.add_app("terp-staging", "staging", repo=origin)
    pushed: list[str] = []

    def wait(seconds: float) -> None:
        clock.advance(seconds)
        if not pushed and clock() - app.created > 20:
            pushed.append(_push_to_staging(origin, tmp_path, on_top=on_top))
            do_stand_in.deploy(app, cause="push", cause_details={"type": "DEPLOY_ON_PUSH"})

    lines: list[str] = []
    outcome = deploy_environment(
        _platform(do_stand_in, clock), git, Environment(app.id, "", name="staging"), head,
        settings=DeploySettings(), console=Printer(lines.append, indent=""), clock=clock, sleep=wait,
    )  # fmt: skip
    if on_top:
        assert outcome.failure is None, outcome.failure
        assert outcome.result is not None and outcome.result.commit == pushed[0]
        assert any("superseded: following" in line for line in lines)
    else:
        assert outcome.failure is not None
        assert f"building {pushed[0][:12]}, which does not contain ours" in str(outcome.failure)
