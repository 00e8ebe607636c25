"""The staging stages as the workflow, the CLI and the demo run them: sync, plan, deploy, verify,
and the read-only view of an app (status)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from terp_actions import git as gitmod
from terp_actions.deploy import (
    DEFAULT_RULES,
    TERMINAL,
    Choice,
    Deployer,
    DeployResult,
    HealRule,
    choose_deployment,
    commit_of,
    progress_line,
)
from terp_actions.errors import (
    DeploymentFailed,
    GitError,
    LogUnavailable,
    SyncConflict,
    TerpError,
    VerificationFailed,
)
from terp_actions.gha import Json
from terp_actions.plan import Plan, build_plan, merge_commits, plan_to_json, pull_request_numbers
from terp_actions.publish import pulls_of_commits
from terp_actions.spec import FilledSpec, apply_spec
from terp_actions.sync import SyncResult, SyncStatus, open_conflict_pr, run_sync
from terp_actions.verify import (
    Prober,
    Verdict,
    baseline_p95,
    check_commit,
    check_health,
    percentile,
    run_checks,
)

if TYPE_CHECKING:
    from terp_actions.config import DeploySettings, Environment, VerifySettings
    from terp_actions.digitalocean import AppPlatformClient
    from terp_actions.freeze import Freeze
    from terp_actions.git import Git
    from terp_actions.github import GitHubClient
    from terp_actions.paths import IgnoreRules


from terp_actions.flows.outcome import Clock, Console, Outcome, Sleep


def commit_checker(
    git: Git,
    head: str,
    console: Console,
    *,
    remote: str = "origin",
    branches: Sequence[str] = (),
    compare: Callable[[str, str], str] | None = None,
) -> Callable[[str], bool]:
    """``contains(commit)``: does a deployment's commit contain ``head``? A commit the clone lacks
    (a newer push that superseded ours, which the runner's clone never fetched) is fetched first:
    ``branches``, then the commit itself; ``compare`` (GitHub's comparison status of two commits,
    built only if asked) answers only when neither brings it. Unknown after all that: no."""
    answers: dict[str, bool] = {}

    def known(commit: str) -> bool:
        if gitmod.resolve_commit(git, commit) is not None:
            return True
        if branches:
            with contextlib.suppress(GitError):
                gitmod.fetch_branches(git, remote, list(branches))
            if gitmod.resolve_commit(git, commit) is not None:
                return True
        return gitmod.fetch_commit(git, remote, commit) and gitmod.resolve_commit(git, commit) is not None

    def decide(commit: str) -> bool:
        if known(commit):
            return gitmod.is_ancestor(git, head, commit)
        if compare is not None:
            with contextlib.suppress(TerpError):
                return compare(head, commit) in ("ahead", "identical")
        console.warn(f"deployment commit {commit[:12]} could not be fetched; not adopted", "Unknown commit")
        return False

    def contains(commit: str) -> bool:
        if not commit:
            return False
        if commit == head:
            return True
        if commit not in answers:
            answers[commit] = decide(commit)
        return answers[commit]

    return contains


def source_branches(app: Mapping[str, Any]) -> list[str]:
    """The branches an app's components build (from its live spec), for fetching what it runs."""
    spec = app.get("spec") or {}
    found: list[str] = []
    for kind in ("services", "workers", "jobs", "static_sites", "functions"):
        for component in spec.get(kind) or []:
            for source in ("github", "gitlab", "git"):
                branch = str(((component or {}).get(source) or {}).get("branch") or "")
                if branch and branch not in found and gitmod.is_branch_name(branch):
                    found.append(branch)
    return found


def live_base(
    platform: AppPlatformClient, git: Git, environment: Environment, remote: str, *, console: Console
) -> str | None:
    """The commit ``environment``'s app runs now, as the base of a deploy decision (fetched when
    the clone lacks it); None, said so, when the app runs nothing of this repository yet. A live
    commit that cannot be fetched is still returned: the plan then deploys and says why."""
    app = platform.get_app(environment.app)
    live = commit_of(app.get("active_deployment") or {})
    if not live or not gitmod.is_commit_id(live, full=True):
        console.say(
            f"{environment.name} runs nothing of this repository yet: comparing with the branch instead"
        )
        return None
    if gitmod.resolve_commit(git, live) is None:
        gitmod.fetch_commit(git, remote, live)
    console.say(f"base: {live[:12]}, the commit {environment.name} runs now")
    return live


# --- sync and plan ---------------------------------------------------------------------------------


@dataclass
class SyncOutcome(Outcome):
    """A sync, and the merge commit of each pull request it brought over."""

    OUTPUTS: ClassVar = (
        "status", "before", "after", "merged-commits", "pull-requests", "merge-commits",
        "conflict-files", "sync-pr", "pushed",
    )  # fmt: skip
    result: SyncResult
    merges: dict[int, str] = field(default_factory=dict)
    failure: TerpError | None = None

    def data(self) -> dict[str, Json]:
        r = self.result
        return {
            "status": str(r.status),
            "before": r.before,
            "after": r.after,
            "merged-commits": r.merged_commits,
            "pull-requests": [*sorted(set(r.pull_requests) | set(self.merges))],
            "merge-commits": {str(pr): sha for pr, sha in sorted(self.merges.items())},
            "conflict-files": list(r.conflict_files),
            "sync-pr": r.sync_pr,
            "pushed": r.pushed,
            "dry-run": r.dry_run,
            "push": r.push or None,
            "subjects": list(r.subjects),
        }


def sync_branches(
    git: Git,
    *,
    remote: str,
    source: str,
    target: str,
    github: GitHubClient | None,
    console: Console,
    dry_run: bool = False,
    pull_lookup_limit: int = 50,
) -> SyncOutcome:
    """Bring ``source`` into ``target`` (never forced); a conflict opens or updates one pull request.
    Each pull request the sync carries gets its merge commit: from the subjects, and for commits
    whose subject names none (a rebase merge), from GitHub's commit-to-pull-requests lookup."""

    def conflict_pr(files: Sequence[str], main_tip: str, staging_tip: str) -> tuple[int | None, str]:
        if github is None:
            return None, "no GitHub token/repository: pull request not opened"
        try:
            return open_conflict_pr(
                github, files, source=source, target=target, main_tip=main_tip, staging_tip=staging_tip
            )
        except TerpError as exc:
            console.warn(f"the conflict pull request could not be opened: {exc}", "Sync pull request")
            return None, "the pull request could not be opened (see the warning)"

    result = run_sync(
        git,
        remote=remote,
        source=source,
        target=target,
        dry_run=dry_run,
        conflict_pr=conflict_pr,
    )
    outcome = SyncOutcome(result)
    if result.status is SyncStatus.CONFLICT:
        files = ", ".join(result.conflict_files[:10]) + (" …" if len(result.conflict_files) > 10 else "")
        outcome.failure = SyncConflict(
            f"{source} cannot be merged into {target} automatically: {files}; {result.pr_note}",
            result.conflict_files,
        )
    if result.status is not SyncStatus.UP_TO_DATE:
        commits = list(gitmod.commit_subjects(git, result.before, f"{remote}/{source}"))
        outcome.merges = merge_commits(commits)
        unnamed = [sha for sha, subject in commits if not pull_request_numbers(subject)]
        if github is not None and unnamed and result.status is not SyncStatus.CONFLICT:
            try:
                found, note = pulls_of_commits(
                    github, unnamed, base=source, limit=pull_lookup_limit, lagging=not outcome.merges
                )
            except TerpError as exc:  # the sync is done: a lookup that fails is a warning
                found, note = {}, f"the pull requests of {len(unnamed)} commits are unknown: {exc}"
            if note:
                console.warn(note, "Pull requests")
            for number, sha in found.items():
                outcome.merges.setdefault(number, sha)
    return outcome


@dataclass
class PlanOutcome(Outcome):
    """Whether a range needs a deploy, and why."""

    OUTPUTS: ClassVar = ("deploy", "reason", "base", "head", "deployable-count", "pull-requests")
    plan: Plan

    def data(self) -> dict[str, Json]:
        return plan_to_json(self.plan)


def plan_range(git: Git, rules: IgnoreRules, base: str | None, head: str, *, keep: int | None) -> PlanOutcome:
    """Decide whether ``base..head`` needs a deploy (an unknown base deploys, saying why)."""
    return PlanOutcome(build_plan(git, rules, base, head, keep=keep))


# --- deploy and verify -----------------------------------------------------------------------------


@dataclass
class DeployOutcome(Outcome):
    """A deploy: the deployment that went live (or failed), or, in a dry run, what it would do."""

    OUTPUTS: ClassVar = (
        "deployment-id",
        "phase",
        "commit",
        "attempts",
        "fingerprint",
        "url",
        "adopted",
        "spec",
        "frozen",
        "freeze",
    )
    env: str
    head: str
    url: str
    freeze: str = ""  # what the deploy freeze did: stopped this deploy, or was overridden
    frozen: bool = False
    redeploy: str = ""  # why a redeploy was asked for ('' when it was not)
    result: DeployResult | None = None
    choice: Choice | None = None
    spec_fields: list[str] = field(default_factory=list)
    spec_diff: list[str] = field(default_factory=list)
    failure: TerpError | None = None

    @property
    def spec_note(self) -> str:
        """ "app spec applied: <fields>" when a spec was applied, else ''."""
        if not self.spec_fields or self.choice is not None:
            return ""
        return "app spec applied: " + ", ".join(self.spec_fields)

    def data(self) -> dict[str, Json]:
        r, failed = self.result, self.failure if isinstance(self.failure, DeploymentFailed) else None
        deployment = r.deployment if r else failed.deployment if failed else None
        if self.choice is not None:
            deployment = self.choice.deployment or None
        return {
            "deployment-id": deployment,
            "phase": r.phase if r else failed.phase if failed else None,
            "commit": r.commit if r else None,
            "attempts": len(r.attempts) if r else 0,
            "fingerprint": (r.fingerprint if r else failed.fingerprint if failed else "") or None,
            "url": self.url or None,
            "adopted": bool(r.adopted) if r else bool(self.choice and self.choice.action == "adopt"),
            "spec": self.spec_note or None,
            "spec-fields": list(self.spec_fields),
            "requests": r.requests if r else 0,
            "dry-run": self.choice is not None,
            "action": self.choice.action if self.choice else None,
            "frozen": self.frozen,
            "freeze": self.freeze or None,
            "redeploy": self.redeploy or None,
        }


def deployer_for(
    platform: AppPlatformClient,
    app_id: str,
    settings: DeploySettings,
    *,
    contains: Callable[[str], bool],
    console: Console,
    timeout: float | None = None,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> Deployer:
    """A Deployer with the configured deadline, attempts and heal rules (the team's rules first:
    their own knowledge of their failures overrides the defaults)."""
    configured = tuple(HealRule(r.pattern, r.kind, r.force_build, "configured rule") for r in settings.rules)
    return Deployer(
        platform,
        app_id,
        contains=contains,
        say=console.say,
        timeout=settings.timeout if timeout is None else timeout,
        max_attempts=settings.attempts,
        rules=configured + DEFAULT_RULES,
        clock=clock,
        sleep=sleep,
    )


def deploy_environment(
    platform: AppPlatformClient,
    git: Git,
    environment: Environment,
    head: str,
    *,
    settings: DeploySettings,
    console: Console,
    spec: FilledSpec | None = None,
    force_build: bool = False,
    redeploy: str = "",
    dry_run: bool = False,
    timeout: float | None = None,
    freeze: Freeze | None = None,
    compare: Callable[[str, str], str] | None = None,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> DeployOutcome:
    """Make the environment run a deployment containing ``head``: apply the spec when given, then
    adopt or create (always create for a ``redeploy``, which says why), follow and auto-heal; a
    failed deploy is the outcome's failure. A deploy freeze stops it before any request: the
    outcome says so, and is no failure (a freeze holds merges back; it must not turn runs red)."""
    if freeze is not None and freeze.stops:
        console.warn(freeze.refusal(f"the {environment.name} deploy is"), title="Deploy freeze")
        stopped = f"stopped by the deploy freeze ({freeze.reason})"
        return DeployOutcome(environment.name, head, environment.url, freeze=stopped, frozen=True)
    live = platform.get_app(environment.app)
    contains = commit_checker(git, head, console, branches=source_branches(live), compare=compare)
    outcome = DeployOutcome(environment.name, head, str(live.get("live_url") or environment.url))
    outcome.redeploy = redeploy
    if redeploy:
        console.say(f"redeploy ({redeploy}): a new deployment, even if the live one carries {head[:12]}")
    if freeze is not None and freeze.note:
        outcome.freeze = freeze.note
        console.warn(freeze.note, title="Deploy freeze overridden")
    started = ""
    if spec is not None:
        with console.group("App spec"):
            change = apply_spec(platform, live, spec, say=console.say, dry_run=dry_run)
        outcome.spec_fields, outcome.spec_diff = list(change.fields), list(change.diff)
        started = change.deployment
    if dry_run:
        outcome.choice = choose_deployment(
            platform.list_deployments(live["id"]), contains, redeploy=bool(redeploy)
        )
        return outcome
    deployer = deployer_for(
        platform,
        live["id"],
        settings,
        contains=contains,
        console=console,
        timeout=timeout,
        clock=clock,
        sleep=sleep,
    )
    try:
        with console.group(f"Deploy {environment.name} ({environment.app}) to {head[:12]}"):
            outcome.result = deployer.run(force_build=force_build, redeploy=bool(redeploy), start=started)
    except DeploymentFailed as exc:
        outcome.failure = exc
    return outcome


@dataclass
class VerifyOutcome(Outcome):
    """The checks of a live deploy and their verdict."""

    OUTPUTS: ClassVar = ("verdict", "checks", "health-p95-ms", "failed-checks")
    env: str
    verdict: Verdict
    latencies: list[float]
    baseline: float | None = None
    failure: TerpError | None = None

    @property
    def p95(self) -> float | None:
        """The 95th percentile of the healthy probes' latencies (None without one)."""
        return percentile(self.latencies, 95) if self.latencies else None

    def data(self) -> dict[str, Json]:
        return {
            "verdict": "pass" if self.verdict.passed else "fail",
            "checks": [
                {"name": c.name, "status": c.status, "detail": c.detail, "duration": round(c.duration, 3)}
                for c in self.verdict.checks
            ],
            "health-p95-ms": None if self.p95 is None else round(self.p95),
            "failed-checks": "; ".join(
                f"{c.name}: {c.detail}" for c in self.verdict.checks if c.status == "fail"
            )
            or None,
            "baseline-p95-ms": None if self.baseline is None else round(self.baseline),
        }


def baseline_for(github: GitHubClient | None, env: str, console: Console) -> float | None:
    """The previous verified deploy's p95 from the GitHub Deployments of ``env`` (None without)."""
    if github is None:
        return None
    try:
        return baseline_p95(github, env)
    except TerpError as exc:
        console.warn(f"previous latency unknown: {exc}", "Latency baseline")
        return None


def verify_environment(
    platform: AppPlatformClient,
    git: Git,
    environment: Environment,
    head: str,
    *,
    settings: VerifySettings,
    console: Console,
    baseline: float | None = None,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> VerifyOutcome:
    """Every verification check against the environment's live deployment, which must contain ``head``."""
    live = platform.get_app(environment.app)
    active = live.get("active_deployment") or {}
    deployed = commit_of(active)
    verdict, latencies = run_checks(
        platform,
        live["id"],
        active,
        settings,
        url=environment.url,
        commit_check=check_commit(deployed, head, commit_checker(git, head, console)(deployed)),
        previous_p95=baseline,
        clock=clock,
        sleep=sleep,
    )
    outcome = VerifyOutcome(environment.name, verdict, latencies, baseline)
    if not verdict.passed:
        failed = ", ".join(c.name for c in verdict.checks if c.status == "fail")
        outcome.failure = VerificationFailed(f"{environment.name}: {failed} failed")
    return outcome


def health_check(
    settings: VerifySettings, url: str, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep
) -> Callable[[], bool]:
    """``healthy()``: the configured health probes pass now."""

    def healthy() -> bool:
        h = settings.health
        probes = Prober(
            url, h.path, h.expect, h.probes, h.timeout, interval=h.interval, clock=clock, sleep=sleep
        )
        return check_health(probes.run(), h.expect, h.probes).status == "pass"

    return healthy


@dataclass
class StatusOutcome(Outcome):
    """An app's deployments now, and which recent one carries a commit."""

    app: dict[str, Any]
    head: str | None = None
    carrying: dict[str, Any] | None = None

    def data(self) -> dict[str, Json]:
        def brief(dep: Mapping[str, Any] | None) -> Json:
            if not dep:
                return None
            return {
                "deployment-id": str(dep.get("id", "")),
                "phase": str(dep.get("phase", "")),
                "commit": commit_of(dep) or None,
                "cause": str(dep.get("cause", "")),
                "cause-type": str((dep.get("cause_details") or {}).get("type") or "") or None,
                "created-at": dep.get("created_at"),
                "updated-at": dep.get("updated_at"),
                "progress": progress_line(dep),
            }

        a = self.app
        return {
            "app-id": str(a.get("id", "")),
            "name": (a.get("spec") or {}).get("name"),
            "url": a.get("live_url"),
            "active": brief(a.get("active_deployment")),
            "in-progress": brief(a.get("in_progress_deployment")),
            "pinned": brief(a.get("pinned_deployment")),
            "sha": self.head,
            "carrying": brief(self.carrying),
        }


def app_status(
    platform: AppPlatformClient, app: str, *, git: Git | None, head: str | None, console: Console
) -> StatusOutcome:
    """The app's active, in-progress and pinned deployments; with ``head``, the newest recent
    deployment whose commit contains it (the same check deploy adopts by)."""
    live = platform.get_app(app)
    outcome = StatusOutcome(live, head)
    if git is not None and head:
        contains = commit_checker(git, head, console)
        outcome.carrying = next(
            (d for d in platform.list_deployments(live["id"]) if contains(commit_of(d))), None
        )
    return outcome


def spec_changed_in(git: Git, since: str, head: str, path: str, console: Console) -> bool:
    """Does ``since..head`` change the spec file at ``path``? Says which way it decided."""
    base = gitmod.resolve_commit(git, since, what="--spec-since")
    if base is None:
        from terp_actions.errors import BadInput  # noqa: PLC0415

        raise BadInput(f"--spec-since {since!r} does not name a commit in {git.repo} (fetch it first)")
    changed = any(True for _ in gitmod.changed_paths(git, base, head, path))
    console.say(f"app spec {path}: {'changed' if changed else 'unchanged'} in {base[:12]}..{head[:12]}")
    return changed


def watch_environment(
    platform: AppPlatformClient,
    environment: Environment,
    *,
    settings: DeploySettings,
    console: Console,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> StatusOutcome:
    """Follow the deployment in progress on the environment — whoever started it — phase by
    phase until it ends; its failure is the outcome's. Nothing in progress: the app as it is."""
    live = platform.get_app(environment.app)
    running = live.get("in_progress_deployment") or {}
    if not running.get("id"):
        console.say(f"{environment.name}: no deployment in progress")
        return StatusOutcome(live)
    follower = deployer_for(platform, str(live["id"]), settings, contains=lambda _c: False, console=console,
                            clock=clock, sleep=sleep)  # fmt: skip
    with console.group(f"Watch {environment.name}: deployment {running['id']}"):
        phase, _ = follower.follow(str(running["id"]))
    outcome = StatusOutcome(platform.get_app(str(live["id"])))
    if phase != "ACTIVE":
        outcome.failure = DeploymentFailed(
            f"{environment.name}: deployment {running['id']} ended {phase}",
            deployment=str(running["id"]),
            phase=phase,
        )
    return outcome


def follow_logs(
    platform: AppPlatformClient,
    environment: Environment,
    kind: str,
    *,
    deployment: str | None,
    emit: Callable[[str], None],
    keep: Callable[[str], bool] = lambda _line: True,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
    every: float = 2.0,
    timeout: float = 6 * 3600.0,
) -> int:
    """Print a deployment's ``kind`` log as it grows (``keep`` filters lines), until that
    deployment has ended (for a run log: stopped being the live one) and its log has been read
    once more, or the timeout. Returns the number of lines printed. The log is re-read each
    round; only new lines show."""
    app_id = str(platform.get_app(environment.app)["id"])
    if not deployment:
        live = platform.get_app(app_id)
        deployment = str(
            (live.get("in_progress_deployment") or live.get("active_deployment") or {}).get("id", "")
        )
    if not deployment:
        raise LogUnavailable(f"{environment.name}: no deployment to follow the logs of", app=app_id)
    began, seen, shown = clock(), 0, 0
    while True:
        phase = platform.get_deployment(app_id, deployment).get("phase")
        # A build or deploy log is complete once its deployment ends; a run log keeps growing
        # while that deployment is the live one.
        ended = phase in TERMINAL and not (kind.startswith("RUN") and phase == "ACTIVE")
        lines = platform.logs(app_id, deployment, kind).splitlines()
        for line in lines[seen:]:
            if keep(line):
                emit(line)
                shown += 1
        seen = max(seen, len(lines))
        if ended or clock() - began > timeout:
            return shown
        sleep(every)
