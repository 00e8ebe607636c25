"""The App Platform stand-in's model: apps, deployments and the facts derived from them on the
stand-in's clock — phases and progress, job invocations, instances, metrics.

Everything here is a plain value or a function of one; the HTTP side is ``fake_appplatform``.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PHASES = ("PENDING_BUILD", "BUILDING", "PENDING_DEPLOY", "DEPLOYING")
# godo's DeploymentCauseDetailsType: the only values the stand-in puts in cause_details.type.
CAUSE_TYPES = frozenset({"UNKNOWN", "MANUAL", "DEPLOY_ON_PUSH", "MAINTENANCE", "MANUAL_ROLLBACK", "AUTO_ROLLBACK",
                         "UPDATE_DATABASE_TRUSTED_SOURCES", "AUTOSCALED"})  # fmt: skip
TERMINAL = frozenset({"ACTIVE", "ERROR", "CANCELED", "SUPERSEDED"})
DEFAULT_TIMINGS = {"PENDING_BUILD": 5.0, "BUILDING": 60.0, "PENDING_DEPLOY": 5.0, "DEPLOYING": 30.0}


class ManualClock:
    """A clock that moves only when told to: phases progress without real sleeps."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


class ScaledClock:
    """Wall time running ``speed`` times faster from the moment it is made: a deploy of App
    Platform's usual minutes takes seconds, while clients still poll on their own real clock."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.start = time.time()

    def __call__(self) -> float:
        return self.start + (time.time() - self.start) * self.speed


@dataclass
class Failure:
    """How a deployment fails: in which phase, after how long in it, and with which log."""

    phase: str = "BUILDING"
    after: float = 10.0
    log: str = "error: build failed"
    log_type: str = "BUILD"
    job: str = ""  # a PRE_DEPLOY job whose invocation fails (its log is ``log``); phase DEPLOYING


@dataclass
class Deployment:
    """One deployment and the facts its phase is derived from."""

    id: str
    created: float
    commit: str
    cause: str
    force_build: bool = False
    timings: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TIMINGS))
    failure: Failure | None = None
    canceled_at: float | None = None
    superseded_at: float | None = None
    cloned_from: str = ""
    cause_details: dict[str, Any] = field(default_factory=dict)
    log_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    logs: dict[str, str] = field(default_factory=dict)
    # What the build does once live, for the metrics: CPU and memory percentages (None: the
    # app's usual figures) and a crash-and-restart every so many seconds (None: never).
    cpu: float | None = None
    memory: float | None = None
    restart_every: float | None = None
    canceled_jobs: dict[str, float] = field(default_factory=dict)  # job name -> when cancelled

    def ended_in(self, now: float) -> tuple[str, float] | None:
        """The terminal phase reached by ``now`` on its own (ACTIVE/ERROR) and when."""
        start = self.created
        for phase in PHASES:
            if self.failure is not None and self.failure.phase == phase:
                return "ERROR", start + self.failure.after
            start += self.timings.get(phase, 0.0)
        return "ACTIVE", start

    def superseded_before_live(self, now: float) -> bool:
        """True when a newer deployment superseded this one before it went live."""
        end = self.ended_in(now)
        return self.superseded_at is not None and (end is None or self.superseded_at < end[1])

    def own_phase(self, now: float) -> tuple[str, float]:
        """The phase at ``now`` ignoring newer deployments, and when it began."""
        if self.canceled_at is not None and self.canceled_at <= now:
            return "CANCELED", self.canceled_at
        if self.superseded_at is not None and self.superseded_at <= now:
            return "SUPERSEDED", self.superseded_at
        end = self.ended_in(now)
        if end is not None and end[1] <= now:
            return end
        start = self.created
        for phase in PHASES:
            length = self.timings.get(phase, 0.0)
            if now < start + length or (self.failure is not None and self.failure.phase == phase):
                return phase, start
            start += length
        return "ACTIVE", start


@dataclass
class App:
    """An App Platform app that builds ``branch`` of the repository at ``repo``."""

    id: str
    name: str
    branch: str
    repo: Path | None = None
    github_repo: str = "terp/terp"
    components: tuple[str, ...] = ("web",)
    region: str = "nyc"
    timings: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TIMINGS))
    deployments: list[Deployment] = field(default_factory=list)  # newest first
    pinned: str | None = None
    health_state: str = "HEALTHY"
    created: float = 0.0
    url: str = ""
    next_failures: list[Failure] = field(default_factory=list)
    run_log: str = "GET /health 200 3ms\n"
    deploy_log: str = "Running database migrations\nMigrations applied\nDeployed web\n"
    applied_spec: dict[str, Any] | None = None  # the last spec given to an app update
    url_when_live: bool = False  # an app created through the API has a live URL once it went live
    url_delay: float = 0.0  # how long after its first ACTIVE deployment such an app gets its URL
    jobs: dict[str, str] = field(default_factory=dict)  # job component name -> kind (PRE_DEPLOY, ...)
    job_log: str = "Running database migrations\nMigrations applied\n"
    replicas: int = 1  # instances per service or worker
    ready: dict[str, int] = field(default_factory=dict)  # component -> replicas ready, when short
    cpu: float = 12.0  # CPU percentage of each instance while nothing says otherwise
    memory: float = 30.0  # memory percentage
    restarts: list[tuple[float, str]] = field(default_factory=list)  # (when, component) of restarts


def iso(ts: float) -> str:
    # App Platform's timestamps carry sub-second parts.
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def progress(
    app: App, dep: Deployment, phase: str, since: float, now: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The progress tree as App Platform reports it — build: initialize, components/<name>;
    deploy: initialize, components/<name>/{deploy, wait}, finalize — and its leaves."""
    t = dep.timings
    begin = dep.created
    segments = {}  # phase -> (start, end)
    for name in PHASES:
        segments[name] = (begin, begin + t.get(name, 0.0))
        begin = segments[name][1]
    failed_at = None
    if phase == "ERROR" and dep.failure is not None:
        failed_at = segments[dep.failure.phase][0] + dep.failure.after
    stopped_at = since if phase in ("ERROR", "CANCELED", "SUPERSEDED") else None

    def leaf(name: str, start: float, end: float, message: str = "", component: str = "") -> dict[str, Any]:
        if failed_at is not None and start <= failed_at and (failed_at < end or end == start):
            status = "ERROR"
        elif (
            stopped_at is not None
            and start >= stopped_at
            and not (phase == "SUPERSEDED" and end <= stopped_at)
        ):
            status = "PENDING"
        elif now >= end and (end > start or now >= start):
            status = "SUCCESS" if failed_at is None or end <= failed_at else "PENDING"
        elif now >= start:
            status = "RUNNING"
        else:
            status = "PENDING"
        step: dict[str, Any] = {"name": name, "status": status}
        if message:
            step |= {"message_base": message, "component_name": component}
        if status != "PENDING":
            step["started_at"] = iso(start)
        if status in ("SUCCESS", "ERROR"):
            step["ended_at"] = iso(min(end, now))
        return step

    def parent(name: str, children: list[dict[str, Any]]) -> dict[str, Any]:
        statuses = {c["status"] for c in children}
        status = (
            "ERROR" if "ERROR" in statuses else "SUCCESS" if statuses == {"SUCCESS"} else
            "PENDING" if statuses == {"PENDING"} else "RUNNING"
        )  # fmt: skip
        step = {"name": name, "status": status, "steps": children}
        if "started_at" in children[0]:
            step["started_at"] = children[0]["started_at"]
        if status in ("SUCCESS", "ERROR") and "ended_at" in children[-1]:
            step["ended_at"] = children[-1]["ended_at"]
        return step

    pb, b = segments["PENDING_BUILD"], segments["BUILDING"]
    pd, d = segments["PENDING_DEPLOY"], segments["DEPLOYING"]
    span = d[1] - d[0]
    leaves: list[dict[str, Any]] = [leaf("initialize", *pb)]
    build = [leaves[0]] + [leaf(f"components/{c}", *b, "Building service", c) for c in app.components]
    leaves += build[1:]
    deploy_init = leaf("initialize", *pd)
    components = []
    for c in app.components:
        kids = [leaf("deploy", d[0], d[0] + 0.6 * span, "Deploying service", c),
                leaf("wait", d[0] + 0.6 * span, d[0] + 0.9 * span, "Waiting for service", c)]  # fmt: skip
        leaves += kids
        components.append(parent(f"components/{c}", kids))
    finalize = leaf("finalize", d[0] + 0.9 * span, d[1])
    leaves = [*leaves[: 1 + len(app.components)], deploy_init, *leaves[1 + len(app.components) :], finalize]
    return [parent("build", build), parent("deploy", [deploy_init, *components, finalize])], leaves


# --- job invocations --------------------------------------------------------------------------

PRE_DEPLOY_SHARE = 0.3  # the share of DEPLOYING a PRE_DEPLOY job takes, before services roll out
JOB_PHASES = ("PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED")


@dataclass(frozen=True)
class Invocation:
    """One run of a job for one deployment, as App Platform reports it at a moment."""

    id: str
    job_name: str
    deployment_id: str
    phase: str
    created: float
    started: float | None
    completed: float | None
    log: str

    def json(self) -> dict[str, Any]:
        """The API's ``app_job_invocation`` object."""
        body: dict[str, Any] = {
            "id": self.id,
            "job_name": self.job_name,
            "deployment_id": self.deployment_id,
            "phase": self.phase,
            "created_at": iso(self.created),
            "trigger": {"type": "UNKNOWN"},  # a deploy's job: neither manual nor scheduled
        }
        if self.started is not None:
            body["started_at"] = iso(self.started)
        if self.completed is not None:
            body["completed_at"] = iso(self.completed)
        return body


def invocations(app: App, dep: Deployment, now: float) -> list[Invocation]:
    """The PRE_DEPLOY job invocations of ``dep`` that exist at ``now``: each is created when
    DEPLOYING begins, runs for the first part of it and, as App Platform does, fails the
    deployment when it fails (a :class:`Failure` naming the job)."""
    begin = dep.created + sum(dep.timings.get(p, 0.0) for p in PHASES[:3])
    end = begin + PRE_DEPLOY_SHARE * dep.timings.get("DEPLOYING", 0.0)
    stopped = min(t for t in (dep.canceled_at, dep.superseded_at, float("inf")) if t is not None)
    failure = dep.failure
    if failure is not None and failure.phase in PHASES[:3]:
        return []  # the build failed: nothing was deployed, no job ran
    found = []
    for name, kind in sorted(app.jobs.items()):
        if kind != "PRE_DEPLOY" or now < begin or stopped < begin:
            continue
        fails = failure is not None and failure.job == name
        finish = dep.created + sum(dep.timings.get(p, 0.0) for p in PHASES[:3]) + failure.after if (
            fails and failure is not None) else end  # fmt: skip
        cancelled = dep.canceled_jobs.get(name)
        if cancelled is not None and cancelled < finish:
            phase, completed = "CANCELED", cancelled
        elif stopped < finish:
            phase, completed = "CANCELED", stopped
        elif now >= finish:
            phase, completed = ("FAILED" if fails else "SUCCEEDED"), finish
        else:
            phase, completed = "RUNNING", None
        log = failure.log if fails and failure is not None else app.job_log
        found.append(Invocation(
            id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{dep.id}/{name}")), job_name=name, deployment_id=dep.id,
            phase=phase, created=begin, started=begin, completed=completed, log=log,
        ))  # fmt: skip
    return found


# --- instances and metrics --------------------------------------------------------------------


def instances(app: App) -> list[dict[str, str]]:
    """The running instances of the app's services (``app_instance`` objects)."""
    tag = uuid.uuid5(uuid.NAMESPACE_URL, app.id).hex
    return [
        {"component_name": c, "component_type": "SERVICE",
         "instance_name": f"{c}-{tag[:10]}-{tag[10 + i:15 + i]}", "instance_alias": f"{c}-{i}"}
        for c in app.components
        for i in range(app.replicas)
    ]  # fmt: skip


def live_spans(app: App, now: float) -> list[tuple[Deployment, float, float]]:
    """Each deployment that was live, with when it went live and when it stopped (oldest first)."""
    went_live = []
    for dep in app.deployments:
        end = dep.ended_in(now)
        if end is None or end[0] != "ACTIVE" or end[1] > now:
            continue
        if dep.canceled_at is not None and dep.canceled_at < end[1]:
            continue
        if dep.superseded_before_live(now):
            continue
        went_live.append((end[1], dep))
    went_live.sort(key=lambda pair: pair[0])
    return [
        (dep, start, went_live[i + 1][0] if i + 1 < len(went_live) else now)
        for i, (start, dep) in enumerate(went_live)
    ]


METRICS = ("cpu_percentage", "memory_percentage", "restart_count")
STEP = 60.0  # seconds between points (more when a window would hold over MAX_POINTS)
MAX_POINTS = 1000


def metric_series(
    app: App, metric: str, component: str, start: float, end: float, now: float
) -> list[list[Any]]:
    """A Prometheus-style series ``[[unix seconds, "value"], ...]`` for one component, only at
    moments when some deployment was live (no point otherwise). CPU and memory are the live
    build's figures; the restart count is cumulative since the app was created."""
    spans = live_spans(app, now)
    step = max(STEP, (end - start) / MAX_POINTS)
    values: list[list[Any]] = []
    t = start
    while t <= min(end, now):
        live = next(((d, s, e) for d, s, e in spans if s <= t < e or (e == now and s <= t)), None)
        if live is not None:
            dep = live[0]
            if metric == "cpu_percentage":
                value = dep.cpu if dep.cpu is not None else app.cpu
            elif metric == "memory_percentage":
                value = dep.memory if dep.memory is not None else app.memory
            else:
                value = restarts_by(app, component, spans, t)
            values.append([int(t), f"{value:g}"])
        t += step
    return values


def restarts_by(app: App, component: str, spans: list[tuple[Deployment, float, float]], t: float) -> float:
    """How many times ``component``'s instances restarted up to ``t``."""
    count = sum(1 for when, name in app.restarts if name == component and when <= t)
    for dep, start, stop in spans:
        if dep.restart_every and start <= t:
            count += int((min(t, stop) - start) // dep.restart_every) * app.replicas
    return float(count)
