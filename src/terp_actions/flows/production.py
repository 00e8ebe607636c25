"""Promoting a verified staging commit to production, and rolling an environment back."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from terp_actions import git as gitmod
from terp_actions.deploy import (
    Deployer,
    DeployResult,
    commit_of,
)
from terp_actions.digitalocean import is_app_id
from terp_actions.errors import BadInput, PromotionFailed, PromotionRefused, RollbackFailed, TerpError
from terp_actions.gha import Json
from terp_actions.plan import pull_requests_in
from terp_actions.promote import (
    PromotionResult,
    open_revert_pr,
    roll_back,
    rollback_target,
    rollback_warnings,
    run_promotion,
    verified_commits,
)
from terp_actions.render import render_verify_text
from terp_actions.report import StageState
from terp_actions.sync import BOT_IDENTITY

if TYPE_CHECKING:
    from terp_actions.config import Config, Environment
    from terp_actions.digitalocean import AppPlatformClient
    from terp_actions.freeze import Freeze
    from terp_actions.git import Git
    from terp_actions.github import GitHubClient


from terp_actions.flows.outcome import Clock, Console, Outcome, Sleep
from terp_actions.flows.reporting import report_stage
from terp_actions.flows.staging import (
    baseline_for,
    commit_checker,
    deployer_for,
    health_check,
    source_branches,
    verify_environment,
)

# --- promote and roll back ----------------------------------------------------------------------------


@dataclass
class PromoteOutcome(Outcome):
    """A promotion: what production holds and runs now, and the pull requests that heard of it."""

    OUTPUTS: ClassVar = ("sha", "previous", "pushed", "deployment-id", "verified", "migrations", "frozen")
    result: PromotionResult | None = None
    sha: str = ""
    previous: str = ""
    pulls: tuple[int, ...] = ()
    dry_run: bool = False
    frozen: bool = False
    failure: TerpError | None = None

    def data(self) -> dict[str, Json]:
        r = self.result
        return {
            "migrations": list(r.migrations) if r else list(getattr(self.failure, "migrations", ())),
            "frozen": self.frozen,
            "sha": (r.sha if r else self.sha) or None,
            "previous": (r.previous if r else self.previous) or None,
            "pushed": bool(r and r.pushed),
            "deployment-id": (r.deployment if r else "") or None,
            "verified": bool(r and r.verified),
            "rolled-back-to": (r.rolled_back_to if r else "") or None,
            "pull-requests": list(self.pulls),
            "notes": list(r.notes) if r else [],
            "dry-run": self.dry_run,
        }


def promote(
    git: Git,
    platform: AppPlatformClient,
    github: GitHubClient | None,
    config: Config,
    *,
    remote: str,
    sha: str | None,
    force_reason: str,
    console: Console,
    repo_url: str = "",
    log_url: str = "",
    verified: set[str] | None = None,
    dry_run: bool = False,
    freeze: Freeze | None = None,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> PromoteOutcome:
    """Gate, fast-forward production, deploy and verify it; roll the app back when that fails
    (or stop, for a promotion carrying migrations under ``promote.after_migrations: stop``);
    then report the `promoted` stage on every pull request the promotion carries (skipped when
    a deploy freeze stopped it)."""
    production, staging = config.branches.production, config.branches.staging
    environment = config.environments["production"]
    for key, branch, source in (
        ("staging", staging, config.branches.main),
        ("production", production, staging),
    ):
        if not gitmod.remote_has_branch(git, remote, branch):
            raise BadInput(
                f"branches.{key}: {remote}/{branch} does not exist; create it (git push {remote} "
                f"{source}:refs/heads/{branch}) or fix branches.{key} in {config.source}"
            )
    gitmod.fetch_branches(git, remote, [staging, production])
    before = gitmod.resolve_commit(git, f"{remote}/{production}") or ""
    app = platform.get_app(environment.app)
    app_id = app["id"]

    def deployer(target: str) -> Deployer:
        contains = commit_checker(git, target, console, remote=remote, branches=source_branches(app))
        return deployer_for(
            platform, app_id, config.deploy, contains=contains, console=console, clock=clock, sleep=sleep
        )

    def deploy(target: str) -> DeployResult:
        with console.group(f"Deploy production to {target[:12]}"):
            return deployer(target).run()

    def verify(target: str) -> tuple[bool, str]:
        checked = verify_environment(
            platform,
            git,
            environment,
            target,
            settings=config.verify,
            console=console,
            baseline=baseline_for(github, "production", console),
            clock=clock,
            sleep=sleep,
        )
        for line in render_verify_text(checked):
            console.say(line)
        failed = ", ".join(f"{c.name}: {c.detail}" for c in checked.verdict.checks if c.status == "fail")
        return checked.verdict.passed, failed

    outcome = PromoteOutcome(sha=sha or "", previous=before, dry_run=dry_run)
    try:
        outcome.result = run_promotion(
            git,
            platform,
            app_id,
            remote=remote,
            staging=staging,
            production=production,
            sha_text=sha,
            verified=verified if verified is not None else verified_commits(github),
            force_reason=force_reason,
            deploy=deploy,
            verify=verify,
            healthy=health_check(config.verify, environment.url, clock=clock, sleep=sleep),
            follow=lambda d: deployer("").follow(d),
            commit_of=commit_of,
            say=console.say,
            dry_run=dry_run,
            freeze=freeze,
            migration_rules=config.migration_rules(),
            after_migrations=config.promote.after_migrations,
        )
        outcome.sha = outcome.result.sha
    except PromotionFailed as exc:
        outcome.sha = exc.holds or outcome.sha
        # What it did before failing is the truth the outputs tell: pushed, deployed, rolled back.
        outcome.result = exc.partial if isinstance(exc.partial, PromotionResult) else None
        if exc.runs:  # rolled back: the branch and the app disagree until a revert
            note = _revert_note(git, github, config, remote, exc)
            outcome.failure = PromotionFailed(
                f"{exc}; {note}",
                runs=exc.runs,
                holds=exc.holds,
                migrations=exc.migrations,
                partial=exc.partial,
            )
        else:
            outcome.failure = exc
    except PromotionRefused as exc:
        outcome.sha, outcome.frozen, outcome.failure = exc.sha or outcome.sha, exc.frozen, exc
    except TerpError as exc:
        outcome.failure = exc
    if dry_run or not gitmod.is_commit_id(outcome.sha, full=True):
        return outcome
    if outcome.sha != before:
        outcome.pulls = tuple(sorted(pull_requests_in(gitmod.subjects(git, before or None, outcome.sha))))
    failed = outcome.failure
    r = outcome.result
    detail = str(failed) if failed else "; ".join(r.notes if r else [])
    if isinstance(failed, PromotionFailed) and failed.migrations:  # first: the row's detail is cut
        count = len(failed.migrations)
        detail = f"the schema stays migrated ({count} migration file{'s' if count != 1 else ''}); {detail}"
    status = "skipped" if outcome.frozen else "failure" if failed else "success"
    if github is not None:
        report_stage(
            github,
            outcome.pulls,
            "promoted",
            StageState(status, outcome.sha, detail[:300], r.deployment if r else ""),
            console=console,
            env="production",
            environment_url=environment.url,
            repo_url=repo_url,
            log_url=log_url,
        )
    return outcome


def _revert_note(
    git: Git, github: GitHubClient | None, config: Config, remote: str, exc: PromotionFailed
) -> str:
    """After a rolled-back promotion: open the revert pull request when configured, else say how."""
    if not (config.promote.revert_pr and github is not None):
        return "set promote.revert_pr to have a revert pull request opened"
    try:
        number = open_revert_pr(
            git, github, remote=remote, production=config.branches.production,
            good=exc.runs, bad=exc.holds, identity=BOT_IDENTITY,
        )  # fmt: skip
    except TerpError as error:
        return f"the revert pull request could not be opened ({error})"
    return f"revert pull request #{number} opened"


@dataclass
class RollbackOutcome(Outcome):
    """A rollback: the deployment it made (none in a dry run) and the one it restored."""

    OUTPUTS: ClassVar = ("deployment-id", "target")
    target: str
    deployment: str = ""
    valid: bool = True
    dry_run: bool = False
    warnings: tuple[str, ...] = ()  # what App Platform's validation warned about the rollback
    failure: TerpError | None = None

    def data(self) -> dict[str, Json]:
        return {
            "deployment-id": self.deployment or None,
            "target": self.target,
            "valid": self.valid,
            "dry-run": self.dry_run,
            "warnings": list(self.warnings),
        }


def roll_back_environment(
    platform: AppPlatformClient,
    environment: Environment,
    *,
    config: Config,
    console: Console,
    to: str | None = None,
    dry_run: bool = False,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> RollbackOutcome:
    """App Platform's rollback of the environment to deployment ``to`` (default: the newest one
    that went live with another commit than the running one): validate, create, wait, check
    health, commit. A dry run only validates; an invalid target is then its failure."""
    env = environment.name
    if to is not None and not is_app_id(to):  # deployment ids are UUIDs, like app ids
        raise BadInput(f"--to {to!r} is not a deployment id")
    app = platform.get_app(environment.app)
    app_id, live = str(app["id"]), app.get("active_deployment") or {}
    deployments = platform.list_deployments(app_id)
    if to and (
        to == live.get("id") or any(d["id"] == to and commit_of(d) == commit_of(live) for d in deployments)
    ):
        valid = [
            str(d["id"]) for d in deployments
            if d.get("phase") in ("ACTIVE", "SUPERSEDED") and commit_of(d) and commit_of(d) != commit_of(live)
        ][:5]  # fmt: skip
        raise BadInput(
            f"--to {to}: {env} runs deployment {live.get('id')} ({commit_of(live)[:12]}); rolling back to it,"
            " or to another build of that commit, changes nothing. Earlier live deployments: "
            + (", ".join(valid) or "none")
        )
    target = to or rollback_target(deployments, commit_of(live), commit_of, exclude=str(live.get("id", "")))
    if not target:
        raise RollbackFailed(f"{env}: no earlier deployment that went live can be rolled back to")
    if dry_run:
        validation = platform.validate_rollback(app_id, target)
        outcome = RollbackOutcome(
            target, valid=bool(validation.get("valid")), dry_run=True, warnings=rollback_warnings(validation)
        )
        for warning in outcome.warnings:
            console.say(f"rollback warning: {warning}")
        if not outcome.valid:
            error = validation.get("error") or {}
            why = str(error.get("message") or error.get("code") or "invalid")
            outcome.failure = RollbackFailed(f"{env}: rollback to {target} is not possible: {why}")
        else:
            console.say(f"dry run: rollback of {env} to {target} is valid")
        return outcome
    follower = deployer_for(
        platform, app_id, config.deploy, contains=lambda _c: False, console=console, clock=clock, sleep=sleep
    )
    done = roll_back(
        platform,
        app_id,
        target,
        follow=follower.follow,
        healthy=health_check(config.verify, environment.url, clock=clock, sleep=sleep),
        say=console.say,
    )
    return RollbackOutcome(target, done.deployment, warnings=done.warnings)
