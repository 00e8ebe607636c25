"""`terp-actions promote` on real git and the stand-ins: gate, push, deploy, verify, rollback, reruns."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import Result

from terp_actions.deploy import Deployer, commit_of
from terp_actions.digitalocean import AppPlatform
from terp_actions.git import Git
from terp_actions.github import GitHubApi
from terp_actions.promote import run_promotion
from terp_actions.report import parse_state
from terp_actions.sandbox.fake_app import UNHEALTHY, AppStandIn, HealthAnswer
from terp_actions.sandbox.fake_appplatform import AppPlatformStandIn
from terp_actions.sandbox.fake_github import GitHubStandIn

from ..conftest import Repo
from .conftest import actions_env, invoke, read_outputs


@dataclass
class World:
    repo: Path
    origin: Path
    staging_sha: str
    production_sha: str
    gh: GitHubStandIn
    do: AppPlatformStandIn
    app: AppStandIn
    app_id: str

    def run(self, *args: str, freeze: str = "", extra: dict[str, str] | None = None) -> Result:
        env = {
            "GITHUB_TOKEN": "ghs_sandbox",
            "GITHUB_REPOSITORY": "terp/terp",
            "GITHUB_API_URL": self.gh.url,
            "DIGITALOCEAN_TOKEN": "dop_v1_sandbox",
            "TERP_DO_ENDPOINT": self.do.url,
            "TERP_REPO": str(self.repo),
        }
        return invoke(
            ["promote", *args], env=env | ({"TERP_FREEZE": freeze} if freeze else {}) | (extra or {})
        )

    def stage_verified(self, tmp: Path, subject: str, files: dict[str, str]) -> str:
        """A new staging commit, pushed and verified by staging (its Deployment succeeded)."""
        dev = Repo(tmp / "dev")
        dev.git("fetch", "-q", "origin")
        dev.git("checkout", "-q", "-B", "staging", "origin/staging")
        sha = dev.commit(subject, files)
        dev.git("push", "-q", "origin", "staging")
        api = GitHubApi("ghs_sandbox", "terp/terp", self.gh.url, throttle=False)
        deployment = api.create_deployment(ref=sha, environment="staging", description="deploy")
        api.create_status(deployment.id, "success", description="verified: p95=10ms")
        return sha

    def unhealthy_while_live(self, sha: str) -> Callable[[], HealthAnswer]:
        """A /health that answers 503 while production's live deployment is a build of ``sha``."""
        app = self.do.apps[self.app_id]

        def health() -> HealthAnswer:
            with self.do.lock:  # answered on the app stand-in's thread while deployments are added
                live = next((d for d in list(app.deployments) if self.do.phase(app, d)[0] == "ACTIVE"), None)
            return UNHEALTHY if live is not None and live.commit == sha else HealthAnswer()

        return health

    def tip(self, branch: str) -> str:
        return subprocess.run(
            ["git", "rev-parse", branch], cwd=self.origin, capture_output=True, text=True, check=True
        ).stdout.strip()


@pytest.fixture
def world(tmp_path: Path, origin: Path) -> Iterator[World]:
    """production at the first commit, staging one commit ahead (verified), apps live on both."""
    dev = Repo(tmp_path / "dev")
    subprocess.run(["git", "clone", "-q", str(origin), str(dev.path)], check=True)
    dev.git("push", "-q", "origin", "main:production")
    production_sha = dev.git("rev-parse", "HEAD")
    dev.git("checkout", "-q", "-B", "staging", "origin/staging")
    staging_sha = dev.commit("Add export (#21)", {"app/export.py": "x = 1\n"})
    dev.git("push", "-q", "origin", "staging")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
    (clone / ".github").mkdir()
    gh = GitHubStandIn(origin, tokens={"ghs_sandbox": "github-actions[bot]"}).start()
    do = AppPlatformStandIn(tokens={"dop_v1_sandbox"}).start()
    app = AppStandIn().start()
    (clone / ".github" / "terp-actions.yml").write_text(
        f"environments:\n  production: {{app: terp, url: '{app.url}'}}\n"
        "verify: {health: {probes: 2, interval: 0.01s, timeout: 0.3s}}\n"
    )
    prod_app = do.add_app("terp", "production", repo=origin, timings={}, url=app.url)
    do.deploy(prod_app)  # production is live with its current commit
    # Staging verified the staging commit: a successful staging Deployment for it.
    api = GitHubApi("ghs_sandbox", "terp/terp", gh.url, throttle=False)
    staging_deployment = api.create_deployment(ref=staging_sha, environment="staging", description="deploy")
    api.create_status(staging_deployment.id, "success", description="verified: p95=10ms")
    try:
        yield World(clone, origin, staging_sha, production_sha, gh, do, app, prod_app.id)
    finally:
        for stand_in in (gh, do, app):
            stand_in.stop()


def test_promotes_the_newest_verified_staging_commit(world: World) -> None:
    """Default sha: the verified staging tip; production fast-forwards, deploys, verifies; exit 0;
    the carried pull request's comment gains the production stage, and production a Deployment."""
    world.gh.add_pull("Add export", "feature", "main", number=21)
    result = world.run()
    assert result.exit_code == 0, result.stderr
    assert world.tip("production") == world.staging_sha
    assert "PROMOTED  production runs" in result.stdout
    assert world.do.apps[world.app_id].deployments[0].commit == world.staging_sha
    [comment] = world.gh.comments.values()
    state = parse_state(comment.body, 21)
    assert state is not None and state.stages["promoted"].status == "success"
    production = [d for d in world.gh.deployments.values() if d.environment == "production"]
    assert len(production) == 1 and production[0].statuses[-1]["state"] == "success"


def test_a_rerun_converges_without_a_second_push_or_deployment(world: World) -> None:
    """Running the promotion again pushes nothing and adopts the live deployment."""
    assert world.run().exit_code == 0
    deployments = len(world.do.apps[world.app_id].deployments)
    again = world.run("--sha", world.staging_sha)
    assert again.exit_code == 0, again.stderr
    assert "already holds" in again.stdout and len(world.do.apps[world.app_id].deployments) == deployments


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(["--sha", "zzz; rm -rf /"], 2, "must be a hexadecimal commit id", id="injection"),
        pytest.param(["--sha", "abcdef1234"], 2, "does not name a commit", id="unknown"),
        pytest.param(["--force"], 2, "--force needs --reason", id="force-without-reason"),
    ],
)
def test_bad_input_changes_nothing(world: World, args: list[str], code: int, message: str) -> None:
    """Malformed or unknown input: a clear line, the exit code, production untouched."""
    result = world.run(*args)
    assert result.exit_code == code and message in result.stderr
    assert world.tip("production") == world.production_sha


def test_an_unverified_commit_is_refused_unless_forced(world: World) -> None:
    """A staging commit without a verification is refused; --force --reason lets it through."""
    world.gh.deployments.clear()
    refused = world.run("--sha", world.staging_sha)
    assert refused.exit_code == 1 and "staging has not verified" in refused.stderr
    assert world.tip("production") == world.production_sha
    forced = world.run("--sha", world.staging_sha, "--force", "--reason", "outage hotfix")
    assert forced.exit_code == 0, forced.stderr
    assert world.tip("production") == world.staging_sha


def test_a_diverged_production_is_refused_naming_its_commits(world: World, tmp_path: Path) -> None:
    """Production with a commit of its own cannot fast-forward: refused, never forced."""
    other = Repo(tmp_path / "other")
    subprocess.run(["git", "clone", "-q", str(world.origin), str(other.path)], check=True)
    other.git("checkout", "-q", "-B", "production", "origin/production")
    own = other.commit("Hotfix on production", {"hot.py": "h"})
    other.git("push", "-q", "origin", "production")
    result = world.run("--sha", world.staging_sha)
    assert result.exit_code == 1 and own[:12] in result.stderr
    assert world.tip("production") == own


def test_a_pinned_app_is_refused(world: World) -> None:
    """An unfinished rollback (pinned app) blocks promotion."""
    world.do.apps[world.app_id].pinned = world.do.apps[world.app_id].deployments[0].id
    result = world.run("--sha", world.staging_sha)
    assert result.exit_code == 1 and "pinned" in result.stderr


def test_failed_verification_rolls_back_and_unpins(world: World) -> None:
    """Unhealthy after the promotion: rolled back to the previous build, committed, exit 1."""
    app = world.do.apps[world.app_id]

    world.app.responder = world.unhealthy_while_live(world.staging_sha)
    result = world.run("--sha", world.staging_sha)
    assert result.exit_code == 1
    assert "Rolled back: production runs" in result.stderr and world.production_sha[:12] in result.stderr
    assert "rollback committed" in result.stdout
    assert app.pinned is None and app.deployments[0].cause == "rollback"
    assert world.tip("production") == world.staging_sha  # the branch is not rewritten


def test_a_rolled_back_promotion_opens_a_revert_pull_request_when_configured(world: World) -> None:
    """With promote.revert_pr, a PR into production brings the branch's files back to what runs."""
    config = world.repo / ".github" / "terp-actions.yml"
    config.write_text(config.read_text() + "promote: {revert_pr: true}\n")
    world.do.apps[world.app_id]

    world.app.responder = world.unhealthy_while_live(world.staging_sha)
    result = world.run("--sha", world.staging_sha)
    assert result.exit_code == 1 and "revert pull request #" in result.stderr
    [pr] = [p for p in world.gh.pulls.values() if p.base == "production"]
    assert pr.head == f"terp-actions/revert-{world.staging_sha[:12]}"
    tree = lambda rev: world.tip(f"{rev}^{{tree}}")  # noqa: E731 - a one-line helper
    assert tree(f"refs/heads/{pr.head}") == tree(world.production_sha)
    assert world.tip(f"refs/heads/{pr.head}~1") == world.staging_sha


def test_without_the_setting_the_failure_says_how_to_get_a_revert_pr(world: World) -> None:
    """By default no PR is opened; the message names the setting."""
    world.do.apps[world.app_id]

    world.app.responder = world.unhealthy_while_live(world.staging_sha)
    result = world.run("--sha", world.staging_sha)
    assert result.exit_code == 1 and "promote.revert_pr" in result.stderr
    assert "(not rewritten; revert or fix forward); set promote.revert_pr" in result.stderr
    assert not [p for p in world.gh.pulls.values() if p.base == "production"]


class Crash(Exception):
    """The process dying mid-promotion (not one of our errors: nothing catches it)."""


def crashing_promotion(world: World, crash_after: str) -> None:
    """Run the promotion's flow with a crash right after ``crash_after`` (push or deploy)."""
    platform = AppPlatform("dop_v1_sandbox", world.do.url)

    def deploy(sha: str) -> object:
        if crash_after == "push":
            raise Crash
        result = Deployer(platform, world.app_id, contains=lambda c: c == sha, say=lambda _s: None).run()
        raise Crash(result)

    with pytest.raises(Crash):
        run_promotion(
            Git(world.repo),
            platform,
            world.app_id,
            remote="origin",
            staging="staging",
            production="production",
            sha_text=world.staging_sha,
            verified={world.staging_sha},
            force_reason="",
            deploy=deploy,
            verify=lambda _s: (True, ""),
            healthy=lambda: True,
            follow=lambda _d: ("ACTIVE", {}),
            commit_of=commit_of,
            say=lambda _s: None,
        )


@pytest.mark.parametrize("crash_after", ["push", "deploy"])
def test_a_rerun_after_a_crash_converges_to_the_clean_end_state(world: World, crash_after: str) -> None:
    """Crash after the push, or after the deploy: the rerun ends exactly where a clean run ends
    (production at the commit, one live deployment of it, nothing pinned, no second push)."""
    crashing_promotion(world, crash_after)
    assert world.tip("production") == world.staging_sha
    rerun = world.run("--sha", world.staging_sha)
    assert rerun.exit_code == 0, rerun.stderr
    assert "already holds" in rerun.stdout
    app = world.do.apps[world.app_id]
    ours = [d for d in app.deployments if d.commit == world.staging_sha]
    assert len(ours) == 1 and world.do.phase(app, ours[0])[0] == "ACTIVE" and app.pinned is None


def test_a_rerun_finishes_a_rollback_that_died_before_its_commit(world: World) -> None:
    """Crash between the rollback and its commit (app pinned): the rerun finishes and unpins it."""
    app = world.do.apps[world.app_id]
    platform = AppPlatform("dop_v1_sandbox", world.do.url)
    follower = Deployer(platform, world.app_id, contains=lambda _c: False, say=lambda _s: None)

    def deploy(sha: str) -> object:
        return Deployer(platform, world.app_id, contains=lambda c: c == sha, say=lambda _s: None).run()

    def crash() -> bool:
        raise Crash

    with pytest.raises(Crash):
        run_promotion(
            Git(world.repo),
            platform,
            world.app_id,
            remote="origin",
            staging="staging",
            production="production",
            sha_text=world.staging_sha,
            verified={world.staging_sha},
            force_reason="",
            deploy=deploy,
            verify=lambda _s: (False, "health"),
            healthy=crash,
            follow=follower.follow,
            commit_of=commit_of,
            say=lambda _s: None,
        )
    assert app.pinned is not None
    rerun = world.run("--sha", world.staging_sha)
    assert rerun.exit_code == 1 and "had failed and was rolled back" in rerun.stderr
    assert app.pinned is None and app.deployments[0].commit == world.production_sha


def test_two_promotions_at_once_end_in_one_consistent_state(world: World) -> None:
    """Two promote processes racing (the workflow queues them; people may not): both succeed, and
    production ends at the commit with a live deployment of it and nothing pinned."""
    env = {
        **os.environ,
        "GITHUB_TOKEN": "ghs_sandbox",
        "GITHUB_REPOSITORY": "terp/terp",
        "GITHUB_API_URL": world.gh.url,
        "DIGITALOCEAN_TOKEN": "dop_v1_sandbox",
        "TERP_DO_ENDPOINT": world.do.url,
        "TERP_REPO": str(world.repo),
    }
    clones = []
    for name in ("a", "b"):
        clone = world.repo.parent / f"racer-{name}"
        shutil.copytree(world.repo, clone)
        clones.append(clone)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "terp_actions", "promote", "--sha", world.staging_sha],
            env={**env, "TERP_REPO": str(c)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for c in clones
    ]
    outcomes = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outcomes
    assert world.tip("production") == world.staging_sha
    app = world.do.apps[world.app_id]
    live = [d for d in app.deployments if world.do.phase(app, d)[0] == "ACTIVE"]
    assert len(live) == 1 and live[0].commit == world.staging_sha and app.pinned is None


def test_the_promote_and_rollback_actions_run_as_a_runner_would(world: World, tmp_path: Path) -> None:
    """Both actions' steps, inputs through env: and outputs through $GITHUB_OUTPUT, against the stand-ins."""
    from ..test_workflow import Runner  # noqa: PLC0415 - the harness lives with the workflow test

    token = "${{ secrets.DIGITALOCEAN_TOKEN }}"
    workflow = {
        "jobs": {
            "promote": {
                "steps": [
                    {"uses": "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683"},
                    {
                        "id": "promote",
                        "uses": "$/actions/promote",
                        "with": {
                            "sha": world.staging_sha,
                            "do-endpoint": world.do.url,
                            "digitalocean-token": token,
                        },
                    },
                    {
                        "id": "rollback",
                        "uses": "$/actions/rollback",
                        "with": {
                            "env": "production",
                            "dry-run": "true",
                            "do-endpoint": world.do.url,
                            "digitalocean-token": token,
                        },
                    },
                ],
                "outputs": {
                    "verified": "${{ steps.promote.outputs.verified }}",
                    "pushed": "${{ steps.promote.outputs.pushed }}",
                    "target": "${{ steps.rollback.outputs.target }}",
                },
            }
        }
    }
    env = {
        k: v
        for k, v in os.environ.items()
        if k.startswith("GIT_") or k in ("HOME", "PATH", "TERP_GITHUB_THROTTLE")
    }
    env |= {
        "GITHUB_ACTIONS": "true",
        "GITHUB_TOKEN": "ghs_sandbox",
        "GITHUB_REPOSITORY": "terp/terp",
        "GITHUB_API_URL": world.gh.url,
    }
    runner = Runner(tmp_path, lambda _job: world.repo, env, {"DIGITALOCEAN_TOKEN": "dop_v1_sandbox"}, {})
    runner.run(workflow)
    job = runner.jobs["promote"]
    assert job["result"] == "success", "\n".join(runner.log)
    assert job["outputs"]["verified"] == "true" and job["outputs"]["pushed"] == "true"
    assert job["outputs"]["target"]  # the dry run found the previous live deployment
    assert world.tip("production") == world.staging_sha


def test_rerunning_a_failed_promotion_rolls_back_to_the_last_good_commit_again(world: World) -> None:
    """Run twice, a promotion whose build fails verification ends both times with production on
    the previous commit: the second rollback never picks an earlier build of the failed commit."""
    app = world.do.apps[world.app_id]

    world.app.responder = world.unhealthy_while_live(world.staging_sha)
    for run in (1, 2):
        result = world.run("--sha", world.staging_sha)
        assert result.exit_code == 1, (run, result.stderr)
        assert f"production runs {world.production_sha[:12]} again" in result.stderr, (run, result.stderr)
        live = next(d for d in app.deployments if world.do.phase(app, d)[0] == "ACTIVE")
        assert live.commit == world.production_sha and app.pinned is None


def test_a_failed_promotion_posts_no_secret_anywhere(world: World, tmp_path: Path) -> None:
    """The run log of the failed build quotes the database password and a session secret; the
    error text travels to the PR comment, its hidden state, the production Deployment and its
    statuses, the outputs and the summary — and no secret with it, raw or encoded."""
    password, session = "pw-Zx81!q", "sess-" + "Lq2" * 6
    database_url = f"postgres://terp:{password}@db.internal/terp"
    world.do.apps[
        world.app_id
    ].run_log = (
        f"ERROR: could not connect: password was {password}; DATABASE_URL={database_url} session={session}\n"
    )
    world.gh.add_pull("Add export", "feature", "main", number=21)
    extra = actions_env(tmp_path) | {"DATABASE_URL": database_url, "SESSION_SECRET": session}
    result = world.run("--sha", world.staging_sha, extra=extra)
    assert result.exit_code == 1 and "runtime logs" in result.stderr
    posted = []
    for comment in world.gh.comments.values():
        posted.append(comment.body)
        for block in re.findall(r"terp-actions:state v\d+ ([A-Za-z0-9+/=]+)", comment.body):
            posted.append(base64.b64decode(block).decode())
    for deployment in world.gh.deployments.values():
        posted += [deployment.description, *(json.dumps(s, default=str) for s in deployment.statuses)]
    assert any("runtime logs" in text for text in posted), "the failure reached GitHub"
    everything = "\n".join(posted) + result.stdout + result.stderr
    everything += (tmp_path / "output").read_text() + (tmp_path / "summary.md").read_text()
    for secret in (password, session, "ghs_sandbox", "dop_v1_sandbox", quote(password, safe="")):
        assert secret not in everything, secret
    for secret in (password, session):
        assert base64.b64encode(secret.encode()).decode()[:8] not in everything


MIGRATION = {"drizzle/migrations/0007_invoice_totals.sql": "ALTER TABLE invoices ADD total int;\n"}


def test_a_promotion_carrying_migrations_says_so_everywhere(world: World, tmp_path: Path) -> None:
    """Migration files in the range are named before the deploy, in the JSON/outputs, the job
    summary and the PR comment's promoted row."""
    sha = world.stage_verified(tmp_path, "Invoice totals (#22)", MIGRATION)
    world.gh.add_pull("Invoice totals", "totals", "main", number=22)
    result = world.run("--json", extra=actions_env(tmp_path))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["migrations"] == ["drizzle/migrations/0007_invoice_totals.sql"]
    assert "carries 1 migration file (drizzle/migrations/0007_invoice_totals.sql)" in result.stderr
    assert "if production fails verification it will roll back" in result.stderr
    assert read_outputs(tmp_path / "output")["migrations"] == '["drizzle/migrations/0007_invoice_totals.sql"]'
    assert "migration file" in (tmp_path / "summary.md").read_text()
    state = parse_state(next(iter(world.gh.comments.values())).body, 22)
    assert state is not None and state.stages["promoted"].sha == sha
    assert "carries 1 migration file" in state.stages["promoted"].detail


def test_a_promotion_without_migrations_names_none(world: World) -> None:
    """The fixture's change is app code only: no migration line, an empty list."""
    result = world.run("--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["migrations"] == [] and "migration file" not in result.stderr


def test_a_failed_promotion_with_migrations_rolls_back_and_says_the_schema_stays(
    world: World, tmp_path: Path
) -> None:
    """Default policy (rollback): rolled back, and the message says the schema stays migrated and
    what to check; the comment's row starts with it (the row's detail is cut at 300 characters)."""
    sha = world.stage_verified(tmp_path, "Invoice totals (#22)", MIGRATION)
    world.gh.add_pull("Invoice totals", "totals", "main", number=22)
    world.app.responder = world.unhealthy_while_live(sha)
    result = world.run("--sha", sha)
    assert result.exit_code == 1
    assert "Rolled back: production runs" in result.stderr
    assert "The database schema stays migrated" in result.stderr
    assert f"check that {world.production_sha[:12]} works on it" in result.stderr
    assert world.do.apps[world.app_id].deployments[0].cause == "rollback"
    state = parse_state(next(iter(world.gh.comments.values())).body, 22)
    assert state is not None and state.stages["promoted"].status == "failure"
    assert state.stages["promoted"].detail.startswith("the schema stays migrated (1 migration file); ")


def test_after_migrations_stop_leaves_production_for_a_person(world: World, tmp_path: Path) -> None:
    """promote.after_migrations: stop — no rollback is created; the message says what runs, that
    the schema stays migrated, and what a person can do; no revert pull request."""
    config = world.repo / ".github" / "terp-actions.yml"
    config.write_text(config.read_text() + "promote: {after_migrations: stop, revert_pr: true}\n")
    sha = world.stage_verified(tmp_path, "Invoice totals (#22)", MIGRATION)
    world.app.responder = world.unhealthy_while_live(sha)
    result = world.run("--sha", sha)
    assert result.exit_code == 1
    assert "if production fails verification it will stop for a person" in result.stdout
    assert "Not rolled back (promote.after_migrations: stop)" in result.stderr
    assert f"production runs {sha[:12]}" in result.stderr and "the schema stays migrated" in result.stderr
    assert "terp-actions rollback --env production" in result.stderr
    app = world.do.apps[world.app_id]
    assert all(d.cause != "rollback" for d in app.deployments) and app.pinned is None
    assert app.deployments[0].commit == sha
    assert not [p for p in world.gh.pulls.values() if p.base == "production"]


def test_after_migrations_stop_does_not_apply_without_migrations(world: World) -> None:
    """The policy is about migrations only: a failed promotion without them rolls back as always."""
    config = world.repo / ".github" / "terp-actions.yml"
    config.write_text(config.read_text() + "promote: {after_migrations: stop}\n")
    world.app.responder = world.unhealthy_while_live(world.staging_sha)
    result = world.run("--sha", world.staging_sha)
    assert result.exit_code == 1 and "Rolled back: production runs" in result.stderr
    assert "schema" not in result.stderr


def test_a_deploy_freeze_refuses_the_promotion_and_skips_the_stage(world: World) -> None:
    """TERP_FREEZE set: refused with one line naming the freeze and the override, production
    untouched, nothing deployed; the carried pull request's promoted row is skipped, not failed."""
    world.gh.add_pull("Add export", "feature", "main", number=21)
    deployments = len(world.do.apps[world.app_id].deployments)
    result = world.run("--sha", world.staging_sha, freeze="release window until Friday")
    assert result.exit_code == 1
    assert "deploy freeze (release window until Friday): promotions are stopped" in result.stderr
    assert "--override-freeze" in result.stderr
    assert world.tip("production") == world.production_sha
    assert len(world.do.apps[world.app_id].deployments) == deployments
    state = parse_state(next(iter(world.gh.comments.values())).body, 21)
    assert state is not None and state.stages["promoted"].status == "skipped"
    assert "deploy freeze" in state.stages["promoted"].detail


@pytest.mark.parametrize("value", ["", "false", "0", "off"])
def test_an_unset_or_false_freeze_is_no_freeze(world: World, value: str) -> None:
    """The variable empty or false (a repository variable someone switched off) freezes nothing."""
    assert world.run("--sha", world.staging_sha, freeze=value).exit_code == 0


def test_overriding_the_freeze_needs_a_reason_and_reports_it(world: World) -> None:
    """--override-freeze without --reason is bad input (nothing changes); with one it promotes and
    the reason reaches the pull request's comment."""
    world.gh.add_pull("Add export", "feature", "main", number=21)
    bare = world.run("--sha", world.staging_sha, "--override-freeze", freeze="incident 42")
    assert bare.exit_code == 2 and "--override-freeze needs --reason" in bare.stderr
    assert world.tip("production") == world.production_sha
    result = world.run(
        "--sha",
        world.staging_sha,
        "--override-freeze",
        "--reason",
        "the fix for incident 42",
        freeze="incident 42",
    )
    assert result.exit_code == 0, result.stderr
    assert world.tip("production") == world.staging_sha
    state = parse_state(next(iter(world.gh.comments.values())).body, 21)
    assert state is not None and state.stages["promoted"].status == "success"
    assert (
        "deploy freeze (incident 42) overridden: the fix for incident 42" in state.stages["promoted"].detail
    )


def test_a_dry_run_when_production_already_holds_the_commit_says_nothing_to_promote(world: World) -> None:
    """After a promotion, the gate's dry run says there is nothing to promote (and changes nothing)."""
    assert world.run().exit_code == 0
    again = world.run("--dry-run")
    assert again.exit_code == 0 and "nothing to promote: production already holds" in again.stdout


def test_a_missing_production_branch_is_one_line_saying_how_to_create_it(world: World) -> None:
    """No production branch on the remote: exit 2 naming branches.production and the push that
    creates it; nothing deployed."""
    subprocess.run(["git", "branch", "-D", "production"], cwd=world.origin, check=True, capture_output=True)
    before = sum(world.do.calls.values())
    result = world.run()
    assert result.exit_code == 2
    assert (
        "branches.production: origin/production does not exist; create it (git push origin " in result.stderr
    )
    assert sum(world.do.calls.values()) == before  # no request to App Platform


def test_a_rolled_back_promotion_s_outputs_say_what_happened(world: World) -> None:
    """It pushed, deployed and rolled back: --json says so (pushed true, the deployment it made,
    rolled-back-to the rollback deployment), not the empty answer of a promotion that did nothing."""
    app = world.do.apps[world.app_id]
    world.app.responder = world.unhealthy_while_live(world.staging_sha)
    result = world.run("--sha", world.staging_sha, "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["pushed"] is True and data["verified"] is False
    made = next(d for d in app.deployments if d.cause != "rollback")
    rollback = next(d for d in app.deployments if d.cause == "rollback")
    assert (data["deployment-id"], data["rolled-back-to"]) == (made.id, rollback.id)
