"""The command group: start-up cost, exit codes and the error line every command shares."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from terp_actions.cli.session import Session
from terp_actions.errors import TerpError
from terp_actions.flows import (
    DeployOutcome,
    Outcome,
    PlanOutcome,
    PromoteOutcome,
    ReportOutcome,
    RollbackOutcome,
    SyncOutcome,
    VerifyOutcome,
)
from terp_actions.gha import output_text
from terp_actions.plan import Plan
from terp_actions.sync import SyncResult, SyncStatus
from terp_actions.verify import Verdict

from ..test_actions import ROOT
from ..test_spec import CANARY
from .conftest import actions_env, invoke


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


def test_a_usage_error_is_one_line_and_exit_2() -> None:
    """A missing required option is one `terp-actions: error:` line naming it, exit 2."""
    result = invoke(["deploy"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "terp-actions: error: terp-actions deploy: Missing option '--env'."
    ], result.stderr


def test_an_unknown_command_is_one_line_and_exit_2() -> None:
    """A command that does not exist is one line naming it."""
    result = invoke(["deplyo"])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and "No such command 'deplyo'" in result.stderr


def _spec_with_a_filled_name(tmp_path: Path) -> Path:
    """A repository whose staging spec takes its name from ${TEAM_SUFFIX}: a filled value, so a
    secret from then on (its variable name alone would not make it one)."""
    repo = tmp_path / "repo"
    (repo / ".github").mkdir(parents=True)
    (repo / ".github" / "terp-actions.yml").write_text(
        "environments:\n  staging: {app: terp-staging, url: 'https://staging.example', spec: .do/app.yaml}\n"
    )
    (repo / ".do").mkdir()
    (repo / ".do" / "app.yaml").write_text(
        "name: terp-${TEAM_SUFFIX}\nservices:\n  - name: web\n"
        "    github: {repo: terp/terp, branch: staging, deploy_on_push: false}\n"
    )
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "--allow-empty", "-m", "init"], check=True)
    return repo


@pytest.mark.parametrize(
    "args",
    [
        ["spec", "validate", "--env", "staging"],
        ["deploy", "--env", "staging", "--apply-spec", "--sha", "HEAD"],
    ],
    ids=["spec-validate", "deploy"],
)
@pytest.mark.parametrize("in_actions", [False, True], ids=["terminal", "actions"])
def test_a_value_registered_during_a_command_is_hidden_in_its_error_line(
    tmp_path: Path, args: list[str], in_actions: bool
) -> None:
    """The error line goes through the run's one redactor: a spec value filled (and so registered
    as a secret) before the check that fails never shows, in a terminal or as an annotation."""
    repo = _spec_with_a_filled_name(tmp_path)
    env = {"TERP_REPO": str(repo), "TEAM_SUFFIX": CANARY, "DIGITALOCEAN_TOKEN": "dop_v1_" + "0" * 64}
    if in_actions:
        env |= actions_env(tmp_path)
    result = invoke(args, env)
    assert result.exit_code == 2
    # The check names the field and the value it refused (not a valid app name), the value hidden.
    assert "app.yaml: name: 'terp-***' is not a valid app name" in result.stderr, result.stderr
    # Only the runner's own mask command carries the value (the runner reads it; no log shows it).
    shown = [
        line for line in (result.stdout + result.stderr).splitlines() if not line.startswith("::add-mask::")
    ]
    assert not [line for line in shown if CANARY in line]
    assert result.stderr.startswith("::error" if in_actions else "terp-actions: error:")


def test_the_git_auth_header_registered_by_a_command_is_hidden_from_its_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Opening a repository for pushing registers the encoded auth header; the error path (the
    session's report_error, which the command group calls) hides it, raw and in its encoded form."""
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(
        ["git", "-C", str(repo), "remote", "add", "origin", "https://github.example/terp/terp.git"],
        check=True,
    )
    token = "ghs_" + "Zq7" * 12
    session = Session({"GITHUB_TOKEN": token, "GITHUB_SERVER_URL": "https://github.example"})
    git = session.git(repo, remote="origin")
    header = next(v for v in git.env.values() if v.startswith("AUTHORIZATION: basic "))
    encoded = header.removeprefix("AUTHORIZATION: basic ")
    assert encoded == base64.b64encode(f"x-access-token:{token}".encode()).decode()
    session.report_error(TerpError(f"git push failed: http.extraheader={header} (token {token})"))
    err = capsys.readouterr().err
    assert err.startswith("terp-actions: error: git push failed")
    assert encoded not in err and token not in err


def _samples() -> dict[str, Outcome]:
    """One outcome of each flow an action runs, as small as it can be."""
    sync = SyncResult(SyncStatus.MERGE, "main", "staging", "a" * 40, "b" * 40, 1, (7,), ("Fix (#7)",))
    return {
        "sync": SyncOutcome(sync, {7: "c" * 40}),
        "plan": PlanOutcome(Plan(True, "deploy: 1 of 1 changed file is not ignored", "a" * 40, "b" * 40)),
        "deploy": DeployOutcome("staging", "b" * 40, "https://staging.example"),
        "verify": VerifyOutcome("staging", Verdict(()), [12.0, 30.0]),
        "report": ReportOutcome(),
        "promote": PromoteOutcome(sha="b" * 40, previous="a" * 40),
        "rollback": RollbackOutcome("d" * 36),
    }


@pytest.mark.parametrize("action", ["sync", "plan", "deploy", "verify", "report", "promote", "rollback"])
def test_json_keys_are_the_action_outputs_with_real_types(action: str) -> None:
    """A command's ``--json`` keys hold every output of its action, under the same name, as JSON
    values (numbers, booleans, lists, null), and the outputs are their text forms."""
    declared = yaml.safe_load((ROOT / "actions" / action / "action.yml").read_text())["outputs"]
    outcome = _samples()[action]
    assert set(outcome.OUTPUTS) == set(declared)
    data = json.loads(json.dumps(outcome.data()))
    assert set(declared) <= set(data)
    assert all(key == key.lower() and "_" not in key for key in data), "kebab-case keys only"
    assert outcome.outputs() == {name: output_text(data[name]) for name in declared}


def test_json_values_have_their_types() -> None:
    """Counts are numbers, switches booleans, lists arrays, and what does not apply is null."""
    samples = _samples()
    sync = samples["sync"].data()
    assert sync["merged-commits"] == 1 and sync["pushed"] is False and sync["pull-requests"] == [7]
    assert sync["merge-commits"] == {"7": "c" * 40} and sync["sync-pr"] is None
    deploy = samples["deploy"].data()
    assert deploy["attempts"] == 0 and deploy["adopted"] is False and deploy["deployment-id"] is None
    assert samples["verify"].data()["health-p95-ms"] == 30  # nearest rank
    assert samples["report"].data()["github-deployment-id"] is None


def test_a_huge_value_echoed_in_an_error_is_cut_to_a_readable_length(tmp_path: Path) -> None:
    """A 100 KB branch name in an error line: one line, cut to its start and its length."""
    repo = tmp_path / "r"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "--allow-empty", "-m", "first"], check=True)
    result = invoke(["plan", "--repo", str(repo), "--base", "b" * 100_000], {})
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert len(line) < 400 and "…(100002 characters)" in line  # the value with its quotes
