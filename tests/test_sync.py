"""Syncing main into staging on real repositories: decisions, races, conflicts, safety."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from terp_actions.errors import PushRejected
from terp_actions.git import Git
from terp_actions.sync import SyncStatus, decide_sync, merge_message, run_sync

from .conftest import Repo

TOKEN = "ghs_" + "S3cr3tT0k3n" * 3


@pytest.mark.parametrize(
    ("main_in_staging", "staging_in_main", "same", "expected"),
    [
        pytest.param(False, False, True, SyncStatus.UP_TO_DATE, id="same-tip"),
        pytest.param(True, False, False, SyncStatus.UP_TO_DATE, id="staging-contains-main"),
        pytest.param(False, True, False, SyncStatus.FAST_FORWARD, id="staging-behind"),
        pytest.param(False, False, False, SyncStatus.MERGE, id="diverged"),
    ],
)
def test_decide_sync(main_in_staging: bool, staging_in_main: bool, same: bool, expected: SyncStatus) -> None:
    """The decision follows only from the two tips and which contains which."""
    main, staging = "a" * 40, ("a" if same else "b") * 40
    assert (
        decide_sync(main, staging, main_in_staging=main_in_staging, staging_in_main=staging_in_main)
        is expected
    )


def test_merge_message_lists_the_pull_requests() -> None:
    """The merge commit says what it brings."""
    text = merge_message("main", "staging", ["Add export (#12)", "Fix (#13)"], [12, 13])
    assert text.splitlines()[:3] == ["Merge main into staging", "", "Pull requests: #12, #13"]
    assert "- Add export (#12)" in text


class World:
    """A bare origin that refuses non-fast-forward pushes, our clone, and a colleague's clone."""

    def __init__(self, root: Path) -> None:
        self.origin = root / "origin.git"
        subprocess.run(
            ["git", "init", "--quiet", "--bare", "--initial-branch=main", str(self.origin)], check=True
        )
        subprocess.run(["git", "config", "receive.denyNonFastForwards", "true"], cwd=self.origin, check=True)
        seed = self.clone(root / "seed")
        seed.commit("init", {"app.py": "v1\n", "shared.txt": "base\n"})
        seed.git("push", "--quiet", "origin", "main", "main:staging")
        self.ours = self.clone(root / "ours")
        self.colleague = self.clone(root / "colleague")

    def clone(self, path: Path) -> Repo:
        subprocess.run(["git", "clone", "--quiet", str(self.origin), str(path)], check=True)
        return Repo(path)

    def commit_on(self, branch: str, message: str, files: dict[str, str]) -> str:
        """A commit pushed to ``branch`` on origin by the colleague."""
        c = self.colleague
        c.git("fetch", "--quiet", "origin")
        c.git("checkout", "--quiet", "-B", branch, f"origin/{branch}")
        sha = c.commit(message, files)
        c.git("push", "--quiet", "origin", f"{branch}:{branch}")
        return sha

    def tip(self, branch: str) -> str:
        return subprocess.run(
            ["git", "rev-parse", branch], cwd=self.origin, capture_output=True, text=True, check=True
        ).stdout.strip()

    def ancestors(self, sha: str) -> set[str]:
        out = subprocess.run(
            ["git", "rev-list", sha], cwd=self.origin, capture_output=True, text=True, check=True
        )
        return set(out.stdout.split())


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def sync(world: World, **kwargs: object) -> object:
    return run_sync(Git(world.ours.path), remote="origin", source="main", target="staging", **kwargs)  # type: ignore[arg-type]


def test_up_to_date_pushes_nothing(world: World) -> None:
    """When staging already contains main: no push, no empty merge commit."""
    world.commit_on("staging", "Hotfix on staging", {"hotfix.py": "x"})
    before = world.tip("staging")
    result = sync(world)
    assert result.status is SyncStatus.UP_TO_DATE and not result.pushed  # type: ignore[attr-defined]
    assert world.tip("staging") == before


def test_fast_forward_moves_staging_to_main(world: World) -> None:
    """Staging strictly behind: it moves to main's tip, with no merge commit."""
    main = world.commit_on("main", "Add export (#12)", {"export.py": "e"})
    result = sync(world)
    assert (result.status, result.after, result.pull_requests) == (SyncStatus.FAST_FORWARD, main, (12,))  # type: ignore[attr-defined]
    assert world.tip("staging") == main


def test_merge_keeps_staging_only_commits(world: World) -> None:
    """Diverged: a bot merge commit; every commit staging had is still in its history."""
    hotfix = world.commit_on("staging", "Hotfix on staging", {"hotfix.py": "x"})
    before_ancestors = world.ancestors(world.tip("staging"))
    main = world.commit_on("main", "Add export (#12)", {"export.py": "e"})
    result = sync(world)
    tip = world.tip("staging")
    assert result.status is SyncStatus.MERGE and result.after == tip  # type: ignore[attr-defined]
    assert before_ancestors | {main} <= world.ancestors(tip) and hotfix in world.ancestors(tip)
    log = subprocess.run(
        ["git", "log", "-1", "--format=%P%n%an%n%B", tip],
        cwd=world.origin,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert log[0].split() == [hotfix, main]
    assert log[1] == "github-actions[bot]" and log[2] == "Merge main into staging"
    assert "Pull requests: #12" in log


def test_rerun_after_success_is_a_no_op(world: World) -> None:
    """Running the sync again finds staging up to date."""
    world.commit_on("staging", "Hotfix", {"hotfix.py": "x"})
    world.commit_on("main", "Feature (#3)", {"f.py": "f"})
    sync(world)
    tip = world.tip("staging")
    assert sync(world).status is SyncStatus.UP_TO_DATE  # type: ignore[attr-defined]
    assert world.tip("staging") == tip


def test_a_push_racing_ours_is_retried_and_nothing_is_lost(world: World) -> None:
    """A colleague pushes to staging between our fetch and our push: we refetch, merge again, win."""
    world.commit_on("main", "Feature (#3)", {"f.py": "f"})
    hooks = world.ours.path / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    marker = world.ours.path.parent / "raced"
    colleague = world.colleague.path
    hook = hooks / "pre-push"
    hook.write_text(
        "#!/bin/sh\n"
        "unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE\n"
        f'if [ ! -e "{marker}" ]; then\n'
        f'  touch "{marker}"\n'
        f'  cd "{colleague}" && git fetch -q origin && git checkout -q -B staging origin/staging && '
        "echo race > race.txt && git add race.txt && git commit -q -m 'Raced hotfix' && "
        "git push -q origin staging\n"
        "fi\n"
    )
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)
    result = sync(world)
    raced = world.colleague.git("rev-parse", "HEAD")
    assert marker.exists() and result.attempts == 2 and result.pushed  # type: ignore[attr-defined]
    assert raced in world.ancestors(world.tip("staging"))


def test_a_branch_that_keeps_moving_gives_up_after_three_attempts(world: World) -> None:
    """If every push loses the race, the sync fails (exit 1) after 3 attempts, losing nothing."""
    world.commit_on("main", "Feature (#3)", {"f.py": "f"})
    hook = world.ours.path / ".git" / "hooks" / "pre-push"
    hook.parent.mkdir(exist_ok=True)
    colleague = world.colleague.path
    hook.write_text(
        "#!/bin/sh\nunset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE\n"
        f'cd "{colleague}" && git fetch -q origin && git checkout -q -B staging origin/staging && '
        "git commit -q --allow-empty -m 'Another hotfix' && git push -q origin staging\n"
    )
    hook.chmod(0o755)
    with pytest.raises(PushRejected, match="3 attempts") as caught:
        sync(world)
    assert caught.value.exit_code == 1


def test_protected_branch_refusal_is_reported(world: World) -> None:
    """A server hook refusing the push is reported as such, with a hint, exit 1."""
    world.commit_on("main", "Feature (#3)", {"f.py": "f"})
    hook = world.origin / "hooks" / "pre-receive"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text(
        "#!/bin/sh\necho 'GH006: Protected branch update failed for refs/heads/staging.' >&2\nexit 1\n"
    )
    hook.chmod(0o755)
    with pytest.raises(PushRejected) as caught:
        sync(world)
    assert "refused the push to staging" in str(caught.value) and "protected" in caught.value.hint


def test_dry_run_changes_nothing(world: World) -> None:
    """A dry run shows the decision and the push it would make, and pushes nothing."""
    world.commit_on("staging", "Hotfix", {"hotfix.py": "x"})
    world.commit_on("main", "Feature (#3)", {"f.py": "f"})
    before = world.tip("staging")
    result = sync(world, dry_run=True)
    assert result.status is SyncStatus.MERGE and not result.pushed  # type: ignore[attr-defined]
    assert result.push.startswith("git push origin ") and world.tip("staging") == before  # type: ignore[attr-defined]


def conflict(world: World) -> None:
    world.commit_on("staging", "Hotfix shared", {"shared.txt": "staging\n"})
    world.commit_on("main", "Change shared (#9)", {"shared.txt": "main\n"})


def test_conflict_pushes_nothing_and_names_the_files(world: World) -> None:
    """A conflict leaves the remote untouched and names the conflicting files."""
    conflict(world)
    before = world.tip("staging")
    result = sync(world)
    assert result.status is SyncStatus.CONFLICT and result.conflict_files == ("shared.txt",)  # type: ignore[attr-defined]
    assert "pull request not opened" in result.pr_note  # type: ignore[attr-defined]
    assert world.tip("staging") == before
