"""The deploy freeze setting: what TERP_FREEZE means, and the override that needs a reason."""

from __future__ import annotations

import pytest

from terp_actions.errors import BadInput
from terp_actions.freeze import freeze_from, parse_freeze


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", ""),
        ("  ", ""),
        ("false", ""),
        ("OFF", ""),
        ("0", ""),
        ("true", "in force"),
        ("Yes", "in force"),
        ("release window\nuntil Friday", "release window until Friday"),
    ],
)
def test_the_setting_reads_as_a_reason_or_nothing(value: str, reason: str) -> None:
    """Switched-off spellings freeze nothing; a bare true is "in force"; text is the reason, on one line."""
    assert parse_freeze(value) == reason


def test_a_long_reason_is_cut_for_the_comments() -> None:
    """A reason longer than 200 characters is cut (it reaches every comment's row)."""
    reason = parse_freeze("x" * 500)
    assert len(reason) == 200 and reason.endswith("…")


def test_the_override_needs_a_reason_and_lifts_the_stop() -> None:
    """--override-freeze alone is bad input; with a reason the freeze no longer stops, and says why."""
    with pytest.raises(BadInput, match="--override-freeze needs --reason"):
        freeze_from("incident", override=True, reason="  ")
    frozen = freeze_from("incident", override=False, reason="ignored without the flag")
    assert frozen.stops and frozen.note == ""
    lifted = freeze_from("incident", override=True, reason="the fix")
    assert not lifted.stops and lifted.note == "deploy freeze (incident) overridden: the fix"
    nothing = freeze_from("", override=True, reason="just in case")
    assert not nothing.stops and "no deploy freeze is in force" in nothing.note
