"""A stand-in for the deployed app: ``/health`` answers as scripted (status, body, latency,
redirect, dropped connection), then settles on a steady answer."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from terp_actions.sandbox.http import Fault, Request, Response, StandIn

HEALTHY: dict[str, Any] = {"status": "healthy", "database": "connected"}


@dataclass(frozen=True)
class HealthAnswer:
    """One answer of ``/health``. ``refuse`` drops the connection; ``redirect`` sends a 302."""

    status: int = 200
    body: Any = field(default_factory=lambda: dict(HEALTHY))
    delay: float = 0.0
    redirect: str = ""
    refuse: bool = False


UNHEALTHY = HealthAnswer(503, {"status": "unhealthy", "database": "disconnected"})


class AppStandIn(StandIn):
    """The app under test: answers ``script`` in order, one per request, then ``steady``."""

    name = "app-stand-in"

    def __init__(
        self,
        script: Iterable[HealthAnswer] = (),
        steady: HealthAnswer | None = None,
        responder: Callable[[], HealthAnswer] | None = None,
    ) -> None:
        super().__init__()
        self.script = list(script)
        self.steady = steady or HealthAnswer()
        self.responder = responder  # when set, decides every answer (e.g. from which build is live)
        # When set, an answer's delay is spent on this (a manual clock's advance) instead of a real
        # sleep: latency is simulated, and the client times it with the same clock.
        self.elapse: Callable[[float], None] | None = None
        self.served = 0
        self.add_route(
            "GET", "/", "root", lambda r: Response(200, b"TERP", content_type="text/html"), in_contract=False
        )

    @classmethod
    def failing(cls, times: int, then: HealthAnswer | None = None) -> AppStandIn:
        """``/health`` fails ``times`` times (503), then answers healthy."""
        return cls([UNHEALTHY] * times, then)

    @classmethod
    def flapping(cls, pattern: str = "ok,fail", repeats: int = 10) -> AppStandIn:
        """Alternating answers, e.g. ``ok,fail`` repeated, then healthy."""
        answers = [HealthAnswer() if p.strip() == "ok" else UNHEALTHY for p in pattern.split(",")]
        return cls(answers * repeats)

    def set_script(self, script: Iterable[HealthAnswer], steady: HealthAnswer | None = None) -> None:
        """Replace what ``/health`` will answer from now on."""
        with self.lock:
            self.script = list(script)
            self.steady = steady or self.steady

    def _next(self) -> HealthAnswer:
        with self.lock:
            self.served += 1
            if self.responder is not None:
                return self.responder()
            return self.script.pop(0) if self.script else self.steady

    def dispatch(self, request: Request) -> tuple[Response, Fault | None]:
        if request.path != "/health":
            return super().dispatch(request)
        answer = self._next()
        with self.lock:
            self.calls["health"] += 1
        if answer.delay:
            (self.elapse or time.sleep)(answer.delay)
        if answer.refuse:
            return Response(200), Fault("health", "close")
        if answer.redirect:
            return Response(302, None, {"Location": answer.redirect}), None
        return Response(answer.status, answer.body), None
