"""The deploy freeze: a release window or an incident stops deploys, promotions and previews.

The freeze is one setting, ``TERP_FREEZE``: the workflows pass the repository variable of that
name, and the commands read the same variable from their environment. Syncing and planning are
never frozen (they change no running app), and neither is a rollback (it is how an incident is
answered). ``--override-freeze --reason "…"`` deploys anyway; the reason is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from terp_actions.errors import BadInput

_OFF: Final = frozenset({"", "0", "false", "no", "off"})
_ON: Final = frozenset({"1", "true", "yes", "on"})
_MAX_REASON: Final = 200


def parse_freeze(value: str) -> str:
    """What ``TERP_FREEZE`` says: '' when there is no freeze, else why there is one (a bare
    ``true`` reads as "in force"). One line, at most 200 characters, as it reaches comments."""
    text = " ".join(value.split())
    if text.lower() in _OFF:
        return ""
    if text.lower() in _ON:
        return "in force"
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


@dataclass(frozen=True)
class Freeze:
    """The freeze in force ('' when none) and, when a person overrides it, why."""

    reason: str = ""
    override: str = ""

    @property
    def stops(self) -> bool:
        """True when the freeze is in force and not overridden."""
        return bool(self.reason) and not self.override

    def refusal(self, what: str) -> str:
        """The one line saying that ``what`` is stopped, and how to override it."""
        return (
            f"deploy freeze ({self.reason}): {what} stopped; "
            '--override-freeze --reason "…" (or the override-freeze input) deploys anyway'
        )

    @property
    def note(self) -> str:
        """What an overriding run reports; '' when nothing is overridden."""
        if not self.override:
            return ""
        if not self.reason:
            return f"--override-freeze given, but no deploy freeze is in force ({self.override})"
        return f"deploy freeze ({self.reason}) overridden: {self.override}"


def freeze_from(setting: str, *, override: bool, reason: str) -> Freeze:
    """The freeze for one run, from ``TERP_FREEZE`` and the command's override options."""
    why = " ".join(reason.split())
    if override and not why:
        raise BadInput("--override-freeze needs --reason: the report shows why the freeze was overridden")
    return Freeze(parse_freeze(setting), why[:_MAX_REASON] if override else "")
