"""Deploying: failure analysis and auto-heal (pure), and the loop against the App Platform stand-in."""

from __future__ import annotations

import itertools
import subprocess
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from terp_actions.deploy import (
    Attempt,
    Deployer,
    Diagnosis,
    choose_deployment,
    decide_heal,
    diagnose,
    error_line,
    fingerprint,
    poll_interval,
)
from terp_actions.digitalocean import AppPlatform
from terp_actions.errors import DeploymentFailed
from terp_actions.logsearch import MAX_LINE
from terp_actions.sandbox.fake_appplatform import AppPlatformStandIn, Failure, ManualClock
from terp_actions.sandbox.http import Fault

TOKEN = "dop_v1_sandbox"


# --- pure core --------------------------------------------------------------------------------


@given(
    st.datetimes().map(lambda d: d.isoformat()),
    st.integers(min_value=0, max_value=10**9),
    st.text(alphabet="0123456789abcdef", min_size=12, max_size=40),
    st.floats(min_value=0, max_value=999, allow_nan=False).map(lambda f: f"{f:.1f}s"),
)
def test_fingerprints_ignore_volatile_parts(stamp: str, number: int, hexid: str, duration: str) -> None:
    """Two failures that differ only in times, numbers, ids and durations share a fingerprint."""
    line = f"{stamp} web npm ERR! fetch failed after {duration} for layer {hexid} attempt {number}"
    reference = "2020-01-01T00:00:00 web npm ERR! fetch failed after 1.0s for layer abcdef123456 attempt 7"
    assert fingerprint(line) == fingerprint(reference)


def test_fingerprints_differ_for_different_errors() -> None:
    """Different error messages keep different fingerprints."""
    assert fingerprint("error: cannot find module 'x'") != fingerprint("error: out of memory")


def test_error_line_is_the_first_error() -> None:
    """The first error-looking line is chosen, not the last."""
    log = "step 1\nnpm WARN deprecated\nnpm ERR! code ETIMEDOUT\nError: later\n"
    assert error_line(log) == "npm ERR! code ETIMEDOUT"


@pytest.mark.parametrize(
    ("log", "kind", "force"),
    [
        pytest.param("npm ERR! code ETIMEDOUT registry.npmjs.org", "transient", False, id="registry-timeout"),
        pytest.param("error pulling image: TLS handshake timeout", "transient", False, id="tls-timeout"),
        pytest.param("container OOMKilled (exit code 137)", "transient", False, id="oom"),
        pytest.param("ERROR: failed to compute cache key: not found", "transient", True, id="stale-cache"),
        pytest.param("SyntaxError: invalid syntax (app.py, line 3)", "deterministic", False, id="syntax"),
        pytest.param(
            "error TS2322: Type 'string' is not assignable", "deterministic", False, id="typescript"
        ),
        pytest.param(
            "Error: environment variable DATABASE_URL is missing", "deterministic", False, id="missing-env"
        ),
        pytest.param("something odd failed", "unknown", False, id="unknown"),
    ],
)
def test_failures_are_classified(log: str, kind: str, force: bool) -> None:
    """Log patterns map to transient (retry, maybe forcing a clean build) or deterministic (stop)."""
    found = diagnose(log)
    assert (found.kind, found.force_build) == (kind, force)


def _fail(fp: str, kind: str = "transient", force: bool = False) -> Attempt:
    return Attempt("d", "ERROR", Diagnosis(fp, fp, kind, force, "x"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("history", "attempts_used", "ok"),
    [
        pytest.param(["E1", "E1"], 2, False, id="repeat-stops"),
        pytest.param(["E1", "E2", "E3"], 3, False, id="three-attempts"),
        pytest.param(["E1", "ok"], 2, True, id="heals"),
        pytest.param(["D"], 1, False, id="deterministic-stops"),
    ],
)
def test_auto_heal_rule_table(history: list[str], attempts_used: int, ok: bool) -> None:
    """Attempts stop exactly where the auto-heal rules say."""
    attempts: list[Attempt] = []
    for outcome in history:
        attempt = (
            Attempt("d", "ACTIVE")
            if outcome == "ok"
            else _fail(outcome, "deterministic" if outcome == "D" else "transient")
        )
        attempts.append(attempt)
        decision = decide_heal(attempts, 3)
        if not decision.retry:
            break
    assert len(attempts) == attempts_used and attempts[-1].ok == ok


def test_stale_cache_asks_for_a_forced_build() -> None:
    """A failure blamed on the build cache is retried with force_build."""
    assert decide_heal([_fail("cache", force=True)]).force_build


def test_choose_deployment() -> None:
    """Adopt a deployment carrying our commit; wait for an older one in progress; else create."""
    ours = {"id": "new", "phase": "BUILDING", "services": [{"source_commit_hash": "H"}]}
    older = {"id": "old", "phase": "DEPLOYING", "services": [{"source_commit_hash": "G"}]}
    live = {"id": "live", "phase": "ACTIVE", "services": [{"source_commit_hash": "H"}]}

    def contains(commit: str) -> bool:
        return commit == "H"

    assert choose_deployment([ours, older], contains).action == "adopt"
    assert choose_deployment([older, live], contains).deployment == "old"
    assert choose_deployment([live], contains).action == "adopt"
    assert choose_deployment([{"id": "x", "phase": "ERROR", "services": []}], contains).action == "create"


def test_polling_slows_down_to_one_request_per_six_seconds() -> None:
    """Fast at first, never more often than every 2 s, and every 6 s after the first minute."""
    assert poll_interval(0) == 2 and poll_interval(30) == 3 and poll_interval(61) == 6


# --- the loop against the stand-in ------------------------------------------------------------------


class World:
    """The stand-in with an injected clock, a client whose sleeps advance that clock, an app."""

    def __init__(self, stand_in: AppPlatformStandIn, clock: ManualClock, origin: Path) -> None:
        self.stand_in = stand_in
        self.clock = clock
        self.app = stand_in.add_app("terp-staging", "staging", repo=origin)
        self.client = AppPlatform(TOKEN, stand_in.url, sleep=clock.advance)
        self.head = subprocess.run(
            ["git", "rev-parse", "staging"], cwd=origin, capture_output=True, text=True, check=True
        ).stdout.strip()
        self.lines: list[str] = []

    def deployer(self, **kwargs: object) -> Deployer:
        return Deployer(
            self.client,
            self.app.id,
            contains=lambda c: c == self.head,
            say=self.lines.append,
            clock=self.clock,
            sleep=self.clock.advance,
            **kwargs,
        )  # type: ignore[arg-type]


@pytest.fixture
def world(do_stand_in: AppPlatformStandIn, clock: ManualClock, origin: Path) -> World:
    return World(do_stand_in, clock, origin)


def test_create_and_follow_every_phase(world: World) -> None:
    """With nothing to adopt, one deployment is created and followed phase by phase to ACTIVE."""
    result = world.deployer().run()
    assert (result.phase, result.adopted, len(result.attempts), result.commit) == (
        "ACTIVE",
        False,
        1,
        world.head,
    )
    lines = [line for line in world.lines if line.startswith("  +")]
    phases = [line.split()[1] for line in lines]
    in_order = list(dict.fromkeys(phases))
    assert in_order == ["PENDING_BUILD", "BUILDING", "PENDING_DEPLOY", "DEPLOYING", "ACTIVE"]
    # Progress as App Platform reports it: leaf steps counted, the running component named.
    assert "(1/6 steps, running: Building service web)" in lines[1]
    assert any("running: Waiting for service web" in line for line in lines)
    assert lines[-1].endswith("(6/6 steps)")
    assert world.stand_in.calls["apps_create_deployment"] == 1


def test_a_failed_build_names_the_component_that_failed(world: World) -> None:
    """The progress of a failed deployment names the step that failed."""
    world.stand_in.fail_next_deployment(world.app, Failure("BUILDING", 10.0, "SyntaxError: invalid syntax"))
    with pytest.raises(DeploymentFailed):
        world.deployer().run()
    error_line = next(line for line in world.lines if " ERROR " in line)
    assert "failed: Building service web" in error_line and "steps" in error_line


def test_adopts_a_deployment_already_building_our_commit(world: World) -> None:
    """A deployment in progress for our commit (deploy on push) is adopted, not duplicated."""
    world.stand_in.deploy(world.app)
    result = world.deployer().run()
    assert result.adopted and world.stand_in.calls["apps_create_deployment"] == 0
    assert len(world.app.deployments) == 1


def test_waits_for_an_older_deployment_then_creates(world: World) -> None:
    """One in progress for an older commit is waited for; then ours is created."""
    world.stand_in.deploy(world.app).commit = "0" * 40
    result = world.deployer().run()
    assert any(line.startswith("waiting:") for line in world.lines)
    assert result.phase == "ACTIVE" and len(world.app.deployments) == 2


def test_lost_create_answer_adopts_instead_of_creating_twice(world: World) -> None:
    """A create processed but answered 502 is found by listing; exactly one deployment exists."""
    world.stand_in.inject(Fault("apps_create_deployment", "after", frozenset({1}), 502))
    result = world.deployer().run()
    assert result.phase == "ACTIVE" and len(world.app.deployments) == 1
    assert world.stand_in.calls["apps_create_deployment"] == 1


def test_superseded_deployment_is_followed_to_the_newer_one(world: World) -> None:
    """When a newer deployment of our commit supersedes ours, the newer one is followed."""
    real_advance = world.clock.advance
    state = {"done": False}

    def advance(seconds: float) -> None:
        real_advance(seconds)
        if not state["done"] and world.clock.now - world.app.created > 20:
            state["done"] = True
            world.stand_in.deploy(world.app)  # someone else starts a deploy of the same branch

    d = Deployer(
        world.client,
        world.app.id,
        contains=lambda c: c == world.head,
        say=world.lines.append,
        clock=world.clock,
        sleep=advance,
    )
    result = d.run()
    assert any(line.startswith("superseded:") for line in world.lines)
    assert result.phase == "ACTIVE" and result.deployment == world.app.deployments[0].id


def test_deadline_stops_the_wait(world: World) -> None:
    """A deployment still running at the deadline fails the deploy (exit 1) saying so."""
    with pytest.raises(DeploymentFailed, match="at the deadline") as caught:
        world.deployer(timeout=30).run()
    assert caught.value.exit_code == 1


def test_auto_heal_retries_a_transient_failure(world: World) -> None:
    """A transient failure is retried and the second attempt goes live."""
    world.stand_in.fail_next_deployment(
        world.app, Failure("BUILDING", 5, "npm ERR! code ETIMEDOUT 10.0.0.1:443")
    )
    result = world.deployer().run()
    assert [a.phase for a in result.attempts] == ["ERROR", "ACTIVE"]
    assert any(line.startswith("auto-heal:") for line in world.lines)
    assert "  | npm ERR! code ETIMEDOUT 10.0.0.1:443" in world.lines
    assert "  fingerprint: npm ERR! code ETIMEDOUT <n>:<n> (transient: network or registry)" in world.lines


def test_auto_heal_stops_when_the_same_error_repeats(world: World) -> None:
    """[E1, E1]: two attempts, then a failure naming the fingerprint."""
    for at in ("12:00:01", "12:03:09"):
        world.stand_in.fail_next_deployment(
            world.app, Failure("BUILDING", 5, f"{at} npm ERR! code ETIMEDOUT")
        )
    with pytest.raises(DeploymentFailed, match="the same error repeated") as caught:
        world.deployer().run()
    assert len(world.app.deployments) == 2 and "<time>" in caught.value.fingerprint


def test_auto_heal_uses_at_most_three_attempts(world: World) -> None:
    """[E1, E2, E3]: three attempts in all."""
    for log in (
        "error: registry timeout",
        "error: connection reset by peer",
        "ERROR: 503 Service Unavailable",
    ):
        world.stand_in.fail_next_deployment(world.app, Failure("BUILDING", 5, log))
    with pytest.raises(DeploymentFailed, match="3 attempts used"):
        world.deployer().run()
    assert len(world.app.deployments) == 3


def test_deterministic_failure_is_not_retried(world: World) -> None:
    """A compile error stops after one attempt."""
    world.stand_in.fail_next_deployment(world.app, Failure("BUILDING", 5, "SyntaxError: invalid syntax"))
    with pytest.raises(DeploymentFailed, match="deterministic"):
        world.deployer().run()
    assert len(world.app.deployments) == 1


def test_stale_cache_failure_retries_with_a_forced_build(world: World) -> None:
    """The retry after a cache failure asks App Platform for a clean build."""
    world.stand_in.fail_next_deployment(
        world.app, Failure("BUILDING", 5, "ERROR: failed to compute cache key")
    )
    world.deployer().run()
    assert [d.force_build for d in world.app.deployments] == [True, False]


def test_requests_stay_sparse_on_a_five_minute_deploy(world: World) -> None:
    """A 5-minute deploy polls at most once per 5 simulated seconds after the first minute."""
    world.app.timings = {"PENDING_BUILD": 30, "BUILDING": 180, "PENDING_DEPLOY": 30, "DEPLOYING": 60}
    start = world.clock.now
    world.deployer().run()
    polls = [t - start for op, t in world.stand_in.history if op == "apps_get_deployment"]
    after_first_minute = [t for t in polls if t > 60]
    assert polls[-1] >= 300 and len(after_first_minute) <= (polls[-1] - 60) / 5
    assert all(later - earlier <= 6 for earlier, later in itertools.pairwise(polls))


def test_a_rate_limited_create_waits_as_asked_and_creates_once(world: World, clock: ManualClock) -> None:
    """A 429 on create-deployment refuses it unprocessed: wait out Retry-After, then create (once)."""
    world.stand_in.inject(Fault("apps_create_deployment", "status", frozenset({1}), 429, retry_after=7))
    began = clock.now
    result = world.deployer().run()
    assert result.phase == "ACTIVE" and len(world.app.deployments) == 1
    assert world.stand_in.calls["apps_create_deployment"] == 2 and clock.now - began >= 7


@pytest.mark.parametrize("unit", ["pull ", "cache ", "env ", "migration ", "error ", "a" * 7])
def test_a_hostile_log_line_is_diagnosed_in_bounded_time(unit: str) -> None:
    """A 160 KB single-line log (no newline) gets a diagnosis; the default rules have no
    unbounded gap, and every rule reads lines cut to MAX_LINE (the time is in benchmarks/)."""
    line = unit * (160_000 // len(unit))
    found = diagnose(line + "\n" + line)
    assert found.line and len(found.line) <= MAX_LINE


def test_two_deploys_at_once_follow_one_deployment_to_the_end(world: World) -> None:
    """Two deploys of one commit started together may create two deployments; App Platform
    supersedes the older, and both follow the newest that carries the commit: one live result."""
    results: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(world.deployer().run().deployment)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and len(results) == 2
    assert results[0] == results[1]
    live = [d for d in world.app.deployments if world.stand_in.phase(world.app, d)[0] == "ACTIVE"]
    assert [d.id for d in live] == [results[0]]


def test_a_persistent_5xx_stops_the_wait_long_before_the_deadline(world: World) -> None:
    """App Platform failing every poll (502s) ends the deploy after a bounded silence saying so,
    not at the 30-minute deadline; an outage shorter than that is ridden out."""
    world.stand_in.inject(Fault("apps_get_deployment", "status", frozenset(range(2, 10_000)), 502))
    began = world.clock.now
    with pytest.raises(DeploymentFailed, match="App Platform stopped answering about deployment") as caught:
        world.deployer().run()
    assert world.clock.now - began < 600  # not the 1,800 s deadline
    assert "status --watch" in str(caught.value)


def test_a_short_outage_is_ridden_out(world: World) -> None:
    """A few failed polls in a row, then answers again: the deploy goes on to ACTIVE."""
    world.stand_in.inject(Fault("apps_get_deployment", "status", frozenset(range(2, 6)), 503))
    assert world.deployer().run().phase == "ACTIVE"


def test_a_deployment_cancelled_elsewhere_says_so_once(world: World) -> None:
    """Cancelled in the console while we follow it: the failure says it was cancelled, once —
    never 'ended CANCELED: ended CANCELED'."""
    real_advance = world.clock.advance
    state = {"done": False}

    def advance(seconds: float) -> None:
        real_advance(seconds)
        if not state["done"] and world.app.deployments:
            state["done"] = True
            world.app.deployments[0].canceled_at = world.clock.now

    d = Deployer(world.client, world.app.id, contains=lambda c: c == world.head, say=world.lines.append,
                 clock=world.clock, sleep=advance)  # fmt: skip
    with pytest.raises(DeploymentFailed) as caught:
        d.run()
    text = str(caught.value)
    assert "ended CANCELED: cancelled (in the console, by doctl, or by another run)" in text
    assert text.count("CANCELED") == 1
