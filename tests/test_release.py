"""Releases: the tag and the changelog agree, the distributions are built once and hold what they
should, the wheel installs and runs on its own, and every earlier release's files still read."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from terp_actions.config import load
from terp_actions.report import parse_state

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STAMP = "c0ffee" + "1" * 34
_spec = importlib.util.spec_from_file_location("release_tool", ROOT / "tools" / "release.py")
assert _spec is not None and _spec.loader is not None
release = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(release)


def test_the_tag_must_name_the_version_and_the_changelog_its_section() -> None:
    """v<__version__> with a dated changelog section passes; any other tag stops the release."""
    version = release.package_version()
    assert release.check_tag(f"v{version}") == version
    with pytest.raises(SystemExit, match="does not name the package's version"):
        release.check_tag("v9.9.9")
    notes = release.changelog_section((ROOT / "CHANGELOG.md").read_text(), version)
    assert notes.startswith("The first release") and "### Added" in notes and "[Unreleased]" not in notes


def test_stamping_writes_one_full_sha_and_refuses_anything_else(tmp_path: Path) -> None:
    """The release commit goes into _release.py; a short or odd SHA is refused."""
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "src", copy / "src")
    release.stamp(STAMP, copy)
    assert f'COMMIT = "{STAMP}"' in (copy / "src" / "terp_actions" / "_release.py").read_text()
    with pytest.raises(SystemExit, match="not a full commit SHA"):
        release.stamp("abc123", copy)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and wheel, built once from a stamped copy of the sources (no build isolation,
    so nothing is downloaded), as the release workflow builds them."""
    copy = tmp_path_factory.mktemp("release") / "terp-actions"
    copy.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE", "CHANGELOG.md", "MANIFEST.in"):
        shutil.copy(ROOT / name, copy / name)
    for folder in ("src", "tests", "tools"):  # tests and tools, so the sdist is seen leaving them out
        shutil.copytree(
            ROOT / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
        )
    release.stamp(STAMP, copy)
    out = copy / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(copy)],
        check=True, capture_output=True,
    )  # fmt: skip
    return out


def test_the_distributions_hold_the_package_and_pass_twine(dist: Path) -> None:
    """twine check --strict passes; the wheel holds the package and its metadata only (the
    sandbox included: demo needs it), the sdist its sources; the release commit is stamped."""
    twine = subprocess.run(
        [str(BIN / "twine"), "check", "--strict", *map(str, dist.iterdir())],
        check=False,
        capture_output=True,
        text=True,
    )
    assert twine.returncode == 0, twine.stdout + twine.stderr
    assert release.check_dist(dist) == []


def test_the_wheel_installs_and_runs_on_its_own(dist: Path, tmp_path: Path) -> None:
    """Installed with --no-deps into a fresh venv that sees the test environment's packages:
    `--version`, `demo`, and `init`, which pins the release commit written into the wheel."""
    target = tmp_path / "venv"
    venv.create(target, with_pip=False)
    [wheel] = dist.glob("*.whl")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(target / "bin" / "python"), "install", "--quiet",
         "--no-deps", "--no-index", str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    purelib = Path(subprocess.run(
        [str(target / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip())  # fmt: skip
    (purelib / "test-environment.pth").write_text(sysconfig.get_path("purelib") + "\n")
    cli = str(target / "bin" / "terp-actions")
    where = subprocess.run(
        [str(target / "bin" / "python"), "-c", "import terp_actions; print(terp_actions.__file__)"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert where.startswith(str(purelib)), where  # the wheel's copy, not the checkout's
    version = subprocess.run([cli, "--version"], capture_output=True, text=True, check=True).stdout
    assert version.strip() == f"terp-actions, version {release.package_version()}"
    demo = subprocess.run([cli, "demo"], capture_output=True, text=True, check=False)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    app = tmp_path / "app"
    subprocess.run(["git", "init", "-q", "-b", "main", str(app)], check=True)
    subprocess.run(["git", "-C", str(app), "commit", "-q", "--allow-empty", "-m", "first"], check=True)
    init = subprocess.run(
        [cli, "init", "--repo", str(app), "--dry-run", "--json"], check=False, capture_output=True, text=True
    )
    data = json.loads(init.stdout)
    assert (data["pin"], data["release"]) == (STAMP, True)
    assert f"release v{release.package_version()} ({STAMP[:12]})" in init.stderr


@pytest.mark.parametrize(
    "version", sorted(p.name for p in (ROOT / "tests" / "fixtures" / "releases").iterdir())
)
def test_every_earlier_release_s_files_still_read(version: str) -> None:
    """The configuration files and the hidden comment state each release wrote are read as they
    were meant: no problem on load, the stages and their details intact."""
    folder = ROOT / "tests" / "fixtures" / "releases" / version
    configs = sorted(folder.glob("*terp-actions.yml"))
    assert configs
    for path in configs:
        config = load(path, required=True)
        assert {"staging", "production"} <= set(config.environments), path
    for path in sorted(folder.glob("comment-*.md")):
        number = int(path.stem.split("-")[1])
        state = parse_state(path.read_text(), number)
        assert state is not None and state.pr == number, path
        assert state.stages["verified"].status == "failure" and "latency" in state.stages["verified"].detail
        assert state.stages["promoted"].status == "skipped"
