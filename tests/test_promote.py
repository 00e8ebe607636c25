"""Promotion to production: every gate refusal, the happy path, rollback, and a rerun converging."""

from __future__ import annotations

import pytest

from terp_actions.backoff import RetryPolicy
from terp_actions.deploy import Deployer
from terp_actions.digitalocean import AppPlatform
from terp_actions.promote import GateFacts, Refusal, gate, roll_back
from terp_actions.sandbox.fake_appplatform import AppPlatformStandIn, ManualClock
from terp_actions.sandbox.http import Fault

from .conftest import Sleeps

S, P = "5" * 40, "9" * 40


def facts(**changes: object) -> GateFacts:
    base = {
        "sha": S,
        "on_staging": True,
        "verified": True,
        "production_tip": P,
        "production_only": (),
        "pinned": False,
    }
    return GateFacts(**(base | changes))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        pytest.param({"on_staging": False}, Refusal.NOT_ON_STAGING, id="not-on-staging"),
        pytest.param({"verified": False}, Refusal.NOT_VERIFIED, id="not-verified"),
        pytest.param({"production_only": ("a" * 40,)}, Refusal.DIVERGED, id="diverged"),
        pytest.param({"pinned": True}, Refusal.PINNED, id="pinned"),
        pytest.param({"frozen": "deploy freeze (x): promotions are stopped"}, Refusal.FROZEN, id="frozen"),
    ],
)
def test_each_gate_refusal(changes: dict[str, object], refusal: Refusal) -> None:
    """Each condition refuses on its own, with a reason people can act on."""
    decision = gate(facts(**changes))
    assert not decision.allowed and [r for r, _ in decision.refusals] == [refusal]


def test_force_with_a_reason_overrides_only_verification() -> None:
    """--force lets an unverified commit through (and says so); it never overrides the rest."""
    assert gate(facts(verified=False, force_reason="hotfix for outage")).allowed
    assert gate(facts(verified=False, force_reason="x")).forced
    assert not gate(facts(verified=False, force_reason="x", on_staging=False)).allowed


def test_migrations_are_named_but_never_refused() -> None:
    """A promotion carrying migrations is allowed: the gate names them, the policy acts on failure."""
    assert gate(facts(migrations=("migrations/0001.sql",))).allowed


def test_a_commit_production_already_holds_is_not_pushed_again() -> None:
    """When production is at the commit, the gate allows it and marks it already there."""
    assert gate(facts(production_tip=S)).already_there


TOKEN = "dop_v1_sandbox"


@pytest.mark.parametrize(
    ("fault", "waited"),
    [
        pytest.param(
            Fault("apps_create_rollback", "after", frozenset({1}), 502), 0.0, id="create-answer-lost"
        ),
        pytest.param(
            Fault("apps_create_rollback", "truncate", frozenset({1})), 0.0, id="create-answer-truncated"
        ),
        pytest.param(
            Fault("apps_create_rollback", "close", frozenset({1})), 0.0, id="create-connection-dropped"
        ),
        pytest.param(Fault("apps_commit_rollback", "status", frozenset({1}), 503), None, id="commit-503"),
        pytest.param(
            Fault("apps_commit_rollback", "after", frozenset({1}), 502), None, id="commit-answer-lost"
        ),
        pytest.param(
            Fault("apps_commit_rollback", "status", frozenset({1}), 429, retry_after=1), 1.0, id="commit-429"
        ),
        pytest.param(Fault("apps_validate_rollback", "status", frozenset({1}), 503), None, id="validate-503"),
    ],
)
def test_one_fault_during_a_rollback_never_leaves_the_app_pinned(
    do_stand_in: AppPlatformStandIn, clock: ManualClock, sleeps: Sleeps, fault: Fault, waited: float | None
) -> None:
    """Each rollback step faulted once: the rollback still ends committed, with one rollback
    deployment (a lost create is found by the app's pin, never made twice)."""
    app = do_stand_in.add_app("terp", "production", timings={})
    good = do_stand_in.deploy(app)
    clock.advance(60)
    do_stand_in.deploy(app)
    clock.advance(60)
    platform = AppPlatform(TOKEN, do_stand_in.url, sleep=sleeps, policy=RetryPolicy(attempts=3, deadline=60))
    follower = Deployer(
        platform, app.id, contains=lambda _c: False, say=lambda _s: None, clock=clock, sleep=clock.advance
    )
    do_stand_in.inject(fault)
    restored = roll_back(
        platform, app.id, good.id, follow=follower.follow, healthy=lambda: True, say=lambda _s: None
    )
    assert app.pinned is None
    rollbacks = [d for d in app.deployments if d.cloned_from == good.id]
    assert [d.id for d in rollbacks] == [restored.deployment]
    assert do_stand_in.calls[fault.operation] >= 1
    if waited:
        assert waited in sleeps
