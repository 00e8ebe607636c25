"""`terp-actions check-ignore`: which rule decides each path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import invoke


def test_check_ignore_says_which_pattern_decided() -> None:
    """Human output: ignored or deploys, with the deciding pattern."""
    result = invoke(["check-ignore", "docs/a.txt", "README.md", "app/x.py", "--ignore", "docs/**",
                  "--ignore", "*.md", "--ignore", "!README.md"])  # fmt: skip
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "ignored  docs/a.txt  (matched docs/**)",
        "deploys  README.md   (re-included by !README.md)",
        "deploys  app/x.py    (no rule matches)",
    ]


def test_check_ignore_json_and_defaults(tmp_path: Path) -> None:
    """``--json`` gives path/ignored/pattern; with no configuration the TERP defaults apply."""
    result = invoke(
        [
            "check-ignore",
            "--repo",
            str(tmp_path),
            "--json",
            "app/README.md",
            "./.vscode/settings.json",
            "src/a.py",
        ]
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [
        {"path": "app/README.md", "ignored": True, "pattern": "**.md"},
        {"path": ".vscode/settings.json", "ignored": True, "pattern": ".vscode/**"},
        {"path": "src/a.py", "ignored": False, "pattern": None},
    ]


def test_check_ignore_reads_paths_from_stdin() -> None:
    """``--stdin`` takes one path per line."""
    result = invoke(["check-ignore", "--stdin", "--json", "--ignore", "**.md"], stdin="a.md\nb.py\n")
    assert [d["ignored"] for d in json.loads(result.stdout)] == [True, False]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--ignore", "[abc", "x"], "invalid pattern '[abc'", id="bad-pattern"),
        pytest.param(["/etc/passwd"], "is absolute", id="absolute-path"),
        pytest.param([], "give at least one PATH", id="no-paths"),
    ],
)
def test_check_ignore_bad_input_exits_2(args: list[str], message: str, tmp_path: Path) -> None:
    """Invalid patterns or paths: exit 2 and a clear line."""
    result = invoke(["check-ignore", "--repo", str(tmp_path), *args])
    assert result.exit_code == 2
    assert message in result.stderr
