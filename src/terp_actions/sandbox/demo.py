"""``terp-actions demo``: the staging flow on a throwaway repository and the local sandbox.

It builds a TERP-like repository, starts the GitHub, App Platform and app stand-ins, and runs the
flow for merged pull requests as the staging workflow would — sync, plan, deploy, verify, report —
printing each stage, then the pull-request comments as GitHub would receive their Markdown.
App Platform's clock is simulated, so a five-minute deployment takes a moment.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from terp_actions.config import Config
from terp_actions.deploy import Deployer, commit_of
from terp_actions.digitalocean import AppPlatform
from terp_actions.errors import BadInput
from terp_actions.git import Git
from terp_actions.github import GitHubApi
from terp_actions.paths import IgnoreRules
from terp_actions.plan import build_plan
from terp_actions.publish import publish_stage
from terp_actions.report import StageState, render_plan_text, render_sync_text
from terp_actions.sandbox.fake_app import AppStandIn
from terp_actions.sandbox.fake_appplatform import AppPlatformStandIn, ManualClock
from terp_actions.sandbox.fake_github import GitHubStandIn
from terp_actions.sandbox.history import (
    TERP_BATCHES,
    TERP_PULLS,
    HistoryBuilder,
    merge_terp_pull,
    start_terp_history,
)
from terp_actions.sync import run_sync
from terp_actions.verify import check_commit, run_checks

Say = Callable[[str], None]
_TOKENS = {"github": "ghs_sandbox", "digitalocean": "dop_v1_sandbox"}  # the sandbox's own, public strings


def run_demo(say: Say, keep: Path | None = None) -> None:
    """Run the demo in ``keep`` (kept) or a temporary folder (removed afterwards)."""
    if keep is not None and keep.exists() and any(keep.iterdir()):
        raise BadInput(f"--keep {keep}: the folder is not empty; give a new or empty folder")
    root = keep or Path(tempfile.mkdtemp(prefix="terp-demo-"))
    try:
        builder = start_terp_history(root)
        _flow(say, builder)
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)
    if keep is not None:
        say(f"\nThe repository is kept in {builder.work} (origin: {builder.origin}).")


def _flow(say: Say, b: HistoryBuilder) -> None:
    config = Config()
    rules = config.rules()
    clock = ManualClock()
    github_stand_in = GitHubStandIn(b.origin, tokens={_TOKENS["github"]: "github-actions[bot]"})
    do_stand_in = AppPlatformStandIn(tokens={_TOKENS["digitalocean"]}, clock=clock)
    app_stand_in = AppStandIn()
    with github_stand_in.running() as gh, do_stand_in.running() as do, app_stand_in.running() as app:
        staging_app = do_stand_in.add_app("terp-staging", "staging", repo=b.origin, url=app.url)
        github = GitHubApi(_TOKENS["github"], "terp/terp", gh.url, throttle=False)
        platform = AppPlatform(_TOKENS["digitalocean"], do.url, sleep=clock.advance)
        say("terp-actions demo: the staging flow on a throwaway TERP-like repository and the local sandbox")
        say(f"  repository {b.work}; GitHub {gh.url}; App Platform {do.url} (simulated clock); app {app.url}")
        say("  ignore rules (the defaults): " + ", ".join(config.ignore))
        numbers: list[int] = []
        for index, batch in enumerate(TERP_BATCHES, start=1):
            for number in batch:
                pull = merge_terp_pull(b, number)
                gh.add_pull(
                    TERP_PULLS[number][0], f"pr-{number}", "main", merged_sha=pull.merge_commit, number=number
                )
                numbers.append(number)
            b.push("main")
            say("")
            say(f"── Run {index}: merged into main: " + ", ".join(f"#{n} {TERP_PULLS[n][0]}" for n in batch))
            if index == 2:  # a hotfix straight on staging: the next sync must merge and keep it
                b.git.run(["fetch", "--quiet", "origin"])
                b.git.run(["checkout", "--quiet", "-B", "staging", "origin/staging"])
                b.commit("Hotfix: raise the invoice PDF timeout", {"app/invoices/pdf.py": "TIMEOUT = 30\n"})
                b.push("staging")
                b.git.run(["checkout", "--quiet", "main"])
                say("   (meanwhile a hotfix was pushed straight to staging)")
            _run(say, b.git, rules, github, platform, clock, staging_app.id, app.url, tuple(batch), config)
        say("")
        say("── What each pull request shows on GitHub (the comment's Markdown):")
        for number in numbers:
            ours = [c for c in github.comments(number) if "terp-actions:status" in c.body]
            for comment in ours:
                say("")
                say(comment.body.split("<!-- terp-actions:state")[0].rstrip())
        say("")
        requests = f"GitHub {sum(gh.calls.values())}, App Platform {sum(do.calls.values())}"
        say(f"API requests made by the whole demo: {requests}.")


def _run(
    say: Say,
    git: Git,
    rules: IgnoreRules,
    github: GitHubApi,
    platform: AppPlatform,
    clock: ManualClock,
    app_id: str,
    app_url: str,
    pulls: tuple[int, ...],
    config: Config,
) -> None:
    def report(stage: str, status: str, sha: str, detail: str = "", deployment: str = "") -> None:
        publish_stage(
            github,
            pulls,
            stage,
            StageState(status, sha, detail, deployment),
            repo_url="https://github.com/terp/terp",
            environment="staging",
            environment_url=app_url,
        )

    sync = run_sync(git, remote="origin", source="main", target="staging")
    for line in render_sync_text(sync):
        say("   " + line)
    report("synced", "success", sync.after, str(sync.status))
    plan = build_plan(git, rules, sync.before, sync.after, keep=10)
    for line in render_plan_text(plan):
        say("   " + line)
    report("planned", "success" if plan.deploy else "skipped", plan.head, plan.reason)
    if not plan.deploy:
        return
    say("   deploy:")
    deployer = Deployer(
        platform,
        app_id,
        contains=lambda commit: commit == plan.head,
        say=lambda s: say("     " + s),
        clock=clock,
        sleep=clock.advance,
        timeout=config.deploy.timeout,
    )
    result = deployer.run()
    report("deployed", "success", plan.head, "", result.deployment)
    app = platform.get_app(app_id)
    active = app.get("active_deployment") or {}
    settings = config.verify
    verdict, latencies = run_checks(
        platform,
        app_id,
        active,
        settings,
        url=app_url,
        commit_check=check_commit(commit_of(active), plan.head, commit_of(active) == plan.head),
        previous_p95=None,
        clock=clock,
        sleep=clock.advance,
    )
    say("   verify:")
    for check in verdict.checks:
        say(f"     {check.status.upper():<4}  {check.name:<16} {check.detail}")
    p95 = f"p95={max(latencies):.0f}ms" if latencies else ""
    report("verified", "success" if verdict.passed else "failure", plan.head, p95)
