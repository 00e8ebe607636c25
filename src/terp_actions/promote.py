"""Promoting a verified staging commit to production: the gate (pure), the promotion, rollback.

The gate refuses, with every reason as a value: a deploy freeze (unless overridden with a
reason), a commit that is not hex or unknown, one not on staging, one staging has not verified
(unless forced with a reason), one production cannot fast-forward to (production has commits of
its own), and a production app pinned by an unfinished rollback. It also names the migration
files the promotion carries. Production moves only by a plain push that fast-forwards it; a
deploy or verification failure rolls the app back (validate, create, wait, health check,
commit) — or, for a promotion carrying migrations under ``promote.after_migrations: stop``,
leaves it for a person — and the branch is left as it is. Every step checks where things stand
first, so a rerun converges.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from terp_actions import git as gitmod
from terp_actions.digitalocean import ROLLBACK_CAUSES
from terp_actions.errors import (
    BadInput,
    DigitalOceanError,
    PromotionFailed,
    PromotionRefused,
    PushRejected,
    RequestLost,
    RollbackFailed,
    TerpError,
)
from terp_actions.freeze import Freeze
from terp_actions.git import Git
from terp_actions.paths import IgnoreRules


class Refusal(enum.StrEnum):
    """Why the gate refuses a promotion."""

    FROZEN = "deploy-freeze"
    NOT_ON_STAGING = "not-on-staging"
    NOT_VERIFIED = "not-verified"
    DIVERGED = "production-diverged"
    PINNED = "app-pinned"


@dataclass(frozen=True)
class GateFacts:
    """What the gate decides from (gathered by ``gather_facts``)."""

    sha: str
    on_staging: bool
    verified: bool
    production_tip: str
    production_only: tuple[str, ...]  # commits on production that ``sha`` does not contain
    pinned: bool
    force_reason: str = ""
    frozen: str = ""  # the freeze's refusal line when a deploy freeze stops promotions, else ''
    migrations: tuple[str, ...] = ()  # migration files that change between production and ``sha``


@dataclass(frozen=True)
class GateDecision:
    """The gate's answer: refusals (empty when allowed), and whether production already has it."""

    refusals: tuple[tuple[Refusal, str], ...]
    already_there: bool
    forced: bool

    @property
    def allowed(self) -> bool:
        return not self.refusals


def gate(facts: GateFacts) -> GateDecision:
    """Decide whether ``facts.sha`` may go to production."""
    refusals: list[tuple[Refusal, str]] = []
    short = facts.sha[:12]
    if facts.frozen:
        refusals.append((Refusal.FROZEN, facts.frozen))
    if not facts.on_staging:
        refusals.append((Refusal.NOT_ON_STAGING, f"{short} is not on staging"))
    forced = False
    if not facts.verified:
        if facts.force_reason:
            forced = True
        else:
            refusals.append(
                (Refusal.NOT_VERIFIED, f"staging has not verified {short} (--force with --reason overrides)")
            )
    if facts.production_only:
        shown = ", ".join(c[:12] for c in facts.production_only[:5])
        refusals.append(
            (
                Refusal.DIVERGED,
                f"production has {len(facts.production_only)} commit(s) staging does not "
                f"({shown}): it cannot fast-forward; merge them into staging first",
            )
        )
    if facts.pinned:
        refusals.append(
            (Refusal.PINNED, "the production app is pinned by an unfinished rollback: commit or revert it")
        )
    return GateDecision(tuple(refusals), facts.production_tip == facts.sha, forced)


# --- facts and the flow (effects) ---------------------------------------------------------------


def resolve_sha(git: Git, text: str) -> str:
    """A full SHA for a hex (possibly short, then unique) commit id; refuses anything else."""
    if not gitmod.is_commit_id(text or ""):
        raise BadInput(f"sha {text!r} must be a hexadecimal commit id")
    full = gitmod.resolve_commit(git, text, what="sha")
    if full is None:
        raise BadInput(f"sha {text!r} does not name a commit here (fetch staging first)")
    return full


def default_sha(git: Git, staging_ref: str, verified: set[str], *, limit: int = 200) -> str:
    """The newest staging commit (first parent) that staging verified."""
    for change in gitmod.first_parent_changes(git, None, staging_ref):
        if change.sha in verified:
            return change.sha
        limit -= 1
        if limit == 0:
            break
    raise PromotionRefused("no staging commit among the newest has a successful staging verification")


def gather_facts(
    git: Git,
    sha: str,
    *,
    staging_ref: str,
    production_ref: str,
    verified: set[str],
    pinned: bool,
    force_reason: str,
    frozen: str = "",
    migration_rules: IgnoreRules | None = None,
) -> GateFacts:
    """Everything the gate needs, from git and what the caller looked up."""
    production_tip = gitmod.resolve_commit(git, production_ref) or ""
    production_only: tuple[str, ...] = ()
    if production_tip and not gitmod.is_ancestor(git, production_tip, sha):
        production_only = tuple(git.text(["rev-list", f"{sha}..{production_tip}", "--"]).split())
    migrations: tuple[str, ...] = ()
    if production_tip and migration_rules is not None and len(migration_rules):
        migrations = migration_files(git, production_tip, sha, migration_rules)
    return GateFacts(
        sha=sha,
        on_staging=gitmod.is_ancestor(git, sha, gitmod.resolve_commit(git, staging_ref) or sha),
        verified=sha in verified,
        production_tip=production_tip,
        production_only=production_only,
        pinned=pinned,
        force_reason=force_reason,
        frozen=frozen,
        migrations=migrations,
    )


def migration_files(git: Git, base: str, head: str, rules: IgnoreRules) -> tuple[str, ...]:
    """The files between ``base`` and ``head`` that ``verify.migrations.paths`` calls migrations
    (the diff is streamed; only the matches are kept)."""
    return tuple(path for path in gitmod.changed_paths(git, base, head) if rules.is_ignored(path))


def migrations_note(files: Sequence[str]) -> str:
    """What a promotion carrying migrations says at the gate, in its summary and on comments."""
    shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
    return (
        f"carries {len(files)} migration file{'s' if len(files) != 1 else ''} ({shown}): the deploy "
        "migrates the database, and a rollback puts the previous code back on the migrated schema"
    )


@dataclass
class PromotionResult:
    """How a promotion ended."""

    sha: str
    previous: str
    pushed: bool
    deployment: str = ""
    verified: bool = False
    rolled_back_to: str = ""
    rollback_warnings: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)
    migrations: tuple[str, ...] = ()


def push_production(git: Git, remote: str, sha: str, branch: str) -> bool:
    """Fast-forward ``branch`` to ``sha`` with a plain push; False when it already is there."""
    outcome = gitmod.push_commit(git, remote, sha, branch)
    if outcome.ok:
        return True
    if outcome.moved:  # a push raced ours: fine if the branch now holds our commit
        gitmod.fetch_branches(git, remote, [branch])
        now = gitmod.resolve_commit(git, f"{remote}/{branch}") or ""
        if now and (now == sha or gitmod.is_ancestor(git, sha, now)):
            return False
    raise PushRejected(f"{remote} refused to move {branch} to {sha[:12]}: {outcome.reason}")


def rollback_target(
    deployments: Sequence[dict[str, Any]],
    away_from: str,
    commit_of: Callable[[dict[str, Any]], str],
    exclude: str = "",
) -> str:
    """The deployment to roll back to: the newest one (not ``exclude``) that went live with
    another commit than ``away_from`` — never a build of the commit being rolled away from."""
    for dep in deployments:
        if (
            dep["id"] != exclude
            and dep.get("phase") in ("ACTIVE", "SUPERSEDED")
            and commit_of(dep)
            and commit_of(dep) != away_from
        ):
            return str(dep["id"])
    return ""


def verified_commits(github: Any, *, look_at: int = 30) -> set[str]:
    """Commits staging verified: their newest staging Deployment status is a success (or a
    success later marked inactive by a newer deploy). Empty without GitHub."""
    if github is None:
        return set()
    found = set()
    for deployment in github.deployments("staging", limit=look_at):
        states = [s.state for s in github.statuses(deployment.id)]
        if states and states[0] in ("success", "inactive") and "success" in states:
            found.add(deployment.sha)
    return found


def roll_back(
    platform: Any,
    app_id: str,
    target: str,
    *,
    follow: Callable[[str], tuple[str, dict[str, Any]]],
    healthy: Callable[[], bool],
    say: Callable[[str], None],
) -> RolledBack:
    """App Platform's rollback to ``target``: validate, create (pins), wait, check health, commit.
    The validation's warnings (an image without a digest is "not guaranteed" to come back) are
    said as they come and returned with the deployment."""
    validation = platform.validate_rollback(app_id, target)
    if not validation.get("valid"):
        error = validation.get("error") or {}
        raise RollbackFailed(
            f"rollback to {target} is not possible: {error.get('message') or error.get('code') or 'invalid'}"
        )
    warnings = rollback_warnings(validation)
    for warning in warnings:
        say(f"rollback warning: {warning}")
    deployment = _create_rollback(platform, app_id, target, say)
    say(f"rollback: deployment {deployment['id']} restores {target}")
    phase, _ = follow(deployment["id"])
    if phase != "ACTIVE":
        raise RollbackFailed(
            f"rollback deployment {deployment['id']} ended {phase}; the app stays pinned for a person"
        )
    if not healthy():
        raise RollbackFailed(
            f"rollback deployment {deployment['id']} is live but unhealthy; the app stays pinned"
        )
    commit_rollback(platform, app_id)
    say("rollback committed: the app is no longer pinned")
    return RolledBack(str(deployment["id"]), warnings)


@dataclass(frozen=True)
class RolledBack:
    """A committed rollback: its deployment, and what App Platform warned about it."""

    deployment: str
    warnings: tuple[str, ...] = ()


def rollback_warnings(validation: Mapping[str, Any]) -> tuple[str, ...]:
    """The warnings of a rollback validation, one line each: code, components, message."""
    lines = []
    for warning in validation.get("warnings") or []:
        if not isinstance(warning, Mapping):
            continue
        components = ", ".join(str(c) for c in warning.get("components") or [])
        text = str(warning.get("message") or "").strip()
        lines.append(f"{warning.get('code') or 'warning'}" + (f" ({components})" if components else "")
                     + (f": {text}" if text else ""))  # fmt: skip
    return tuple(lines)


def _create_rollback(platform: Any, app_id: str, target: str, say: Callable[[str], None]) -> dict[str, Any]:
    """Create the rollback; when its answer is lost, the app's pin says whether it happened (App
    Platform pins the app to the rollback deployment it creates), so it is never created twice."""
    for attempt in (1, 2):
        try:
            return dict(platform.rollback(app_id, target))
        except RequestLost:
            pinned = platform.get_app(app_id).get("pinned_deployment")
            if pinned:
                say(f"rollback: the answer was lost; App Platform had created deployment {pinned['id']}")
                return dict(pinned)
            if attempt == 2:
                raise
            say("rollback: the answer was lost and nothing was created; asking again")
    raise AssertionError("unreachable")


def commit_rollback(platform: Any, app_id: str) -> None:
    """Commit the rollback (unpin). It is safe to repeat; an error after which the app is no longer
    pinned means an earlier try got through."""
    try:
        platform.commit_rollback(app_id)
    except DigitalOceanError:
        if platform.get_app(app_id).get("pinned_deployment"):
            raise


def open_revert_pr(
    git: Git, github: Any, *, remote: str, production: str, good: str, bad: str, identity: dict[str, str]
) -> int:
    """A pull request into ``production`` whose one commit brings its files back to ``good``.

    The commit is made without a work tree: ``bad``'s child with ``good``'s tree.
    """
    tree = git.text(["rev-parse", "--verify", "--end-of-options", f"{good}^{{tree}}"])
    message = f"Revert production to {good[:12]}\n\nThe promotion of {bad[:12]} failed and was rolled back."
    commit = gitmod.commit_tree(git, tree, [bad], message, identity)
    branch = f"terp-actions/revert-{bad[:12]}"
    outcome = gitmod.push_commit(git, remote, commit, branch)
    if not outcome.ok and not outcome.moved:
        raise PushRejected(f"the revert branch {branch} could not be pushed: {outcome.reason}")
    existing = github.open_pulls(head=branch, base=production)
    if existing:
        return int(existing[0].number)
    body = (
        f"Production was rolled back to {good[:12]} after {bad[:12]} failed verification; the `{production}` "
        f"branch still holds {bad[:12]}. Merging this brings the branch back in line with what runs."
    )
    return int(
        github.create_pull(
            title=f"Revert {production} to {good[:12]}", head=branch, base=production, body=body
        ).number
    )


def _move_production(
    git: Git, remote: str, production: str, facts: GateFacts, already_there: bool, say: Callable[[str], None]
) -> bool:
    """Fast-forward production to the commit, unless it (or a concurrent run) already did."""
    sha = facts.sha
    if already_there:
        say(f"{production} already holds {sha[:12]}: not pushed again")
        return False
    if push_production(git, remote, sha, production):
        say(f"{production} fast-forwarded: {facts.production_tip[:12]} → {sha[:12]}")
        return True
    say(f"{production} was moved to {sha[:12]} by a concurrent run: not pushed again")
    return False


def _resume_rollback(
    platform: Any,
    app_id: str,
    pinned: dict[str, Any],
    sha: str,
    *,
    follow: Callable[[str], tuple[str, dict[str, Any]]],
    healthy: Callable[[], bool],
    commit_of: Callable[[dict[str, Any]], str],
    say: Callable[[str], None],
) -> NoReturn:
    """Finish a rollback a crashed promotion left pinned, then report the promotion as failed."""
    say(f"resuming the unfinished rollback {pinned['id']} of a failed promotion of {sha[:12]}")
    phase, _ = follow(str(pinned["id"]))
    if phase != "ACTIVE" or not healthy():
        raise RollbackFailed(
            f"the unfinished rollback {pinned['id']} is {phase} and not healthy; the app stays pinned"
        )
    commit_rollback(platform, app_id)
    say("rollback committed: the app is no longer pinned")
    runs = commit_of(pinned)
    raise PromotionFailed(
        f"the promotion of {sha[:12]} had failed and was rolled back: production runs {runs[:12]} while the "
        f"branch holds {sha[:12]} (not rewritten; revert or fix forward)",
        runs=runs,
        holds=sha,
    )


def _gate_notes(
    facts: GateFacts,
    decision: GateDecision,
    freeze: Freeze,
    after_migrations: str,
    say: Callable[[str], None],
) -> list[str]:
    """What an allowed promotion reports: an overridden freeze, a forced commit, its migrations."""
    notes = [freeze.note] if freeze.note else []
    if decision.forced:
        notes.append(f"forced without a staging verification: {facts.force_reason}")
    if facts.migrations:
        note = migrations_note(facts.migrations)
        policy = "roll back" if after_migrations == "rollback" else "stop for a person, without a rollback"
        say(f"this promotion {note}; if production fails verification it will {policy}")
        notes.append(note)
    return notes


def _left_for_a_person(
    failure: str, sha: str, deployment: str, migrations: tuple[str, ...], partial: object = None
) -> PromotionFailed:
    """The failure of a promotion carrying migrations under ``promote.after_migrations: stop``."""
    runs = (
        f"production runs {sha[:12]} (deployment {deployment}), which failed verification,"
        if deployment
        else "production still runs its previous deployment (the migrations may have run already),"
    )
    return PromotionFailed(
        f"{failure}. Not rolled back (promote.after_migrations: stop): this promotion "
        f"{migrations_note(migrations)}. {runs} and the schema stays migrated; a person decides: "
        "fix forward, or `terp-actions rollback --env production` once the previous code is known to "
        "work on the migrated schema",
        holds=sha,
        migrations=migrations,
        partial=partial,
    )


def run_promotion(
    git: Git,
    platform: Any,
    app_id: str,
    *,
    remote: str,
    staging: str,
    production: str,
    sha_text: str | None,
    verified: set[str],
    force_reason: str,
    deploy: Callable[[str], Any],
    verify: Callable[[str], tuple[bool, str]],
    healthy: Callable[[], bool],
    follow: Callable[[str], tuple[str, dict[str, Any]]],
    commit_of: Callable[[dict[str, Any]], str],
    say: Callable[[str], None],
    dry_run: bool = False,
    freeze: Freeze | None = None,
    migration_rules: IgnoreRules | None = None,
    after_migrations: str = "rollback",
) -> PromotionResult:
    """Gate, fast-forward production, deploy, verify; roll the app back when that fails (a
    promotion carrying migrations under ``after_migrations == "stop"`` is left for a person)."""
    freeze = freeze or Freeze()
    gitmod.fetch_branches(git, remote, [staging, production])
    staging_ref, production_ref = f"{remote}/{staging}", f"{remote}/{production}"
    sha = resolve_sha(git, sha_text) if sha_text else default_sha(git, staging_ref, verified)
    app = platform.get_app(app_id)
    pinned = app.get("pinned_deployment") or {}
    production_now = gitmod.resolve_commit(git, production_ref) or ""
    if (pinned.get("cause_details") or {}).get("type") in ROLLBACK_CAUSES and production_now == sha:
        # A rerun of a promotion that died mid-rollback: finish the rollback, don't start over.
        _resume_rollback(
            platform, app_id, pinned, sha, follow=follow, healthy=healthy, commit_of=commit_of, say=say
        )
    facts = gather_facts(
        git,
        sha,
        staging_ref=staging_ref,
        production_ref=production_ref,
        verified=verified,
        pinned=bool(app.get("pinned_deployment")),
        force_reason=force_reason,
        frozen=freeze.refusal("promotions are") if freeze.stops else "",
        migration_rules=migration_rules,
    )
    decision = gate(facts)
    if not decision.allowed:
        raise PromotionRefused(
            "; ".join(message for _, message in decision.refusals),
            sha=sha,
            frozen=any(refusal is Refusal.FROZEN for refusal, _ in decision.refusals),
        )
    result = PromotionResult(sha, facts.production_tip, pushed=False, migrations=facts.migrations)
    result.notes += _gate_notes(facts, decision, freeze, after_migrations, say)
    if dry_run:
        if decision.already_there:
            say(f"dry run: nothing to promote: {production} already holds {sha[:12]}")
        else:
            tip = facts.production_tip[:12]
            say(f"dry run: would move {production} {tip} → {sha[:12]}, deploy and verify")
        return result
    result.pushed = _move_production(git, remote, production, facts, decision.already_there, say)
    failure = ""
    try:
        deployed = deploy(sha)
        result.deployment = deployed.deployment
        ok, detail = verify(sha)
        result.verified = ok
        if not ok:
            failure = f"verification failed: {detail}"
    except TerpError as exc:
        failure = f"deploy failed: {exc}"
    if not failure:
        return result
    if facts.migrations and after_migrations == "stop":
        raise _left_for_a_person(failure, sha, result.deployment, facts.migrations, result)
    say(f"production is unhealthy ({failure}); rolling back")
    deployments = platform.list_deployments(app_id)
    target = rollback_target(deployments, sha, commit_of, exclude=result.deployment)
    if not target:
        raise PromotionFailed(
            f"{failure}; and no earlier live deployment of another commit to roll back to",
            holds=sha,
            migrations=facts.migrations,
            partial=result,
        )
    try:
        done = roll_back(platform, app_id, target, follow=follow, healthy=healthy, say=say)
        result.rolled_back_to, result.rollback_warnings = done.deployment, done.warnings
    except TerpError as exc:
        raise RollbackFailed(f"{failure}; then the rollback failed too: {exc}") from exc
    runs = next(commit_of(d) for d in deployments if d["id"] == target)
    schema = (
        f". The database schema stays migrated: this promotion {migrations_note(facts.migrations)}; "
        f"check that {runs[:12]} works on it"
        if facts.migrations
        else ""
    )
    warned = (
        ". App Platform warned about the rollback: " + "; ".join(result.rollback_warnings)
        if result.rollback_warnings
        else ""
    )
    raise PromotionFailed(
        f"{failure}. Rolled back: production runs {runs[:12]} again while the {production} "
        f"branch holds {sha[:12]} (not rewritten; revert or fix forward){schema}{warned}",
        runs=runs,
        partial=result,
        holds=sha,
        migrations=facts.migrations,
    )
