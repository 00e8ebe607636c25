"""Verification: each check passing and failing on its own, probes against the app stand-in, the CLI."""

from __future__ import annotations

import pytest

from terp_actions.sandbox.fake_app import UNHEALTHY, AppStandIn, HealthAnswer
from terp_actions.sandbox.fake_appplatform import ManualClock
from terp_actions.verify import (
    Probe,
    Prober,
    Verdict,
    check_active,
    check_commit,
    check_health,
    check_latency,
    check_logs,
    check_migrations,
    check_platform_health,
    percentile,
    previous_p95,
)

EXPECT = {"status": "healthy", "database": "connected"}
OK = Probe(200, dict(EXPECT), 40.0)


def test_active_and_commit_checks() -> None:
    """ACTIVE passes, anything else fails; the commit check follows containment."""
    assert check_active("ACTIVE", "d1").status == "pass"
    assert check_active("DEPLOYING", "d1").status == "fail"
    assert check_commit("a" * 40, "b" * 40, contains=True).status == "pass"
    old = check_commit("a" * 40, "b" * 40, contains=False)
    assert old.status == "fail" and "does not contain" in old.detail


@pytest.mark.parametrize(
    ("probes", "status"),
    [
        pytest.param([OK, OK, OK], "pass", id="three-healthy"),
        pytest.param([Probe(503, {}), OK, OK, OK], "pass", id="recovers"),
        pytest.param([OK, Probe(503, {}), OK, OK], "fail", id="flapping-breaks-the-streak"),
        pytest.param(
            [OK, OK, Probe(200, {"status": "healthy", "database": "disconnected"})], "fail", id="db-down"
        ),
        pytest.param([OK, OK, Probe(None, error="no answer within 10 s")], "fail", id="timeout"),
        pytest.param([OK, OK, Probe(302, redirect="evil.example")], "fail", id="redirect-elsewhere"),
        pytest.param([OK, OK, Probe(200, "not json")], "fail", id="not-json"),
    ],
)
def test_health_needs_consecutive_healthy_answers(probes: list[Probe], status: str) -> None:
    """Health passes only on N healthy answers in a row, each 200 with the expected JSON."""
    assert check_health(probes, EXPECT, 3).status == status


def test_latency_budget_and_regression() -> None:
    """p95 over budget fails; p95 worse than the previous by more than the ratio fails."""
    assert percentile([10, 20, 30, 40, 100], 95) == 100 and percentile([10, 20, 30], 50) == 20
    assert check_latency([100, 120, 130], 1500, None, 1.5).status == "pass"
    assert check_latency([100, 2000], 1500, None, 1.5).status == "fail"
    regression = check_latency([300, 310, 320], 1500, 100, 1.5)
    assert regression.status == "fail" and "previous 100 ms" in regression.detail
    assert check_latency([], 1500, None, 1.5).status == "skip"
    # A ratio of tiny numbers is noise: 5 ms to 11 ms does not fail; 60 ms to 180 ms does.
    assert check_latency([11], 1500, 5, 1.5).status == "pass"
    assert check_latency([180], 1500, 60, 1.5).status == "fail"


def test_runtime_log_errors_respect_the_allow_list() -> None:
    """Error lines fail the check unless an allow-list pattern covers them."""
    lines = ["GET /health 200", "ERROR: deprecated config key", "Error: db timeout"]
    assert check_logs(lines, r"(?i)\berror\b", [], 0).status == "fail"
    assert check_logs(lines, r"(?i)\berror\b", ["deprecated", "db timeout"], 0).status == "pass"
    assert check_logs(lines, r"(?i)\berror\b", ["deprecated"], 1).status == "pass"


def test_migrations_check() -> None:
    """Applied migrations pass; a failure line or no sign at all fails."""
    ok, fail = r"(?i)migrations? (applied|up to date)", r"(?i)migration.*(failed|error)"
    assert check_migrations("Running migrations\nMigrations applied\n", ok, fail).status == "pass"
    assert check_migrations("Migration 0042 failed: duplicate column\n", ok, fail).status == "fail"
    assert check_migrations("Deployed web\n", ok, fail).status == "fail"


def test_verdict_passes_iff_nothing_fails() -> None:
    """Skips do not fail a verdict; one failure does."""
    passing = check_active("ACTIVE", "d")
    assert Verdict((passing, check_latency([], 1, None, 1.5))).passed
    assert not Verdict((passing, check_active("ERROR", "d"))).passed


def test_previous_p95_is_read_from_status_descriptions() -> None:
    """The newest success status that recorded p95 gives the baseline."""
    assert previous_p95(["deployed", "verified: p95=240ms", "verified: p95=100ms"]) == 240.0
    assert previous_p95(["deployed"]) is None


def test_prober_against_a_flapping_app() -> None:
    """The prober keeps probing until N healthy answers in a row (no real sleeps)."""
    clock = ManualClock()
    with AppStandIn.flapping("ok,fail", repeats=2).running() as app:
        prober = Prober(
            app.url, "/health", EXPECT, required=3, deadline=120, clock=clock, sleep=clock.advance
        )
        probes = prober.run()
    assert [p.status for p in probes] == [200, 503, 200, 503, 200, 200, 200]
    assert check_health(probes, EXPECT, 3).status == "pass"


def test_prober_stops_at_the_deadline() -> None:
    """An app that never recovers is probed until the deadline, then the check fails."""
    clock = ManualClock()
    with AppStandIn([], steady=UNHEALTHY).running() as app:
        probes = Prober(
            app.url, "/health", EXPECT, 3, deadline=10, interval=2, clock=clock, sleep=clock.advance
        ).run()
    assert len(probes) == 6 and check_health(probes, EXPECT, 3).status == "fail"  # at 0, 2, … 10 s


def test_prober_refuses_redirects_to_another_host() -> None:
    """A redirect off the app's host counts as a failed probe."""
    clock = ManualClock()
    script = [HealthAnswer(302, None, redirect="https://elsewhere.example/health")]
    with AppStandIn(script).running() as app:
        probes = Prober(app.url, "/health", EXPECT, 1, clock=clock, sleep=clock.advance).run()
    assert probes[0].redirect == "elsewhere.example" and probes[1].status == 200


@pytest.mark.parametrize(
    ("components", "status", "detail"),
    [
        pytest.param([{"name": "web", "state": "HEALTHY", "replicas_ready": 2, "replicas_desired": 2}],
                     "pass", "every component healthy (web 2/2)", id="healthy"),
        pytest.param([{"name": "web", "state": "HEALTHY", "replicas_ready": 3, "replicas_desired": 2}],
                     "pass", "every component healthy (web 3/2)", id="more-ready-while-rolling"),
        pytest.param([{"name": "web", "state": "UNHEALTHY", "replicas_ready": 1, "replicas_desired": 3}],
                     "fail", "web: 1 of 3 replicas ready", id="short"),
        pytest.param([{"name": "worker", "state": "UNKNOWN"}], "fail", "worker: UNKNOWN", id="unknown"),
        pytest.param([], "skip", "App Platform reported no service or worker component", id="nothing-seen"),
    ],
)  # fmt: skip
def test_platform_health_needs_every_component_healthy_with_its_replicas(
    components: list[dict[str, object]], status: str, detail: str
) -> None:
    """App Platform's own health: a short component fails by name; nothing reported never passes."""
    result = check_platform_health(components)
    assert (result.status, result.detail) == (status, detail)
