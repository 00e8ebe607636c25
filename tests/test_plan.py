"""The deploy decision: pure rules over changed files, and plans built from real histories."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from terp_actions.errors import RefError
from terp_actions.git import CommitChange, Git
from terp_actions.paths import IgnoreRules
from terp_actions.plan import (
    build_plan,
    classify_commit,
    decide,
    plan_to_json,
    pull_request_numbers,
    pull_request_title,
    pull_requests_in,
    summarize_changes,
)
from terp_actions.sandbox.history import TERP_IGNORE, DemoRepo

from .conftest import Repo

RULES = IgnoreRules(TERP_IGNORE)


@pytest.mark.parametrize(
    ("subject", "numbers"),
    [
        pytest.param("Add export (#123)", (123,), id="squash"),
        pytest.param("Merge pull request #45 from terp/fix", (45,), id="merge"),
        pytest.param("Revert 'Add export (#123)' (#130)", (123, 130), id="revert-names-both"),
        pytest.param("Fix #12 in parser", (), id="issue-reference-is-not-a-pr"),
        pytest.param("Say Merge pull request #9 later", (), id="merge-text-not-at-start"),
        pytest.param("Merge main into staging", (), id="sync-merge"),
    ],
)
def test_pull_request_numbers_from_subjects(subject: str, numbers: tuple[int, ...]) -> None:
    """Squash ``(#N)`` and ``Merge pull request #N`` subjects name PRs; other mentions do not."""
    assert pull_request_numbers(subject) == numbers


def test_docs_only_range_needs_no_deploy_and_names_the_rules() -> None:
    """When every changed file is ignored, no deploy; the reason names the rule that ignored each file."""
    plan = decide(
        "a" * 40, "b" * 40, summarize_changes(["docs/x.md", "docs/y.txt", ".github/workflows/ci.yml"], RULES)
    )
    assert not plan.deploy
    assert plan.reason == (
        "no deploy needed (all 3 files match ignore rules: docs/x.md by **.md, docs/y.txt by docs/**, "
        ".github/workflows/ci.yml by .github/**)"
    )
    assert plan.ignored_by == {
        "docs/x.md": "**.md",
        "docs/y.txt": "docs/**",
        ".github/workflows/ci.yml": ".github/**",
    }


def test_many_ignored_files_are_counted_per_rule() -> None:
    """Past five files, a skip counts the files per rule instead of naming each."""
    plan = decide(None, "h" * 40, summarize_changes([f"docs/{i}.txt" for i in range(6)] + ["a.md"], RULES))
    assert plan.reason == "no deploy needed (all 7 files match ignore rules: docs/** (6), **.md (1))"


def test_one_code_file_among_docs_deploys_and_is_named() -> None:
    """A single non-ignored file makes the range deploy, and the reason names it."""
    plan = decide(None, "h" * 40, summarize_changes(["docs/a.md", "app/main.py", "README.md"], RULES))
    assert plan.deploy
    assert plan.deployable == ("app/main.py",)
    assert "app/main.py" in plan.reason
    assert plan.reason.startswith("deploy: 1 of 3 changed files is not ignored")


def test_no_changes_means_no_deploy() -> None:
    """An empty range does not deploy."""
    plan = decide("a" * 40, "a" * 40, summarize_changes([], RULES))
    assert not plan.deploy
    assert plan.reason == "no deploy needed (no files changed)"


def test_root_level_markdown_only_and_editor_configs_are_ignored() -> None:
    """TERP's rules as meant: Markdown anywhere, editor folders, dashboard.html."""
    changed = ["app/README.md", "CHANGELOG.md", ".vscode/settings.json", ".cursor/rules", "dashboard.html",
               ".kiro/specs/a.json", "tests-e2e/login.spec.ts", "testing/plan.txt"]  # fmt: skip
    assert not decide(None, "h" * 40, summarize_changes(changed, RULES)).deploy


def test_commit_classification_keeps_the_deciding_files() -> None:
    """A deployable commit lists its non-ignored files; an ignored one lists what was ignored."""
    code = classify_commit(CommitChange("c" * 40, (), "Mixed (#3)", ("docs/a.md", "app/x.py")), RULES)
    docs = classify_commit(CommitChange("d" * 40, (), "Docs (#4)", ("docs/a.md", "b.md")), RULES)
    empty = classify_commit(CommitChange("e" * 40, (), "Empty", ()), RULES)
    assert (code.deployable, code.files, code.pull_requests) == (True, ("app/x.py",), (3,))
    assert (docs.deployable, docs.files) == (False, ("docs/a.md", "b.md"))
    assert (empty.deployable, empty.files, empty.file_count) == (False, (), 0)


def test_commit_file_lists_are_capped_but_counted() -> None:
    """A huge commit keeps a bounded file list with the exact count."""
    files = tuple(f"app/f{i}.py" for i in range(500))
    commit = classify_commit(CommitChange("c" * 40, (), "Import", files), RULES)
    assert len(commit.files) == 100
    assert commit.file_count == 500


def _batch_heads(history: DemoRepo) -> dict[int, str]:
    return {pr.number: pr.merge_commit for pr in history.pulls}


def test_terp_history_code_docs_and_mixed_batches(terp_history: DemoRepo) -> None:
    """On the TERP-like history: code+docs batch deploys, docs/config batch skips, rename deploys."""
    git = Git(terp_history.work)
    heads = _batch_heads(terp_history)
    first = build_plan(git, RULES, "origin/staging", heads[103])
    second = build_plan(git, RULES, heads[103], heads[105])
    third = build_plan(git, RULES, heads[105], heads[106])

    assert first.deploy and first.pull_requests == (101, 102, 103)
    assert [c.deployable for c in first.commits] == [True, False, True]
    assert sorted(first.deployable) == ["app/invoices/pdf.py", "app/models/invoice.py"]

    assert not second.deploy and second.pull_requests == (104, 105)
    assert "app/README.md" in second.ignored
    assert second.reason.startswith("no deploy needed (all 6 files match ignore rules")

    assert third.deploy
    assert set(third.deployable) == {"app/reports.py", "app/reporting/monthly.py"}


def test_plan_json_has_the_documented_shape(terp_history: DemoRepo) -> None:
    """The JSON keeps the documented keys and types."""
    git = Git(terp_history.work)
    heads = _batch_heads(terp_history)
    data = plan_to_json(build_plan(git, RULES, "origin/staging", heads[103]))
    assert {
        "deploy",
        "reason",
        "base",
        "head",
        "changed",
        "deployable",
        "ignored",
        "commits",
        "pull-requests",
    } <= set(data)
    assert data["head"] == heads[103]
    commits = data["commits"]
    assert isinstance(commits, list)
    assert {"sha", "subject", "deployable", "files"} <= set(commits[0])


def test_prs_merged_through_a_sync_merge_are_found(repo: Repo) -> None:
    """PRs inside a 'Merge main into staging' commit count, though it is one first-parent commit."""
    base = repo.commit("init", {"a.py": "a"})
    repo.git("branch", "staging")
    repo.commit("Feature (#11)", {"b.py": "b"})
    repo.commit("Docs (#12)", {"docs/x.md": "x"})
    repo.git("checkout", "--quiet", "staging")
    repo.commit("Hotfix on staging (#13)", {"c.py": "c"})
    merge = repo.merge("main", "Merge main into staging")
    plan = build_plan(Git(repo.path), RULES, base, merge)
    assert plan.pull_requests == (11, 12, 13)
    assert [c.subject for c in plan.commits] == ["Merge main into staging", "Hotfix on staging (#13)"]


def test_unknown_head_is_bad_input(repo: Repo) -> None:
    """A head that names no commit is refused, naming it."""
    repo.commit("init", {"a": "a"})
    with pytest.raises(RefError, match="'nope'"):
        build_plan(Git(repo.path), RULES, "HEAD", "nope")


def test_unknown_base_name_is_bad_input(repo: Repo) -> None:
    """A base branch name that does not exist is a typo, refused."""
    repo.commit("init", {"a": "a"})
    with pytest.raises(RefError, match="'stagign'"):
        build_plan(Git(repo.path), RULES, "stagign", "HEAD")


def test_missing_base_commit_fails_open(repo: Repo) -> None:
    """A full SHA the repository lacks (history rewritten, not fetched) deploys, saying why."""
    repo.commit("init", {"a": "a"})
    plan = build_plan(Git(repo.path), RULES, "1" * 40, "HEAD")
    assert plan.deploy and plan.fail_open
    assert "not in this repository" in plan.reason


def test_no_base_fails_open(repo: Repo) -> None:
    """Without any base the plan deploys and says so."""
    repo.commit("init", {"docs/a.md": "a"})
    plan = build_plan(Git(repo.path), RULES, None, "HEAD")
    assert plan.deploy and plan.fail_open and "no base" in plan.reason


def test_base_not_an_ancestor_fails_open(repo: Repo) -> None:
    """A base on another line of history (a rewritten branch) deploys, saying why."""
    repo.commit("init", {"a": "a"})
    repo.git("checkout", "--quiet", "-b", "other")
    other = repo.commit("other docs", {"docs/o.md": "o"})
    repo.git("checkout", "--quiet", "main")
    repo.commit("main docs", {"docs/m.md": "m"})
    plan = build_plan(Git(repo.path), RULES, other, "main")
    assert plan.deploy and plan.fail_open
    assert "not an ancestor" in plan.reason


def test_shallow_clone_fails_open_when_the_base_is_cut_off(repo: Repo, tmp_path: Path) -> None:
    """In a depth-1 clone the base is missing: deploy, and the reason says shallow."""
    base = repo.commit("init", {"app.py": "a"})
    repo.commit("docs", {"docs/a.md": "a"})
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "--quiet", "--depth=1", f"file://{repo.path}", str(clone)], check=True)
    plan = build_plan(Git(clone), RULES, base, "HEAD")
    assert plan.deploy and plan.fail_open
    assert "shallow" in plan.reason


def test_shallow_clone_with_the_base_present_is_exact(repo: Repo, tmp_path: Path) -> None:
    """With enough depth the plan is exact even in a shallow clone."""
    repo.commit("init", {"app.py": "a"})
    base = repo.commit("code", {"app.py": "b"})
    repo.commit("docs", {"docs/a.md": "a"})
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "--quiet", "--depth=2", f"file://{repo.path}", str(clone)], check=True)
    plan = build_plan(Git(clone), RULES, base, "HEAD")
    assert not plan.fail_open and not plan.deploy


def test_keep_cuts_lists_but_keeps_counts_exact(terp_history: DemoRepo) -> None:
    """With ``keep``, only the newest commits and a few paths are listed; every count is exact."""
    git = Git(terp_history.work)
    heads = _batch_heads(terp_history)
    full = build_plan(git, RULES, "origin/staging", heads[106])
    cut = build_plan(git, RULES, "origin/staging", heads[106], keep=2)
    assert (cut.deploy, cut.pull_requests) == (full.deploy, full.pull_requests)
    assert cut.reason.startswith("deploy: 4 of 12 changed files are not ignored (")
    assert cut.reason.endswith(" and 2 more)") and full.reason.endswith(" and 1 more)")
    assert cut.commit_count == full.commit_count == 6
    assert [c.sha for c in cut.commits] == [c.sha for c in full.commits[:2]]
    assert cut.changes.count == full.changes.count == 12
    assert cut.changes.deployable_count == full.changes.deployable_count == 4
    assert len(cut.changed) == 2 and not cut.changes.complete and full.changes.complete
    assert cut.changes.by_rule == full.changes.by_rule


def test_summary_counts_files_per_deciding_rule() -> None:
    """Ignored files are counted under the pattern that decided them, most first."""
    summary = summarize_changes(["docs/a.txt", "docs/b.txt", "x.md", "app.py"], RULES, keep=1)
    assert summary.by_rule == (("docs/**", 2), ("**.md", 1))
    assert (summary.count, summary.deployable_count, summary.deployable) == (4, 1, ("app.py",))
    assert list(summary.ignored_by) == ["docs/a.txt"]


def test_pull_requests_in_agrees_with_the_per_subject_reading() -> None:
    """The set form finds exactly the numbers the per-subject function finds."""
    subjects = [
        "Add export (#123)",
        "Merge pull request #45 from terp/fix",
        "Fix #12",
        "Revert (#1) (#2)",
        "",
    ]
    assert (
        pull_requests_in(subjects)
        == {n for s in subjects for n in pull_request_numbers(s)}
        == {123, 45, 1, 2}
    )


def test_pull_request_titles_are_read_as_github_writes_them() -> None:
    """A merge commit's title is its message's next paragraph; a squash's is its subject without
    "(#N)"; any other subject is itself."""
    assert pull_request_title("Merge pull request #7 from acme/fix", "\nFix totals\n\nmore") == "Fix totals"
    assert pull_request_title("Fix totals (#7)", "") == "Fix totals"
    assert pull_request_title("Hotfix straight to main", "") == "Hotfix straight to main"
