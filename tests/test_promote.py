"""Promotion to production: every gate refusal, the happy path, rollback, and a rerun converging."""

from __future__ import annotations

import pytest

from terp_actions.promote import GateFacts, Refusal, gate

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


def test_a_commit_production_already_holds_is_not_pushed_again() -> None:
    """When production is at the commit, the gate allows it and marks it already there."""
    assert gate(facts(production_tip=S)).already_there
