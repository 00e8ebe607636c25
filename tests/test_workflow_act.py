"""The staging workflow on a real Actions engine (nektos/act) against the stand-ins: a team's
caller workflow, as `init` writes it, runs our reusable workflow for a push to main, and GitHub
afterwards holds each carried pull request's comment and the staging Deployment."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from terp_actions.report import parse_state
from terp_actions.sandbox.fake_app import AppStandIn
from terp_actions.sandbox.fake_appplatform import AppPlatformStandIn
from terp_actions.sandbox.fake_github import GitHubStandIn
from terp_actions.sandbox.history import TERP_PULLS, HistoryBuilder, start_terp_history

from .testing.act import Act, ActRun

pytestmark = pytest.mark.act


@pytest.fixture(scope="module")
def act(tmp_path_factory: pytest.TempPathFactory) -> Act:
    """act with this work tree's snapshot, built once for the module."""
    return Act.prepare(tmp_path_factory.mktemp("act"))


@dataclass
class Team:
    """A team's repository that adopted terp-actions, and the services it talks to."""

    b: HistoryBuilder
    gh: GitHubStandIn
    do: AppPlatformStandIn
    app: AppStandIn
    act: Act

    def merge(self, number: int) -> tuple[str, str]:
        """Merge pull request ``number`` into main and push; returns (before, after)."""
        title, files, how = TERP_PULLS[number]
        before = self.b.git.text(["rev-parse", "origin/main"])
        pull = self.b.merge_pull(number, title, files, **how)
        self.gh.add_pull(title, f"pr-{number}", "main", merged_sha=pull.merge_commit, number=number)
        self.b.push("main")
        return before, self.b.git.text(["rev-parse", "HEAD"])

    def push_run(self, before: str, after: str, workflow: Path | None = None) -> ActRun:
        repository = {"full_name": "terp/terp", "name": "terp", "owner": {"login": "terp"}}
        payload = {"ref": "refs/heads/main", "before": before, "after": after, "repository": repository}
        return self.act.run(
            self.b.work, workflow or self.b.work / ".github/workflows/terp-staging.yml", "push", payload,
            secrets={"GITHUB_TOKEN": "ghs_sandbox", "DIGITALOCEAN_TOKEN": "dop_v1_sandbox"},
            env={"GITHUB_API_URL": self.gh.url, "TERP_GITHUB_THROTTLE": "0"},
        )  # fmt: skip

    def rows(self, number: int) -> dict[str, str]:
        bodies = [c.body for c in self.gh.comments.values() if c.issue == number]
        assert len(bodies) == 1, bodies
        state = parse_state(bodies[0], number)
        assert state is not None
        return {stage: row.status for stage, row in state.stages.items()}


@pytest.fixture
def team(tmp_path: Path, act: Act) -> Iterator[Team]:
    b = start_terp_history(tmp_path / "team")
    # act reads owner/name from the origin URL: a GitHub address that git maps to the bare origin
    b.git.run(["config", f"url.{b.origin}.insteadOf", "https://github.com/terp/terp.git"])
    b.git.run(["remote", "set-url", "origin", "https://github.com/terp/terp.git"])
    gh = GitHubStandIn(b.origin, tokens={"ghs_sandbox": "github-actions[bot]"}).start()
    do = AppPlatformStandIn(tokens={"dop_v1_sandbox"}).start()
    app = AppStandIn().start()
    try:
        staging = do.add_app("terp-staging", "staging", repo=b.origin, url=app.url, timings={})
        config = (b.work / ".github/terp-actions.yml").read_text() + (
            f"environments:\n  staging: {{app: {staging.id}, url: '{app.url}', spec: .do/app-staging.yaml}}\n"
            "verify: {health: {probes: 2, interval: 0.01s, timeout: 10s}}\n"
        )
        workflow = _caller(act.sha, do.url)
        b.commit(
            "Adopt terp-actions",
            {".github/terp-actions.yml": config, ".github/workflows/terp-staging.yml": workflow},
        )
        b.push("main", "main:staging")
        yield Team(b, gh, do, app, act)
    finally:
        for stand_in in (gh, do, app):
            stand_in.stop()


def _caller(sha: str, endpoint: str) -> str:
    """The caller workflow `init` writes, pointed at the App Platform stand-in."""
    from terp_actions.adopt import Pin, staging_caller  # noqa: PLC0415

    text = staging_caller(
        {"main": "main", "staging": "staging", "production": "production"}, Pin(sha, "0.1.0", False)
    )
    return text.replace("    with:\n", f"    with:\n      do-endpoint: {endpoint}\n", 1)


def test_a_push_to_main_deploys_verifies_and_fills_the_comment(team: Team) -> None:
    """Every job succeeds; #101's comment has each stage; the staging Deployment succeeded."""
    run = team.push_run(*team.merge(101))
    assert run.returncode == 0, run.log[-4000:]
    assert run.jobs == {"sync": "success", "plan": "success", "deploy": "success", "report": "success"}
    rows = team.rows(101)
    assert [rows[s] for s in ("merged", "synced", "planned", "deployed", "verified")] == ["success"] * 5
    [deployment] = [d for d in team.gh.deployments.values() if d.environment == "staging"]
    assert deployment.statuses[-1]["state"] == "success"
    assert team.do.apps and next(iter(team.do.apps.values())).deployments  # App Platform deployed


def test_a_wrong_needs_output_name_breaks_the_push_scenario(team: Team, act: Act, tmp_path: Path) -> None:
    """The act tests prove the wiring: staging.yml with one needs.*.outputs name misspelt (the
    verify verdict the report reads) turns #101's verified row red although staging verified."""
    staging = act.snapshot / ".github/workflows/staging.yml"
    original = staging.read_text()
    try:
        staging.write_text(original.replace("needs.deploy.outputs.verdict", "needs.deploy.outputs.verdit"))
        run = team.push_run(*team.merge(101))
    finally:
        staging.write_text(original)
    assert run.jobs.get("deploy") == "success"  # staging did verify…
    assert team.rows(101)["verified"] == "failure"  # …but the misspelt wiring reports otherwise
