#!/usr/bin/env python3
"""Bootstrap for people and CI: make .venv when needed, then run the demo, the tests or the CLI.

Usage:
    python3 dev.py demo            # the main job on the built-in sandbox
    python3 dev.py test [ARGS...]  # the whole test suite (pytest arguments pass through)
    python3 dev.py bench           # the benchmarks, printing their ratios
    python3 dev.py cli ARGS...     # any terp-actions command

Only the standard library is used here, so it runs on a fresh machine with Python 3.11+ and git.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
MARKER = VENV / ".terp-actions-installed"


def _fingerprint() -> str:
    """What the installed environment depends on: the project metadata and the interpreter."""
    data = (ROOT / "pyproject.toml").read_bytes() + sys.version.encode()
    return hashlib.sha256(data).hexdigest()


def ensure_venv() -> None:
    """Create .venv and install the project with its dev extras, unless it is already current."""
    if sys.version_info < (3, 11):
        sys.exit(f"dev.py: Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    want = _fingerprint()
    if MARKER.exists() and MARKER.read_text().strip() == want and PY.exists():
        return
    print("dev.py: preparing .venv (first run only; about a minute)", file=sys.stderr)
    if not PY.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    pip = [str(PY), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "install", "--editable", f"{ROOT}[dev]"], check=True)
    MARKER.write_text(want + "\n")


def main(argv: list[str]) -> int:
    """Dispatch one of the four verbs."""
    if not argv or argv[0] not in {"demo", "test", "bench", "cli"}:
        print(__doc__, file=sys.stderr)
        return 2
    ensure_venv()
    verb, rest = argv[0], argv[1:]
    if verb == "demo":
        cmd = [str(PY), "-m", "terp_actions", "demo", *rest]
    elif verb == "test":
        cmd = [str(PY), "-m", "pytest", *rest]
    elif verb == "bench":
        cmd = [str(PY), str(ROOT / "benchmarks" / "run.py"), *rest]
    else:
        cmd = [str(PY), "-m", "terp_actions", *rest]
    # The CLI runs where the caller stands: its relative paths and the default --repo . are theirs.
    where = Path.cwd() if verb == "cli" else ROOT
    return subprocess.run(cmd, cwd=where, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
