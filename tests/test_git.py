"""git.py on real repositories: changed paths, first-parent history, revisions, errors."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from terp_actions import git as gitmod
from terp_actions.errors import GitError, NotARepository, RefError
from terp_actions.git import Git

from .conftest import Repo


def test_changed_paths_count_renames_under_both_names_and_deletions(repo: Repo) -> None:
    """A rename shows as the old and the new name; a deleted file is listed too."""
    base = repo.commit("base", {"src/old.py": "x = 1\n" * 20, "gone.txt": "bye\n", "keep.txt": "k\n"})
    repo.git("mv", "src/old.py", "src/new.py")
    head = repo.commit("rename and delete", {"gone.txt": None})
    assert sorted(gitmod.changed_paths(Git(repo.path), base, head)) == [
        "gone.txt",
        "src/new.py",
        "src/old.py",
    ]


def test_changed_paths_limited_to_a_path_take_it_literally(repo: Repo) -> None:
    """Asking about one file answers for that file only, even when its name looks like a glob."""
    base = repo.commit("base", {"a*.yaml": "1\n", "ab.yaml": "1\n"})
    head = repo.commit("both change", {"a*.yaml": "2\n", "ab.yaml": "2\n"})
    git = Git(repo.path)
    assert list(gitmod.changed_paths(git, base, head, "a*.yaml")) == ["a*.yaml"]
    assert list(gitmod.changed_paths(git, head, head, "a*.yaml")) == []


def test_changed_paths_ignore_user_rename_and_relative_config(repo: Repo) -> None:
    """User settings (diff.renames, diff.relative) do not change what the diff lists."""
    base = repo.commit("base", {"sub/a.py": "a\n" * 30})
    repo.git("mv", "sub/a.py", "sub/b.py")
    head = repo.commit("rename")
    repo.git("config", "diff.renames", "copies")
    repo.git("config", "diff.relative", "true")
    sub = Git(repo.path / "sub")
    assert sorted(gitmod.changed_paths(sub, base, head)) == ["sub/a.py", "sub/b.py"]


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("with space.txt", id="space"),
        pytest.param("new\nline.txt", id="newline"),
        pytest.param("tab\there.txt", id="tab"),
        pytest.param('quote"d.txt', id="quote"),
        pytest.param("ünïcödé.md", id="unicode"),
        pytest.param(os.fsdecode(b"latin1-\xe9.txt"), id="non-utf8"),
        pytest.param("\x01leading-control.txt", id="control"),
    ],
)
def test_unusual_file_names_come_back_exactly(repo: Repo, name: str) -> None:
    """Names with spaces, newlines, control characters or non-UTF-8 bytes are listed intact."""
    base = repo.commit("base", {"a.txt": "a"})
    head = repo.commit("odd", {name: "x"})
    git = Git(repo.path)
    assert list(gitmod.changed_paths(git, base, head)) == [name]
    [change] = list(gitmod.first_parent_changes(git, base, head))
    assert change.files == (name,)


def test_first_parent_changes_diff_merges_against_their_first_parent(repo: Repo) -> None:
    """Along the first parent, a merge lists what it brought; side-branch commits are not walked."""
    base = repo.commit("base", {"a.txt": "a"})
    repo.git("checkout", "--quiet", "-b", "feature")
    repo.commit("feature one", {"f1.py": "1"})
    repo.commit("feature two", {"f2.py": "2"})
    repo.git("checkout", "--quiet", "main")
    direct = repo.commit("direct (#7)", {"docs/d.md": "d"})
    merge = repo.merge("feature", "Merge pull request #8 from o/feature")
    changes = list(gitmod.first_parent_changes(Git(repo.path), base, merge))
    assert [(c.sha, c.subject, c.files) for c in changes] == [
        (merge, "Merge pull request #8 from o/feature", ("f1.py", "f2.py")),
        (direct, "direct (#7)", ("docs/d.md",)),
    ]
    assert len(changes[0].parents) == 2
    assert changes[0].parents[0] == direct


def test_first_parent_changes_keep_empty_commits_and_root(repo: Repo) -> None:
    """Empty commits appear with no files; without a base the root commit lists its files."""
    root = repo.commit("root", {"a.txt": "a", "b.txt": "b"})
    empty = repo.commit("nothing here")
    after = repo.commit("after", {"c.txt": "c"})
    changes = list(gitmod.first_parent_changes(Git(repo.path), None, after))
    assert [(c.sha, c.files) for c in changes] == [
        (after, ("c.txt",)),
        (empty, ()),
        (root, ("a.txt", "b.txt")),
    ]
    assert changes[2].parents == ()


def test_empty_commit_message_is_parsed(repo: Repo) -> None:
    """A commit with an empty message does not shift the records after it."""
    base = repo.commit("base", {"a": "a"})
    repo.write({"b": "b"})
    repo.git("add", "b")
    repo.git("commit", "--quiet", "--allow-empty-message", "-m", "")
    head = repo.commit("next", {"c": "c"})
    changes = list(gitmod.first_parent_changes(Git(repo.path), base, head))
    assert [(c.subject, c.files) for c in changes] == [("next", ("c",)), ("", ("b",))]


def _git_children() -> list[int]:
    """Pids of this process's live child processes that run git (read from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
            name = fields[0].split("(", 1)[1]
            state, ppid = fields[1].split()[:2]
        except (OSError, IndexError, ValueError):
            continue
        if int(ppid) == os.getpid() and name == "git" and state != "Z":
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads child processes from /proc (Linux)")
def test_stream_stops_git_when_the_reader_stops_early(repo: Repo) -> None:
    """Abandoning a stream part-way kills git instead of leaving it blocked on a full pipe."""
    repo.commit("big", {"blob.txt": "x" * (4 << 20)})  # 4 MiB of patch: more than the pipe holds
    stream = Git(repo.path).stream(["log", "-z", "-p", "--format=%H"])
    assert next(stream)
    assert len(_git_children()) == 1  # git is still there, blocked writing the rest
    stream.close()
    assert _git_children() == []


def test_revisions_are_validated_before_use(repo: Repo) -> None:
    """Option-like or malformed revisions are refused as bad input, never passed to git."""
    repo.commit("base", {"a": "a"})
    git = Git(repo.path)
    for bad in ["--output=/tmp/x", "-p", "a..b", "main:file", "bad name", "x@{1}", ""]:
        with pytest.raises(RefError):
            gitmod.resolve_commit(git, bad, what="base")


def test_revisions_resolve_to_full_shas(repo: Repo) -> None:
    """Branch names, HEAD, navigation suffixes and short SHAs resolve; unknown ones give None."""
    first = repo.commit("one", {"a": "1"})
    second = repo.commit("two", {"a": "2"})
    git = Git(repo.path)
    assert gitmod.resolve_commit(git, "HEAD") == second
    assert gitmod.resolve_commit(git, "main~1") == first
    assert gitmod.resolve_commit(git, first[:8]) == first
    assert gitmod.resolve_commit(git, "no-such-branch") is None
    assert gitmod.resolve_commit(git, "0" * 40) is None


def test_is_ancestor(repo: Repo) -> None:
    """Ancestry in both directions, and a commit is its own ancestor."""
    first = repo.commit("one", {"a": "1"})
    second = repo.commit("two", {"a": "2"})
    git = Git(repo.path)
    assert gitmod.is_ancestor(git, first, second)
    assert not gitmod.is_ancestor(git, second, first)
    assert gitmod.is_ancestor(git, second, second)


def test_open_repo_refuses_a_plain_folder(tmp_path: Path) -> None:
    """A folder outside any repository is bad input naming the folder."""
    with pytest.raises(NotARepository, match=str(tmp_path)):
        gitmod.open_repo(tmp_path)
    with pytest.raises(NotARepository, match="no such directory"):
        gitmod.open_repo(tmp_path / "missing")


def test_git_errors_carry_command_code_and_redacted_stderr(repo: Repo) -> None:
    """A failing git names the command and exit code; credentials in its output are hidden."""
    repo.commit("one", {"a": "1"})
    git = Git(repo.path)
    with pytest.raises(GitError) as caught:
        git.run(["fetch", "https://user:hunter2secret@127.0.0.1:9/nowhere.git"])
    err = caught.value
    assert err.returncode != 0
    assert "hunter2secret" not in str(err) and "hunter2secret" not in err.stderr
    assert "fetch" in str(err)


def test_shallow_clone_is_detected(repo: Repo, tmp_path: Path) -> None:
    """A depth-1 clone reports itself shallow; a full repository does not."""
    repo.commit("one", {"a": "1"})
    repo.commit("two", {"a": "2"})
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "--quiet", "--depth=1", f"file://{repo.path}", str(clone)], check=True)
    assert gitmod.is_shallow(Git(clone))
    assert not gitmod.is_shallow(Git(repo.path))
