"""`terp-actions sync`: the conflict pull request, what git is given, outputs and bad input."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest

from terp_actions.errors import BadInput
from terp_actions.git import Git
from terp_actions.sandbox.fake_github import GitHubStandIn
from terp_actions.sync import run_sync

from ..test_sync import TOKEN, World, conflict, sync, world  # noqa: F401 - world is a fixture
from .conftest import invoke


def test_conflict_opens_one_pull_request_and_updates_it_on_rerun(world: World, tmp_path: Path) -> None:
    """On the GitHub stand-in: the first conflict opens a main → staging PR, a rerun updates it."""
    conflict(world)
    with GitHubStandIn(world.origin, tokens={TOKEN: "github-actions[bot]"}).running() as gh:
        env = {
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_REPOSITORY": "terp/terp",
            "GITHUB_API_URL": gh.url,
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(tmp_path / "out"),
        }
        first = invoke(["sync", "--repo", str(world.ours.path)], env)
        second = invoke(["sync", "--repo", str(world.ours.path)], env)
        assert first.exit_code == second.exit_code == 1
        assert (
            "::error title=Sync conflict::main cannot be merged into staging automatically: shared.txt"
            in first.stderr
        )
        assert [p.head for p in gh.pulls.values()] == ["main"] and gh.calls["pulls/create"] == 1
        assert gh.calls["pulls/update"] == 1
        outputs = (tmp_path / "out").read_text()
        assert "status<<" in outputs and '["shared.txt"]' in outputs and "sync-pr<<" in outputs
        assert sum(gh.calls.values()) == 4  # list + create, then list + update: nothing else
        assert TOKEN not in first.stdout + first.stderr


def test_git_never_sees_a_force_flag_or_the_token(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A recording git shim proves: no force flag, no token in any argument list or in .git/config."""
    real_git = subprocess.run(["which", "git"], capture_output=True, text=True, check=True).stdout.strip()
    shim_dir = tmp_path / "shim"
    shim_dir.mkdir()
    log = tmp_path / "git-calls.log"
    shim = shim_dir / "git"
    shim.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$*  ENV:${{GIT_CONFIG_VALUE_0:+header}}" >> "{log}"\n'
        f'exec "{real_git}" "$@"\n'
    )
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shim_dir}{os.pathsep}{os.environ['PATH']}")
    world.commit_on("staging", "Hotfix", {"hotfix.py": "x"})
    world.commit_on("main", "Feature (#3)", {"f.py": "f"})
    log.write_text("")
    env = {"GITHUB_TOKEN": TOKEN, "GITHUB_SERVER_URL": str(world.origin.parent)}
    result = invoke(["sync", "--repo", str(world.ours.path)], env)
    assert result.exit_code == 0, result.stderr
    calls = log.read_text()
    encoded = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert "push" in calls and "fetch" in calls
    assert not any(flag in calls for flag in ("--force", " -f ", "--force-with-lease", "+refs/heads/staging"))
    assert TOKEN not in calls and encoded not in calls
    assert any(line.startswith("push") and line.endswith("ENV:header") for line in calls.splitlines())
    assert TOKEN not in (world.ours.path / ".git" / "config").read_text()


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--to", "staging;rm -rf /"], id="shell-metacharacters"),
        pytest.param(["--from", "-x"], id="option-like"),
        pytest.param(["--to", "a..b"], id="double-dot"),
        pytest.param(["--to", "$(id)"], id="command-substitution"),
        pytest.param(["--to", "nope"], id="missing-on-remote"),
        pytest.param(["--remote", "upstream"], id="missing-remote"),
    ],
)
def test_bad_names_and_missing_branches_exit_2(world: World, args: list[str]) -> None:
    """Hostile or unknown names: exit 2, one line, nothing fetched or pushed."""
    before = world.tip("staging")
    result = invoke(["sync", "--repo", str(world.ours.path), *args], {})
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.startswith("terp-actions: error:")
    assert world.tip("staging") == before


def test_dirty_work_tree_is_refused(world: World) -> None:
    """Uncommitted changes to tracked files: exit 2 before anything happens."""
    (world.ours.path / "app.py").write_text("dirty\n")
    with pytest.raises(BadInput, match="uncommitted changes"):
        sync(world)


def test_shallow_clone_without_shared_history_is_refused(world: World, tmp_path: Path) -> None:
    """A depth-1 clone cannot find where the branches met: exit 2 naming the cause."""
    world.commit_on("staging", "Hotfix", {"hotfix.py": "x"})
    world.commit_on("main", "Feature (#3)", {"f.py": "f"})
    shallow = tmp_path / "shallow"
    subprocess.run(
        [
            "git",
            "clone",
            "--quiet",
            "--depth=1",
            "--no-single-branch",
            f"file://{world.origin}",
            str(shallow),
        ],
        check=True,
    )
    with pytest.raises(BadInput, match="shallow"):
        run_sync(Git(shallow), remote="origin", source="main", target="staging")


def test_cli_json_and_human_output(world: World) -> None:
    """--json describes the sync; human output is a verdict line and the commits brought."""
    world.commit_on("main", "Feature (#3)", {"f.py": "f"})
    dry = invoke(["sync", "--repo", str(world.ours.path), "--dry-run", "--json"], {})
    data = json.loads(dry.stdout)
    assert (data["status"], data["pushed"], data["pull-requests"]) == ("fast-forward", False, [3])
    human = invoke(["sync", "--repo", str(world.ours.path)], {})
    first, second = human.stdout.splitlines()[:2]
    assert first == f"repository: {world.ours.path}"  # which repository it read, first
    assert second.startswith("sync FAST-FORWARD  staging fast-forwarded to main")
    assert "    Feature (#3)" in human.stdout


def test_rebase_merged_pull_requests_are_found_through_their_commits(world: World, tmp_path: Path) -> None:
    """Two pull requests rebase-merged into main (no subject names them) in one sync: each is
    found through GitHub's commit-to-pull-requests lookup, with its newest commit as its merge."""
    first = world.commit_on("main", "Add export", {"export.py": "1\n"})
    second = world.commit_on("main", "Add import", {"import.py": "1\n"})
    third = world.commit_on("main", "Import: handle empty files", {"import.py": "2\n"})
    with GitHubStandIn(world.origin, tokens={TOKEN: "github-actions[bot]"}).running() as gh:
        gh.add_pull("Export", "export", merged_sha=first, commits=(first,), number=31)
        gh.add_pull("Import", "import", merged_sha=third, commits=(second, third), number=32)
        gh.add_pull("Elsewhere", "x", base="release", merged_sha=third, commits=(third,), number=33)
        env = {
            "GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "terp/terp", "GITHUB_API_URL": gh.url,
            "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(tmp_path / "out"),
        }  # fmt: skip
        result = invoke(["sync", "--repo", str(world.ours.path), "--json"], env)
        assert result.exit_code == 0, result.stderr
        data = json.loads(result.stdout)
        assert data["pull-requests"] == [31, 32]
        assert data["merge-commits"] == {"31": first, "32": third}
        assert gh.calls["repos/list-pull-requests-associated-with-commit"] == 3  # no waits, no repeats


def test_the_pull_request_lookup_is_bounded_and_says_so(world: World, tmp_path: Path) -> None:
    """github.pull_lookup_limit bounds the commits asked about; the cut is a warning."""
    for n in range(3):
        world.commit_on("main", f"Change {n}", {f"f{n}.py": "1\n"})
    (world.ours.path / ".github").mkdir()
    (world.ours.path / ".github" / "terp-actions.yml").write_text("github: {pull_lookup_limit: 1}\n")
    with GitHubStandIn(world.origin, tokens={TOKEN: "github-actions[bot]"}).running() as gh:
        gh.add_pull("Change 2", "c2", merged_sha=world.tip("main"), number=40)
        env = {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "terp/terp", "GITHUB_API_URL": gh.url}
        result = invoke(["sync", "--repo", str(world.ours.path), "--json"], env)
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["pull-requests"] == [40]
        assert "asked GitHub about 1 of 3 commits naming no pull request" in result.stderr
        assert gh.calls["repos/list-pull-requests-associated-with-commit"] == 1
