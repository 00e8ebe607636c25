"""Setup benchmark: actions/setup's own script (uv from its hash-locked file) against plain pip,
cold and warm, side by side in one run.

    .venv/bin/python benchmarks/install.py

cold: empty download caches (a job without actions/cache, such as the ones holding the
DigitalOcean token); warm: the caches a previous job left (what actions/cache restores in the jobs
without the token). Each run builds a fresh virtual environment. Needs the package registry.
Prints seconds and ratios; exits 1 when the script's cold setup takes more than 0.25x plain pip's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "actions" / "setup" / "install.sh"
LOCK = ROOT / "requirements.lock"
GOAL = 0.25


def timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def plain_pip(root: Path, cache: Path) -> float:
    """What the setup did before: a venv and pip, from the same hash-locked file."""
    venv = root / f"pip-venv-{time.monotonic_ns()}"
    env = {**os.environ, "PIP_CACHE_DIR": str(cache)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--require-hashes", "--no-deps", "--only-binary=:all:", "--requirement", str(LOCK)],
        check=True, env=env, capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - start


def action_script(runner_temp: Path) -> float:
    """The action's own script in a job whose RUNNER_TEMP is ``runner_temp``."""
    env = {**os.environ, "RUNNER_TEMP": str(runner_temp), "TERP_PYTHON": sys.executable}
    env.pop("GITHUB_OUTPUT", None)
    return timed(["bash", str(SCRIPT)], env)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="terp-install-") as tmp:
        root = Path(tmp)
        pip_cache = root / "pip-cache"
        pip_cold = plain_pip(root, pip_cache)
        pip_warm = plain_pip(root, pip_cache)
        cold_job = root / "job-cold"
        action_cold = action_script(cold_job)
        warm_job = root / "job-warm"  # a new job: its cache restored, nothing else
        shutil.copytree(cold_job / "terp-actions" / "cache", warm_job / "terp-actions" / "cache")
        action_warm = action_script(warm_job)
    ratio = action_cold / pip_cold
    print(f"{'':22}{'cold':>8}{'warm':>8}")
    print(f"{'plain pip':22}{pip_cold:>7.1f}s{pip_warm:>7.1f}s")
    print(f"{'actions/setup (uv)':22}{action_cold:>7.1f}s{action_warm:>7.1f}s")
    warm_ratio = action_warm / pip_warm
    print(f"setup cold / pip cold = {ratio:.2f} (goal <= {GOAL}); setup warm / pip warm = {warm_ratio:.2f}")
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
