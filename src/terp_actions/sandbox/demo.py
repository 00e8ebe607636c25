"""``terp-actions demo``: the whole flow on a throwaway repository and the local sandbox.

It builds a TERP-like repository, starts the GitHub, App Platform and app stand-ins, and runs the
same flows the commands and actions run (``terp_actions.flows``) for each merge into main, then two
promotions, and prints the pull-request comments as GitHub received their Markdown. The paths it
shows: a code merge that deploys and verifies; a docs-only merge that skips; a staging-only hotfix
kept by the next merge; a transient build failure healed by a retry; an app spec change applied;
a sync conflict that pushes nothing and opens the main → staging pull request; a promotion that
verifies; and one that fails verification, is rolled back, and says so on its pull request.
App Platform's clock is simulated, so a five-minute deployment takes a moment.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from terp_actions import flows
from terp_actions.config import Config, Environment, SmokeCheck, VerifySettings
from terp_actions.digitalocean import AppPlatform
from terp_actions.errors import BadInput
from terp_actions.flows.previews import PreviewContext
from terp_actions.github import GitHubApi
from terp_actions.redact import Redactor
from terp_actions.render import render_verify_text
from terp_actions.report import StageState, plural, render_plan_text, render_sync_text
from terp_actions.sandbox import DO_TOKEN, GITHUB_TOKEN
from terp_actions.sandbox.fake_app import UNHEALTHY, AppStandIn, HealthAnswer
from terp_actions.sandbox.fake_appplatform import App, AppPlatformStandIn, Failure, ManualClock
from terp_actions.sandbox.fake_github import GitHubStandIn
from terp_actions.sandbox.history import (
    SPEC_PULL,
    TERP_BATCHES,
    TERP_IGNORE,
    TERP_PULLS,
    HistoryBuilder,
    merge_terp_pull,
    start_terp_history,
)
from terp_actions.spec import prepare_spec

Say = Callable[[str], None]
_REPO_URL = "https://github.com/terp/terp"
_STAGING_SPEC = ".do/app-staging.yaml"
# The value the staging spec's ${SESSION_SECRET} placeholder is filled with; in a workflow it
# comes from a secret through the deploy step's env.
_SPEC_ENV = {"SESSION_SECRET": "sandbox-session-secret"}
# A pull request that changes the file the staging hotfix changed: its sync conflicts.
_CONFLICT_PULL = (109, "Raise the invoice PDF timeout", {"app/invoices/pdf.py": "TIMEOUT = 60\n"})
_TRANSIENT = "error: failed to push image: registry.digitalocean.com: i/o timeout after 30s"


@dataclass
class Printer:
    """The demo's console for the flows: indented lines, warnings inline, secrets redacted."""

    say_line: Say
    indent: str = "   "
    redact: Redactor = field(default_factory=Redactor)

    def say(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            self.say_line(self.indent + self.redact(line))

    def warn(self, message: str, title: str) -> None:
        self.say(f"warning ({title}): {message}")

    def hide(self, secret: str) -> None:
        self.redact.add(secret)

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        self.say(f"{title}:")
        self.indent += "  "
        try:
            yield
        finally:
            self.indent = self.indent[:-2]


@dataclass
class Sandbox:
    """The stand-ins and the clients pointed at them, as one run of the demo uses them."""

    b: HistoryBuilder
    gh: GitHubStandIn
    do: AppPlatformStandIn
    app: AppStandIn
    clock: ManualClock
    config: Config
    github: GitHubApi
    platform: AppPlatform
    staging: App
    production: App
    out: Printer

    def report(
        self, pulls: Sequence[int], stage: str, state: StageState, merges: dict[int, str] | None = None,
        *, also: tuple[str, StageState] | None = None,
    ) -> None:  # fmt: skip
        flows.report_stage(
            self.github, pulls, stage, state, console=self.out,
            env="staging" if stage in ("deployed", "verified") else "",
            environment_url=self.app.url, repo_url=_REPO_URL, merges=merges, also=also,
        )  # fmt: skip


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


@contextmanager
def open_sandbox(say: Say, b: HistoryBuilder) -> Iterator[Sandbox]:
    """The demo's stand-ins over ``b``'s origin, a staging and a production app, the TERP
    configuration and clients pointed at them, for as long as the block runs."""
    clock = ManualClock()
    gh_stand_in = GitHubStandIn(b.origin, tokens={GITHUB_TOKEN: "github-actions[bot]"})
    do_stand_in = AppPlatformStandIn(tokens={DO_TOKEN}, clock=clock)
    # The app answers in 40 ms of simulated time: latency is timed on the demo's clock.
    app_stand_in = AppStandIn(steady=HealthAnswer(delay=0.04))
    app_stand_in.elapse = clock.advance
    with gh_stand_in.running() as gh, do_stand_in.running() as do, app_stand_in.running() as app:
        staging = do.add_app("terp-staging", "staging", repo=b.origin, url=app.url)
        b.push("main~0:refs/heads/production")  # production starts where staging started
        production = do.add_app("terp", "production", repo=b.origin, url=app.url)
        do.deploy(production)
        config = Config(
            ignore=TERP_IGNORE,
            verify=VerifySettings(smoke=(SmokeCheck("/", contains="TERP"),)),
            environments={
                "staging": Environment(staging.id, app.url, _STAGING_SPEC, "staging"),
                "production": Environment(production.id, app.url, ".do/app.yaml", "production"),
            },
        )
        yield Sandbox(
            b, gh, do, app, clock, config,
            GitHubApi(GITHUB_TOKEN, "terp/terp", gh.url, throttle=False),
            AppPlatform(DO_TOKEN, do.url, sleep=clock.advance),
            staging, production, Printer(say, redact=Redactor(_SPEC_ENV.values())),
        )  # fmt: skip


def merge_and_register(s: Sandbox, number: int) -> None:
    """Merge one of the demo's pull requests into main (not pushed) and tell GitHub about it."""
    title, files, how = TERP_PULLS.get(number) or (_CONFLICT_PULL[1], _CONFLICT_PULL[2], {"squash": True})
    pull = s.b.merge_pull(number, title, files, **how)
    s.gh.add_pull(title, f"pr-{number}", "main", merged_sha=pull.merge_commit, number=number)


def _flow(say: Say, b: HistoryBuilder) -> None:
    with open_sandbox(say, b) as s:
        gh, do, app, staging, config = s.gh, s.do, s.app, s.staging, s.config
        say("terp-actions demo: the whole flow on a throwaway TERP-like repository and the local sandbox")
        say(f"  repository {b.work}; GitHub {gh.url}; App Platform {do.url} (simulated clock); app {app.url}")
        say("  ignore rules (the defaults): " + ", ".join(config.ignore))
        numbers: list[int] = []
        batches = [*TERP_BATCHES, (SPEC_PULL,), (_CONFLICT_PULL[0],)]
        for index, batch in enumerate(batches, start=1):
            for number in batch:
                merge_and_register(s, number)
                numbers.append(number)
            b.push("main")
            say("")
            say(f"── Run {index}: merged into main: " + ", ".join(f"#{n}" for n in batch))
            if index == 2:
                _hotfix(s, "Hotfix: raise the invoice PDF timeout", "TIMEOUT = 30\n")
            if index == 3:  # the registry times out once: a transient failure, healed by a retry
                do.fail_next_deployment(staging, Failure("BUILDING", 20.0, _TRANSIENT))
                say("   (App Platform's registry will time out on the first build)")
            staging_run(s, batch)
        _resolve_conflict(s)
        _promotions(s, numbers)
        _previews(s, numbers)
        say("")
        say("── What each pull request shows on GitHub (the comment's Markdown):")
        for comment in sorted(gh.comments.values(), key=lambda c: c.issue):
            if "terp-actions:status" in comment.body and comment.issue in numbers:
                say("")
                say(comment.body.split("<!-- terp-actions:state")[0].rstrip())
        say("")
        say(
            f"API requests made by the whole demo: GitHub {sum(gh.calls.values())}, "
            f"App Platform {sum(do.calls.values())}."
        )


def _hotfix(s: Sandbox, message: str, content: str) -> None:
    """A person pushes a fix straight to staging: the next sync must merge it and keep it."""
    s.b.on_staging(message, {"app/invoices/pdf.py": content})
    s.out.say("(meanwhile a hotfix was pushed straight to staging)")


@dataclass(frozen=True)
class StagingRun:
    """How one staging run ended: the staging tip, whether the plan deployed and why, and the
    verdicts (None where the run did not get that far)."""

    head: str
    deploy: bool | None = None
    reason: str = ""
    deployed: bool | None = None
    verified: bool | None = None


def staging_run(
    s: Sandbox, pulls: Sequence[int], *, spec_env: Mapping[str, str] | None = _SPEC_ENV
) -> StagingRun:
    """What the staging workflow does for one push to main: sync, plan, deploy, verify, report.
    A changed staging spec is applied with ``spec_env``'s values (None: not applied, said so)."""
    synced = flows.sync_branches(
        s.b.git, remote="origin", source="main", target="staging", github=s.github, console=s.out
    )
    for line in render_sync_text(synced.result):
        s.out.say(line)
    prs = tuple(pulls)
    if synced.failure is not None:
        s.out.say(f"FAILED  {synced.failure}")
        failed = StageState("failure", synced.result.before, str(synced.failure)[:300])
        s.report(prs, "synced", failed, synced.merges)
        return StagingRun(synced.result.after, reason=f"sync failed: {synced.failure}")
    s.report(
        prs, "synced", StageState("success", synced.result.after, str(synced.result.status)), synced.merges
    )
    planned = flows.plan_range(s.b.git, s.config.rules(), synced.result.before, synced.result.after, keep=10)
    for line in render_plan_text(planned.plan):
        s.out.say(line)
    head = planned.plan.head
    s.report(
        prs, "planned", StageState("success" if planned.plan.deploy else "skipped", head, planned.plan.reason)
    )
    run = StagingRun(head, planned.plan.deploy, planned.plan.reason)
    if not planned.plan.deploy:
        return run
    env = s.config.environments["staging"]
    spec = None
    spec_file = env.spec or _STAGING_SPEC
    if flows.spec_changed_in(s.b.git, synced.result.before, head, spec_file, s.out):
        if spec_env is None:
            s.out.say(f"{spec_file} changed: a real run applies it to the app; this one does not")
        else:
            spec = prepare_spec(
                s.b.work / spec_file,
                spec_env,
                app_name=s.staging.name,
                branch="staging",
                on_secret=s.out.hide,
            )
    deployed = flows.deploy_environment(
        s.platform, s.b.git, env, head, settings=s.config.deploy,
        console=s.out, spec=spec, clock=s.clock, sleep=s.clock.advance,
    )  # fmt: skip
    detail = "; ".join(x for x in (deployed.spec_note, _heal_note(deployed)) if x)
    status = "failure" if deployed.failure else "success"
    # As the workflow's report job: the deployed row goes with the verified one, in one edit.
    deploy_row = ("deployed", StageState(status, head, detail, str(deployed.data()["deployment-id"] or "")))
    if deployed.failure is not None:
        s.report(prs, "verified", StageState("failure", head, ""), also=deploy_row)
        s.out.say(f"FAILED  {deployed.failure}")
        return replace(run, deployed=False)
    verified = flows.verify_environment(
        s.platform, s.b.git, env, head, settings=s.config.verify,
        console=s.out, baseline=flows.baseline_for(s.github, "staging", s.out),
        clock=s.clock, sleep=s.clock.advance,
    )  # fmt: skip
    for line in render_verify_text(verified):
        s.out.say(line)
    p95 = f"p95={verified.p95:.0f}ms" if verified.p95 is not None else ""
    s.report(prs, "verified", StageState("success" if verified.failure is None else "failure", head, p95),
             also=deploy_row)  # fmt: skip
    return replace(run, deployed=True, verified=verified.failure is None)


def _heal_note(deployed: flows.DeployOutcome) -> str:
    """ "healed on attempt N (fingerprint …)" when auto-heal retried a failure, else ''."""
    attempts = deployed.result.attempts if deployed.result else []
    failed = [a.diagnosis for a in attempts if a.diagnosis is not None]
    if not failed or deployed.failure is not None:
        return ""
    first = failed[0]
    return f"healed on {plural(len(attempts), 'attempt')}: {first.kind} failure retried ({first.fingerprint})"


def _resolve_conflict(s: Sandbox) -> None:
    """A person resolves the conflict on staging, taking main's side, as the pull request asks."""
    s.b.on_staging("Merge main into staging (conflict resolved)")
    s.out.indent = ""
    s.out.say("")
    s.out.say("── A person resolves the conflict on staging (taking main's side) and pushes it")
    s.out.indent = "   "


def _promotions(s: Sandbox, numbers: list[int]) -> None:
    """Two promotions: the newest commit staging verified (it verifies), then #107, whose
    production build is unhealthy (it is rolled back, and its pull request hears so)."""
    for attempt, breaks in ((1, False), (2, True)):
        s.out.indent = ""
        s.out.say("")
        if breaks:
            pull = merge_terp_pull(s.b, 107)
            s.gh.add_pull(TERP_PULLS[107][0], "pr-107", "main", merged_sha=pull.merge_commit, number=107)
            s.b.push("main")
            numbers.append(107)
            s.out.say(
                f"── Run {len(TERP_BATCHES) + 3}: merged into main: #107 "
                "(staging verifies it; its production build will answer 503)"
            )
            s.out.indent = "   "
            head = staging_run(s, (107,)).head
            s.out.indent = ""
            s.out.say("")
            s.out.say(f"── Promotion {attempt}: #107 {TERP_PULLS[107][0]} goes to production")
            s.app.responder = _unhealthy_when_live(s, head)
        else:
            s.out.say(f"── Promotion {attempt}: the newest commit staging verified goes to production")
        s.out.indent = "   "
        try:
            outcome = flows.promote(
                s.b.git, s.platform, s.github, s.config, remote="origin", sha=None, force_reason="",
                console=s.out,
                repo_url=_REPO_URL, clock=s.clock, sleep=s.clock.advance,
            )  # fmt: skip
        finally:
            s.app.responder = None
        if outcome.failure is not None:
            s.out.say(f"FAILED  {outcome.failure}")
        else:
            s.out.say(f"PROMOTED  production runs {outcome.sha[:12]}, verified")


def _previews(s: Sandbox, numbers: list[int]) -> None:
    """A pull request's preview app: opened (created, verified, on its comment), pushed to (the
    same app updated), closed (deleted); and a docs-only pull request, which gets none."""
    s.out.indent = ""
    s.out.say("")
    s.out.say("── Preview apps: #110 is opened, pushed to and closed; #111 changes docs only")
    s.out.indent = "   "
    s.do.repos["terp/terp"], s.do.new_app_url = s.b.origin, s.app.url
    ctx = PreviewContext(
        s.platform, s.github, s.config, "terp/terp", s.out, environ=_SPEC_ENV, repo_url=_REPO_URL,
        clock=s.clock, sleep=s.clock.advance,
    )  # fmt: skip
    for number, title, files in (
        (110, "Invoice reminders", {"app/reminders.py": "DAYS = 7\n"}),
        (111, "Explain reminders", {"docs/reminders.md": "# Reminders\n"}),
    ):
        s.b.git.run(["checkout", "--quiet", "-B", f"pr-{number}", "origin/main"])
        s.b.commit(title, files)
        s.b.push(f"pr-{number}")
        s.gh.add_pull(title, f"pr-{number}", "main", number=number)
        numbers.append(number)
        outcome = flows.preview_up(ctx, s.b.git, s.b.work, number)
        s.out.say(
            f"#{number} opened: preview {outcome.action}"
            + (f" at {outcome.url}, {outcome.verdict}" if outcome.url else "")
        )
    s.b.git.run(["checkout", "--quiet", "pr-110"])
    s.b.commit("Invoice reminders: weekly", {"app/reminders.py": "DAYS = 7\nWEEKLY = True\n"})
    s.b.push("pr-110")
    again = flows.preview_up(ctx, s.b.git, s.b.work, 110)
    apps = sum(1 for app in s.do.apps.values() if app.name == again.name)
    s.out.say(f"#110 pushed to: preview {again.action}, {again.verdict} ({apps} app of that name)")
    s.gh.pulls[110].state = "closed"
    gone = flows.preview_down(ctx, 110)
    s.out.say(f"#110 closed: preview {gone.action}")
    s.b.git.run(["checkout", "--quiet", "main"])


def _unhealthy_when_live(s: Sandbox, tip: str) -> Callable[[], HealthAnswer]:
    def answer() -> HealthAnswer:
        # The app stand-in answers on its own thread while App Platform's adds deployments.
        with s.do.lock:
            live = next(
                (d for d in list(s.production.deployments) if s.do.phase(s.production, d)[0] == "ACTIVE"),
                None,
            )
        return UNHEALTHY if live is not None and live.commit == tip else HealthAnswer(delay=0.04)

    return answer
