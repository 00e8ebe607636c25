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
from terp_actions.errors import BadInput, TerpError
from terp_actions.git import Git, changed_paths, subjects
from terp_actions.github import GitHubApi
from terp_actions.paths import IgnoreRules
from terp_actions.plan import build_plan, pull_requests_in
from terp_actions.promote import run_promotion
from terp_actions.publish import publish_stage
from terp_actions.redact import Redactor
from terp_actions.report import StageState, render_plan_text, render_sync_text
from terp_actions.sandbox.fake_app import UNHEALTHY, AppStandIn, HealthAnswer
from terp_actions.sandbox.fake_appplatform import App, AppPlatformStandIn, ManualClock
from terp_actions.sandbox.fake_github import GitHubStandIn
from terp_actions.sandbox.history import (
    SPEC_PULL,
    TERP_BATCHES,
    TERP_PULLS,
    HistoryBuilder,
    merge_terp_pull,
    start_terp_history,
)
from terp_actions.spec import applied_note, apply_spec, prepare_spec
from terp_actions.sync import run_sync
from terp_actions.verify import Prober, check_commit, check_health, run_checks

Say = Callable[[str], None]
_TOKENS = {"github": "ghs_sandbox", "digitalocean": "dop_v1_sandbox"}  # the sandbox's own, public strings
_STAGING_SPEC = ".do/app-staging.yaml"
# The value the staging spec's ${SESSION_SECRET} placeholder is filled with; in a workflow it
# comes from a secret through the deploy step's env.
_SPEC_ENV = {"SESSION_SECRET": "sandbox-session-secret"}


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
        b.push("main~0:refs/heads/production")  # production starts where staging started
        production_app = do_stand_in.add_app("terp", "production", repo=b.origin, url=app.url)
        do_stand_in.deploy(production_app)
        github = GitHubApi(_TOKENS["github"], "terp/terp", gh.url, throttle=False)
        platform = AppPlatform(_TOKENS["digitalocean"], do.url, sleep=clock.advance)
        say("terp-actions demo: the staging flow on a throwaway TERP-like repository and the local sandbox")
        say(f"  repository {b.work}; GitHub {gh.url}; App Platform {do.url} (simulated clock); app {app.url}")
        say("  ignore rules (the defaults): " + ", ".join(config.ignore))
        numbers: list[int] = []
        for index, batch in enumerate((*TERP_BATCHES, (SPEC_PULL,)), start=1):
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
        _promotions(
            say, b, github, platform, clock, production_app, do_stand_in, app_stand_in, config, numbers
        )
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


def _promotions(
    say: Say,
    b: HistoryBuilder,
    github: GitHubApi,
    platform: AppPlatform,
    clock: ManualClock,
    production_app: App,
    do_stand_in: AppPlatformStandIn,
    app_stand_in: AppStandIn,
    config: Config,
    numbers: list[int],
) -> None:
    """Two promotions: the verified staging tip (it verifies), then a later commit whose
    production build is unhealthy (it is rolled back)."""
    verified = {d.sha for d in github.deployments("staging") if github.statuses(d.id)[0].state == "success"}

    def deployer(sha: str) -> Deployer:
        return Deployer(
            platform,
            production_app.id,
            contains=lambda c: c == sha,
            say=lambda s: say("     " + s),
            clock=clock,
            sleep=clock.advance,
        )

    def verify(sha: str) -> tuple[bool, str]:
        active = platform.get_app(production_app.id).get("active_deployment") or {}
        verdict, _ = run_checks(
            platform,
            production_app.id,
            active,
            config.verify,
            url=app_stand_in.url,
            commit_check=check_commit(commit_of(active), sha, commit_of(active) == sha),
            previous_p95=None,
            clock=clock,
            sleep=clock.advance,
        )
        for check in verdict.checks:
            say(f"     {check.status.upper():<4}  {check.name:<16} {check.detail}")
        return verdict.passed, ", ".join(c.name for c in verdict.checks if c.status == "fail")

    def healthy() -> bool:
        h = config.verify.health
        probes = Prober(
            app_stand_in.url, h.path, h.expect, h.probes, h.timeout, clock=clock, sleep=clock.advance
        ).run()
        return check_health(probes, h.expect, h.probes).status == "pass"

    for attempt, breaks in ((1, False), (2, True)):
        say("")
        if breaks:
            merge_terp_pull(b, 107)
            b.push("main")
            numbers.append(107)
            run_sync(b.git, remote="origin", source="main", target="staging")
            tip = b.git.text(["rev-parse", "origin/staging"])
            verified.add(tip)  # as if staging had verified it: the build only breaks in production
            say(f"── Promotion {attempt}: #107 {TERP_PULLS[107][0]}; its production build answers 503")

            def unhealthy_when_live(tip: str = tip) -> HealthAnswer:
                phases = ((d, do_stand_in.phase(production_app, d)[0]) for d in production_app.deployments)
                live = next((d for d, phase in phases if phase == "ACTIVE"), None)
                return UNHEALTHY if live is not None and live.commit == tip else HealthAnswer()

            app_stand_in.responder = unhealthy_when_live
        else:
            say(f"── Promotion {attempt}: the newest commit staging verified goes to production")
        try:
            result = run_promotion(
                b.git,
                platform,
                production_app.id,
                remote="origin",
                staging="staging",
                production="production",
                sha_text=None,
                verified=verified,
                force_reason="",
                deploy=lambda sha: deployer(sha).run(),
                verify=verify,
                healthy=healthy,
                follow=lambda d: deployer("").follow(d),
                commit_of=commit_of,
                say=lambda s: say("   " + s),
            )
            say(f"   PROMOTED  production runs {result.sha[:12]}, verified")
            carried = tuple(sorted(pull_requests_in(subjects(b.git, result.previous, result.sha))))
            publish_stage(
                github,
                carried,
                "promoted",
                StageState("success", result.sha, "", result.deployment),
                repo_url="https://github.com/terp/terp",
                environment="production",
                environment_url=app_stand_in.url,
            )
        except TerpError as exc:
            say(f"   FAILED  {exc}")
        finally:
            app_stand_in.responder = None


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
    spec_note = ""
    if any(True for _ in changed_paths(git, sync.before, plan.head, _STAGING_SPEC)):
        spec_note = _apply_staging_spec(say, git, platform, app_id)
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
    report("deployed", "success", plan.head, spec_note, result.deployment)
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


def _apply_staging_spec(say: Say, git: Git, platform: AppPlatform, app_id: str) -> str:
    """The range changed the staging spec: apply it (an app update), as `deploy --spec-since` does."""
    say(f"   app spec: {_STAGING_SPEC} changed in this range; applying it")
    filled = prepare_spec(git.repo / _STAGING_SPEC, _SPEC_ENV, app_name="terp-staging", branch="staging")
    app = platform.get_app(app_id)
    redact = Redactor(_SPEC_ENV.values())
    change = apply_spec(platform, app, filled, say=lambda s: say("     " + redact(s)))
    return applied_note(change.fields)
