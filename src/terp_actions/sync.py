"""How staging should move to include main (the decision, pure) and moving it (through git.py).

The merge is made without a work tree (``git merge-tree`` and ``git commit-tree``), and staging
moves only by a plain push of a commit that descends from its old tip: the remote refuses
anything else, so a commit that exists only on staging can never be lost. If staging moved
meanwhile, we fetch, decide again and retry, at most three times.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from terp_actions import git as gitmod
from terp_actions import markdown
from terp_actions.errors import BadInput, PushRejected
from terp_actions.git import Git
from terp_actions.paths import display_path
from terp_actions.plan import pull_requests_in

if TYPE_CHECKING:
    from terp_actions.github import GitHubClient

BOT_IDENTITY: Final = {
    "GIT_AUTHOR_NAME": "github-actions[bot]",
    "GIT_AUTHOR_EMAIL": "41898282+github-actions[bot]@users.noreply.github.com",
    "GIT_COMMITTER_NAME": "github-actions[bot]",
    "GIT_COMMITTER_EMAIL": "41898282+github-actions[bot]@users.noreply.github.com",
}
MAX_ATTEMPTS: Final = 3
_LISTED_SUBJECTS: Final = 50


class SyncStatus(enum.StrEnum):
    """How staging relates to main, and so what a sync does."""

    UP_TO_DATE = "up-to-date"  # staging already contains main: nothing to do
    FAST_FORWARD = "fast-forward"  # staging is strictly behind: move it to main
    MERGE = "merge"  # both moved: a merge commit
    CONFLICT = "conflict"  # both moved and the merge needs a person


def decide_sync(
    main_tip: str, staging_tip: str, *, main_in_staging: bool, staging_in_main: bool
) -> SyncStatus:
    """The sync for two tips, given which contains which (a conflict is found by merging)."""
    if main_tip == staging_tip or main_in_staging:
        return SyncStatus.UP_TO_DATE
    if staging_in_main:
        return SyncStatus.FAST_FORWARD
    return SyncStatus.MERGE


def merge_message(source: str, target: str, subjects: Sequence[str], pull_requests: Sequence[int]) -> str:
    """The merge commit's message: a subject line, then what it brings."""
    lines = [f"Merge {source} into {target}", ""]
    if pull_requests:
        lines.append("Pull requests: " + ", ".join(f"#{n}" for n in pull_requests))
        lines.append("")
    lines += [f"- {s}" for s in subjects[:_LISTED_SUBJECTS]]
    if len(subjects) > _LISTED_SUBJECTS:
        lines.append(f"- … and {len(subjects) - _LISTED_SUBJECTS} more commits")
    return "\n".join(lines).rstrip() + "\n"


@dataclass(frozen=True)
class SyncResult:
    """What a sync did (or, in a dry run, would do)."""

    status: SyncStatus
    source: str
    target: str
    before: str
    after: str
    merged_commits: int = 0
    pull_requests: tuple[int, ...] = ()
    subjects: tuple[str, ...] = ()
    conflict_files: tuple[str, ...] = ()
    sync_pr: int | None = None
    pr_note: str = ""
    pushed: bool = False
    attempts: int = 0
    dry_run: bool = False
    push: str = ""  # the push it made or would make, for people
    notes: tuple[str, ...] = field(default_factory=tuple)


def check_inputs(git: Git, remote: str, source: str, target: str) -> None:
    """Refuse, before anything changes: bad names, a dirty work tree, missing branches."""
    gitmod.check_names(git, remote, source, target)
    if source == target:
        raise BadInput(f"--from and --to are both {source!r}")
    if gitmod.is_dirty(git):
        raise BadInput(f"{git.repo}: the work tree has uncommitted changes; sync needs a clean checkout")
    gitmod.remote_url(git, remote)  # a missing remote is a GitError naming it
    for branch in (source, target):
        if not gitmod.remote_has_branch(git, remote, branch):
            raise BadInput(f"branch {branch!r} does not exist on remote {remote!r}")


def run_sync(
    git: Git,
    *,
    remote: str,
    source: str,
    target: str,
    dry_run: bool = False,
    conflict_pr: Callable[[Sequence[str], str, str], tuple[int | None, str]] | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> SyncResult:
    """Bring ``source`` into ``target`` on ``remote``; see the module docstring for the rules."""
    check_inputs(git, remote, source, target)
    for attempt in range(1, max_attempts + 1):
        gitmod.fetch_branches(git, remote, [source, target])
        main_tip = _tip(git, remote, source)
        staging_tip = _tip(git, remote, target)
        merge_base = git.run(["merge-base", main_tip, staging_tip], check=False)
        if merge_base.returncode != 0:
            shallow = (
                " (this clone is shallow: check out with fetch-depth: 0)" if gitmod.is_shallow(git) else ""
            )
            raise BadInput(f"{source} and {target} share no history here{shallow}")
        status = decide_sync(
            main_tip,
            staging_tip,
            main_in_staging=gitmod.is_ancestor(git, main_tip, staging_tip),
            staging_in_main=gitmod.is_ancestor(git, staging_tip, main_tip),
        )
        base = SyncResult(
            status, source, target, before=staging_tip, after=staging_tip, attempts=attempt, dry_run=dry_run
        )
        if status is SyncStatus.UP_TO_DATE:
            return base
        brought = list(gitmod.subjects(git, staging_tip, main_tip))
        prs = tuple(sorted(pull_requests_in(brought)))
        count = gitmod.count_commits(git, staging_tip, main_tip)
        new_tip = main_tip
        if status is SyncStatus.MERGE:
            tree, conflicts = gitmod.merge_tree(git, staging_tip, main_tip)
            if tree is None:
                result = SyncResult(SyncStatus.CONFLICT, source, target, staging_tip, staging_tip, count, prs,
                                    tuple(brought), tuple(conflicts), attempts=attempt,
                                    dry_run=dry_run)  # fmt: skip
                if conflict_pr is not None and not dry_run:
                    number, note = conflict_pr(conflicts, main_tip, staging_tip)
                    return _replace(result, sync_pr=number, pr_note=note)
                note = (
                    "dry run: no pull request opened"
                    if dry_run
                    else "no GitHub token/repository: pull request not opened"
                )
                return _replace(result, pr_note=note)
            message = merge_message(source, target, brought, prs)
            new_tip = gitmod.commit_tree(git, tree, [staging_tip, main_tip], message, BOT_IDENTITY)
        push = f"git push {remote} {new_tip[:12]}:refs/heads/{target} (replacing {staging_tip[:12]})"
        result = SyncResult(status, source, target, staging_tip, new_tip, count, prs, tuple(brought),
                            attempts=attempt, dry_run=dry_run, push=push)  # fmt: skip
        if dry_run:
            return _replace(result, after=staging_tip)
        outcome = gitmod.push_commit(git, remote, new_tip, target)
        if outcome.ok:
            return _replace(result, pushed=True)
        if not outcome.moved:
            raise PushRejected(
                f"{remote} refused the push to {target}: {outcome.reason}",
                hint=f"is {target} protected? let the workflow's token push to it, or sync by pull request",
            )
    raise PushRejected(
        f"{target} kept moving on {remote}: gave up after {max_attempts} attempts; nothing was lost"
    )


def _tip(git: Git, remote: str, branch: str) -> str:
    sha = gitmod.resolve_commit(git, f"{remote}/{branch}")
    if sha is None:
        raise BadInput(f"branch {branch!r} could not be fetched from {remote!r}")
    return sha


def _replace(result: SyncResult, **changes: object) -> SyncResult:
    return dataclasses.replace(result, **changes)  # type: ignore[arg-type]


def open_conflict_pr(
    github: GitHubClient, files: Sequence[str], *, source: str, target: str, main_tip: str, staging_tip: str
) -> tuple[int, str]:
    """Open the one ``source → target`` pull request for a person to resolve, or update it."""
    title = f"Sync {source} → {target}: resolve {len(files)} conflicting file{'s' if len(files) != 1 else ''}"
    shown = "\n".join(f"- {markdown.code(display_path(f))}" for f in files[:100])
    body = (
        f"terp-actions could not merge `{source}` ({main_tip[:12]}) into `{target}` ({staging_tip[:12]}) "
        f"without help. These files conflict:\n\n{shown}\n\n"
        f"Merge this pull request after resolving the conflicts (locally: `git checkout {target} && "
        f"git merge {source}`, fix, commit, push). The next sync will then find {target} up to date.\n"
    )
    existing = github.open_pulls(head=source, base=target)
    if existing:
        pr = github.update_pull(existing[0].number, title=title, body=body)
        return pr.number, f"updated pull request #{pr.number}"
    pr = github.create_pull(title=title, head=source, base=target, body=body)
    return pr.number, f"opened pull request #{pr.number}"
