"""Shared fixtures: hermetic git, real repositories in temporary folders, the TERP demo history."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from terp_actions.sandbox.history import DemoRepo, build_terp_history

_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@test.example",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@test.example",
    "GIT_AUTHOR_DATE": "@1767225600 +0000",
    "GIT_COMMITTER_DATE": "@1767225600 +0000",
}
# Variables the runner or the developer's shell may set that would change what commands do.
_LEAKY = ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_TOKEN", "GH_TOKEN",
          "DIGITALOCEAN_TOKEN", "TERP_CONFIG", "TERP_IGNORE", "TERP_BASE", "TERP_HEAD", "TERP_REPO",
          "TERP_JSON", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")  # fmt: skip


@pytest.fixture(autouse=True)
def hermetic_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets git with no user or system config, a fixed identity and an empty HOME."""
    home = tmp_path_factory.mktemp("home")
    (home / "gitconfig").write_text("")
    (home / "templates").mkdir()
    for name in _LEAKY:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_TEMPLATE_DIR", str(home / "templates"))
    for key, value in _IDENTITY.items():
        monkeypatch.setenv(key, value)
    # The stand-ins need no protection from bursts of writes: no 1 s pauses between them.
    monkeypatch.setenv("TERP_GITHUB_THROTTLE", "0")


class Repo:
    """A real git work tree for a test, driven through the git CLI."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def git(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        """Run git here; return stdout (stripped). Fails the test on a non-zero exit."""
        proc = subprocess.run(
            ["git", *args], cwd=self.path, capture_output=True, check=False, env={**os.environ, **(env or {})}
        )
        assert proc.returncode == 0, f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace')}"
        return proc.stdout.decode("utf-8", "surrogateescape").strip()

    def write(self, files: Mapping[str | bytes, str | bytes | None]) -> None:
        """Write files (None deletes); names may be bytes for non-UTF-8 names."""
        for name, content in files.items():
            target = Path(os.fsdecode(name)) if isinstance(name, bytes) else Path(name)
            path = self.path / target
            if content is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content.encode() if isinstance(content, str) else content)

    def commit(self, message: str, files: Mapping[str | bytes, str | bytes | None] | None = None) -> str:
        """Write ``files``, stage everything, commit (empty commits allowed); return the SHA."""
        self.write(files or {})
        self.git("add", "--all")
        self.git("commit", "--quiet", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def merge(self, branch: str, message: str) -> str:
        """A --no-ff merge of ``branch`` into the current branch; return the SHA."""
        self.git("merge", "--quiet", "--no-ff", "-m", message, branch)
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """An empty repository on branch main."""
    path = tmp_path / "repo"
    path.mkdir()
    r = Repo(path)
    r.git("init", "--quiet", "--initial-branch=main")
    return r


@pytest.fixture(scope="session")
def _terp_history(tmp_path_factory: pytest.TempPathFactory) -> DemoRepo:
    return build_terp_history(tmp_path_factory.mktemp("terp-history"))


@pytest.fixture
def terp_history(_terp_history: DemoRepo, tmp_path: Path) -> Iterator[DemoRepo]:
    """A private copy of the TERP-like history (built once per session): origin and work clone."""
    root = tmp_path / "terp"
    shutil.copytree(_terp_history.root, root, symlinks=True)
    work = root / "work"
    # The clone's origin URL points at the session copy; repoint it at this test's copy.
    subprocess.run(["git", "remote", "set-url", "origin", str(root / "origin.git")], cwd=work, check=True)
    yield DemoRepo(root, root / "origin.git", work, _terp_history.env, _terp_history.pulls)


# --- Stand-ins ---------------------------------------------------------------------------------

from terp_actions.sandbox.contract import (  # noqa: E402 - grouped with the fixtures that use them
    DIGITALOCEAN_CONTRACT,
    GITHUB_CONTRACT,
    default_contracts_dir,
    load_contract,
)
from terp_actions.sandbox.fake_appplatform import AppPlatformStandIn, ManualClock  # noqa: E402
from terp_actions.sandbox.fake_github import GitHubStandIn  # noqa: E402

CONTRACTS = default_contracts_dir()
needs_contracts = pytest.mark.skipif(
    CONTRACTS is None, reason="shared/contracts/ is not beside this checkout (CI has it)"
)


def _attach_contract(stand_in: GitHubStandIn | AppPlatformStandIn, name: str) -> None:
    if CONTRACTS is not None:
        stand_in.contract = load_contract(CONTRACTS / name)


@pytest.fixture
def clock() -> ManualClock:
    """A clock that only moves when a test says so."""
    return ManualClock()


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """A bare repository with main and staging at one commit, and a feature branch ahead of it."""
    work = Repo(tmp_path / "origin-work")
    work.path.mkdir()
    work.git("init", "--quiet", "--initial-branch=main")
    work.commit("init", {"app.py": "v1\n"})
    work.git("branch", "staging")
    work.git("checkout", "--quiet", "-b", "feature")
    work.commit("Feature", {"feature.py": "f\n"})
    work.git("checkout", "--quiet", "main")
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(work.path), str(bare)], check=True)
    return bare


@pytest.fixture
def do_stand_in(clock: ManualClock) -> Iterator[AppPlatformStandIn]:
    """The App Platform stand-in (contract-checked when the contracts are present)."""
    stand_in = AppPlatformStandIn(clock=clock)
    with stand_in.running():
        _attach_contract(stand_in, DIGITALOCEAN_CONTRACT)
        yield stand_in
    assert stand_in.violations == [], "\n".join(stand_in.violations)


@pytest.fixture
def gh_stand_in(origin: Path) -> Iterator[GitHubStandIn]:
    """The GitHub stand-in over ``origin`` (contract-checked when the contracts are present)."""
    stand_in = GitHubStandIn(origin, tokens={"ghs_sandbox": "github-actions[bot]", "ghp_person": "octocat"})
    with stand_in.running():
        _attach_contract(stand_in, GITHUB_CONTRACT)
        yield stand_in
    assert stand_in.violations == [], "\n".join(stand_in.violations)


class Sleeps(list[float]):
    """Records the waits a client asks for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    """A sleep that records and returns at once."""
    return Sleeps()
