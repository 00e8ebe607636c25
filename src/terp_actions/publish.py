"""Publishing the report on GitHub: one sticky comment per pull request, and GitHub Deployments.

The comment is found by our hidden marker *and* our own author, edited in place, and created
only when missing; a create whose answer was lost is looked for before it is tried again. The
state carried in a comment is read back only from our own comment, and validated.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

from terp_actions.errors import GitHubError, RateLimited
from terp_actions.report import MARKER, PullState, StageState, parse_state, render_comment

if TYPE_CHECKING:
    from terp_actions.github import CommentInfo, DeploymentInfo, GitHubClient

BOT_LOGIN: Final = "github-actions[bot]"
# How a stage's status shows on the environment's GitHub Deployment.
DEPLOYMENT_STATES: Final = {
    ("deployed", "running"): "in_progress",
    ("deployed", "success"): "in_progress",  # live, verification pending
    ("deployed", "failure"): "failure",
    ("verified", "running"): "in_progress",
    ("verified", "success"): "success",
    ("verified", "failure"): "failure",
    ("promoted", "running"): "in_progress",
    ("promoted", "success"): "success",
    ("promoted", "failure"): "failure",
}


@dataclass(frozen=True)
class CommentOutcome:
    """What happened to one pull request's comment."""

    pr: int
    action: str  # "created", "updated"
    comment_id: int
    body: str


def find_ours(comments: list[CommentInfo], author: str) -> CommentInfo | None:
    """Our sticky comment: it carries the marker and we wrote it (a copy by anyone else is ignored)."""
    return next((c for c in comments if c.author == author and MARKER in c.body), None)


def update_pull_comment(
    github: GitHubClient,
    pr: int,
    stage: str,
    stage_state: StageState,
    *,
    title: str = "",
    author: str = BOT_LOGIN,
    repo_url: str = "",
    note: str = "",
    merged: StageState | None = None,
    also: tuple[str, StageState] | None = None,
) -> CommentOutcome:
    """Record ``stage`` on pull request ``pr``'s sticky comment, creating it only when missing;
    ``merged`` fills the `merged` row when the comment does not have it yet.

    Other writers may run at the same time (a staging report and a promotion's): after a create
    we look again and keep the oldest comment of ours, turning a later one of ours into a pointer
    to it; after an edit we read the comment back and merge again if it changed underneath.
    """

    def render(current: CommentInfo | None) -> str:
        previous = parse_state(current.body, pr) if current is not None else None
        if previous is not None:
            previous = close_interrupted(previous, time.time())
        state = previous or PullState(pr, title)
        if also is not None:  # an earlier stage recorded in the same edit
            state = state.with_stage(*also)
        state = state.with_stage(stage, stage_state)
        if merged is not None and "merged" not in state.stages:
            state = state.with_stage("merged", merged)
        return render_comment(state, repo_url=repo_url, note=note)

    ours = find_ours(github.comments(pr), author)
    if ours is None:
        created = _create_comment(github, pr, render(None), author)
        if created.action == "updated":  # a lost create had gone through: it was edited instead
            return created
        oldest = find_ours(github.comments(pr), author)
        if oldest is None or oldest.id == created.comment_id:
            return created
        # Someone created one first: ours becomes a pointer to theirs, which gets our row.
        github.update_comment(created.comment_id, _pointer(oldest.id))
        ours = oldest
    for _ in range(_MERGE_ATTEMPTS):
        body = render(ours)
        github.update_comment(ours.id, body)
        back = github.get_comment(ours.id)
        if back.body == body:
            break
        ours = back  # another writer edited it between our read and our write: merge again
    return CommentOutcome(pr, "updated", ours.id, body)


_MERGE_ATTEMPTS: Final = 3


def _pointer(comment_id: int) -> str:
    """A duplicate status comment of ours, emptied into a pointer (the API cannot delete it)."""
    link = f"#issuecomment-{comment_id}"
    return f"terp-actions: this pull request's status is in [the first status comment]({link})."


def _create_comment(github: GitHubClient, pr: int, body: str, author: str) -> CommentOutcome:
    """Create the comment; when the answer is lost, look before creating a second one."""
    try:
        return CommentOutcome(pr, "created", github.create_comment(pr, body).id, body)
    except GitHubError as exc:
        if exc.status is not None and exc.status < 500:
            raise
        ours = find_ours(github.comments(pr), author)
        if ours is not None:
            return CommentOutcome(pr, "updated", github.update_comment(ours.id, body).id, body)
        return CommentOutcome(pr, "created", github.create_comment(pr, body).id, body)


# A run that has not reported for this long has ended without a result (cancelled, timed out):
# GitHub's longest job on hosted runners is 6 hours; our deploy jobs stop after 45-60 minutes.
STALE_AFTER: Final = 2 * 3600.0
_UNFINISHED: Final = frozenset({"in_progress", "queued", "pending"})


def is_stale(state: str, created_at: str, now: float, stale_after: float = STALE_AFTER) -> bool:
    """True for a status a finished run would have replaced: unfinished and older than the limit."""
    if state not in _UNFINISHED or not created_at:
        return False
    try:
        stamp = datetime.fromisoformat(created_at.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return False
    return now - stamp > stale_after


def mark_interrupted(
    github: GitHubClient, environment: str, *, now: float, newest: Sequence[DeploymentInfo] | None = None,
    look_at: int = 5,
) -> list[int]:  # fmt: skip
    """Deployments of ``environment`` that a cancelled or timed-out run left in progress get an
    ``error`` status saying so (the newest few only, ``newest`` when already read). Returns the
    ids marked."""
    marked = []
    for deployment in newest if newest is not None else github.deployments(environment, limit=look_at):
        statuses = github.statuses(deployment.id)
        if statuses and is_stale(statuses[0].state, statuses[0].created_at, now):
            github.create_status(
                deployment.id,
                "error",
                description="interrupted: the run that started it ended without a result",
            )
            marked.append(deployment.id)
    return marked


def close_interrupted(state: PullState, now: float) -> PullState:
    """Rows a cancelled or timed-out run left ``running`` (older than STALE_AFTER) say so."""
    for stage, current in state.stages.items():
        if current.status == "running" and is_stale("in_progress", current.at, now):
            interrupted = StageState("failure", current.sha, "interrupted: the run ended without a result",
                                     current.deployment, current.at)  # fmt: skip
            state = state.with_stage(stage, interrupted)
    return state


def record_deployment(
    github: GitHubClient,
    environment: str,
    sha: str,
    state: str,
    *,
    description: str,
    environment_url: str = "",
    log_url: str = "",
) -> int:
    """Set the state of the one GitHub Deployment for ``environment`` and ``sha`` (made if missing).

    Two runs at once may both create one: after a create we list again, keep the oldest, and mark
    our own later one inactive, so one Deployment per environment and commit stays active. The
    newest few Deployments are read once: they show whether this commit has one already (an older
    one is found by the check after the create) and what an interrupted run left open.
    """
    newest = github.deployments(environment, limit=5)
    existing = [d.id for d in newest if d.sha == sha]
    if existing:
        deployment_id = min(existing)
    else:
        # A new run for this environment: first close what an interrupted earlier run left open.
        mark_interrupted(github, environment, now=time.time(), newest=newest)
        created = github.create_deployment(
            ref=sha, environment=environment, description=description, production=environment == "production"
        ).id
        deployment_id = min([created, *(d.id for d in github.deployments(environment, sha=sha))])
        if deployment_id != created:
            github.create_status(created, "inactive", description="duplicate of an earlier Deployment")
    github.create_status(
        deployment_id, state, description=description, log_url=log_url, environment_url=environment_url
    )
    if state == "success" and environment == "production":
        # auto_inactive leaves production Deployments alone (GitHub documents it for
        # non-production ones only): the one that ran before is marked inactive here.
        for earlier in github.deployments(environment, limit=5):
            if earlier.id != deployment_id:
                statuses = github.statuses(earlier.id)
                if statuses and statuses[0].state == "success":
                    github.create_status(
                        earlier.id, "inactive", description="superseded by a newer promotion"
                    )
    return deployment_id


@dataclass
class StageReport:
    """Everything one `report` call published, and what it could not."""

    comments: list[CommentOutcome]
    failures: list[tuple[int, str]]
    deployment: int | None = None
    deployment_state: str = ""
    deployment_error: str = ""


def publish_stage(
    github: GitHubClient,
    pulls: tuple[int, ...],
    stage: str,
    stage_state: StageState,
    *,
    author: str = BOT_LOGIN,
    repo_url: str = "",
    environment: str = "",
    environment_url: str = "",
    log_url: str = "",
    merges: Mapping[int, str] | None = None,
    also: tuple[str, StageState] | None = None,
) -> StageReport:
    """Record a stage (and ``also`` an earlier one, in the same edit) on every pull request's
    comment, and the stage on the environment's Deployment.

    A comment or Deployment that cannot be written is collected as a failure, not raised: the
    report must never hide the real result of the run.
    """
    report = StageReport([], [])
    for pr in pulls:
        try:
            merged = StageState("success", merges[pr], at=stage_state.at) if merges and pr in merges else None
            report.comments.append(
                update_pull_comment(
                    github, pr, stage, stage_state, author=author, repo_url=repo_url, merged=merged, also=also
                )
            )
        except RateLimited:
            raise  # never a silent warning: the run says when to rerun
        except GitHubError as exc:
            report.failures.append((pr, str(exc)))
    wanted = DEPLOYMENT_STATES.get((stage, stage_state.status))
    if wanted is None and also is not None:  # a failed deploy, its verification skipped
        wanted = DEPLOYMENT_STATES.get((also[0], also[1].status))
    if environment and stage_state.sha and wanted:
        try:
            report.deployment = record_deployment(
                github,
                environment,
                stage_state.sha,
                wanted,
                description=f"{stage} {stage_state.status}: {stage_state.detail}"[:140],
                environment_url=environment_url,
                log_url=log_url,
            )
            report.deployment_state = wanted
        except RateLimited:
            raise
        except GitHubError as exc:
            report.deployment_error = str(exc)
    return report


def pulls_for_commit(
    github: GitHubClient,
    sha: str,
    *,
    base: str = "main",
    attempts: int = 3,
    wait: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[int, ...]:
    """Merged pull requests into ``base`` that carry ``sha``, asked of GitHub (which lists a
    just-pushed commit's pull requests late: a few short retries while the answer is empty)."""
    for attempt in range(attempts):
        found = tuple(sorted(p.number for p in github.pulls_for_commit(sha) if p.base == base and p.merged))
        if found or attempt == attempts - 1:
            return found
        sleep(wait)
    return ()


def pulls_of_commits(
    github: GitHubClient,
    shas: Sequence[str],
    *,
    base: str,
    limit: int,
    sleep: Callable[[float], None] = time.sleep,
    lagging: bool = True,
) -> tuple[dict[int, str], str]:
    """Merged pull requests into ``base`` carrying ``shas`` (newest first; commits whose subject
    names no pull request, as a rebase merge leaves them), asked one commit at a time for the
    first ``limit``: each PR with its newest commit here, and a note when the list was cut. Only
    when every answer is empty and ``lagging`` (nothing else in the range named a pull request, as
    after a rebase merge) is the newest asked again: GitHub lists a just-pushed commit late."""
    asked = list(shas[: max(limit, 0)])
    found: dict[int, str] = {}
    for sha in asked:
        for pull in github.pulls_for_commit(sha):
            if pull.base == base and pull.merged:
                found.setdefault(pull.number, sha)
    if asked and not found and lagging:
        found = dict.fromkeys(pulls_for_commit(github, asked[0], base=base, sleep=sleep), asked[0])
    cut = len(shas) - len(asked)
    note = (
        f"asked GitHub about {len(asked)} of {len(shas)} commits naming no pull request "
        "(github.pull_lookup_limit); the other pull requests get no comment"
        if cut > 0
        else ""
    )
    return found, note
