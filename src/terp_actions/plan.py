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
from terp_actions.gha import Json
from terp_actions.git import CommitChange, Git
from terp_actions.paths import IgnoreRules, display_path

_NAMED_FILES: Final = 5  # a skip names each file's rule up to this many files, then counts per rule
MAX_FILES_PER_COMMIT: Final = 100  # per-commit file lists are for people; the count stays exact
_PR_SQUASH: Final = re.compile(r"\(#(\d+)\)")
_PR_MERGE: Final = re.compile(r"^Merge pull request #(\d+)\b")
_SQUASH_TITLE: Final = re.compile(r"^(.*\S) \(#\d+\)$")
_PR_ANY: Final = re.compile(r"\(#(\d+)\)|^Merge pull request #(\d+)\b")


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
class ChangeSummary:
    """The changed files of a range as the rules see them; lists hold at most ``keep`` paths."""

    count: int = 0
    changed: tuple[str, ...] = ()
    deployable: tuple[str, ...] = ()
    deployable_count: int = 0
    ignored_by: dict[str, str] = field(default_factory=dict)
    by_rule: tuple[tuple[str, int], ...] = ()  # (deciding pattern, ignored files), most first

    @property
    def complete(self) -> bool:
        """True when the lists hold every changed path."""
        return len(self.changed) == self.count


@dataclass(frozen=True)
class Plan:
    """The deploy decision for ``base..head``; ``fail_open`` when it could not be made exactly.

    ``commits`` and the path lists may be cut short (see ``build_plan``'s ``keep``); the counts
    are always exact.
    """

    deploy: bool
    reason: str
    base: str | None
    head: str
    changes: ChangeSummary = field(default_factory=ChangeSummary)
    commits: tuple[CommitPlan, ...] = ()
    commit_count: int = 0
    pull_requests: tuple[int, ...] = ()
    fail_open: bool = False

    @property
    def changed(self) -> tuple[str, ...]:
        """Changed paths, in diff order."""
        return self.changes.changed

    @property
    def deployable(self) -> tuple[str, ...]:
        """Changed paths the rules do not ignore."""
        return self.changes.deployable

    @property
    def ignored_by(self) -> dict[str, str]:
        """Ignored changed paths and the pattern that ignored each."""
        return self.changes.ignored_by

    @property
    def ignored(self) -> tuple[str, ...]:
        """Changed paths the rules ignore, in diff order."""
        return tuple(self.changes.ignored_by)


def pull_request_numbers(subject: str) -> tuple[int, ...]:
    """PR numbers a commit subject names: ``(#123)`` (squash) or ``Merge pull request #123``."""
    if "#" not in subject:
        return ()
    found = [int(n) for n in _PR_SQUASH.findall(subject)]
    merge = _PR_MERGE.match(subject)
    if merge:
        found.append(int(merge[1]))
    return tuple(sorted(set(found)))


def pull_request_title(subject: str, body: str) -> str:
    """The pull request's title as GitHub writes it into the merge: a merge commit's ("Merge pull
    request #N from owner/branch") next paragraph, a squash's subject without its "(#N)"."""
    if _PR_MERGE.match(subject):
        return next((line.strip() for line in body.splitlines() if line.strip()), subject)
    squash = _SQUASH_TITLE.match(subject)
    return squash[1] if squash else subject


def pull_requests_in(subjects: Iterable[str]) -> set[int]:
    """Every PR number the subjects name (the set form of ``pull_request_numbers``)."""
    found: set[int] = set()
    for subject in subjects:
        if "#" in subject:
            for squash, merge in _PR_ANY.findall(subject):
                found.add(int(squash or merge))
    return found


def merge_commits(commits: Iterable[tuple[str, str]]) -> dict[int, str]:
    """Each pull request's merge commit, from ``(sha, subject)`` pairs newest first: the newest
    commit whose subject names it ("Merge pull request #N", a squash's "(#N)")."""
    found: dict[int, str] = {}
    for sha, subject in commits:
        for number in pull_request_numbers(subject):
            found.setdefault(number, sha)
    return found


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


def summarize_changes(paths: Iterable[str], rules: IgnoreRules, keep: int | None = None) -> ChangeSummary:
    """Sort changed paths into deployable and ignored, keeping at most ``keep`` of each list."""
    changed: list[str] = []
    deployable: list[str] = []
    ignored_by: dict[str, str] = {}
    by_rule: Counter[str] = Counter()
    count = deployable_count = 0
    limit = keep if keep is not None else -1
    for path in paths:
        count += 1
        if count <= limit or limit < 0:
            changed.append(path)
        match = rules.match(path)
        if match.ignored and match.pattern is not None:
            by_rule[match.pattern] += 1
            if len(ignored_by) < limit or limit < 0:
                ignored_by[path] = match.pattern
        else:
            deployable_count += 1
            if deployable_count <= limit or limit < 0:
                deployable.append(path)
    return ChangeSummary(
        count=count,
        changed=tuple(changed),
        deployable=tuple(deployable),
        deployable_count=deployable_count,
        ignored_by=ignored_by,
        by_rule=tuple(by_rule.most_common()),
    )


def decide(
    base: str | None,
    head: str,
    changes: ChangeSummary,
    *,
    commits: Iterable[CommitPlan] = (),
    commit_count: int | None = None,
    pull_requests: Iterable[int] = (),
) -> Plan:
    """Deploy iff some changed path is not ignored; the reason says which files decided."""
    if changes.count == 0:
        reason = "no deploy needed (no files changed)"
    elif changes.deployable_count:
        named = changes.deployable[:3]
        shown = ", ".join(display_path(p) for p in named)
        hidden = changes.deployable_count - len(named)
        more = f" and {hidden} more" if hidden else ""
        reason = (
            f"deploy: {changes.deployable_count} of {changes.count} changed "
            f"{'file' if changes.count == 1 else 'files'} {'is' if changes.deployable_count == 1 else 'are'} "
            "not ignored "
            f"({shown}{more})"
        )
    else:
        if changes.count <= _NAMED_FILES and changes.complete:  # few files: say which rule ignored each
            rules_text = ", ".join(f"{display_path(p)} by {rule}" for p, rule in changes.ignored_by.items())
        else:
            rules_text = ", ".join(f"{pattern} ({n})" for pattern, n in changes.by_rule)
        if changes.count == 1:
            reason = f"no deploy needed (the one changed file is ignored: {rules_text})"
        else:
            reason = f"no deploy needed (all {changes.count} files match ignore rules: {rules_text})"
    commits_t = tuple(commits)
    return Plan(
        deploy=changes.deployable_count > 0,
        reason=reason,
        base=base,
        head=head,
        changes=changes,
        commits=commits_t,
        commit_count=len(commits_t) if commit_count is None else commit_count,
        pull_requests=tuple(sorted(set(pull_requests))),
    )


def fail_open(base: str | None, head: str, why: str) -> Plan:
    """A plan that deploys because the exact answer could not be computed, saying why."""
    return Plan(deploy=True, reason=f"deploying to be safe: {why}", base=base, head=head, fail_open=True)


def build_plan(
    git: Git, rules: IgnoreRules, base_rev: str | None, head_rev: str, *, keep: int | None = None
) -> Plan:
    """Resolve ``base_rev`` and ``head_rev`` in ``git`` and decide; fail open where DESIGN says.

    An unknown head, or a base that names no commit and is not a full SHA, is bad input
    (RefError). A full-SHA base the repository lacks, a base that is not an ancestor of head,
    or a diff git cannot compute give a fail-open plan instead: deploying is the safe answer.

    With ``keep``, only the newest ``keep`` commits are classified and at most ``keep`` paths
    are listed (counts stay exact): memory and time then do not grow with the range's length,
    except for its set of pull request numbers.
    """
    head = gitmod.resolve_commit(git, head_rev, what="head")
    if head is None:
        raise RefError(f"head {head_rev!r} does not name a commit in {git.repo}")
    if base_rev is None:
        return fail_open(None, head, "no base commit to compare with (pass --base)")
    base = gitmod.resolve_commit(git, base_rev, what="base")
    shallow = gitmod.is_shallow(git)
    if base is None:
        if not (gitmod.is_commit_id(base_rev, full=True) or shallow):
            raise RefError(f"base {base_rev!r} does not name a commit in {git.repo}")
        where = "this shallow clone" if shallow else "this repository"
        return fail_open(None, head, f"base {base_rev} is not in {where} (fetch more history)")
    # The two-tree diff, the subjects of every commit and (when the commit list is cut short)
    # the commit count are found while the first-parent log streams: git processes run side by
    # side. The diff's paths are bounded by the files in the tree, not by history.
    with ThreadPoolExecutor(max_workers=3) as pool:
        # The diff is sorted in its own thread, with its own copy of the rules (their caches are
        # not shared between threads), while the main thread parses the log.
        changed_job = pool.submit(
            lambda: summarize_changes(
                gitmod.changed_paths(git, base, head), IgnoreRules(rules.patterns), keep
            )
        )
        prs_job = pool.submit(lambda: pull_requests_in(gitmod.subjects(git, base, head)))
        count_job = pool.submit(gitmod.count_first_parent, git, base, head) if keep is not None else None
        failure: GitError | None = None
        commits: list[CommitPlan] = []
        oldest: CommitChange | None = None
        try:
            for change in gitmod.first_parent_changes(git, base, head):
                oldest = change
                if keep is not None and len(commits) >= keep:
                    break
                commits.append(classify_commit(change, rules))
            changes = changed_job.result()
            prs = prs_job.result()
            commit_count = count_job.result() if count_job is not None else len(commits)
        except GitError as exc:
            failure = exc
    # When the whole first-parent chain was read and it starts right on base, base is an
    # ancestor; otherwise ask git (a walk of the history, so only when needed).
    on_chain = base == head or (keep is None and oldest is not None and oldest.parents[:1] == (base,))
    try:
        is_ancestor = on_chain or gitmod.is_ancestor(git, base, head)
    except GitError as exc:
        return fail_open(base, head, f"ancestry of base and head could not be checked ({exc})")
    if not is_ancestor:
        why = f"base {base[:12]} is not an ancestor of head {head[:12]}"
        if shallow:
            why += " in this shallow clone (fetch more history)"
        return fail_open(base, head, why)
    if failure is not None:
        return fail_open(base, head, f"the changed files could not be listed ({failure})")
    return decide(base, head, changes, commits=commits, commit_count=commit_count, pull_requests=prs)


def plan_to_json(plan: Plan) -> dict[str, Json]:
    """The ``--json`` shape of a plan: the plan action's outputs and the lists behind them."""
    return {
        "deploy": plan.deploy,
        "reason": plan.reason,
        "base": plan.base,
        "head": plan.head,
        "fail-open": plan.fail_open,
        "commit-count": plan.commit_count,
        "changed-count": plan.changes.count,
        "deployable-count": plan.changes.deployable_count,
        "changed": list(plan.changed),
        "deployable": list(plan.deployable),
        "ignored": list(plan.ignored),
        "ignored-by": dict(plan.ignored_by),
        "commits": [
            {
                "sha": c.sha,
                "subject": c.subject,
                "deployable": c.deployable,
                "files": list(c.files),
                "file-count": c.file_count,
                "pull-requests": list(c.pull_requests),
            }
            for c in plan.commits
        ],
        "pull-requests": list(plan.pull_requests),
    }
