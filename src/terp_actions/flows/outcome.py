"""What every flow shares: the ``Console`` it talks to people through, and the ``Outcome`` it
returns (its ``--json`` document, its action outputs, and the error the command exits with)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, ClassVar, Protocol

from terp_actions.errors import TerpError
from terp_actions.gha import Json, output_text

if TYPE_CHECKING:
    pass

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class Console(Protocol):
    """Where a flow's words go: lines, warnings, log groups, and secrets to hide from then on."""

    def redact(self, text: str) -> str: ...
    def say(self, text: str) -> None: ...
    def warn(self, message: str, title: str) -> None: ...
    def hide(self, secret: str) -> None: ...
    def group(self, title: str) -> AbstractContextManager[None]: ...


class Outcome:
    """How a flow ended: ``data()`` is the ``--json`` document, whose keys include every action
    output (``OUTPUTS``); ``failure`` is the error the command exits with after rendering."""

    OUTPUTS: ClassVar[tuple[str, ...]] = ()
    failure: TerpError | None = None

    def data(self) -> dict[str, Json]:
        raise NotImplementedError

    def outputs(self) -> dict[str, str]:
        """The action outputs, always all set (empty or "false" when they do not apply)."""
        data = self.data()
        return {name: output_text(data[name]) for name in self.OUTPUTS}
