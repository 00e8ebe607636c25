"""Preview apps: up (create or update, deploy, verify, report), down, list and prune."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final

from terp_actions import git as gitmod
from terp_actions.config import Environment
from terp_actions.errors import (
    AppNotFound,
    BadInput,
    DigitalOceanError,
    PreviewRefused,
    RequestLost,
    TerpError,
    VerificationFailed,
)
from terp_actions.flows.outcome import Clock, Console, Outcome, Sleep
from terp_actions.flows.reporting import report_stage
from terp_actions.flows.staging import commit_checker, deployer_for, verify_environment
from terp_actions.gha import Json
from terp_actions.plan import decide, summarize_changes
from terp_actions.preview import (
    build_preview_spec,
    check_preview_safety,
    marker,
    marker_of,
    preview_name,
    previews_of,
)
from terp_actions.report import StageState
from terp_actions.spec import prepare_spec

if TYPE_CHECKING:
    from terp_actions.config import Config
    from terp_actions.digitalocean import AppPlatformClient
    from terp_actions.freeze import Freeze
    from terp_actions.git import Git
    from terp_actions.github import GitHubClient


@dataclass
class PreviewOutcome(Outcome):
    """One preview's end: its app, URL and verdict, or why there is none."""

    OUTPUTS: ClassVar = ("name", "app-id", "url", "action", "verdict", "deployment-id")
    pr: int
    name: str
    action: str = ""  # created | updated | skipped | deleted | gone
    app_id: str = ""
    url: str = ""
    verdict: str = ""  # pass | fail | '' (not verified)
    deployment: str = ""
    reason: str = ""
    monthly_cost: float | None = None  # App Platform's quote for the preview's spec (propose)
    failure: TerpError | None = None

    def data(self) -> dict[str, Json]:
        return {
            "monthly-cost": self.monthly_cost,
            "pr": self.pr,
            "name": self.name,
            "action": self.action,
            "app-id": self.app_id or None,
            "url": self.url or None,
            "verdict": self.verdict or None,
            "deployment-id": self.deployment or None,
            "reason": self.reason or None,
        }


@dataclass
class PreviewContext:
    """What every preview command needs: the clients, the configuration, the repository
    (``owner/name``) and the environment placeholders and production-only values come from."""

    platform: AppPlatformClient
    github: GitHubClient | None
    config: Config
    repository: str
    console: Console
    environ: Mapping[str, str] = field(default_factory=dict)
    repo_url: str = ""
    clock: Clock = time.monotonic
    sleep: Sleep = time.sleep

    def name(self, pr: int) -> str:
        return preview_name(self.repository, pr, self.config.preview.name)

    def report(
        self, pr: int, status: str, sha: str, detail: str, deployment: str = "", *, stage: str = "preview"
    ) -> None:
        if self.github is not None:
            report_stage(
                self.github, (pr,), stage, StageState(status, sha, detail[:300], deployment),
                console=self.console, repo_url=self.repo_url,
            )  # fmt: skip

    def ours(self, app: Mapping[str, Any], pr: int) -> bool:
        """A preview of this repository's pull request ``pr``: its name *and* its marker."""
        return app.get("spec", {}).get("name") == self.name(pr) and marker_of(app) == marker(
            self.repository, pr
        )


def _find(platform: AppPlatformClient, name: str) -> dict[str, Any] | None:
    """The app named ``name`` (App Platform's lookup by name), or None when there is none."""
    try:
        return platform.get_app(name)
    except AppNotFound:
        return None


def preview_up(
    ctx: PreviewContext, git: Git, repo: Path, pr: int, *, remote: str = "origin", force: bool = False,
    freeze: Freeze | None = None,
) -> PreviewOutcome:  # fmt: skip
    """Create or update the preview app of pull request ``pr``, deploy and verify it, and record
    the `preview` row on its comment; a PR whose changes are all ignored gets none (unless
    ``force``), and a deploy freeze stops it."""
    settings, console = ctx.config.preview, ctx.console
    name = ctx.name(pr)
    outcome = PreviewOutcome(pr, name)
    if ctx.github is None:
        raise BadInput(
            "preview up needs GITHUB_TOKEN and GITHUB_REPOSITORY (the pull request and its comment)"
        )
    pull = ctx.github.get_pull(pr)
    if pull.state != "open":
        raise BadInput(f"pull request #{pr} is {pull.state}: previews are for open pull requests")
    gitmod.fetch_branches(git, remote, [pull.base, pull.head])
    head = gitmod.resolve_commit(git, f"{remote}/{pull.head}") or ""
    base = git.text(["merge-base", f"{remote}/{pull.base}", head]).strip()
    summary = summarize_changes(gitmod.changed_paths(git, base, head), ctx.config.rules(), keep=10)
    decision = decide(base, head, summary)
    if not decision.deploy and not force:
        why = decision.reason.replace("no deploy needed", "no preview needed", 1)
        outcome.action, outcome.reason = "skipped", f"{why}; `preview up --force` makes one anyway"
        console.say(outcome.reason)
        ctx.report(pr, "skipped", head, outcome.reason)
        return outcome
    if freeze is not None and freeze.stops:
        outcome.action = "skipped"
        outcome.reason = f"stopped by the deploy freeze ({freeze.reason})"
        console.warn(freeze.refusal("previews are"), title="Deploy freeze")
        ctx.report(pr, "skipped", head, outcome.reason)
        return outcome
    spec = _preview_spec(ctx, repo, pr, name, pull.head)
    try:
        outcome.monthly_cost = _monthly_cost(ctx, spec)
        app, outcome.action = _create_or_update(ctx, pr, name, spec)
        outcome.app_id = str(app["id"])
        checker = commit_checker(git, head, console)
        deployer = deployer_for(
            ctx.platform, outcome.app_id, ctx.config.deploy, contains=checker, console=console,
            clock=ctx.clock, sleep=ctx.sleep,
        )  # fmt: skip
        started = str((app.get("pending_deployment") or {}).get("id") or "")
        with console.group(f"Deploy preview {name} to {head[:12]}"):
            result = deployer.run(start=started)
        outcome.deployment = result.deployment
        outcome.url = _wait_for_url(ctx, outcome.app_id, name)
        verify = dataclasses.replace(
            ctx.config.verify,
            health=dataclasses.replace(ctx.config.verify.health, expect=settings.health_expect),
        )
        checked = verify_environment(
            ctx.platform, git, Environment(outcome.app_id, outcome.url, "", "preview"), head,
            settings=verify, console=console, baseline=None, clock=ctx.clock, sleep=ctx.sleep,
        )  # fmt: skip
        outcome.verdict = "pass" if checked.verdict.passed else "fail"
        failed = [c.name for c in checked.verdict.checks if c.status == "fail"]
        detail = f"{outcome.url} — " + ("verified" if not failed else "failed: " + ", ".join(failed))
        if outcome.monthly_cost is not None:
            detail += f" (about ${outcome.monthly_cost:g}/month while it lives)"
        ctx.report(pr, "success" if not failed else "failure", head, detail, outcome.deployment)
        if failed:
            outcome.failure = VerificationFailed(
                f"preview {name} ({outcome.url}) failed verification: {', '.join(failed)}"
            )
    except TerpError as exc:
        ctx.report(pr, "failure", head, f"{name}: {exc}", outcome.deployment)
        outcome.failure = exc
    return outcome


def _monthly_cost(ctx: PreviewContext, spec: Mapping[str, Any]) -> float | None:
    """What App Platform quotes for the preview's spec per month (propose's app_cost); None when
    it gives none. A spec it refuses stops here, before anything is created."""
    cost = ctx.platform.validate_spec(spec).get("app_cost")
    return float(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else None


URL_WAIT: Final = 300.0  # how long a live preview may go without a URL before we give up


def _wait_for_url(ctx: PreviewContext, app_id: str, name: str) -> str:
    """The app's live URL. A new app gets it a while after its first deployment is ACTIVE
    (DigitalOcean's own app_action polls for it), so wait, bounded, on the run's clock."""
    began, pause = ctx.clock(), 1.0
    while True:
        url = str(ctx.platform.get_app(app_id).get("live_url") or "")
        if url:
            return url
        waited = ctx.clock() - began
        if waited >= URL_WAIT:
            raise DigitalOceanError(
                f"preview {name} is live but App Platform gave it no URL within {URL_WAIT:.0f}s"
            )
        if pause == 1.0:
            ctx.console.say(
                f"waiting for App Platform to give preview {name} its URL (at most {URL_WAIT:.0f}s)"
            )
        ctx.sleep(min(pause, URL_WAIT - waited))
        pause = min(pause * 2, 5.0)


def _preview_spec(ctx: PreviewContext, repo: Path, pr: int, name: str, head_branch: str) -> dict[str, Any]:
    """The preview's spec: the base environment's spec file, filled, turned into a preview, and
    checked against production's database and production-only values (before any request)."""
    settings = ctx.config.preview
    base_env = ctx.config.environments.get(settings.base)
    if base_env is None or not base_env.spec:
        raise BadInput(
            f"environments.preview.base: {settings.base!r} has no spec file "
            f"(environments.{settings.base}.spec)"
        )
    filled = prepare_spec(repo / base_env.spec, ctx.environ, on_secret=ctx.console.hide)
    plan = build_preview_spec(
        filled.spec, name=name, repository=ctx.repository, pr=pr, head_branch=head_branch,
        database=settings.database, instance_size=settings.instance_size, envs=settings.envs,
    )  # fmt: skip
    clusters: list[str] = []
    production = ctx.config.environments.get("production")
    if production is not None and production.spec and (repo / production.spec).exists():
        raw = prepare_spec(
            repo / production.spec, ctx.environ, require_values=False, on_secret=ctx.console.hide
        ).spec
        clusters = [
            str(d.get("cluster_name") or "") for d in raw.get("databases") or [] if isinstance(d, dict)
        ]
    values = {n: ctx.environ[n] for n in settings.production_only if ctx.environ.get(n)}
    for value in values.values():  # production-only values are secrets wherever they show up
        ctx.console.hide(value)
    check_preview_safety(plan.spec, production_clusters=clusters, production_values=values)
    if plan.dropped:
        ctx.console.say("preview spec: dropped " + ", ".join(plan.dropped))
    return plan.spec


def _create_or_update(
    ctx: PreviewContext, pr: int, name: str, spec: Mapping[str, Any]
) -> tuple[dict[str, Any], str]:
    """Update this PR's preview, or create it when missing (under the cap); an app of that name
    that is not ours is refused. A lost create answer is followed by a look before trying again,
    and a create refused as a taken name (409: a concurrent run was first) updates that app when it
    is ours, as doctl's ``apps create --upsert`` does."""
    apps = ctx.platform.list_apps()
    existing = next((a for a in apps if (a.get("spec") or {}).get("name") == name), None)
    if existing is not None:
        return _update_ours(ctx, pr, name, existing, spec), "updated"
    live = previews_of(apps, ctx.repository)
    if len(live) >= ctx.config.preview.max:
        shown = ", ".join(f"#{n} {(a.get('spec') or {}).get('name')}" for n, a in live)
        raise PreviewRefused(
            f"{len(live)} previews are live, the most environments.preview.max allows: {shown}; close a pull "
            "request or run `terp-actions preview prune`"
        )
    for attempt in (1, 2):
        try:
            ctx.console.say(f"creating preview {name}")
            return ctx.platform.create_app(spec), "created"
        except RequestLost:
            found = _find(ctx.platform, name)
            if found is not None:
                ctx.console.say(f"the create answer was lost; App Platform had created {found['id']}")
                return found, "created"
            if attempt == 2:
                raise
        except DigitalOceanError as exc:
            found = _find(ctx.platform, name) if exc.status == 409 else None
            if found is None:
                raise
            ctx.console.say(f"App Platform says {name} exists already (another run created it)")
            return _update_ours(ctx, pr, name, found, spec), "updated"
    raise AssertionError("unreachable")


def _update_ours(
    ctx: PreviewContext, pr: int, name: str, existing: Mapping[str, Any], spec: Mapping[str, Any]
) -> dict[str, Any]:
    """Update ``existing`` to ``spec`` when it is this PR's preview; refuse by name otherwise."""
    if not ctx.ours(existing, pr):
        raise PreviewRefused(
            f"the app name {name!r} is taken by app {existing.get('id')} that is not a preview of "
            f"{ctx.repository}#{pr}: refused (rename it, or set environments.preview.name)"
        )
    ctx.console.say(f"updating preview {name} ({existing['id']})")
    return ctx.platform.update_app(str(existing["id"]), spec)


def preview_down(ctx: PreviewContext, pr: int, *, head_sha: str = "") -> PreviewOutcome:
    """Delete pull request ``pr``'s preview; an app already gone is fine, and an app of that name
    that is not ours is never touched."""
    name = ctx.name(pr)
    outcome = PreviewOutcome(pr, name, action="gone")
    app = _find(ctx.platform, name)
    if app is None:
        outcome.reason = f"no preview {name}: nothing to delete"
    elif not ctx.ours(app, pr):
        raise PreviewRefused(
            f"the app {name!r} ({app.get('id')}) is not a preview of {ctx.repository}#{pr}: not deleted"
        )
    else:
        outcome.app_id = str(app["id"])
        _delete(ctx.platform, outcome.app_id, name)
        outcome.action, outcome.reason = "deleted", f"preview {name} deleted"
    ctx.console.say(outcome.reason)
    pull = ctx.github.get_pull(pr) if ctx.github is not None else None
    if outcome.action == "deleted":  # nothing deleted: the row keeps what it said
        why = (
            "deleted on request"
            if pull is not None and pull.state == "open"
            else "the pull request was closed"
        )
        ctx.report(pr, "skipped", head_sha, f"{outcome.reason} ({why})")
    if pull is not None and pull.state == "closed" and not pull.merged:
        # Its flow rows will never run: the comment says so instead of "pending" for ever.
        ctx.report(pr, "skipped", head_sha, "closed without merging", stage="closed")
    return outcome


def _delete(platform: AppPlatformClient, app_id: str, name: str) -> None:
    """Delete, idempotently: an error after which the app is gone means the delete got through."""
    try:
        platform.delete_app(app_id)
    except DigitalOceanError:
        if _find(platform, name) is not None:
            raise


@dataclass(frozen=True)
class PreviewInfo:
    """One live preview, for `preview list` and `preview prune`."""

    name: str
    pr: int
    app_id: str
    phase: str
    url: str
    age_seconds: float
    commit: str


@dataclass
class PreviewListOutcome(Outcome):
    previews: list[PreviewInfo] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    dry_run: bool = False
    failure: TerpError | None = None

    def data(self) -> dict[str, Json]:
        return {
            "previews": [
                {
                    "name": p.name,
                    "pr": p.pr,
                    "app-id": p.app_id,
                    "phase": p.phase,
                    "url": p.url or None,
                    "age-seconds": round(p.age_seconds),
                    "commit": p.commit or None,
                }
                for p in self.previews
            ],
            "deleted": list(self.deleted),
            "dry-run": self.dry_run,
        }


def list_previews(ctx: PreviewContext, now: float) -> list[PreviewInfo]:
    """This repository's previews (name *and* marker), oldest PR first."""
    found = []
    for pr, app in previews_of(ctx.platform.list_apps(), ctx.repository):
        if not ctx.ours(app, pr):
            continue
        active = app.get("active_deployment") or app.get("in_progress_deployment") or {}
        commit = next((s.get("source_commit_hash", "") for s in active.get("services") or []), "")
        age = max(0.0, now - _epoch(str(app.get("created_at") or ""), now))
        phase, url = str(active.get("phase") or "-"), str(app.get("live_url") or "")
        found.append(PreviewInfo(ctx.name(pr), pr, str(app["id"]), phase, url, age, str(commit)))
    return found


def _epoch(stamp: str, default: float) -> float:
    from datetime import datetime  # noqa: PLC0415

    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return default


def prune_previews(ctx: PreviewContext, now: float, *, dry_run: bool = False) -> PreviewListOutcome:
    """Delete previews whose pull request is closed, or older than environments.preview.ttl."""
    outcome = PreviewListOutcome(dry_run=dry_run)
    if ctx.github is None:
        raise BadInput(
            "preview prune needs GITHUB_TOKEN and GITHUB_REPOSITORY (to see which pull requests closed)"
        )
    for info in list_previews(ctx, now):
        state = ctx.github.get_pull(info.pr).state
        why = "its pull request is closed" if state != "open" else ""
        if not why and info.age_seconds > ctx.config.preview.ttl:
            why = f"older than environments.preview.ttl ({info.age_seconds / 86400:.1f} days)"
        outcome.previews.append(info)
        if not why:
            continue
        ctx.console.say(f"{'would delete' if dry_run else 'deleting'} {info.name} (#{info.pr}): {why}")
        if not dry_run:
            _delete(ctx.platform, info.app_id, info.name)
        outcome.deleted.append(info.name)
    return outcome
