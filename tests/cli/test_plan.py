"""`terp-actions plan`: outputs, JSON, human lines, bad input, redaction."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from terp_actions.sandbox.fake_appplatform import AppPlatformStandIn
from terp_actions.sandbox.history import DemoRepo

from ..conftest import Repo
from .conftest import actions_env, invoke, read_outputs


def heads(history: DemoRepo) -> dict[int, str]:
    return {pr.number: pr.merge_commit for pr in history.pulls}


def test_plan_json_for_a_deployable_range(terp_history: DemoRepo) -> None:
    """``plan --json`` prints the documented document and exits 0."""
    head = heads(terp_history)[103]
    result = invoke(["plan", "--repo", str(terp_history.work), "--head", head, "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["deploy"] is True
    assert data["head"] == head
    assert data["pull-requests"] == [101, 102, 103]
    assert "docs/api/invoices.md" in data["ignored"]


def test_plan_human_output_ends_with_the_verdict(terp_history: DemoRepo) -> None:
    """Human output shows a table of commits and a one-line verdict last."""
    h = heads(terp_history)
    result = invoke(["plan", "--repo", str(terp_history.work), "--base", h[103], "--head", h[105]])
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
    result = invoke(["plan"], env)
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
    result = invoke([*args, "--ignore", "app/**", "--ignore", "**.md"])
    assert json.loads(result.stdout)["deploy"] is False


def test_ignore_from_the_environment_is_one_pattern_per_line(terp_history: DemoRepo) -> None:
    """``TERP_IGNORE`` holds one pattern per line (blank lines skipped), so spaces survive."""
    h = heads(terp_history)
    env = {"TERP_IGNORE": "app/**\n\n**.md\n"}
    result = invoke(["plan", "--repo", str(terp_history.work), "--head", h[103], "--json"], env)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["deploy"] is False


def test_configuration_file_in_the_repository_is_used(repo: Repo) -> None:
    """The repository's .github/terp-actions.yml rules decide."""
    base = repo.commit("init", {"app.py": "a", ".github/terp-actions.yml": "ignore: ['app.py']\n"})
    repo.commit("code", {"app.py": "b"})
    result = invoke(["plan", "--repo", str(repo.path), "--base", base, "--json"])
    assert json.loads(result.stdout)["deploy"] is False


def test_invalid_pattern_exits_2_with_one_line_and_writes_nothing(
    terp_history: DemoRepo, tmp_path: Path
) -> None:
    """A pattern GitHub would refuse: exit 2, one annotated line naming it, nothing written."""
    env = {**actions_env(tmp_path), "TERP_REPO": str(terp_history.work)}
    result = invoke(["plan", "--ignore", "docs/[abc"], env)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(
        "::error title=Invalid ignore pattern::--ignore: invalid pattern 'docs/[abc'"
    )
    assert not (tmp_path / "output").exists() and not (tmp_path / "summary.md").exists()


def test_a_pattern_that_never_matches_is_a_warning_naming_the_fix(
    terp_history: DemoRepo, tmp_path: Path
) -> None:
    """`.vscode/` is accepted, as GitHub accepts it, and matches nothing: one warning annotation
    says so and names the pattern that works; the plan goes on."""
    env = {**actions_env(tmp_path), "TERP_REPO": str(terp_history.work)}
    result = invoke(["plan", "--ignore", ".vscode/", "--ignore", "**.md"], env)
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("::warning")]
    assert len(warnings) == 1 and "'.vscode/' can never match a changed file" in warnings[0]
    assert "'.vscode/**'" in warnings[0]


def test_invalid_configuration_exits_2_naming_file_and_field(repo: Repo) -> None:
    """A broken configuration file: exit 2, each problem on its own line with file and field."""
    repo.commit("init", {".github/terp-actions.yml": "ignore: ['*.md', 'x[a']\ncolour: red\n"})
    result = invoke(["plan", "--repo", str(repo.path)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"terp-actions: error: {repo.path}/.github/terp-actions.yml: colour: unknown key "
        "(expected one of: branches, deploy, environments, github, ignore, promote, secrets, verify)",
        f"terp-actions: error: {repo.path}/.github/terp-actions.yml: ignore[1]: invalid pattern 'x[a': "
        "the '[' at position 2 is never closed with ']'",
    ]


def test_explicit_config_that_does_not_exist_exits_2(repo: Repo, tmp_path: Path) -> None:
    """``--config`` naming a missing file is bad input."""
    repo.commit("init", {"a": "a"})
    result = invoke(["plan", "--repo", str(repo.path), "--config", str(tmp_path / "nope.yml")])
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
    result = invoke(["plan", "--repo", str(repo.path), *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_not_a_repository_exits_2(tmp_path: Path) -> None:
    """Pointing plan at a plain folder is bad input."""
    result = invoke(["plan", "--repo", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a git repository" in result.stderr


def test_missing_default_base_fails_open_with_a_warning(repo: Repo, tmp_path: Path) -> None:
    """Without origin/staging the plan deploys, exits 0, and warns why."""
    repo.commit("init", {"docs/a.md": "a"})
    result = invoke(["plan", "--repo", str(repo.path)], actions_env(tmp_path))
    assert result.exit_code == 0
    assert "::warning title=Plan could not be exact::deploying to be safe: no base" in result.stderr
    assert read_outputs(tmp_path / "output")["deploy"] == "true"


def test_secrets_in_commit_subjects_are_redacted(repo: Repo) -> None:
    """A token that ended up in a commit message never reaches our output."""
    token = "ghp_" + "A1b2C3d4" * 5
    base = repo.commit("init", {"a": "a"})
    repo.commit(f"oops {token}", {"b": "b"})
    for extra in ([], ["--json"]):
        result = invoke(["plan", "--repo", str(repo.path), "--base", base, *extra], {"GITHUB_TOKEN": token})
        assert result.exit_code == 0
        assert token not in result.stdout and "***" in result.stdout


def test_long_ranges_show_the_newest_commits_and_say_how_many_more(repo: Repo) -> None:
    """Human output lists 50 commits and counts the rest; --json lists them all."""
    base = repo.commit("init", {"app.py": "0"})
    for i in range(55):
        repo.commit(f"change {i} (#{i + 1})", {"app.py": str(i)})
    human = invoke(["plan", "--repo", str(repo.path), "--base", base])
    assert "plan " in human.stdout and ": 55 commits, 1 changed file" in human.stdout
    assert "  … 5 more commits (--json lists them all)" in human.stdout
    assert "change 54 (#55)" in human.stdout and "change 4 (#5)" not in human.stdout
    data = json.loads(invoke(["plan", "--repo", str(repo.path), "--base", base, "--json"]).stdout)
    assert len(data["commits"]) == data["commit-count"] == 55
    assert data["pull-requests"] == list(range(1, 56))


def test_a_misspelt_staging_branch_is_bad_input_not_a_full_deploy(terp_history: DemoRepo) -> None:
    """branches.staging naming a branch the remote lacks is one line naming it, exit 2 — not a
    plan that deploys everything because it found no base; doctor warns about it too."""
    config = terp_history.work / ".github" / "terp-actions.yml"
    config.write_text(config.read_text() + "branches: {staging: stagging}\n")
    result = invoke(["plan", "--repo", str(terp_history.work), "--json"])
    assert result.exit_code == 2
    assert "branches.staging: origin/stagging does not exist (the branches of origin here:" in result.stderr
    assert result.stdout == ""
    doctor = invoke(["doctor", "--repo", str(terp_history.work)])
    assert "branches.staging: origin/stagging does not exist" in doctor.stdout


@pytest.mark.parametrize("where", ["/dev/full", "missing-folder/out"], ids=["full-disk", "no-folder"])
def test_an_unwritable_output_or_summary_file_is_one_line(
    terp_history: DemoRepo, tmp_path: Path, where: str
) -> None:
    """GITHUB_OUTPUT that cannot be written: one line naming it, exit 2 (later steps would read
    nothing); GITHUB_STEP_SUMMARY that cannot be written: a warning, the step's result stands."""
    target = where if where.startswith("/") else str(tmp_path / where)
    env = actions_env(tmp_path) | {"GITHUB_OUTPUT": target}
    result = invoke(["plan", "--repo", str(terp_history.work)], env)
    assert result.exit_code == 2, result.stderr
    assert f"GITHUB_OUTPUT {target}: cannot be written" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    summary = actions_env(tmp_path) | {"GITHUB_STEP_SUMMARY": target}
    ok = invoke(["plan", "--repo", str(terp_history.work)], summary)
    assert ok.exit_code == 0 and f"GITHUB_STEP_SUMMARY {target}: cannot be written" in ok.stderr


def test_a_missing_configuration_file_names_it_and_suggests_init(
    terp_history: DemoRepo, tmp_path: Path
) -> None:
    """--config naming no file: one error line with the path, then one indented hint line."""
    missing = tmp_path / "nope.yml"
    result = invoke(["plan", "--repo", str(terp_history.work), "--config", str(missing)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"terp-actions: error: {missing}: no such configuration file",
        "  hint: terp-actions init writes one (or drop --config to use the repository's)",
    ]


def test_plan_env_compares_with_the_commit_the_environment_runs(
    terp_history: DemoRepo, do_stand_in: AppPlatformStandIn
) -> None:
    """--env: the base is the live deployment's commit, not the branch — a docs-only range on top
    of what runs needs no deploy; an app that runs nothing yet falls back to the branch, said so."""
    h = heads(terp_history)
    app = do_stand_in.add_app("terp-staging", "staging", repo=terp_history.origin, timings={})
    do_stand_in.deploy(app).commit = h[103]  # staging runs #103
    config = terp_history.work / ".github" / "terp-actions.yml"
    config.write_text(
        config.read_text() + f"environments:\n  staging: {{app: {app.id}, url: 'https://s.example'}}\n"
    )
    env = {"DIGITALOCEAN_TOKEN": "dop_v1_sandbox", "TERP_DO_ENDPOINT": do_stand_in.url}
    result = invoke(
        ["plan", "--repo", str(terp_history.work), "--env", "staging", "--head", h[105], "--json"], env
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["base"], data["deploy"]) == (h[103], False)
    assert f"base: {h[103][:12]}, the commit staging runs now" in result.stderr
    app.deployments.clear()
    fresh = invoke(
        ["plan", "--repo", str(terp_history.work), "--env", "staging", "--head", h[105], "--json"], env
    )
    assert fresh.exit_code == 0 and "staging runs nothing of this repository yet" in fresh.stderr
