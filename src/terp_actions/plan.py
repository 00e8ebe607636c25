"""Which commits and pull requests need a deploy: the decision (pure) and the git walk feeding it."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Final

from terp_actions import git as gitmod
from terp_actions.errors import GitError, RefError
from terp_actions.git import CommitChange, Git
from terp_actions.paths import IgnoreRules, display_path

MAX_FILES_PER_COMMIT: Final = 100  # per-commit file lists are for people; the count stays exact
_PR_SQUASH: Final = re.compile(r"\(#(\d+)\)")
_PR_MERGE: Final = re.compile(r"^Merge pull request #(\d+)\b")
_FULL_SHA: Final = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


@dataclass(frozen=True)
class CommitPlan:
    """One first-parent commit: deployable or not, and the files that decided it."""

    sha: str
    subject: str
    deployable: bool
    files: tuple[str, ...]
    file_count: int
    pull_requests: tuple[int, ...]


@dataclass(frozen=True)
class Plan:
    """The deploy decision for ``base..head``; ``fail_open`` when it could not be made exactly."""

    deploy: bool
    reason: str
    base: str | None
    head: str
    changed: tuple[str, ...] = ()
    deployable: tuple[str, ...] = ()
    ignored_by: dict[str, str] = field(default_factory=dict)
    commits: tuple[CommitPlan, ...] = ()
    pull_requests: tuple[int, ...] = ()
    fail_open: bool = False

    @property
    def ignored(self) -> tuple[str, ...]:
        """Changed paths the rules ignore, in diff order."""
        return tuple(self.ignored_by)


def pull_request_numbers(subject: str) -> tuple[int, ...]:
    """PR numbers a commit subject names: ``(#123)`` (squash) or ``Merge pull request #123``."""
    if "#" not in subject:
        return ()
    found = [int(n) for n in _PR_SQUASH.findall(subject)]
    merge = _PR_MERGE.match(subject)
    if merge:
        found.append(int(merge[1]))
    return tuple(sorted(set(found)))


def classify_commit(change: CommitChange, rules: IgnoreRules) -> CommitPlan:
    """A commit is deployable when one of its files is not ignored; an empty commit is not."""
    deciding = rules.not_ignored(change.files)
    deployable = bool(deciding)
    if not deployable:
        deciding = list(change.files)
    return CommitPlan(
        sha=change.sha,
        subject=change.subject,
        deployable=deployable,
        files=tuple(deciding[:MAX_FILES_PER_COMMIT]),
        file_count=len(deciding),
        pull_requests=pull_request_numbers(change.subject),
    )


def decide(
    base: str | None,
    head: str,
    changed: Iterable[str],
    rules: IgnoreRules,
    *,
    commits: Iterable[CommitPlan] = (),
    pull_requests: Iterable[int] = (),
) -> Plan:
    """Deploy iff some changed path is not ignored; the reason says which files decided."""
    changed_t = tuple(changed)
    deployable: list[str] = []
    ignored_by: dict[str, str] = {}
    for path in changed_t:
        match = rules.match(path)
        if match.ignored and match.pattern is not None:
            ignored_by[path] = match.pattern
        else:
            deployable.append(path)
    if not changed_t:
        reason = "no deploy needed (no files changed)"
    elif deployable:
        shown = ", ".join(display_path(p) for p in deployable[:3])
        more = f" and {len(deployable) - 3} more" if len(deployable) > 3 else ""
        reason = (
            f"deploy: {len(deployable)} of {len(changed_t)} changed files are not ignored ({shown}{more})"
        )
    else:
        by_rule = Counter(ignored_by.values())
        rules_text = ", ".join(f"{pattern} ({count})" for pattern, count in by_rule.most_common())
        reason = f"no deploy needed (all {len(changed_t)} files match ignore rules: {rules_text})"
    return Plan(
        deploy=bool(deployable),
        reason=reason,
        base=base,
        head=head,
        changed=changed_t,
        deployable=tuple(deployable),
        ignored_by=ignored_by,
        commits=tuple(commits),
        pull_requests=tuple(sorted(set(pull_requests))),
    )


def fail_open(base: str | None, head: str, why: str) -> Plan:
    """A plan that deploys because the exact answer could not be computed, saying why."""
    return Plan(deploy=True, reason=f"deploying to be safe: {why}", base=base, head=head, fail_open=True)


def build_plan(git: Git, rules: IgnoreRules, base_rev: str | None, head_rev: str) -> Plan:
    """Resolve ``base_rev`` and ``head_rev`` in ``git`` and decide; fail open where DESIGN says.

    An unknown head, or a base that names no commit and is not a full SHA, is bad input
    (RefError). A full-SHA base the repository lacks, a base that is not an ancestor of head,
    or a diff git cannot compute give a fail-open plan instead: deploying is the safe answer.
    """
    head = gitmod.resolve_commit(git, head_rev, what="head")
    if head is None:
        raise RefError(f"head {head_rev!r} does not name a commit in {git.repo}")
    if base_rev is None:
        return fail_open(None, head, "no base commit to compare with (pass --base)")
    base = gitmod.resolve_commit(git, base_rev, what="base")
    shallow = gitmod.is_shallow(git)
    if base is None:
        if not (_FULL_SHA.fullmatch(base_rev) or shallow):
            raise RefError(f"base {base_rev!r} does not name a commit in {git.repo}")
        where = "this shallow clone" if shallow else "this repository"
        return fail_open(None, head, f"base {base_rev} is not in {where} (fetch more history)")
    # Ancestry, the two-tree diff and the subjects of every commit are found while the
    # first-parent log streams: four git processes at once, the log being the longest. The
    # log's result is only used once ancestry is confirmed.
    with ThreadPoolExecutor(max_workers=3) as pool:
        ancestor_job = pool.submit(gitmod.is_ancestor, git, base, head)
        changed_job = pool.submit(lambda: list(gitmod.changed_paths(git, base, head)))
        prs_job = pool.submit(
            lambda: {n for s in gitmod.subjects(git, base, head) for n in pull_request_numbers(s)}
        )
        failure: GitError | None = None
        try:
            commits = [classify_commit(c, rules) for c in gitmod.first_parent_changes(git, base, head)]
            changed, prs = changed_job.result(), prs_job.result()
        except GitError as exc:
            failure = exc
        try:
            is_ancestor = ancestor_job.result()
        except GitError as exc:
            return fail_open(base, head, f"ancestry of base and head could not be checked ({exc})")
    if not is_ancestor:
        why = f"base {base[:12]} is not an ancestor of head {head[:12]}"
        if shallow:
            why += " in this shallow clone (fetch more history)"
        return fail_open(base, head, why)
    if failure is not None:
        return fail_open(base, head, f"the changed files could not be listed ({failure})")
    return decide(base, head, changed, rules, commits=commits, pull_requests=prs)


def plan_to_json(plan: Plan) -> dict[str, object]:
    """The ``--json`` shape of a plan (stable keys, documented in the README)."""
    return {
        "deploy": plan.deploy,
        "reason": plan.reason,
        "base": plan.base,
        "head": plan.head,
        "fail_open": plan.fail_open,
        "changed": list(plan.changed),
        "deployable": list(plan.deployable),
        "ignored": list(plan.ignored),
        "ignored_by": dict(plan.ignored_by),
        "commits": [
            {
                "sha": c.sha,
                "subject": c.subject,
                "deployable": c.deployable,
                "files": list(c.files),
                "file_count": c.file_count,
                "pull_requests": list(c.pull_requests),
            }
            for c in plan.commits
        ],
        "pull_requests": list(plan.pull_requests),
    }
