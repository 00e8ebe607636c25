"""Job invocations, instances, restarts and app metrics, through the real pydo client against the
App Platform stand-in (contract-checked when the contracts are present)."""

from __future__ import annotations

import httpx
import pytest

from terp_actions.backoff import RetryPolicy
from terp_actions.digitalocean import AppPlatform
from terp_actions.errors import AppNotFound, DigitalOceanError
from terp_actions.sandbox.fake_appplatform import AppPlatformStandIn, Failure, ManualClock

from .conftest import Sleeps

TOKEN = "dop_v1_sandbox"
# A deployment's phases with the stand-in's default timings: live 100 s after it was created;
# its PRE_DEPLOY jobs run from 70 s to 79 s (the first 30 % of DEPLOYING).
LIVE_AFTER = 100


@pytest.fixture
def client(do_stand_in: AppPlatformStandIn, sleeps: Sleeps) -> AppPlatform:
    """A real pydo-backed client pointed at the stand-in, sleeping nowhere."""
    return AppPlatform(
        TOKEN, do_stand_in.url, timeout=5, sleep=sleeps, policy=RetryPolicy(attempts=3, deadline=60)
    )


def test_a_pre_deploy_job_runs_once_per_deployment_and_keeps_its_log(
    do_stand_in: AppPlatformStandIn, client: AppPlatform, clock: ManualClock
) -> None:
    """A PRE_DEPLOY job's invocation appears when the deployment starts deploying, runs, succeeds,
    and its own log is readable; another deployment gets its own invocation."""
    app = do_stand_in.add_app(
        "terp-staging", "staging", jobs={"migrate": "PRE_DEPLOY", "nightly": "SCHEDULED"}
    )
    app.job_log = "Running migrations\n3 migrations applied\n"
    dep = client.create_deployment(app.id)
    assert client.job_invocations(app.id, deployment_id=dep["id"]) == []  # still building
    clock.advance(72)
    (running,) = client.job_invocations(app.id, deployment_id=dep["id"])
    assert (running.job_name, running.phase, running.completed_at) == ("migrate", "RUNNING", "")
    clock.advance(30)
    done = client.job_invocation(app.id, running.id)
    assert (done.id, done.phase, done.deployment_id) == (running.id, "SUCCEEDED", dep["id"])
    assert done.completed_at
    assert "3 migrations applied" in client.job_invocation_log(app.id, "migrate", done.id)
    second = client.create_deployment(app.id)
    clock.advance(LIVE_AFTER)
    every = client.job_invocations(app.id, job_names=["migrate"])
    assert [i.deployment_id for i in every] == [second["id"], dep["id"]]


def test_a_failed_pre_deploy_job_fails_its_deployment(
    do_stand_in: AppPlatformStandIn, client: AppPlatform, clock: ManualClock
) -> None:
    """A failing migration job ends FAILED with its log, and the deployment ends in ERROR."""
    app = do_stand_in.add_app("terp-staging", "staging", jobs={"migrate": "PRE_DEPLOY"})
    do_stand_in.fail_next_deployment(
        app, Failure("DEPLOYING", 5, 'relation "orders" already exists\n', job="migrate")
    )
    dep = client.create_deployment(app.id)
    clock.advance(LIVE_AFTER)
    (failed,) = client.job_invocations(app.id, deployment_id=dep["id"])
    assert failed.phase == "FAILED"
    assert "already exists" in client.job_invocation_log(app.id, "migrate", failed.id)
    assert client.get_deployment(app.id, dep["id"])["phase"] == "ERROR"


def test_cancelling_a_running_job_stops_its_deployment(
    do_stand_in: AppPlatformStandIn, client: AppPlatform, clock: ManualClock
) -> None:
    """A running invocation can be cancelled; an unknown invocation is a clear error."""
    app = do_stand_in.add_app("terp-staging", "staging", jobs={"migrate": "PRE_DEPLOY"})
    dep = client.create_deployment(app.id)
    clock.advance(72)
    (running,) = client.job_invocations(app.id)
    assert client.cancel_job_invocation(app.id, running.id).phase == "CANCELED"
    clock.advance(LIVE_AFTER)
    assert client.get_deployment(app.id, dep["id"])["phase"] == "CANCELED"
    with pytest.raises(DigitalOceanError, match="get job invocation"):
        client.job_invocation(app.id, "00000000-0000-0000-0000-000000000000")


def test_instances_are_listed_once_the_app_runs(
    do_stand_in: AppPlatformStandIn, client: AppPlatform, clock: ManualClock
) -> None:
    """An app runs one instance per replica of each service, and none before it went live."""
    app = do_stand_in.add_app("terp-staging", "staging", components=("web", "api"), replicas=2)
    assert client.instances(app.id) == []
    client.create_deployment(app.id)
    clock.advance(LIVE_AFTER)
    found = client.instances(app.id)
    assert sorted(i.alias for i in found) == ["api-0", "api-1", "web-0", "web-1"]
    assert len({i.name for i in found}) == 4
    assert {i.component_type for i in found} == {"SERVICE"}


def test_a_restart_redeploys_what_runs_without_a_build_and_is_counted(
    do_stand_in: AppPlatformStandIn, client: AppPlatform, clock: ManualClock
) -> None:
    """A restart starts a deployment of the live commit that skips the build; the restart count
    metric then shows it; an unknown component is refused and nothing restarts."""
    app = do_stand_in.add_app("terp-staging", "staging")
    live = client.create_deployment(app.id)
    clock.advance(LIVE_AFTER + 300)
    with pytest.raises(DigitalOceanError, match="restart app"):
        client.restart(app.id, ["worker"])
    restarted = client.restart(app.id, ["web"])
    assert restarted["services"][0]["source_commit_hash"] == live["services"][0]["source_commit_hash"]
    clock.advance(6)
    assert client.get_deployment(app.id, restarted["id"])["phase"] == "DEPLOYING"  # no build
    clock.advance(60)
    (series,) = client.app_metric(app.id, "restart_count", clock() - 600, clock(), component="web")
    assert series.points[0][1] == 0 and series.points[-1][1] == 1


def test_metrics_follow_the_live_build(
    do_stand_in: AppPlatformStandIn, client: AppPlatform, clock: ManualClock
) -> None:
    """CPU and memory come from whichever build was live at each moment, a series per instance;
    a build that crashes shows in the restart count; before anything ran there is no data."""
    app = do_stand_in.add_app("terp-staging", "staging", cpu=12.0, memory=30.0)
    before = clock()
    assert client.app_metric(app.id, "cpu_percentage", before - 600, before) == []
    client.create_deployment(app.id)
    clock.advance(LIVE_AFTER + 600)
    greedy = do_stand_in.deploy(app, cpu=71.0, restart_every=120.0)
    assert greedy.cpu == 71.0
    clock.advance(LIVE_AFTER + 600)
    (cpu,) = client.app_metric(app.id, "cpu_percentage", clock() - 1300, clock())
    values = [v for _, v in cpu.points]
    assert values[0] == 12.0 and values[-1] == 71.0
    assert (cpu.component, cpu.instance) == ("web", "web-0")
    (memory,) = client.app_metric(app.id, "memory_percentage", clock() - 300, clock())
    assert {v for _, v in memory.points} == {30.0}
    (restarts,) = client.app_metric(app.id, "restart_count", clock() - 600, clock())
    assert restarts.points[-1][1] - restarts.points[0][1] >= 4
    assert client.app_metric("00000000-0000-0000-0000-000000000000", "cpu_percentage", before, clock()) == []


def test_a_metrics_window_must_be_unix_seconds(do_stand_in: AppPlatformStandIn) -> None:
    """Monitoring refuses a window that is not two unix timestamps, in order."""
    app = do_stand_in.add_app("terp-staging", "staging")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    url = f"{do_stand_in.url}/v2/monitoring/metrics/apps/cpu_percentage"
    assert (
        httpx.get(
            url, params={"app_id": app.id, "start": "yesterday", "end": "1"}, headers=headers
        ).status_code
        == 400
    )
    assert (
        httpx.get(url, params={"app_id": app.id, "start": "9", "end": "1"}, headers=headers).status_code
        == 400
    )


def test_job_invocations_of_an_unknown_app_are_not_found(client: AppPlatform) -> None:
    """Asking for an app that does not exist is App Platform's not-found, as for every app call."""
    with pytest.raises(AppNotFound):
        client.job_invocations("00000000-0000-0000-0000-000000000000")


def test_a_live_log_at_an_http_address_is_a_websocket(
    do_stand_in: AppPlatformStandIn, client: AppPlatform, clock: ManualClock
) -> None:
    """App Platform hands out a live deployment's run log only as live_url, an http(s) address
    that is a websocket (doctl opens it as ws/wss): a plain GET is 426, and the client reads it."""
    app = do_stand_in.add_app("terp-staging", "staging")
    client.create_deployment(app.id)
    clock.advance(LIVE_AFTER)
    app.run_log = "GET /health 200 3ms\nERROR live line\n"
    links = httpx.get(
        f"{do_stand_in.url}/v2/apps/{app.id}/logs",
        params={"type": "RUN"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).json()
    assert set(links) == {"live_url"} and links["live_url"].startswith("http://")
    assert httpx.get(links["live_url"]).status_code == 426
    assert client.logs(app.id, None, "RUN").splitlines()[-1] == "ERROR live line"
