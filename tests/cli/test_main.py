"""The command group: start-up cost, exit codes and the error line every command shares."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("args", [["--help"], ["check-ignore", "--ignore", "a", "a"], ["plan", "--help"]])
def test_light_commands_do_not_import_the_api_clients(args: list[str]) -> None:
    """``--help``, ``check-ignore`` and ``plan`` never load pydo, PyGithub or httpx."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "terp_actions", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    imported = {
        line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")
    }
    assert "click" in imported
    assert not {m for m in imported if m.split(".")[0] in {"pydo", "github", "httpx"}}
