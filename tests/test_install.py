"""`init` from every way of installing: a wheel built from a checkout, and an install from a
repository at a commit (PEP 610), each in a fresh venv with no editable install and no dev.py,
on a realistic web-app repository; doctor then passes over what init wrote."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from .testing.webapp import build_webapp

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "setup.py", "README.md", "LICENSE", "CHANGELOG.md", "MANIFEST.in")


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A git checkout of this project's sources (one commit) and that commit."""
    copy = tmp_path_factory.mktemp("checkout") / "terp-actions"
    copy.mkdir()
    for name in SOURCES:
        shutil.copy(ROOT / name, copy / name)
    shutil.copytree(ROOT / "src", copy / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.com"}  # fmt: skip
    for args in (["init", "-q", "-b", "main"], ["add", "--all"], ["commit", "-q", "-m", "terp-actions"]):
        subprocess.run(["git", *args], cwd=copy, check=True, env=env, capture_output=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=copy, capture_output=True, text=True, check=True)
    return copy, head.stdout.strip()


def _fresh_venv(path: Path) -> Path:
    """A venv that sees the test environment's packages (the dependencies) but not this checkout."""
    venv.create(path, with_pip=False)
    python = path / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    (Path(purelib) / "test-environment.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python


def _pip_install(python: Path, *what: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
         "--no-index", "--no-build-isolation", *what],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _init_then_doctor(python: Path, repo: Path) -> dict[str, object]:
    cli = str(python.parent / "terp-actions")
    where = subprocess.run([str(python), "-c", "import terp_actions; print(terp_actions.__file__)"],
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert str(ROOT) not in where, where  # the installed copy, not this checkout
    init = subprocess.run(
        [cli, "init", "--repo", str(repo), "--json"], capture_output=True, text=True, check=False
    )
    assert init.returncode == 0, init.stdout + init.stderr
    doctor = subprocess.run([cli, "doctor", "--repo", str(repo)], capture_output=True, text=True, check=False)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "0 errors" in doctor.stdout
    data: dict[str, object] = json.loads(init.stdout)
    data["stderr"] = init.stderr
    return data


def test_a_wheel_built_from_a_checkout_pins_its_commit(checkout: tuple[Path, str], tmp_path: Path) -> None:
    """A wheel built from a git checkout records the commit; init pins it and says it is no release."""
    folder, head = checkout
    build = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path / "dist")]
    subprocess.run([*build, str(folder)], check=True, capture_output=True)
    [wheel] = (tmp_path / "dist").glob("*.whl")
    python = _fresh_venv(tmp_path / "venv")
    _pip_install(python, str(wheel))
    data = _init_then_doctor(python, build_webapp(tmp_path / "app"))
    assert (data["pin"], data["release"]) == (head, False)
    assert f"the commit this build was made from ({head[:12]})" in str(data["stderr"])


def test_an_install_from_a_repository_at_a_commit_pins_that_commit(
    checkout: tuple[Path, str], tmp_path: Path
) -> None:
    """pip install git+…@<sha> records the commit (PEP 610's direct_url.json); init pins it."""
    folder, head = checkout
    python = _fresh_venv(tmp_path / "venv")
    _pip_install(python, f"git+file://{folder}@{head}")
    data = _init_then_doctor(python, build_webapp(tmp_path / "app"))
    assert (data["pin"], data["release"]) == (head, False)
    assert f"the commit this was installed from ({head[:12]})" in str(data["stderr"])


def test_without_a_recorded_commit_init_names_the_installs_that_work(
    checkout: tuple[Path, str], tmp_path: Path
) -> None:
    """A wheel built from a plain copy (no git) records no commit: init refuses in one line naming
    the installs that work; --ref with a full commit id always works; a tag name is refused (a pin
    must never move)."""
    folder, _ = checkout
    plain = tmp_path / "plain"
    shutil.copytree(folder, plain, ignore=shutil.ignore_patterns(".git"))
    build = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path / "dist")]
    subprocess.run([*build, str(plain)], check=True, capture_output=True)
    [wheel] = (tmp_path / "dist").glob("*.whl")
    python = _fresh_venv(tmp_path / "venv")
    _pip_install(python, str(wheel))
    app = build_webapp(tmp_path / "app")
    run = [str(python.parent / "terp-actions"), "init", "--repo", str(app), "--dry-run"]
    refused = subprocess.run(run, capture_output=True, text=True, check=False)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert (
        "does not record which commit it is" in refused.stderr and "git+https://github.com/" in refused.stderr
    )
    tag = subprocess.run([*run, "--ref", "v0.1.0"], capture_output=True, text=True, check=False)
    assert tag.returncode == 2 and "give the full 40-character commit id" in tag.stderr
    given = subprocess.run([*run, "--ref", "a" * 40, "--json"], capture_output=True, text=True, check=False)
    assert given.returncode == 0, given.stderr
    assert json.loads(given.stdout)["pin"] == "a" * 40
