"""The one CLI harness: run a command as a person or a runner would, and read what it left."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from click.testing import CliRunner, Result

from terp_actions.cli import cli


def invoke(args: list[str], env: Mapping[str, str] | None = None, stdin: str | None = None) -> Result:
    """Run ``terp-actions ARGS`` with exactly ``env`` added to the (hermetic) environment."""
    return CliRunner().invoke(
        cli, args, env=dict(env or {}), input=stdin, catch_exceptions=False, prog_name="terp-actions"
    )


def read_outputs(path: Path) -> dict[str, str]:
    """Parse a $GITHUB_OUTPUT file the way the runner does (heredoc form)."""
    outputs: dict[str, str] = {}
    lines = path.read_text().split("\n")
    i = 0
    while i < len(lines) and lines[i]:
        name, delimiter = lines[i].split("<<", 1)
        end = lines.index(delimiter, i + 1)
        outputs[name] = "\n".join(lines[i + 1 : end])
        i = end + 1
    return outputs


def actions_env(tmp_path: Path) -> dict[str, str]:
    """What the runner sets for a step: Actions mode, the outputs file and the job summary."""
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
    }
