"""Verifying a deploy: each check's verdict from plain facts (pure), and the probes that gather them.

Checks: the deployment is ACTIVE; it built a commit that contains ours; ``/health`` answers 200
with the expected JSON for N consecutive probes before a deadline; latency p50/p95 within budget
and not worse than the previous verified deploy by more than the allowed ratio; the runtime logs
hold no error lines beyond the allow-list; migrations applied. The verdict passes iff no check fails.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import urljoin, urlsplit

from terp_actions.errors import DigitalOceanError
from terp_actions.logsearch import MAX_LINE, first_match

if TYPE_CHECKING:
    from terp_actions.github import GitHubClient

Status = Literal["pass", "fail", "skip"]


@dataclass(frozen=True)
class CheckResult:
    """One check: its name, pass/fail/skip, a line of detail, how long it took."""

    name: str
    status: Status
    detail: str
    duration: float = 0.0


@dataclass(frozen=True)
class Verdict:
    """All checks, and whether the deploy is verified."""

    checks: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(c.status != "fail" for c in self.checks)


@dataclass(frozen=True)
class Probe:
    """One answer of the health endpoint (or why there was none)."""

    status: int | None
    body: Any = None
    latency_ms: float = 0.0
    error: str = ""
    redirect: str = ""


# --- pure checks -------------------------------------------------------------------------------


def check_active(phase: str, deployment: str) -> CheckResult:
    """The deployment must be ACTIVE."""
    if phase == "ACTIVE":
        return CheckResult("deployment active", "pass", f"deployment {deployment} is ACTIVE")
    return CheckResult(
        "deployment active", "fail", f"deployment {deployment or '(none)'} is {phase or 'missing'}"
    )


def check_auto_rollback(active: Mapping[str, Any]) -> CheckResult | None:
    """When App Platform rolled the app back by itself (the live deployment's cause_details.type
    is AUTO_ROLLBACK), say so and to what: a failure, whatever the other checks find."""
    cause = active.get("cause_details") if isinstance(active.get("cause_details"), Mapping) else {}
    if str((cause or {}).get("type") or "") != "AUTO_ROLLBACK":
        return None
    restored = str(active.get("cloned_from") or "an earlier deployment")
    return CheckResult(
        "auto rollback", "fail", f"App Platform rolled the app back by itself to {restored} "
        f"(deployment {active.get('id')} runs it)"[:300],
    )  # fmt: skip


def check_platform_health(components: Sequence[Mapping[str, Any]]) -> CheckResult:
    """App Platform's own view: every component HEALTHY with its replicas ready (ready may exceed
    desired while a deploy rolls). UNKNOWN is the platform not knowing yet (the caller retries);
    no component reported is no evidence, so never a pass."""
    if not components:
        return CheckResult("platform health", "skip", "App Platform reported no service or worker component")
    problems = []
    for component in components:
        name = str(component.get("name") or "?")
        state = str(component.get("state") or "UNKNOWN")
        ready, desired = component.get("replicas_ready"), component.get("replicas_desired")
        if isinstance(ready, int) and isinstance(desired, int) and ready < desired:
            problems.append(f"{name}: {ready} of {desired} replicas ready")
        elif state != "HEALTHY":
            problems.append(f"{name}: {state}")
    if problems:
        return CheckResult("platform health", "fail", "; ".join(problems)[:300])
    shown = ", ".join(
        f"{c.get('name')} {c.get('replicas_ready', '?')}/{c.get('replicas_desired', '?')}" for c in components
    )
    return CheckResult("platform health", "pass", f"every component healthy ({shown})"[:300])


def check_commit(deployed: str, head: str, contains: bool) -> CheckResult:
    """The live deployment must have built a commit that contains ``head``."""
    if not head:
        return CheckResult("deployed commit", "skip", "no commit to compare")
    if contains:
        return CheckResult("deployed commit", "pass", f"live commit {deployed[:12]} contains {head[:12]}")
    return CheckResult(
        "deployed commit", "fail", f"live commit {deployed[:12] or '(unknown)'} does not contain {head[:12]}"
    )


def probe_ok(probe: Probe, expect: Mapping[str, Any]) -> tuple[bool, str]:
    """Whether one probe is healthy: 200 and every expected key with its value."""
    if probe.error:
        return False, probe.error
    if probe.redirect:
        return False, f"redirected to another host ({probe.redirect})"
    if probe.status != 200:
        return False, f"answered {probe.status}"
    if not isinstance(probe.body, Mapping):
        return False, "the body is not a JSON object"
    wrong = {k: probe.body.get(k) for k, v in expect.items() if probe.body.get(k) != v}
    if wrong:
        return False, "unexpected " + ", ".join(f"{k}={v!r}" for k, v in wrong.items())
    return True, "healthy"


def check_health(probes: Sequence[Probe], expect: Mapping[str, Any], required: int) -> CheckResult:
    """Pass when the last ``required`` probes in a row were healthy."""
    streak, last_problem = 0, "no probe was made"
    for probe in probes:
        ok, why = probe_ok(probe, expect)
        streak = streak + 1 if ok else 0
        if not ok:
            last_problem = why
    if streak >= required:
        return CheckResult("health", "pass", f"{required} healthy answers in a row ({len(probes)} probes)")
    return CheckResult(
        "health",
        "fail",
        f"{streak}/{required} healthy in a row after {len(probes)} probes; last problem: {last_problem}",
    )


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of ``values``."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


REGRESSION_FLOOR_MS: Final = 50.0


def check_latency(
    latencies: Sequence[float], budget_p95: float, previous_p95: float | None, max_regression: float
) -> CheckResult:
    """p95 within budget, and not worse than the previous verified deploy by more than the ratio."""
    if not latencies:
        return CheckResult("latency", "skip", "no healthy answer to time")
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    figures = f"p50 {p50:.0f} ms, p95 {p95:.0f} ms"
    if p95 > budget_p95:
        return CheckResult("latency", "fail", f"{figures}: over the p95 budget of {budget_p95:.0f} ms")
    # A ratio of tiny numbers is noise (5 ms to 11 ms is 2.2x): a regression must also cost at
    # least REGRESSION_FLOOR_MS to fail.
    if previous_p95 and p95 > previous_p95 * max_regression and p95 - previous_p95 >= REGRESSION_FLOOR_MS:
        return CheckResult(
            "latency",
            "fail",
            f"{figures}: {p95 / previous_p95:.2f}x the previous {previous_p95:.0f} ms "
            f"(allowed {max_regression:.2f}x)",
        )
    # Never a silent pass of the regression part: say when there was nothing to compare with.
    versus = f" (previous p95 {previous_p95:.0f} ms)" if previous_p95 else " (no baseline yet)"
    return CheckResult("latency", "pass", figures + versus)


def check_logs(lines: Iterable[str], error: str, allow: Sequence[str], maximum: int) -> CheckResult:
    """At most ``maximum`` runtime log lines match ``error`` and none of ``allow``."""
    error_re = re.compile(error)
    allow_re = [re.compile(a) for a in allow]
    cut = (ln[:MAX_LINE] for ln in lines)
    bad = [ln for ln in cut if error_re.search(ln) and not any(a.search(ln) for a in allow_re)]
    if len(bad) <= maximum:
        return CheckResult("runtime logs", "pass", f"{len(bad)} error lines (at most {maximum} allowed)")
    return CheckResult("runtime logs", "fail", f"{len(bad)} error lines, first: {bad[0][:200]}")


def check_migrations(deploy_log: str, ok: str, fail: str) -> CheckResult:
    """The deploy log shows migrations applied and no migration failure."""
    failed = first_match(fail, deploy_log)
    if failed is not None:
        return CheckResult("migrations", "fail", f"migration failure in the deploy log: {failed[:200]}")
    if first_match(ok, deploy_log) is not None:
        return CheckResult("migrations", "pass", "migrations applied")
    return CheckResult("migrations", "fail", "no sign in the deploy log that migrations ran")


# --- probing (effects) -----------------------------------------------------------------------------


@dataclass
class Prober:
    """Probes ``url + path`` until ``required`` healthy answers in a row or the deadline."""

    url: str
    path: str
    expect: Mapping[str, Any]
    required: int = 3
    deadline: float = 300.0
    timeout: float = 10.0
    interval: float = 2.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    probes: list[Probe] = field(default_factory=list)
    samples: int = 0  # keep probing until this many healthy answers are timed (for the p95)

    def run(self) -> list[Probe]:
        """All probes made, in order."""
        import httpx  # noqa: PLC0415 - only the commands that probe pay for httpx

        start, streak, timed = self.clock(), 0, 0
        target = urljoin(self.url.rstrip("/") + "/", self.path.lstrip("/"))
        with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
            while True:
                probe = self._one(client, target)
                self.probes.append(probe)
                healthy = probe_ok(probe, self.expect)[0]
                streak, timed = (streak + 1, timed + 1) if healthy else (0, timed)
                enough = streak >= self.required and timed >= self.samples
                if enough or self.clock() - start + self.interval > self.deadline:
                    return self.probes
                # Once healthy, the extra samples for the p95 need not wait the full interval.
                self.sleep(self.interval if streak < self.required else min(self.interval, 0.2))

    def _one(self, client: Any, target: str) -> Probe:
        import httpx  # noqa: PLC0415

        began = self.clock()  # the clock of the run: injected, a latency can be simulated
        try:
            response = client.get(target)
            hops = 0
            while response.is_redirect and hops < 3:
                location = urljoin(str(response.url), response.headers.get("location", ""))
                if urlsplit(location).netloc != urlsplit(target).netloc:
                    return Probe(response.status_code, redirect=urlsplit(location).netloc)
                response = client.get(location)
                hops += 1
            latency = (self.clock() - began) * 1000
            try:
                body = response.json()
            except (ValueError, json.JSONDecodeError):
                body = None
            return Probe(response.status_code, body, latency)
        except httpx.TimeoutException:
            return Probe(None, error=f"no answer within {self.timeout:.0f} s")
        except httpx.HTTPError as exc:
            return Probe(None, error=f"connection failed ({type(exc).__name__})")


MAX_SMOKE_BODY: Final = 64 * 1024


def smoke_checks(url: str, checks: Sequence[Any], *, clock: Callable[[], float] = time.monotonic,
                 timeout: float = 10.0) -> list[CheckResult]:  # fmt: skip
    """Each configured request (``verify.smoke``, headers already filled) against the live app:
    the status, a substring or JSON subset of the body (read up to 64 KiB), and the time. A
    redirect to another host fails, as for health. None configured: one ``skip`` saying how."""
    import httpx  # noqa: PLC0415

    if not checks:
        return [
            CheckResult(
                "smoke", "skip", "no smoke checks configured: add verify.smoke (path, status, contains)"
            )
        ]
    results = []
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for check in checks:
            name = f"smoke {check.method} {check.path}"
            target = urljoin(url.rstrip("/") + "/", check.path.lstrip("/"))
            began = clock()
            try:
                status, body = _fetch(client, check.method, target, dict(check.headers))
            except httpx.HTTPError as exc:
                results.append(CheckResult(name, "fail", f"{check.path}: no answer ({type(exc).__name__})"))
                continue
            took = (clock() - began) * 1000
            problems = _smoke_problems(check, status, body, took)
            detail = "; ".join(f"{check.path}: {p}" for p in problems) or f"{status} in {took:.0f} ms"
            results.append(CheckResult(name, "fail" if problems else "pass", detail, took / 1000))
    return results


def _fetch(client: Any, method: str, target: str, headers: dict[str, str]) -> tuple[int | str, str]:
    """Status (or where it redirected to another host) and the start of the body."""
    for _ in range(4):
        with client.stream(method, target, headers=headers) as response:
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers.get("location", ""))
                if urlsplit(location).netloc != urlsplit(target).netloc:
                    return f"redirected to another host ({urlsplit(location).netloc})", ""
                target = location
                continue
            data = bytearray()
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) >= MAX_SMOKE_BODY:
                    break
            return response.status_code, data[:MAX_SMOKE_BODY].decode("utf-8", "replace")
    return "too many redirects", ""


def _smoke_problems(check: Any, status: int | str, body: str, took: float) -> list[str]:
    if isinstance(status, str):
        return [status]
    problems = []
    if status != check.status:
        problems.append(f"answered {status}, expected {check.status}")
    if check.contains and check.contains not in body:
        problems.append(f"the body lacks {check.contains[:60]!r}")
    if check.json:
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        wrong = [k for k, v in check.json.items() if not isinstance(data, Mapping) or data.get(k) != v]
        if wrong:
            problems.append("the JSON differs at " + ", ".join(wrong[:5]))
    if check.max_ms is not None and took > check.max_ms:
        problems.append(f"took {took:.0f} ms, more than {check.max_ms:.0f} ms")
    return problems


def healthy_latencies(probes: Sequence[Probe], expect: Mapping[str, Any]) -> list[float]:
    """Latencies of the healthy probes (the ones a latency budget speaks about)."""
    return [p.latency_ms for p in probes if probe_ok(p, expect)[0]]


def run_checks(
    client: Any,
    app_id: str,
    active: Mapping[str, Any],
    settings: Any,
    *,
    url: str,
    commit_check: CheckResult,
    previous_p95: float | None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[Verdict, list[float]]:
    """Every check for the live deployment ``active`` of ``app_id`` (``client``: AppPlatform;
    ``settings``: the configuration's verify section). Returns the verdict and the latencies."""

    def timed(run: Callable[[], CheckResult]) -> CheckResult:
        began = clock()
        return dataclasses.replace(run(), duration=clock() - began)

    h = settings.health
    checks = [check_active(str(active.get("phase", "")), str(active.get("id", ""))), commit_check]
    rolled = check_auto_rollback(active)
    if rolled is not None:
        checks.append(rolled)
    checks.append(timed(lambda: _platform_health(client, app_id, h.timeout, h.interval, clock, sleep)))
    prober = Prober(url, h.path, h.expect, h.probes, h.timeout, interval=h.interval, clock=clock, sleep=sleep,
                    samples=settings.latency.samples)  # fmt: skip
    health = timed(lambda: check_health(prober.run(), h.expect, h.probes))
    checks.append(health)
    latencies = healthy_latencies(prober.probes, h.expect)
    if health.status == "pass":
        checks += smoke_checks(url, settings.smoke, clock=clock)
    elif settings.smoke:
        checks.append(CheckResult("smoke", "skip", "not run: the app is not healthy"))
    checks.append(
        check_latency(latencies, settings.latency.p95_ms, previous_p95, settings.latency.max_regression)
    )
    if active.get("id"):
        logs, migrations = settings.logs, settings.migrations
        run_log = _read_log(client, app_id, active["id"], "RUN")
        checks.append(
            timed(lambda: check_logs(run_log.splitlines(), logs.error, logs.allow, logs.max))
            if isinstance(run_log, str)
            else CheckResult("runtime logs", "fail", f"the run log could not be read: {run_log}")
        )
        deploy_log = _read_log(client, app_id, active["id"], "DEPLOY")
        checks.append(
            timed(lambda: check_migrations(deploy_log, migrations.ok, migrations.fail))
            if isinstance(deploy_log, str)
            else CheckResult("migrations", "fail", f"the deploy log could not be read: {deploy_log}")
        )
    return Verdict(tuple(checks)), latencies


def _platform_health(
    client: Any, app_id: str, timeout: float, interval: float,
    clock: Callable[[], float], sleep: Callable[[float], None],
) -> CheckResult:  # fmt: skip
    """The platform-health check, asked again while a component is UNKNOWN, until ``timeout``."""
    began = clock()
    while True:
        try:
            answer = client.health(app_id)
        except DigitalOceanError as exc:
            return CheckResult(
                "platform health", "fail", f"App Platform's health could not be read: {exc}"[:300]
            )
        health = answer.get("app_health") if isinstance(answer, Mapping) else None
        components = health.get("components") if isinstance(health, Mapping) else None
        if not isinstance(components, list):
            return CheckResult("platform health", "fail", "App Platform's health answer is unreadable")
        parts = [c for c in components if isinstance(c, Mapping)]
        result = check_platform_health(parts)
        unknown = any(str(c.get("state") or "UNKNOWN") == "UNKNOWN" for c in parts)
        if result.status != "fail" or not unknown or clock() - began + interval > timeout:
            return result
        sleep(interval)


def _read_log(client: Any, app_id: str, deployment: str, kind: str) -> str | DigitalOceanError:
    """The log's text, or the error that kept it from us: a check that saw nothing never passes."""
    try:
        return str(client.logs(app_id, deployment, kind))
    except DigitalOceanError as exc:
        return exc


_P95_NOTE = re.compile(r"p95=(\d+(?:\.\d+)?)ms")


def previous_p95(descriptions: Iterable[str]) -> float | None:
    """The p95 recorded (``p95=NNNms``) in the newest successful deployment status description."""
    for text in descriptions:
        found = _P95_NOTE.search(text or "")
        if found:
            return float(found[1])
    return None


def baseline_p95(
    github: GitHubClient, environment: str, *, author: str = "github-actions[bot]", look_at: int = 10
) -> float | None:
    """The p95 of the newest verified deploy of ``environment``, read from the ``p95=NNNms`` note
    of its GitHub Deployment's successful status that we wrote (a status by anyone else, or a
    malformed note, is ignored); None when no recent one has it."""
    for deployment in github.deployments(environment, limit=look_at):
        statuses = github.statuses(deployment.id)
        found = previous_p95(s.description for s in statuses if s.state == "success" and s.creator == author)
        if found is not None:
            return found
    return None


def verdict_to_json(verdict: Verdict) -> list[dict[str, Any]]:
    """The checks as plain JSON objects (name, status, detail, duration)."""
    return [
        {"name": c.name, "status": c.status, "detail": c.detail, "duration": round(c.duration, 3)}
        for c in verdict.checks
    ]
