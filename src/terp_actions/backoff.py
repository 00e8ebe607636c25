"""Bounded retries: which failures are worth another try, and how long to wait before it."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from terp_actions.errors import ServiceError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``attempts`` tries within ``deadline`` seconds; waits grow from ``base`` to ``cap``."""

    attempts: int = 4
    base: float = 1.0
    cap: float = 30.0
    deadline: float = 120.0


def delay_for(policy: RetryPolicy, attempt: int, retry_after: float | None, rand: float) -> float:
    """Seconds to wait after failed ``attempt`` (1-based): the server's word, else full jitter."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), policy.cap)
    return float(rand * min(policy.cap, policy.base * 2.0 ** (attempt - 1)))


def retrying(
    call: Callable[[], T],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rand: Callable[[], float] = random.random,
) -> T:
    """Run ``call``; retry a retryable ServiceError as ``policy`` allows, then raise the last one.

    Only errors marked retryable (transport errors, 429, 5xx) are retried, so a request that
    changes something must not be passed here unless repeating it is harmless.
    """
    start = clock()
    attempt = 0
    while True:
        attempt += 1
        try:
            return call()
        except ServiceError as exc:
            if not exc.retryable or attempt >= policy.attempts:
                raise
            wait = delay_for(policy, attempt, exc.retry_after, rand())
            if clock() - start + wait > policy.deadline:
                raise
            sleep(wait)
