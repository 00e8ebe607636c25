"""Install benchmark: actions/setup's install with pip vs uv (warm package caches), then start-up.

    .venv/bin/python benchmarks/install.py

Needs the package registry (it installs requirements.lock twice) and, for the uv side, installs uv
into a temporary virtual environment. Prints seconds and the pip/uv ratio; exits 0.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "actions" / "setup" / "install.sh"


def install(runner_temp: Path, path: str) -> float:
    env = {**os.environ, "RUNNER_TEMP": str(runner_temp), "TERP_PYTHON": sys.executable, "PATH": path}
    start = time.perf_counter()
    subprocess.run(["bash", str(SCRIPT)], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def startup(python: Path) -> float:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([str(python), "-m", "terp_actions", "--version"], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="terp-install-") as tmp:
        root = Path(tmp)
        no_uv_path = os.pathsep.join(
            p for p in os.environ["PATH"].split(os.pathsep) if not (Path(p) / "uv").exists()
        )
        install(root / "warm-pip", no_uv_path)  # warms pip's cache
        pip_seconds = install(root / "pip", no_uv_path)
        tools = root / "tools"
        subprocess.run([sys.executable, "-m", "venv", str(tools)], check=True)
        subprocess.run([str(tools / "bin" / "pip"), "install", "--quiet", "uv"], check=True)
        uv_path = f"{tools / 'bin'}{os.pathsep}{no_uv_path}"
        install(root / "warm-uv", uv_path)  # warms uv's cache
        uv_seconds = install(root / "uv", uv_path)
        python = root / "uv" / "terp-actions" / "venv" / "bin" / "python"
        started = startup(python)
        shutil.rmtree(tools, ignore_errors=True)
    ratio = pip_seconds / uv_seconds
    print(f"install with pip: {pip_seconds:.1f} s   with uv: {uv_seconds:.1f} s   pip/uv = {ratio:.1f}")
    print(f"start-up afterwards (terp-actions --version): {started * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
