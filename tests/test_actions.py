"""The composite actions and workflows: static safety rules, scanners, and the wiring to the CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from terp_actions.sandbox.history import DemoRepo

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ACTIONS = sorted((ROOT / "actions").glob("*/action.yml"))
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
_SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def steps_of(path: Path) -> list[dict[str, Any]]:
    data = load(path)
    if "runs" in data:
        return list(data["runs"].get("steps", []))
    return [step for job in data["jobs"].values() for step in job.get("steps", [])]


TOKEN_INPUTS = {"github-token": "GITHUB_TOKEN", "digitalocean-token": "DIGITALOCEAN_TOKEN"}


def env_name(input_name: str) -> str:
    """The variable an input reaches the CLI as: tokens keep their usual names, the rest TERP_*."""
    return TOKEN_INPUTS.get(input_name) or "TERP_" + input_name.upper().replace("-", "_")


def test_there_are_actions_and_workflows() -> None:
    """The checks below have something to check."""
    assert {p.parent.name for p in ACTIONS} >= {"setup", "plan", "sync"}
    assert WORKFLOWS


@pytest.mark.parametrize("path", ACTIONS + WORKFLOWS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_expressions_inside_run_scripts(path: Path) -> None:
    """``run:`` bodies never contain ``${{ }}``: inputs reach scripts through ``env:`` only."""
    runs = [step for step in steps_of(path) if "run" in step]
    assert runs or path in WORKFLOWS, "an action without a run step checks nothing"
    for step in runs:
        assert "${{" not in step.get("run", ""), step.get("name")


@pytest.mark.parametrize("path", ACTIONS + WORKFLOWS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_uses_is_pinned_to_a_full_sha_with_its_version(path: Path) -> None:
    """Third-party actions are pinned by full commit SHA, with the version in a comment."""
    text = path.read_text()
    third_party = [
        str(step["uses"])
        for step in steps_of(path)
        if "uses" in step and not str(step["uses"]).startswith(("./", "$/"))
    ]
    assert third_party, f"{path.name}: no third-party action to check"
    for uses in third_party:
        assert _SHA_PIN.match(uses), uses
        assert re.search(re.escape(uses) + r" # v\d+(\.\d+)*\s*$", text, re.M), (
            f"{uses} lacks a version comment"
        )


@pytest.mark.parametrize("path", ACTIONS, ids=lambda p: p.parent.name)
def test_action_inputs_are_documented_and_passed_on(path: Path) -> None:
    """Inputs are kebab-case with a description and a string default, and each reaches a step."""
    action = load(path)
    steps = action["runs"]["steps"]
    text = yaml.safe_dump(steps)
    assert action.get("inputs"), "every action takes at least python-version"
    for name, spec in action.get("inputs", {}).items():
        assert re.fullmatch(r"[a-z][a-z0-9-]*", name), name
        assert spec.get("description"), name
        assert isinstance(spec.get("default", ""), str), name
        if name.endswith("token"):
            assert "${{" not in spec.get("default", "") or spec["default"] == "${{ github.token }}", name
        assert f"inputs.{name} " in text.replace("}}", " }}"), f"input {name} is never used"
    last_env = steps[-1].get("env", {})
    for name in action.get("inputs", {}):
        if name in ("python-version", "cache"):
            continue  # setup-python's `with:` and the cache steps' `if:`, not our CLI
        assert last_env.get(env_name(name)) == f"${{{{ inputs.{name} }}}}", name


@pytest.mark.parametrize("path", ACTIONS, ids=lambda p: p.parent.name)
def test_action_outputs_map_to_real_steps(path: Path) -> None:
    """Every output has a description and reads an output of a step that exists."""
    action = load(path)
    ids = {step.get("id") for step in action["runs"]["steps"]}
    assert action.get("outputs"), "every action says what it found"
    for name, spec in action.get("outputs", {}).items():
        assert re.fullmatch(r"[a-z][a-z0-9-]*", name) and spec.get("description"), name
        found = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}", spec["value"])
        assert found and found[1] in ids, spec["value"]


@pytest.mark.parametrize("path", ACTIONS, ids=lambda p: p.parent.name)
def test_action_readme_lists_every_input_and_output(path: Path) -> None:
    """Each action's README documents all of its inputs and outputs."""
    action = load(path)
    readme = (path.parent / "README.md").read_text()
    names = [*action.get("inputs", {}), *action.get("outputs", {})]
    assert names
    for name in names:
        assert f"| `{name}` |" in readme, name


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_declare_least_privilege_and_concurrency(path: Path) -> None:
    """Workflows start from no permissions, grant per job with a reason, and set concurrency."""
    workflow = load(path)
    text = path.read_text()
    assert workflow.get("permissions") == {}
    assert "concurrency" in workflow
    triggers = workflow.get(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as True
    assert "pull_request_target" not in triggers and "workflow_run" not in triggers
    assert workflow["jobs"]
    for job in workflow["jobs"].values():
        for scope in job.get("permissions", {}):
            assert re.search(rf"^\s+{scope}: \w+ # .+$", text, re.M), f"{scope} grant lacks a reason"
        for step in job.get("steps", []):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False


def test_zizmor_reports_nothing() -> None:
    """zizmor (offline, pedantic, strict collection) finds nothing in actions and workflows."""
    proc = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--strict-collection", "--persona=pedantic", "--format=json",
         "actions/", ".github/workflows/"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout) == []


@pytest.mark.parametrize(
    ("schema", "paths"),
    [("vendor.github-actions", ACTIONS), ("vendor.github-workflows", WORKFLOWS)],
    ids=["actions", "workflows"],
)
def test_github_json_schemas_accept_the_files(schema: str, paths: list[Path]) -> None:
    """The GitHub action and workflow JSON schemas (check-jsonschema's built-ins) accept every file."""
    proc = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", schema, *map(str, paths)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_lock_file_pins_every_runtime_dependency_with_hashes() -> None:
    """requirements.lock pins each runtime dependency of pyproject.toml, every pin hashed."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=!~ \[]", d, maxsplit=1)[0].lower() for d in deps}
    lock = (ROOT / "requirements.lock").read_text()
    pins = dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==(\S+) \\$", lock, re.M))
    assert names <= set(pins), names - set(pins)
    blocks = re.split(r"^(?=[a-z0-9])", lock, flags=re.M)
    assert all("--hash=sha256:" in b for b in blocks if "==" in b)


def test_plan_action_step_runs_the_cli_with_its_inputs(terp_history: DemoRepo, tmp_path: Path) -> None:
    """The plan action's last step, given its inputs as the runner would, plans and sets outputs."""
    action = load(ROOT / "actions" / "plan" / "action.yml")
    step = action["runs"]["steps"][-1]
    head = {pr.number: pr.merge_commit for pr in terp_history.pulls}
    inputs = {name: spec.get("default", "") for name, spec in action["inputs"].items()}
    inputs.update({"repo": str(terp_history.work), "base": head[103], "head": head[105]})
    values = {"steps.install.outputs.python": sys.executable} | {f"inputs.{k}": v for k, v in inputs.items()}
    env = {key: _EXPR.sub(lambda m: values[m[1]], value) for key, value in step["env"].items()}
    output = tmp_path / "output"
    proc = subprocess.run(
        ["bash", "-c", step["run"]],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "GITHUB_ACTIONS": "true",
             "GITHUB_OUTPUT": str(output), **env},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    text = output.read_text()
    declared = set(action["outputs"])
    written = set(re.findall(r"^([a-z-]+)<<ghadelimiter_", text, re.M))
    assert declared <= written
    assert re.search(r"^deploy<<(\S+)\nfalse\n\1$", text, re.M)


def test_sync_action_step_runs_the_cli_with_its_inputs(tmp_path: Path) -> None:
    """The sync action's last step, with default inputs and dry-run 'true', decides without pushing."""
    action = load(ROOT / "actions" / "sync" / "action.yml")
    step = action["runs"]["steps"][-1]
    origin = tmp_path / "origin.git"
    work = tmp_path / "work"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    subprocess.run(["git", "clone", "-q", str(origin), str(work)], check=True, capture_output=True)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "init"], cwd=work, check=True)
    subprocess.run(["git", "push", "-q", "origin", "HEAD:main", "HEAD:staging"], cwd=work, check=True)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "Feature (#5)"], cwd=work, check=True)
    subprocess.run(["git", "push", "-q", "origin", "HEAD:main"], cwd=work, check=True)
    inputs = {name: spec.get("default", "") for name, spec in action["inputs"].items()}
    inputs.update({"repo": str(work), "dry-run": "true", "github-token": ""})
    values = {"steps.install.outputs.python": sys.executable} | {f"inputs.{k}": v for k, v in inputs.items()}
    env = {key: _EXPR.sub(lambda m: values[m[1]], value) for key, value in step["env"].items()}
    output = tmp_path / "output"
    base_env = {k: v for k, v in os.environ.items() if k.startswith("GIT_") or k in ("HOME", "PATH")}
    proc = subprocess.run(
        ["bash", "-c", step["run"]],
        env={**base_env, "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(output), **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    text = output.read_text()
    assert set(action["outputs"]) <= set(re.findall(r"^([a-z-]+)<<ghadelimiter_", text, re.M))
    assert re.search(r"^status<<(\S+)\nfast-forward\n\1$", text, re.M)
    assert re.search(r"^pushed<<(\S+)\nfalse\n\1$", text, re.M)


def test_staging_workflow_uses_only_actions_that_exist() -> None:
    """Every self-repository action the staging workflow uses is in this repository."""
    own = [str(s["uses"]) for s in steps_of(ROOT / ".github" / "workflows" / "staging.yml")
           if str(s.get("uses", "")).startswith("$/")]  # fmt: skip
    assert len(own) >= 5
    for uses in own:
        assert (ROOT / uses[2:] / "action.yml").exists(), uses


def test_staging_workflow_keeps_the_token_in_the_deploy_job() -> None:
    """Only the job that deploys sees the DigitalOcean secret; it queues per environment."""
    workflow = load(ROOT / ".github" / "workflows" / "staging.yml")
    holders = [name for name, job in workflow["jobs"].items() if "DIGITALOCEAN_TOKEN" in yaml.safe_dump(job)]
    assert holders == ["deploy"]
    deploy = workflow["jobs"]["deploy"]
    assert deploy["environment"] == "staging" and deploy["concurrency"]["cancel-in-progress"] is False
    assert set(deploy["permissions"]) == {"contents", "deployments"}


def test_lock_file_satisfies_the_lower_bounds_of_pyproject() -> None:
    """Each pinned runtime dependency satisfies pyproject's bound: a stale lock fails here."""
    from packaging.requirements import Requirement  # noqa: PLC0415 - pytest's own dependency

    lock = (ROOT / "requirements.lock").read_text()
    pins = {
        name.lower(): version
        for name, version in re.findall(r"^([a-z0-9][a-z0-9._-]*)==(\S+) \\$", lock, re.M)
    }
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert dependencies and pins
    for line in dependencies:
        requirement = Requirement(line)
        assert requirement.specifier.contains(pins[requirement.name.lower()]), (
            line,
            pins[requirement.name.lower()],
        )


def test_install_script_uses_the_locks_with_hashes_only() -> None:
    """uv comes from its hash-locked file (pip checks the hashes) and installs the dependencies
    from requirements.lock, hashes required, wheels only; no uv found on PATH is trusted."""
    script = (ROOT / "actions" / "setup" / "install.sh").read_text()
    installs = [ln for ln in script.splitlines() if "pip install" in ln]
    assert len(installs) == 2 and script.count("--require-hashes") == 2
    assert script.count("--only-binary=:all:") == 2 and "command -v uv" not in script
    assert '--requirement "$uv_lock"' in script and '--requirement "$lock"' in script
    uv_lock = (ROOT / "actions" / "setup" / "uv.lock").read_text()
    pins = re.findall(r"^([a-z0-9-]+)==(\S+) \\$", uv_lock, re.MULTILINE)
    assert pins and pins[0][0] == "uv" and uv_lock.count("--hash=sha256:") >= 10  # every platform's wheel


def test_only_jobs_without_the_digitalocean_token_restore_a_cache() -> None:
    """A poisoned cache must never run next to the token: the actions that take it have no
    actions/cache step; the others restore the download cache, keyed by both locks."""
    for path in ACTIONS:
        action = load(path)
        caches = [s for s in action["runs"]["steps"] if str(s.get("uses", "")).startswith("actions/cache@")]
        holds_token = "digitalocean-token" in action.get("inputs", {})
        name = path.parent.name
        if holds_token:
            assert not caches, f"{name} holds the DigitalOcean token and restores a cache"
        elif name == "setup":
            assert caches and caches[0]["if"] == "inputs.cache == 'true'"
            assert action["inputs"]["cache"]["default"] == "false"
        else:
            assert len(caches) == 1, name
            assert caches[0]["with"]["path"] == "${{ runner.temp }}/terp-actions/cache"
