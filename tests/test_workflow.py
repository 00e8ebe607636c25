"""The staging workflow end to end: its jobs and our actions' shell steps run in order, as a runner
would run them (inputs through env:, outputs through $GITHUB_OUTPUT), against the stand-ins."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from terp_actions.report import parse_state
from terp_actions.sandbox.fake_app import AppStandIn, HealthAnswer
from terp_actions.sandbox.fake_appplatform import AppPlatformStandIn
from terp_actions.sandbox.fake_github import GitHubStandIn

from .cli.conftest import read_outputs
from .conftest import Repo

ROOT = Path(__file__).resolve().parent.parent
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_NAME = re.compile(r"(?<!['\w])([A-Za-z_][\w-]*(?:\.[\w-]+)+)")


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    """A small reading of GitHub expressions: dotted names, ==, !=, &&, ||, always(), literals."""

    def lookup(name: str) -> Any:
        node: Any = context
        for part in name.split("."):
            node = node.get(part, "") if isinstance(node, dict) else ""
        return node

    names: list[str] = []

    def hold(match: re.Match[str]) -> str:
        names.append(match[1])
        return f"__n[{len(names) - 1}]"

    text = (
        _NAME.sub(hold, expression).replace("&&", " and ").replace("||", " or ").replace("always()", "True")
    )
    values = [lookup(n) for n in names]
    return eval(text, {"__builtins__": {}}, {"__n": values, "True": True})  # noqa: S307 - test-only, our own workflow


def substitute(value: Any, context: dict[str, Any]) -> str:
    text = str(value)
    whole = _EXPR.fullmatch(text.strip())
    if whole:
        result = evaluate(whole[1], context)
        return "" if result is None else str(result).lower() if isinstance(result, bool) else str(result)
    return _EXPR.sub(lambda m: str(evaluate(m[1], context)), text)


class Runner:
    """Runs the workflow's jobs: checkout steps use a prepared clone; our actions run their CLI step."""

    def __init__(
        self,
        tmp: Path,
        workspace_for: Any,
        env: dict[str, str],
        secrets: dict[str, str],
        inputs: dict[str, str],
        variables: dict[str, str] | None = None,
        github: dict[str, Any] | None = None,
    ) -> None:
        self.inputs = inputs
        self.variables = variables or {}
        self.github = github or {}
        self.tmp = tmp
        self.workspace_for = workspace_for
        self.env = env
        self.secrets = secrets
        self.jobs: dict[str, dict[str, Any]] = {}
        self.log: list[str] = []

    def run(self, workflow: dict[str, Any]) -> None:
        for name, job in workflow["jobs"].items():  # written in dependency order
            needs = {
                n: self.jobs[n]
                for n in ([job["needs"]] if isinstance(job.get("needs"), str) else job.get("needs", []))
            }
            context = {
                "needs": needs,
                "inputs": self.inputs,
                "vars": self.variables,
                "secrets": self.secrets,
                "github": {"token": self.env["GITHUB_TOKEN"], **self.github},
            }
            if "if" in job and not evaluate(job["if"], context):
                self.jobs[name] = {"result": "skipped", "outputs": {}}
                self.log.append(f"{name}: skipped")
                continue
            steps: dict[str, dict[str, Any]] = {}
            # A job sees the repository only if it checks it out (the harness clones it whole even
            # for a sparse checkout); otherwise its workspace is empty, as on a runner.
            checks_out = any(str(s.get("uses", "")).startswith("actions/checkout@") for s in job["steps"])
            workspace = self.workspace_for(name) if checks_out else self.tmp / f"empty-{name}"
            workspace.mkdir(exist_ok=True)
            failed = False
            for index, step in enumerate(job["steps"]):
                context = {**context, "steps": steps}
                condition = step.get("if")
                # Like the runner: a step without `if:` is skipped once a step failed.
                skip = failed if condition is None else not evaluate(condition, context)
                if skip:
                    continue
                uses = step.get("uses", "")
                if uses.startswith("actions/checkout@"):
                    continue
                if "run" in step:  # a workflow's own shell step: its env substituted, as a runner does
                    env = {k: substitute(v, context) for k, v in step.get("env", {}).items()}
                    env |= {"GITHUB_STEP_SUMMARY": str(self.tmp / "summary.md")}
                    proc = subprocess.run(
                        ["bash", "-c", step["run"]], cwd=workspace, capture_output=True, text=True,
                        check=False, env={**self.env, **env},
                    )  # fmt: skip
                    self.log.append(
                        f"{name}: {step.get('name')} -> {proc.returncode}\n{proc.stdout}{proc.stderr}"
                    )
                    failed = failed or proc.returncode != 0
                    continue
                outcome, outputs = self.run_action(
                    uses, step.get("with", {}), context, workspace, f"{name}-{index}"
                )
                self.log.append(f"{name}: {step.get('name')} -> {outcome}")
                steps[step.get("id", f"_{index}")] = {"outcome": outcome, "outputs": outputs}
                failed = failed or outcome != "success"
            context = {**context, "steps": steps}
            outputs = {k: substitute(v, context) for k, v in job.get("outputs", {}).items()}
            self.jobs[name] = {"result": "failure" if failed else "success", "outputs": outputs}

    def run_action(
        self, uses: str, given: dict[str, Any], context: dict[str, Any], workspace: Path, key: str
    ) -> tuple[str, dict[str, str]]:
        action = yaml.safe_load((ROOT / uses.removeprefix("$/") / "action.yml").read_text())
        defaults = {"github": context["github"]}
        inputs = {
            k: substitute(spec.get("default", ""), defaults) for k, spec in action.get("inputs", {}).items()
        }
        inputs.update({k: substitute(v, context) for k, v in given.items()})
        step = action["runs"]["steps"][-1]
        action_context = {
            "inputs": inputs,
            "steps": {"install": {"outputs": {"python": self.env.get("TERP_TEST_PYTHON", sys.executable)}}},
            "github": context["github"],
        }
        env = {k: substitute(v, action_context) for k, v in step["env"].items()}
        output = self.tmp / f"{key}.out"
        proc = subprocess.run(
            ["bash", "-c", step["run"]],
            cwd=workspace,
            capture_output=True,
            text=True,
            check=False,
            env={
                **self.env,
                **env,
                "GITHUB_OUTPUT": str(output),
                "GITHUB_STEP_SUMMARY": str(self.tmp / "summary.md"),
            },
        )
        self.log.append(proc.stdout + proc.stderr)
        return ("success" if proc.returncode == 0 else "failure"), read_outputs(output)


# Run in place of the action's Python: time.monotonic becomes the real clock plus an offset kept
# in a file, which the app stand-in (in the test's process) advances by an answer's delay. The
# CLI then times a slow /health with no real sleep: only the clock is mocked.
_CLOCK_SHIM = """
import runpy, sys, time
from pathlib import Path

offset_file, real = Path(sys.argv[1]), time.monotonic


def monotonic():
    try:
        return real() + float(offset_file.read_text() or 0)
    except (OSError, ValueError):
        return real()


time.monotonic = monotonic
flag, module, *args = sys.argv[2:]
assert flag == "-m"
sys.argv = [module, *args]
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


@dataclass
class StagingWorld:
    """A repository with main and staging, the stand-ins, and the staging workflow to run."""

    tmp: Path
    origin: Path
    dev: Repo
    gh: GitHubStandIn
    do: AppPlatformStandIn
    app: AppStandIn
    env: dict[str, str]
    workspace_for: Any
    main: str
    runs: int = 0

    def merge(self, subject: str, files: dict[str, str], number: int) -> str:
        """A pull request ``number`` merged into main: its commit pushed, the PR registered."""
        self.dev.git("fetch", "-q", "origin")
        has_main = f"origin/{self.main}" in self.dev.git("branch", "-r").split()
        self.dev.git("checkout", "-q", "-B", self.main, f"origin/{self.main}" if has_main else "origin/main")
        merged = self.dev.commit(subject, files)
        self.dev.git("push", "-q", "origin", f"{self.main}:{self.main}")
        self.gh.add_pull(
            subject.split(" (#", maxsplit=1)[0],
            f"feature-{number}",
            self.main,
            merged_sha=merged,
            number=number,
        )
        return merged

    def run(
        self,
        inputs: dict[str, str] | None = None,
        variables: dict[str, str] | None = None,
        *,
        workflow: str = "staging.yml",
        github: dict[str, Any] | None = None,
    ) -> Runner:
        """One run of a workflow (its jobs' folders are fresh clones for each run)."""
        self.runs += 1
        runner = Runner(
            self.tmp / f"run-{self.runs}",
            lambda job: self.workspace_for(f"{self.runs}-{job}"),
            self.env,
            {"DIGITALOCEAN_TOKEN": "dop_v1_sandbox"},
            {"environment": "staging", "do-endpoint": self.do.url, **(inputs or {})},
            variables or {},
            github,
        )
        runner.tmp.mkdir()
        runner.run(yaml.safe_load((ROOT / ".github" / "workflows" / workflow).read_text()))
        return runner

    def comment_state(self, number: int) -> Any:
        [body] = [c.body for c in self.gh.comments.values() if c.issue == number]
        state = parse_state(body, number)
        assert state is not None
        return state


@contextmanager
def staging_world(
    tmp_path: Path, origin: Path, *, main: str = "main", smoke: str = "", spec: str = ""
) -> Iterator[StagingWorld]:
    """The stand-ins running, staging's app live behind the app stand-in, the workflow ready."""
    dev = Repo(tmp_path / "dev")
    subprocess.run(["git", "clone", "-q", str(origin), str(dev.path)], check=True)
    with (
        GitHubStandIn(origin, tokens={"ghs_sandbox": "github-actions[bot]"}).running() as gh,
        AppPlatformStandIn(tokens={"dop_v1_sandbox"}).running() as do,
        AppStandIn().running() as app,
    ):
        do.add_app("terp-staging", "staging", repo=origin, timings={}, url=app.url)

        def workspace_for(job: str) -> Path:
            clone = tmp_path / f"ws-{job}"
            subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
            (clone / ".github").mkdir(exist_ok=True)
            (clone / ".github" / "terp-actions.yml").write_text(
                f"branches: {{main: {main}}}\n"
                f"environments:\n  staging: {{app: terp-staging, url: '{app.url}'"
                + (f", spec: {spec}" if spec else "")
                + "}\n"
                "verify: {health: {probes: 2, interval: 0.01s, timeout: 5s}"
                + (f", smoke: {smoke}" if smoke else "")
                + "}\n"
            )
            return clone

        env = {
            k: v
            for k, v in os.environ.items()
            if k.startswith("GIT_") or k in ("HOME", "PATH", "TERP_GITHUB_THROTTLE")
        }
        env.update(
            {
                "GITHUB_ACTIONS": "true",
                "GITHUB_TOKEN": "ghs_sandbox",
                "GITHUB_REPOSITORY": "terp/terp",
                "GITHUB_API_URL": gh.url,
                "GITHUB_SERVER_URL": "https://github.com",
                "GITHUB_RUN_ID": "7",
                "TERP_DO_ENDPOINT": do.url,
            }
        )
        yield StagingWorld(tmp_path, origin, dev, gh, do, app, env, workspace_for, main)


def with_simulated_latency(world: StagingWorld) -> Callable[[float], None]:
    """Run the actions' CLI on the file-backed clock, which the app stand-in's delays advance;
    returns the function that sets /health's simulated answer time (seconds)."""
    offset = world.tmp / "clock-offset"
    offset.write_text("0")
    shim = world.tmp / "clock_shim.py"
    shim.write_text(_CLOCK_SHIM)
    python = world.tmp / "python-on-the-test-clock"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{shim}" "{offset}" "$@"\n')
    python.chmod(0o755)
    world.env["TERP_TEST_PYTHON"] = str(python)

    def elapse(seconds: float) -> None:  # on the app stand-in's thread, before it answers
        offset.write_text(repr(float(offset.read_text()) + seconds))

    world.app.elapse = elapse
    return lambda seconds: world.app.set_script([], HealthAnswer(delay=seconds))


def run_staging(
    tmp_path: Path,
    origin: Path,
    files: dict[str, str],
    check: Any,
    *,
    main: str = "main",
    subject: str = "Add invoice export (#21)",
    smoke: str = "",
) -> None:
    """Merge a PR (#21) changing ``files`` into ``main``, run the workflow, hand everything to ``check``."""
    with staging_world(tmp_path, origin, main=main, smoke=smoke) as world:
        world.merge(subject, files, 21)
        runner = world.run()
        check(runner, world.gh, world.do)


def test_staging_workflow_syncs_plans_deploys_verifies_and_reports(tmp_path: Path, origin: Path) -> None:
    """A merged PR runs through every job in order; its one comment ends with every stage green."""

    def check(runner: Runner, gh: GitHubStandIn, do: AppPlatformStandIn) -> None:
        results = {name: job["result"] for name, job in runner.jobs.items()}
        assert results == {"sync": "success", "plan": "success", "deploy": "success", "report": "success"}, (
            "\n".join(runner.log)
        )
        assert runner.jobs["plan"]["outputs"]["deploy"] == "true"
        [comment] = gh.comments.values()
        state = parse_state(comment.body, 21)
        assert state is not None
        # The first report fills the merged row with the pull request's merge commit on main.
        assert {s: st.status for s, st in state.stages.items()} == {
            "merged": "success",
            "synced": "success",
            "planned": "success",
            "deployed": "success",
            "verified": "success",
        }
        main_tip = subprocess.run(
            ["git", "rev-parse", "main"], cwd=origin, capture_output=True, text=True, check=True
        ).stdout.strip()
        assert state.stages["merged"].sha == main_tip
        [deployment] = gh.deployments.values()
        assert (
            deployment.statuses[-1]["state"] == "success" and "p95=" in deployment.statuses[-1]["description"]
        )
        assert gh.violations == [] and do.violations == []
        github_requests = sum(gh.calls.values())
        # 4 reports: each lists the comments and writes; each edit is read back (a concurrent
        # writer's change is merged, not lost); the create is followed by a look for a twin; the
        # run's first Deployment looks for ones an interrupted earlier run left in progress; the
        # deploy job reads the previous staging Deployment's p95 (the latency baseline).
        assert github_requests <= 20, dict(gh.calls)
        print(f"GitHub requests: {github_requests} {dict(gh.calls)}\n{comment.body}")  # noqa: T201 - shown with -s

    run_staging(tmp_path, origin, {"app/export.py": "x = 1\n"}, check)


def test_a_docs_only_merge_syncs_and_skips_the_deploy(tmp_path: Path, origin: Path) -> None:
    """A docs-only PR is synced; the plan skips; deploy and report jobs do not run; nothing deploys."""

    def check(runner: Runner, gh: GitHubStandIn, do: AppPlatformStandIn) -> None:
        results = {name: job["result"] for name, job in runner.jobs.items()}
        assert results == {"sync": "success", "plan": "success", "deploy": "skipped", "report": "skipped"}
        [comment] = gh.comments.values()
        state = parse_state(comment.body, 21)
        assert state is not None and state.stages["planned"].status == "skipped"
        assert (
            state.stages["planned"].detail
            == "no deploy needed (the one changed file is ignored: docs/guide.md by **.md)"
        )
        assert do.calls["apps_create_deployment"] == 0 and not gh.deployments

    run_staging(tmp_path, origin, {"docs/guide.md": "# Guide\n"}, check)


def test_a_non_default_main_branch_reaches_every_report(tmp_path: Path, origin: Path) -> None:
    """With `branches.main: trunk` and a merge whose subject names no pull request, every report
    (the report job's too, which checks out only the configuration) finds the pull request
    merged into trunk, so the comment carries the deployed and verified rows."""

    def check(runner: Runner, gh: GitHubStandIn, do: AppPlatformStandIn) -> None:
        results = {name: job["result"] for name, job in runner.jobs.items()}
        assert results == {"sync": "success", "plan": "success", "deploy": "success", "report": "success"}, (
            "\n".join(runner.log)
        )
        [comment] = gh.comments.values()
        state = parse_state(comment.body, 21)
        assert state is not None
        statuses = {s: st.status for s, st in state.stages.items()}
        assert {k: statuses.get(k) for k in ("synced", "planned", "deployed", "verified")} == dict.fromkeys(
            ("synced", "planned", "deployed", "verified"), "success"
        )

    run_staging(
        tmp_path, origin, {"app/export.py": "x = 1\n"}, check, main="trunk", subject="Add invoice export"
    )


def test_a_failed_smoke_check_is_named_on_the_pull_request(tmp_path: Path, origin: Path) -> None:
    """A smoke check that fails makes the verification fail, and the PR comment's verified row
    names it by its path."""

    def check(runner: Runner, gh: GitHubStandIn, do: AppPlatformStandIn) -> None:
        assert runner.jobs["deploy"]["outputs"]["verdict"] == "fail"
        [comment] = gh.comments.values()
        state = parse_state(comment.body, 21)
        assert state is not None and state.stages["verified"].status == "failure"
        assert "smoke GET /health: /health: answered 200, expected 201" in state.stages["verified"].detail

    run_staging(tmp_path, origin, {"app/export.py": "x = 1\n"}, check, smoke="[{path: /health, status: 201}]")


def test_a_second_deploy_three_times_slower_fails_latency(tmp_path: Path, origin: Path) -> None:
    """The deploy job reads the previous verified staging Deployment's p95 (deployments: read):
    the first deploy has no baseline and passes on the budget, saying so; the second answers 3x
    slower (simulated time: the stand-in advances the CLI's clock, nothing sleeps) and fails
    `latency` against that baseline, on its pull request's comment."""
    with staging_world(tmp_path, origin) as world:
        answer_in = with_simulated_latency(world)
        answer_in(0.100)
        world.merge("Add invoice export (#21)", {"app/export.py": "x = 1\n"}, 21)
        first = world.run()
        assert first.jobs["deploy"]["outputs"]["verdict"] == "pass", "\n".join(first.log)
        assert 100 <= float(first.jobs["deploy"]["outputs"]["p95"]) < 200  # 100 ms simulated + overhead
        assert "no baseline yet" in "\n".join(first.log)
        answer_in(0.300)
        world.merge("Add invoice search (#22)", {"app/search.py": "y = 2\n"}, 22)
        second = world.run()
        outputs = second.jobs["deploy"]["outputs"]
        assert outputs["verdict"] == "fail" and outputs["failed-checks"].startswith("latency"), outputs
        assert 300 <= float(outputs["p95"]) < 400
        verified = world.comment_state(22).stages["verified"]
        assert verified.status == "failure" and "latency" in verified.detail
        assert world.comment_state(21).stages["verified"].status == "success"
        assert world.gh.calls["repos/list-deployments"] >= 2  # each verification read a baseline


def test_a_deploy_freeze_syncs_and_plans_but_deploys_nothing(tmp_path: Path, origin: Path) -> None:
    """vars.TERP_FREEZE set: main is synced and planned; the deploy job stops before App Platform
    and stays green; the comment's deployed and verified rows are skipped, naming the freeze."""
    with staging_world(tmp_path, origin) as world:
        world.merge("Add invoice export (#21)", {"app/export.py": "x = 1\n"}, 21)
        runner = world.run(variables={"TERP_FREEZE": "release window until Friday"})
        results = {name: job["result"] for name, job in runner.jobs.items()}
        assert results == {"sync": "success", "plan": "success", "deploy": "success", "report": "success"}, (
            "\n".join(runner.log)
        )
        assert world.do.calls["apps_create_deployment"] == 0 and world.do.calls["apps_get"] == 0
        stages = world.comment_state(21).stages
        assert stages["synced"].status == stages["planned"].status == "success"
        assert stages["deployed"].status == "skipped"
        assert stages["deployed"].detail == "stopped by the deploy freeze (release window until Friday)"
        assert stages["verified"].status == "skipped"


def test_a_dispatched_redeploy_deploys_verifies_and_reports_without_a_new_merge(
    tmp_path: Path, origin: Path
) -> None:
    """workflow_dispatch with a reason: nothing new to sync or plan, yet staging gets a new
    deployment of the same commit, verified and recorded as a staging Deployment."""
    with staging_world(tmp_path, origin) as world:
        world.merge("Add invoice export (#21)", {"app/export.py": "x = 1\n"}, 21)
        world.run()
        app = next(iter(world.do.apps.values()))
        before = len(app.deployments)
        [recorded] = world.gh.deployments.values()
        statuses = len(recorded.statuses)
        runner = world.run(inputs={"redeploy": "a secret changed on App Platform"})
        results = {name: job["result"] for name, job in runner.jobs.items()}
        assert results == {"sync": "success", "plan": "success", "deploy": "success", "report": "success"}, (
            "\n".join(runner.log)
        )
        assert runner.jobs["plan"]["outputs"]["deploy"] == "false"
        assert len(app.deployments) == before + 1
        assert runner.jobs["deploy"]["outputs"]["verdict"] == "pass"
        # The same commit keeps its one staging Deployment; the redeploy adds its statuses.
        assert list(world.gh.deployments.values()) == [recorded] and len(recorded.statuses) > statuses
        assert recorded.statuses[-1]["state"] == "success"
        assert "redeploy (a secret changed on App Platform)" in "\n".join(runner.log)
        assert "### Redeploy\n\na secret changed on App Platform" in (runner.tmp / "summary.md").read_text()


PREVIEW_SPEC = """\
name: terp-staging
region: nyc
domains: [{domain: staging.terp.example, type: PRIMARY}]
services:
  - name: web
    github: {repo: terp/terp, branch: staging, deploy_on_push: false}
"""


def test_the_preview_workflow_follows_a_pull_request_from_opened_to_closed(
    tmp_path: Path, origin: Path
) -> None:
    """opened: the `up` job creates, deploys and verifies the preview and puts it on the comment;
    synchronize: the same app is updated to the new commit; closed: `down` deletes it. A fork's
    pull request runs only the `fork` job: a warning and a summary line, no app, no failure."""
    with staging_world(tmp_path, origin, spec=".do/app-staging.yaml") as world:
        world.dev.git("checkout", "-q", "-B", "main", "origin/main")
        world.dev.commit("Staging spec", {".do/app-staging.yaml": PREVIEW_SPEC})
        world.dev.git("push", "-q", "origin", "main")
        world.do.repos["terp/terp"] = origin
        world.do.new_app_url, world.do.new_app_timings = world.app.url, {}
        world.dev.git("checkout", "-q", "-B", "feat-31", "origin/main")
        first = world.dev.commit("Invoice search", {"app/search.py": "x = 1\n"})
        world.dev.git("push", "-q", "origin", "feat-31")
        world.gh.add_pull("Invoice search", "feat-31", "main", number=31, head_sha=first)

        def event(action: str, head_repo: str = "terp/terp", number: int = 31) -> dict[str, Any]:
            pull = {"number": number, "head": {"repo": {"full_name": head_repo}}}
            return {"event_name": "pull_request", "repository": "terp/terp",
                    "event": {"action": action, "pull_request": pull}}  # fmt: skip

        def results(runner: Runner) -> dict[str, str]:
            return {name: job["result"] for name, job in runner.jobs.items()}

        def previews() -> list[Any]:
            return [a for a in world.do.apps.values() if a.applied_spec]

        opened = world.run(workflow="preview.yml", github=event("opened"))
        assert results(opened) == {
            "fork": "skipped",
            "up": "success",
            "down": "skipped",
            "prune": "skipped",
        }, "\n".join(opened.log)
        [app] = previews()
        assert app.deployments[0].commit == first
        row = world.comment_state(31).stages["preview"]
        assert row.status == "success" and row.detail.startswith(world.app.url)

        world.dev.git("checkout", "-q", "feat-31")
        second = world.dev.commit("Invoice search, faster", {"app/search.py": "x = 2\n"})
        world.dev.git("push", "-q", "origin", "feat-31")
        pushed = world.run(workflow="preview.yml", github=event("synchronize"))
        assert results(pushed)["up"] == "success", "\n".join(pushed.log)
        [same] = previews()
        assert same.id == app.id and same.deployments[0].commit == second

        world.gh.pulls[31].state = "closed"
        closed = world.run(workflow="preview.yml", github=event("closed"))
        assert results(closed) == {"fork": "skipped", "up": "skipped", "down": "success", "prune": "skipped"}
        assert app.id not in world.do.apps
        assert world.comment_state(31).stages["preview"].status == "skipped"

        world.gh.add_pull("From a fork", "fork-branch", "main", number=32)
        fork = world.run(workflow="preview.yml", github=event("opened", head_repo="someone/terp", number=32))
        assert results(fork) == {"fork": "success", "up": "skipped", "down": "skipped", "prune": "skipped"}
        assert not previews() and not [c for c in world.gh.comments.values() if c.issue == 32]
        assert "::warning title=No preview::" in "\n".join(fork.log)
        assert (
            "No preview: this pull request comes from the fork `someone/terp`."
            in (fork.tmp / "summary.md").read_text()
        )
