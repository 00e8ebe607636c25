"""``terp-actions rehearse``: a team's own last merges, replayed through the staging flow and one
promotion against the sandbox, before the tool ever gets a token.

The rehearsal works on a throwaway origin that borrows the repository's objects (git's
alternates: nothing is copied, and nothing is ever pushed to the team's remote). Its ``main``,
``staging`` and ``production`` start at the commit before the replayed merges; each merge is then
pushed to ``main`` and the same flows the workflows run (sync, plan, deploy, verify, report) run
against the stand-ins, with the team's configuration and ignore rules.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from terp_actions import flows
from terp_actions.config import Config, Environment
from terp_actions.digitalocean import AppPlatform, is_app_id
from terp_actions.errors import BadInput
from terp_actions.git import Git, first_parent_messages, resolve_commit
from terp_actions.github import GitHubApi
from terp_actions.plan import pull_request_numbers, pull_request_title
from terp_actions.redact import Redactor
from terp_actions.sandbox import DO_TOKEN, GITHUB_TOKEN
from terp_actions.sandbox.demo import Printer, Sandbox, Say, StagingRun, staging_run
from terp_actions.sandbox.fake_app import AppStandIn, HealthAnswer
from terp_actions.sandbox.fake_appplatform import AppPlatformStandIn, ManualClock
from terp_actions.sandbox.fake_github import GitHubStandIn
from terp_actions.sandbox.history import HistoryBuilder

MAX_LAST = 200


@dataclass(frozen=True)
class Merge:
    """One commit on the main branch's first-parent line: a merge, a squash, or a direct push."""

    sha: str
    subject: str
    title: str
    pulls: tuple[int, ...]


@dataclass
class Rehearsal:
    """Per merge, what the staging run did; the promotion's end; each pull request's comment."""

    merges: list[tuple[Merge, StagingRun]] = field(default_factory=list)
    promotion: str = ""
    comments: dict[int, str] = field(default_factory=dict)


class _Replay(HistoryBuilder):
    """A throwaway origin borrowing ``source``'s objects, with main, staging and production at
    ``base``, and a work clone of it."""

    def __init__(self, root: Path, source: Path, base: str) -> None:
        super().__init__(root)
        objects = Git(source).text(["rev-parse", "--path-format=absolute", "--git-path", "objects"])
        for repo in (self.origin, self.work / ".git"):
            (repo / "objects" / "info").mkdir(parents=True, exist_ok=True)
            (repo / "objects" / "info" / "alternates").write_text(objects + "\n")
        origin = Git(self.origin, self.env)
        for branch in ("main", "staging", "production"):  # refs written in place: nothing is sent
            origin.run(["update-ref", f"refs/heads/{branch}", base])
        self.git.run(["fetch", "--quiet", "origin"])  # the objects are already there: nothing copied


def merges_to_replay(git: Git, main_ref: str, last: int) -> tuple[str, list[Merge]]:
    """The base and the ``last`` newest first-parent commits of ``main_ref``, oldest first."""
    head = resolve_commit(git, main_ref)
    if head is None:
        raise BadInput(f"{main_ref} does not name a commit here (fetch it first)")
    messages = list(first_parent_messages(git, head, limit=last + 1))
    if len(messages) < 2:
        raise BadInput(f"{main_ref} has no merge to replay (it has {len(messages)} commit)")
    replayed = messages[:last] if len(messages) > last else messages[:-1]
    base = replayed[-1].parents[0] if replayed[-1].parents else messages[-1].sha
    return base, [
        Merge(m.sha, m.subject, pull_request_title(m.subject, m.body), pull_request_numbers(m.subject))
        for m in reversed(replayed)
    ]


def rehearse(say: Say, repo: Path, config: Config, *, last: int, verbose: bool = False) -> Rehearsal:
    """Replay the ``last`` merges into main of ``repo`` through the staging flow and one promotion."""
    if not 1 <= last <= MAX_LAST:
        raise BadInput(f"--last {last}: give a number from 1 to {MAX_LAST}")
    source = Git(repo)
    main = config.branches.main
    main_ref = next(
        (r for r in (f"refs/remotes/origin/{main}", f"refs/heads/{main}") if resolve_commit(source, r)), main
    )
    base, merges = merges_to_replay(source, main_ref, last)
    root = Path(tempfile.mkdtemp(prefix="terp-rehearse-"))
    try:
        return _replay(say, _Replay(root, repo, base), config, merges, verbose=verbose)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _replay(say: Say, b: _Replay, config: Config, merges: list[Merge], *, verbose: bool) -> Rehearsal:
    clock = ManualClock()
    app_stand_in = AppStandIn(steady=HealthAnswer(delay=0.04))  # 40 ms of simulated time
    app_stand_in.elapse = clock.advance
    names = {
        env: e.app if e is not None and not is_app_id(e.app) else f"app-{env}"
        for env, e in ((env, config.environments.get(env)) for env in ("staging", "production"))
    }
    with (
        GitHubStandIn(b.origin, tokens={GITHUB_TOKEN: "github-actions[bot]"}).running() as gh,
        AppPlatformStandIn(tokens={DO_TOKEN}, clock=clock).running() as do,
        app_stand_in.running() as app,
    ):
        staging = do.add_app(names["staging"], "staging", repo=b.origin, url=app.url)
        production = do.add_app(names["production"], "production", repo=b.origin, url=app.url)
        do.deploy(production)
        # The team's rules and settings; the sandbox's apps; no smoke checks (the stand-in app
        # answers /health, not the team's pages).
        rehearsal_config = dataclasses.replace(
            config,
            environments={
                "staging": Environment(staging.id, app.url, "", "staging"),
                "production": Environment(production.id, app.url, "", "production"),
            },
            verify=dataclasses.replace(config.verify, smoke=()),
        )
        out = Printer(say if verbose else (lambda _line: None), redact=Redactor())
        s = Sandbox(
            b, gh, do, app, clock, rehearsal_config,
            GitHubApi(GITHUB_TOKEN, gh.full_name, gh.url, throttle=False),
            AppPlatform(DO_TOKEN, do.url, sleep=clock.advance),
            staging, production, out,
        )  # fmt: skip
        result = Rehearsal()
        for merge in merges:
            b.push(f"{merge.sha}:refs/heads/main")
            for number in merge.pulls:
                if number not in gh.pulls:
                    gh.add_pull(merge.title, f"pr-{number}", "main", merged_sha=merge.sha, number=number)
            run = staging_run(s, merge.pulls, spec_env=None)
            result.merges.append((merge, run))
            say(verdict_line(merge, run))
        promoted = flows.promote(
            b.git, s.platform, s.github, rehearsal_config, remote="origin", sha=None, force_reason="",
            console=out, clock=clock, sleep=clock.advance,
        )  # fmt: skip
        result.promotion = (
            f"promotion: {promoted.failure}"
            if promoted.failure is not None
            else f"promotion: production would run {promoted.sha[:12]}, verified"
        )
        say(result.promotion)
        for comment in sorted(gh.comments.values(), key=lambda c: c.issue):
            if "terp-actions:status" in comment.body:
                result.comments[comment.issue] = comment.body.split("<!-- terp-actions:state")[0].rstrip()
    return result


def verdict_line(merge: Merge, run: StagingRun) -> str:
    """One line per merge: what it is, whether it would have deployed, and why."""
    who = ", ".join(f"#{n}" for n in merge.pulls) or "(no pull request)"
    if run.deploy is None:
        verdict = f"NOT SYNCED  {run.reason}"
    elif not run.deploy:
        verdict = f"NO DEPLOY   {run.reason}"
    elif run.verified:
        verdict = f"DEPLOY      {run.reason}; deployed and verified"
    else:
        verdict = (
            f"DEPLOY      {run.reason}; {'verification failed' if run.deployed else 'the deploy failed'}"
        )
    return f"{merge.sha[:12]} {who} {merge.title[:60]}\n    {verdict}"
