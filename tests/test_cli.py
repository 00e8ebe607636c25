"""The CLI as people and Actions use it: exit codes, annotations, outputs, summaries, secrets."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from terp_actions.cli import cli
from terp_actions.sandbox.history import DemoRepo

from .conftest import Repo


def run(args: list[str], env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, args, env=env or {}, input=stdin, catch_exceptions=False)


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
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
    }


def heads(history: DemoRepo) -> dict[int, str]:
    return {pr.number: pr.merge_commit for pr in history.pulls}


def test_plan_json_for_a_deployable_range(terp_history: DemoRepo) -> None:
    """``plan --json`` prints the documented document and exits 0."""
    head = heads(terp_history)[103]
    result = run(["plan", "--repo", str(terp_history.work), "--head", head, "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["deploy"] is True
    assert data["head"] == head
    assert data["pull-requests"] == [101, 102, 103]
    assert "docs/api/invoices.md" in data["ignored"]


def test_plan_human_output_ends_with_the_verdict(terp_history: DemoRepo) -> None:
    """Human output shows a table of commits and a one-line verdict last."""
    h = heads(terp_history)
    result = run(["plan", "--repo", str(terp_history.work), "--base", h[103], "--head", h[105]])
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert lines[-1].startswith("SKIP    no deploy needed (all 6 files match ignore rules")
    assert any("Tighten CI and editor settings (#104)" in line for line in lines)


def test_plan_in_actions_writes_outputs_and_summary(terp_history: DemoRepo, tmp_path: Path) -> None:
    """In Actions, outputs go to $GITHUB_OUTPUT (heredocs) and a summary to the step summary."""
    h = heads(terp_history)
    env = {
        **actions_env(tmp_path),
        "TERP_REPO": str(terp_history.work),
        "TERP_BASE": h[103],
        "TERP_HEAD": h[105],
    }
    result = run(["plan"], env)
    assert result.exit_code == 0
    outputs = read_outputs(tmp_path / "output")
    assert outputs["deploy"] == "false"
    assert outputs["base"] == h[103] and outputs["head"] == h[105]
    assert outputs["deployable-count"] == "0"
    assert json.loads(outputs["pull-requests"]) == [104, 105]
    assert re.search(r"^deploy<<ghadelimiter_[0-9a-f]{32}$", (tmp_path / "output").read_text(), re.M)
    summary = (tmp_path / "summary.md").read_text()
    assert "No deploy needed" in summary and "Tighten CI and editor settings (#104)" in summary
    assert "::stop-commands::" in result.stdout


def test_ignore_option_replaces_the_configured_rules(terp_history: DemoRepo) -> None:
    """``--ignore`` (repeatable) replaces the list: ignoring app/** turns the code batch into a skip."""
    h = heads(terp_history)
    args = ["plan", "--repo", str(terp_history.work), "--head", h[103], "--json"]
    result = run([*args, "--ignore", "app/**", "--ignore", "**.md"])
    assert json.loads(result.stdout)["deploy"] is False


def test_ignore_from_the_environment_is_one_pattern_per_line(terp_history: DemoRepo) -> None:
    """``TERP_IGNORE`` holds one pattern per line (blank lines skipped), so spaces survive."""
    h = heads(terp_history)
    env = {"TERP_IGNORE": "app/**\n\n**.md\n"}
    result = run(["plan", "--repo", str(terp_history.work), "--head", h[103], "--json"], env)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["deploy"] is False


def test_configuration_file_in_the_repository_is_used(repo: Repo) -> None:
    """The repository's .github/terp-actions.yml rules decide."""
    base = repo.commit("init", {"app.py": "a", ".github/terp-actions.yml": "ignore: ['app.py']\n"})
    repo.commit("code", {"app.py": "b"})
    result = run(["plan", "--repo", str(repo.path), "--base", base, "--json"])
    assert json.loads(result.stdout)["deploy"] is False


def test_invalid_pattern_exits_2_with_one_line_and_writes_nothing(
    terp_history: DemoRepo, tmp_path: Path
) -> None:
    """A bad pattern: exit 2, one annotated line naming it, no outputs or summary written."""
    env = {**actions_env(tmp_path), "TERP_REPO": str(terp_history.work)}
    result = run(["plan", "--ignore", ".vscode/"], env)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(
        "::error title=Invalid ignore pattern::--ignore: invalid pattern '.vscode/'"
    )
    assert not (tmp_path / "output").exists() and not (tmp_path / "summary.md").exists()


def test_invalid_configuration_exits_2_naming_file_and_field(repo: Repo) -> None:
    """A broken configuration file: exit 2, each problem on its own line with file and field."""
    repo.commit("init", {".github/terp-actions.yml": "ignore: ['*.md', '/x']\ncolour: red\n"})
    result = run(["plan", "--repo", str(repo.path)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"terp-actions: error: {repo.path}/.github/terp-actions.yml: colour: unknown key "
        "(expected one of: branches, deploy, environments, ignore, promote, verify)",
        f"terp-actions: error: {repo.path}/.github/terp-actions.yml: ignore[1]: invalid pattern '/x': "
        "paths are relative to the repository root and never start with '/'",
    ]


def test_explicit_config_that_does_not_exist_exits_2(repo: Repo, tmp_path: Path) -> None:
    """``--config`` naming a missing file is bad input."""
    repo.commit("init", {"a": "a"})
    result = run(["plan", "--repo", str(repo.path), "--config", str(tmp_path / "nope.yml")])
    assert result.exit_code == 2
    assert "nope.yml: no such configuration file" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--head", "nope"], "head 'nope' does not name a commit", id="unknown-head"),
        pytest.param(["--base", "--upload-pack=x"], "not a valid git revision", id="option-injection"),
        pytest.param(["--base", "stagign"], "base 'stagign' does not name a commit", id="unknown-base"),
    ],
)
def test_bad_refs_exit_2(repo: Repo, args: list[str], message: str) -> None:
    """Unknown or malformed revisions: exit 2 with one line naming them."""
    repo.commit("init", {"a": "a"})
    result = run(["plan", "--repo", str(repo.path), *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_not_a_repository_exits_2(tmp_path: Path) -> None:
    """Pointing plan at a plain folder is bad input."""
    result = run(["plan", "--repo", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a git repository" in result.stderr


def test_missing_default_base_fails_open_with_a_warning(repo: Repo, tmp_path: Path) -> None:
    """Without origin/staging the plan deploys, exits 0, and warns why."""
    repo.commit("init", {"docs/a.md": "a"})
    result = run(["plan", "--repo", str(repo.path)], actions_env(tmp_path))
    assert result.exit_code == 0
    assert "::warning title=Plan could not be exact::deploying to be safe: no base" in result.stderr
    assert read_outputs(tmp_path / "output")["deploy"] == "true"


def test_secrets_in_commit_subjects_are_redacted(repo: Repo) -> None:
    """A token that ended up in a commit message never reaches our output."""
    token = "ghp_" + "A1b2C3d4" * 5
    base = repo.commit("init", {"a": "a"})
    repo.commit(f"oops {token}", {"b": "b"})
    for extra in ([], ["--json"]):
        result = run(["plan", "--repo", str(repo.path), "--base", base, *extra], {"GITHUB_TOKEN": token})
        assert result.exit_code == 0
        assert token not in result.stdout and "***" in result.stdout


def test_check_ignore_says_which_pattern_decided() -> None:
    """Human output: ignored or deploys, with the deciding pattern."""
    result = run(["check-ignore", "docs/a.txt", "README.md", "app/x.py", "--ignore", "docs/**",
                  "--ignore", "*.md", "--ignore", "!README.md"])  # fmt: skip
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "ignored  docs/a.txt  (matched docs/**)",
        "deploys  README.md   (re-included by !README.md)",
        "deploys  app/x.py    (no rule matches)",
    ]


def test_check_ignore_json_and_defaults(tmp_path: Path) -> None:
    """``--json`` gives path/ignored/pattern; with no configuration the TERP defaults apply."""
    result = run(
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
    result = run(["check-ignore", "--stdin", "--json", "--ignore", "**.md"], stdin="a.md\nb.py\n")
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
    result = run(["check-ignore", "--repo", str(tmp_path), *args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_demo_shows_every_path_on_the_pull_requests() -> None:
    """The demo runs the seven paths through the flows and each shows on the pull requests."""
    result = run(["demo"])
    assert result.exit_code == 0, result.stderr
    out, comments = result.stdout.split("What each pull request shows")
    # A code merge deploys; a docs-only merge skips; a staging hotfix is kept by a merge.
    assert "DEPLOY  deploy: 2 of 4 changed files are not ignored" in out
    assert "SKIP    no deploy needed (all 6 files match ignore rules" in out
    assert "sync FAST-FORWARD  staging fast-forwarded to main" in out
    assert out.count("sync MERGE  merged main into staging") == 4
    # A transient registry failure is healed by a retry, with its fingerprint on the comment.
    assert "healed on 2 attempts: transient failure retried (error: failed to push image" in comments
    # The staging spec change is applied, its filled secret hidden.
    assert "sandbox-session-secret" not in result.stdout and "value: '***'" in out
    assert "app spec applied: services.web.envs" in comments
    # A conflict pushes nothing and opens the main → staging pull request.
    assert "sync CONFLICT" in out and "nothing pushed" in out
    assert "| synced | ❌ failure |" in comments and "opened pull request #" in comments
    # Staging runs and the first promotion verify; the second promotion fails and is rolled back.
    assert out.count("PASS  health") == 5 and out.count("FAIL  health") == 1
    assert "PROMOTED  production runs" in out and "rollback committed" in out
    assert "| promoted | ✅ success |" in comments and "| promoted | ❌ failure |" in comments
    assert "Rolled back: production runs" in comments.split("### terp-actions: #107")[1]
    # Every comment has its merge commit in the merged row.
    assert comments.count("### terp-actions: #") == 9
    assert comments.count("| merged | ✅ success |") == 9 and "| merged | ⏳ pending |" not in comments


def test_demo_keep_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    """``demo --keep`` into a folder with files in it is refused, touching nothing."""
    (tmp_path / "precious.txt").write_text("keep me")
    result = run(["demo", "--keep", str(tmp_path)])
    assert result.exit_code == 2
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_demo_keep_leaves_a_usable_repository(tmp_path: Path) -> None:
    """``demo --keep DIR`` leaves the repository for the person to explore with plan."""
    keep = tmp_path / "demo"
    assert run(["demo", "--keep", str(keep)]).exit_code == 0
    result = run(["plan", "--repo", str(keep / "work"), "--base", "HEAD~1", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["deploy"] is True


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


def test_long_ranges_show_the_newest_commits_and_say_how_many_more(repo: Repo) -> None:
    """Human output lists 50 commits and counts the rest; --json lists them all."""
    base = repo.commit("init", {"app.py": "0"})
    for i in range(55):
        repo.commit(f"change {i} (#{i + 1})", {"app.py": str(i)})
    human = run(["plan", "--repo", str(repo.path), "--base", base])
    assert "plan " in human.stdout and ": 55 commits, 1 changed file" in human.stdout
    assert "  … 5 more commits (--json lists them all)" in human.stdout
    assert "change 54 (#55)" in human.stdout and "change 4 (#5)" not in human.stdout
    data = json.loads(run(["plan", "--repo", str(repo.path), "--base", base, "--json"]).stdout)
    assert len(data["commits"]) == data["commit-count"] == 55
    assert data["pull-requests"] == list(range(1, 56))
