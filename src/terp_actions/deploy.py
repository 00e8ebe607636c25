"""Deploying on App Platform: which deployment is ours, how it ends, what failed and whether to
try again (the core, pure), and the loop that follows a deployment phase by phase.

App Platform builds a branch's latest commit; a deployment for a given commit cannot be asked
for. So a deploy of commit H adopts a deployment (in progress or active) whose commit contains
H, waits for one in progress for an older commit, and creates one only when neither exists. A
create whose answer was lost is followed by a list-and-adopt, never a blind second create.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from terp_actions.digitalocean import AppPlatformClient
from terp_actions.errors import DeploymentFailed, DigitalOceanError, RequestLost
from terp_actions.logsearch import MAX_LINE, first_match

IN_PROGRESS: Final = ("PENDING_BUILD", "BUILDING", "PENDING_DEPLOY", "DEPLOYING")
TERMINAL: Final = frozenset({"ACTIVE", "ERROR", "CANCELED", "SUPERSEDED"})
# How long App Platform may fail every poll before a deploy stops waiting (or a tenth of the
# deploy's deadline, when that is longer): its outages are short; a 30-minute silence is not.
MAX_SILENCE: Final = 120.0
Kind = Literal["transient", "deterministic", "unknown"]


# --- failure analysis (pure) ----------------------------------------------------------------

_ERROR_LINE: Final = re.compile(
    r"(?i)(\berror\b|\berr!|\bfatal\b|\bfailed\b|\bexception\b|traceback|\bpanic\b|exit code [1-9]|oomkilled)"
)
_VOLATILE: Final = (
    (
        re.compile(r"\b\d{4}-\d{2}-\d{2}[t ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:z|[+-]\d{2}:?\d{2})?", re.I),
        "<time>",
    ),
    (re.compile(r"\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b"), "<time>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<id>"),
    (re.compile(r"\b(?:sha256:)?[0-9a-f]{7,}\b", re.I), "<n>"),  # ids and numbers look alike: one placeholder
    (re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|s|sec|seconds|m|min|minutes|h)\b"), "<duration>"),
    (re.compile(r"\b\d+(?:\.\d+)*\b"), "<n>"),
)


def error_line(log: str) -> str:
    """The first line of ``log`` that reads like an error ('' when none does)."""
    return (first_match(_ERROR_LINE, log) or "").strip()


def fingerprint(line: str) -> str:
    """``line`` with its volatile parts (times, ids, hex, durations, numbers) normalised."""
    text = line.strip()
    for pattern, placeholder in _VOLATILE:
        text = pattern.sub(placeholder, text)
    return re.sub(r"\s+", " ", text)[:300]


@functools.lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@dataclass(frozen=True)
class HealRule:
    """A log pattern and what it means: transient (retry) or deterministic (stop)."""

    pattern: str
    kind: Kind
    force_build: bool = False
    label: str = ""

    def matches(self, text: str) -> bool:
        """True when the pattern matches a line of ``text`` (each line cut, for bounded time)."""
        return first_match(_compiled(self.pattern), text) is not None


DEFAULT_RULES: Final = (
    HealRule(
        r"(?i)no space left on device|failed to compute cache key|cache.{0,200}(corrupt|not found)|"
        r"layer does not exist",
        "transient",
        True,
        "stale or broken build cache",
    ),
    HealRule(r"(?i)oomkilled|out of memory|exit code 137", "transient", False, "out of memory"),
    HealRule(
        r"(?i)(registry|docker|pull|push|fetch).{0,200}(timeout|timed out)|tls handshake timeout|i/o timeout|"
        r"etimedout|econnreset|eai_again|connection (reset|refused)|503 service unavailable|"
        r"too many requests|rate limit",
        "transient",
        False,
        "network or registry",
    ),
    HealRule(
        r"(?i)syntaxerror|modulenotfounderror|importerror|error ts\d+|compil(e|ation) (error|failed)|"
        r"cannot find module|undefined reference|no matching distribution",
        "deterministic",
        False,
        "code",
    ),
    HealRule(
        r"(?i)(environment variable|env var|env).{0,200}(missing|not set|required)|missing required",
        "deterministic",
        False,
        "configuration",
    ),
    HealRule(
        r"(?i)invalid (app )?spec|spec validation|run command .{0,200} not found|health check failed",
        "deterministic",
        False,
        "app spec",
    ),
)


@dataclass(frozen=True)
class Diagnosis:
    """What a failed deployment's logs say: the error line, its fingerprint, its kind."""

    line: str
    fingerprint: str
    kind: Kind
    force_build: bool
    label: str


def diagnose(logs: str, rules: Sequence[HealRule] = DEFAULT_RULES) -> Diagnosis:
    """Fingerprint and classify a failure from its build and deploy logs."""
    line = error_line(logs) or (
        logs.strip().splitlines()[-1].strip()[:MAX_LINE] if logs.strip() else "no log output"
    )
    for rule in rules:
        if rule.matches(line) or rule.matches(logs):
            return Diagnosis(line, fingerprint(line), rule.kind, rule.force_build, rule.label)
    return Diagnosis(line, fingerprint(line), "unknown", False, "unrecognised")


def excerpt(log: str, line: str, *, before: int = 3, after: int = 3) -> list[str]:
    """The lines around the first occurrence of ``line`` in ``log`` (each cut to 300 characters)."""
    lines = log.splitlines()
    at = next((i for i, text in enumerate(lines) if text.strip() == line), len(lines) - 1)
    return [text[:300] for text in lines[max(0, at - before) : at + after + 1]]


@dataclass(frozen=True)
class Attempt:
    """One deployment we followed: how it ended and, if it failed, why."""

    deployment: str
    phase: str
    diagnosis: Diagnosis | None = None

    @property
    def ok(self) -> bool:
        return self.phase == "ACTIVE"


@dataclass(frozen=True)
class HealDecision:
    """Whether to try again, with a forced build or not, and why."""

    retry: bool
    force_build: bool
    reason: str


def decide_heal(attempts: Sequence[Attempt], max_attempts: int = 3) -> HealDecision:  # noqa: PLR0911 - one exit per rule
    """Auto-heal: retry a transient failure, at most ``max_attempts`` in all; stop at once on a
    deterministic failure or a fingerprint seen before."""
    if not attempts:
        return HealDecision(True, False, "first attempt")
    last = attempts[-1]
    if last.ok:
        return HealDecision(False, False, "deployed")
    if last.diagnosis is None:
        return HealDecision(False, False, "nothing in its logs to retry")
    if last.phase == "CANCELED":
        return HealDecision(False, False, "the deployment was canceled")
    if last.diagnosis.kind == "deterministic":
        return HealDecision(
            False, False, f"deterministic failure ({last.diagnosis.label}): retrying cannot help"
        )
    earlier = [a.diagnosis.fingerprint for a in attempts[:-1] if a.diagnosis is not None]
    if last.diagnosis.fingerprint in earlier:
        return HealDecision(False, False, "the same error repeated")
    if len(attempts) >= max_attempts:
        return HealDecision(False, False, f"{max_attempts} attempts used")
    reason = f"{last.diagnosis.kind} failure ({last.diagnosis.label})"
    return HealDecision(
        True,
        last.diagnosis.force_build,
        reason + (", forcing a clean build" if last.diagnosis.force_build else ""),
    )


# --- choosing the deployment (pure) ----------------------------------------------------------------


def cancelled_by(deployment: Mapping[str, Any]) -> str:
    """Why a deployment was cancelled, as far as App Platform says (its cause_details)."""
    details = deployment.get("cause_details") if isinstance(deployment.get("cause_details"), Mapping) else {}
    action = (details or {}).get("digitalocean_user_action")
    user = (action or {}).get("user") if isinstance(action, Mapping) else None
    who = (
        str((user or {}).get("full_name") or (user or {}).get("email") or "")
        if isinstance(user, Mapping)
        else ""
    )
    return f"cancelled by {who}" if who else "cancelled (in the console, by doctl, or by another run)"


def superseded_by(deployments: Sequence[Mapping[str, Any]], dep_id: str) -> str:
    """What replaced ``dep_id`` (the newest deployment, when it is newer), said as a reason."""
    newest = deployments[0] if deployments else None
    if newest is None or newest.get("id") == dep_id:
        return ""
    commit = commit_of(newest)[:12] or "an unknown commit"
    return f"replaced by deployment {newest.get('id')} building {commit}, which does not contain ours"


def commit_of(deployment: Mapping[str, Any]) -> str:
    """The commit a deployment built (its first component's source commit)."""
    for key in ("services", "workers", "jobs", "static_sites", "functions"):
        for component in deployment.get(key) or []:
            sha = component.get("source_commit_hash")
            if sha:
                return str(sha)
    return ""


@dataclass(frozen=True)
class Choice:
    """What to do next: adopt a deployment, wait for one, or create one."""

    action: Literal["adopt", "wait", "create"]
    deployment: str = ""
    reason: str = ""


def choose_deployment(
    deployments: Iterable[Mapping[str, Any]], contains: Callable[[str], bool], *, redeploy: bool = False
) -> Choice:
    """Adopt the newest in-progress or active deployment whose commit contains ours; wait for an
    in-progress one that does not; else create. ``deployments`` are newest first. A redeploy
    never adopts the live deployment: it is asked for because the live one is not enough."""
    in_progress = [d for d in deployments if d.get("phase") in IN_PROGRESS]
    for dep in in_progress:
        if contains(commit_of(dep)):
            return Choice(
                "adopt", dep["id"], f"deployment {dep['id']} is building a commit that contains ours"
            )
    if in_progress:
        dep = in_progress[0]
        return Choice("wait", dep["id"], f"deployment {dep['id']} is in progress for an older commit")
    if redeploy:
        return Choice("create", reason="a redeploy was asked for")
    for dep in deployments:
        if dep.get("phase") == "ACTIVE" and contains(commit_of(dep)):
            return Choice(
                "adopt", dep["id"], f"deployment {dep['id']} is live with a commit that contains ours"
            )
    return Choice("create", reason="no deployment carries our commit")


def poll_interval(elapsed: float) -> float:
    """Seconds between polls: quick at first, then at most one request per 6 seconds."""
    if elapsed < 20:
        return 2.0
    if elapsed < 60:
        return 3.0
    return 6.0


def progress_line(deployment: Mapping[str, Any]) -> str:
    """'4/7 steps, running: Deploying service web' from a deployment's progress: App Platform
    counts the leaf steps; the step running (or that failed) is named by its component."""
    progress = deployment.get("progress") or {}
    total = progress.get("total_steps")
    done = f"{progress.get('success_steps', 0)}/{total} steps" if total else ""
    current = _current_step(progress.get("steps") or [], "ERROR") or _current_step(
        progress.get("steps") or [], "RUNNING"
    )
    return ", ".join(part for part in (done, current) if part)


def _current_step(steps: list[Any], status: str, path: str = "") -> str:
    """The first leaf step with ``status``, as 'failed: Building service web' or 'running: …'."""
    for step in steps:
        if not isinstance(step, Mapping) or step.get("status") != status:
            continue
        name = f"{path}/{step.get('name')}" if path else str(step.get("name"))
        child = _current_step(step.get("steps") or [], status, name)
        if child:
            return child
        message = " ".join(str(step[k]) for k in ("message_base", "component_name") if step.get(k)) or name
        return f"{'failed' if status == 'ERROR' else 'running'}: {message}"
    return ""


# --- the loop (effects) --------------------------------------------------------------------------


@dataclass
class DeployResult:
    """How a deploy ended."""

    deployment: str
    phase: str
    commit: str
    adopted: bool
    attempts: list[Attempt] = field(default_factory=list)
    requests: int = 0

    @property
    def fingerprint(self) -> str:
        last = self.attempts[-1].diagnosis if self.attempts else None
        return last.fingerprint if last else ""


class Deployer:
    """Follows one app's deployments with a client, a clock and a sleep (all injectable)."""

    def __init__(
        self,
        client: AppPlatformClient,
        app_id: str,
        *,
        contains: Callable[[str], bool],
        say: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 1800.0,
        max_attempts: int = 3,
        rules: Sequence[HealRule] = DEFAULT_RULES,
    ) -> None:
        self.client = client
        self.app_id = app_id
        self.contains = contains
        self.say = say
        self.clock = clock
        self.sleep = sleep
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.rules = rules
        self.requests = 0
        self._start = clock()

    def _remaining(self) -> float:
        return self.timeout - (self.clock() - self._start)

    def _list(self) -> list[dict[str, Any]]:
        self.requests += 1
        return self.client.list_deployments(self.app_id)

    def run(self, *, force_build: bool = False, redeploy: bool = False, start: str = "") -> DeployResult:
        """Adopt or create, follow, and auto-heal until ACTIVE, a final failure or the deadline.
        ``start``: a deployment App Platform said a request of ours started (an app create or
        update answers its ``pending_deployment``), followed without looking for one."""
        attempts: list[Attempt] = []
        created = bool(start)
        dep_id = start
        while not dep_id:
            choice = choose_deployment(self._list(), self.contains, redeploy=redeploy)
            if choice.action == "wait":
                self.say(f"waiting: {choice.reason}")
                self.follow(choice.deployment)
            elif choice.action == "adopt":
                self.say(f"adopting: {choice.reason}")
                dep_id = choice.deployment
            else:
                dep_id, created = self._create(force_build), True
        replaced = ""
        while True:
            phase, dep = self.follow(dep_id)
            while phase == "SUPERSEDED":
                listed = self._list()
                newer = choose_deployment(listed, self.contains)
                if newer.action != "adopt" or newer.deployment == dep_id:
                    replaced = superseded_by(listed, dep_id)
                    break
                self.say(f"superseded: following {newer.deployment}, which carries our commit")
                dep_id = newer.deployment
                phase, dep = self.follow(dep_id)
            diagnosis = self._diagnose(dep_id, phase)
            attempts.append(Attempt(dep_id, phase, diagnosis))
            decision = decide_heal(attempts, self.max_attempts)
            if not decision.retry:
                break
            self.say(f"auto-heal: {decision.reason}; attempt {len(attempts) + 1} of {self.max_attempts}")
            dep_id, created = self._create(decision.force_build), True
        if phase != "ACTIVE":
            detail = f"; error: {diagnosis.line}" if diagnosis else ""
            why = replaced if phase == "SUPERSEDED" and replaced else decision.reason
            if phase == "CANCELED":
                why = cancelled_by(dep)
            raise DeploymentFailed(
                f"deployment {dep_id} ended {phase}: {why}{detail}",
                deployment=dep_id,
                phase=phase,
                fingerprint=diagnosis.fingerprint if diagnosis else "",
            )
        return DeployResult(dep_id, phase, commit_of(dep), not created, attempts, self.requests)

    def _create(self, force_build: bool) -> str:
        if self._remaining() <= 0:
            raise DeploymentFailed("the deploy deadline passed before a deployment could be created")
        before = {d["id"] for d in self._list()}
        self.requests += 1
        try:
            dep = self.client.create_deployment(self.app_id, force_build=force_build)
        except RequestLost:
            # It may have been created: look before trying anything else.
            for candidate in self._list():
                if candidate["id"] not in before:
                    self.say(f"the create's answer was lost; adopting {candidate['id']}, which it made")
                    return str(candidate["id"])
            self.requests += 1
            dep = self.client.create_deployment(self.app_id, force_build=force_build)
        self.say(f"created deployment {dep['id']}" + (" (forced build)" if force_build else ""))
        return str(dep["id"])

    def follow(self, dep_id: str) -> tuple[str, dict[str, Any]]:
        """Poll ``dep_id`` until it ends or the deadline passes, printing each change."""
        began = self.clock()
        last = ("", "")
        failing_since: float | None = None  # when App Platform last stopped answering
        while True:
            self.requests += 1
            try:
                dep = self.client.get_deployment(self.app_id, dep_id)
                failing_since = None
            except DigitalOceanError as exc:
                if exc.status in (401, 403, 404) or not exc.retryable:
                    raise
                failing_since = self.clock() if failing_since is None else failing_since
                if self.clock() - failing_since > max(MAX_SILENCE, 0.1 * self.timeout):
                    raise DeploymentFailed(
                        f"App Platform stopped answering about deployment {dep_id} for "
                        f"{int(self.clock() - failing_since)} s (last: {exc}); it may still be running: "
                        "`terp-actions status --watch` follows it",
                        deployment=dep_id,
                        phase="UNKNOWN",
                    ) from None
                dep = {"phase": "UNKNOWN"}
            phase = str(dep.get("phase") or "UNKNOWN")
            progress = progress_line(dep)
            if (phase, progress) != last:
                elapsed = self.clock() - began
                self.say(
                    f"  +{int(elapsed // 60)}:{int(elapsed % 60):02d} {phase}"
                    + (f" ({progress})" if progress else "")
                )
                last = (phase, progress)
            if phase in TERMINAL:
                return phase, dep
            remaining = self._remaining()
            if remaining <= 0:
                raise DeploymentFailed(
                    f"deployment {dep_id} still {phase} at the deadline ({int(self.timeout)} s)",
                    deployment=dep_id,
                    phase=phase,
                )
            self.sleep(min(poll_interval(self.clock() - began), remaining))

    def _diagnose(self, dep_id: str, phase: str) -> Diagnosis | None:
        if phase != "ERROR":
            return None
        parts = []
        for kind in ("BUILD", "DEPLOY"):
            try:
                self.requests += 1
                parts.append(self.client.logs(self.app_id, dep_id, kind))
            except DigitalOceanError as exc:
                self.say(f"  ({kind.lower()} log unavailable: {exc})")
        text = "\n".join(parts)
        found = diagnose(text, self.rules)
        for line in excerpt(text, found.line):
            self.say(f"  | {line}")
        self.say(f"  fingerprint: {found.fingerprint} ({found.kind}: {found.label})")
        return found
