"""The command-line interface: parses options, builds real clients, maps errors to exit codes.

Only click and the standard library are imported at the top: ``pydo`` and ``github`` are
imported inside the commands that call those APIs, so ``--help`` and ``check-ignore`` start fast.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from terp_actions import __version__
from terp_actions.errors import BadInput, TerpError
from terp_actions.gha import Runner
from terp_actions.redact import Redactor

F = TypeVar("F", bound=Callable[..., Any])


class PatternList(click.ParamType):  # type: ignore[type-arg]
    """A repeatable pattern option whose environment variable holds one pattern per line."""

    name = "pattern"
    envvar_list_splitter = "\n"

    def split_envvar_value(self, rv: str) -> Sequence[str]:
        # Blank lines are separators people leave in YAML block scalars, not patterns.
        return [line for line in rv.splitlines() if line.strip()]


class Context:
    """What every command shares: the environment, the runner, the redactor, the output mode."""

    def __init__(self, environ: dict[str, str], as_json: bool) -> None:
        self.environ = environ
        self.as_json = as_json
        self.redact = Redactor.from_environ(environ)
        # With --json outside Actions, headings go to stderr with the rest of the human output;
        # in Actions, workflow commands stay on stdout, where the runner reads them.
        outside_actions = environ.get("GITHUB_ACTIONS") != "true"
        self.runner = Runner.from_environ(
            environ, sys.stderr if as_json and outside_actions else sys.stdout, sys.stderr
        )
        self.runner.redact = self.redact

    def say(self, text: str = "") -> None:
        """One line (or block) of human output, redacted; on stderr with ``--json``, so stdout
        holds only the JSON document."""
        click.echo(self.redact(text), err=self.as_json)

    def emit_json(self, data: object) -> None:
        """The ``--json`` document on stdout, redacted."""
        import json

        # Compact, so the C encoder does the work: a plan over 20,000 commits stays fast.
        click.echo(self.redact(json.dumps(data)))


class TerpGroup(click.Group):
    """Turns our errors into one annotated line and their exit code; anything else is a bug (3)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TerpError as exc:
            runner = Runner.from_environ(os.environ, sys.stdout, sys.stderr)
            redact = Redactor.from_environ(os.environ)
            message = redact(str(exc))
            if exc.hint:
                message += f"\nhint: {redact(exc.hint)}"
            runner.annotate("error", message, title=exc.title)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception:  # noqa: BLE001 - the last line of defence: show the bug, exit 3
            import traceback

            redact = Redactor.from_environ(os.environ)
            click.echo(redact(traceback.format_exc()), err=True)
            click.echo(
                "terp-actions: internal error (a bug): please report it with the traceback above", err=True
            )
            sys.exit(3)


def common(func: F) -> F:
    """Options every command takes: ``--config`` and ``--json``."""
    func = click.option(
        "--json", "as_json", is_flag=True, envvar="TERP_JSON", help="Machine-readable output on stdout."
    )(func)
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="TERP_CONFIG",
        help="Configuration file [default: <repo>/.github/terp-actions.yml, defaults when absent].",
    )(func)


def repo_option(help_text: str) -> Callable[[F], F]:
    """``--repo DIR`` (``TERP_REPO``, default ``.``), described for the command using it."""
    return click.option(
        "--repo",
        type=click.Path(file_okay=False, path_type=Path),
        default=".",
        envvar="TERP_REPO",
        show_default=True,
        help=help_text,
    )


def ignore_option(func: F) -> F:
    """``--ignore`` (repeatable; ``TERP_IGNORE`` one per line): replaces the configured rules."""
    return click.option(
        "--ignore",
        "ignore",
        multiple=True,
        type=PatternList(),
        envvar="TERP_IGNORE",
        help="Ignore pattern (repeatable); replaces the configured list.",
    )(func)


def _load_config(config_path: Path | None, repo: Path) -> Any:
    from terp_actions import config as configmod

    if config_path is not None:
        return configmod.load(config_path, required=True)
    return configmod.load(repo / configmod.DEFAULT_PATH)


def _rules(config_path: Path | None, repo: Path, ignore: Sequence[str]) -> Any:
    from terp_actions.paths import IgnoreRules

    if ignore:
        return IgnoreRules(ignore, where="--ignore")
    return _load_config(config_path, repo).rules()


@click.group(
    cls=TerpGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, prog_name="terp-actions")
def cli() -> None:
    """From a merged pull request to a verified App Platform deploy.

    Exit codes: 0 done (also "nothing to do"), 1 the work ran and the answer is no,
    2 bad input or configuration, 3 a bug.
    """


@cli.command("check-ignore", short_help="Show which ignore rule decides each path.")
@common
@ignore_option
@repo_option("Repository whose configuration to read.")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read paths from stdin, one per line.")
@click.argument("paths", nargs=-1)
def check_ignore(
    config_path: Path | None,
    as_json: bool,
    ignore: tuple[str, ...],
    repo: Path,
    from_stdin: bool,
    paths: tuple[str, ...],
) -> None:
    """Say for each PATH whether the ignore rules ignore it, and which pattern decided.

    Like `git check-ignore -v`, for tuning rules. Paths are relative to the repository root.
    """
    ctx = Context(dict(os.environ), as_json)
    rules = _rules(config_path, repo, ignore)
    wanted = list(paths)
    if from_stdin:
        wanted += [line for line in sys.stdin.read().splitlines() if line]
    if not wanted:
        raise BadInput("check-ignore: give at least one PATH (or --stdin)")
    normalised = []
    for path in wanted:
        if path.startswith("/"):
            raise BadInput(
                f"check-ignore: path {path!r} is absolute; give it relative to the repository root"
            )
        normalised.append(path.removeprefix("./"))
    matches = [rules.match(path) for path in normalised]
    if as_json:
        ctx.emit_json([{"path": m.path, "ignored": m.ignored, "pattern": m.pattern} for m in matches])
        return
    from terp_actions.paths import display_path

    width = max(len(display_path(m.path)) for m in matches)
    with ctx.runner.untrusted():
        for m in matches:
            if m.pattern is None:
                why = "no rule matches"
            elif m.ignored:
                why = f"matched {m.pattern}"
            else:
                why = f"re-included by {m.pattern}"
            verdict = "ignored" if m.ignored else "deploys"
            ctx.say(f"{verdict}  {display_path(m.path):<{width}}  ({why})")


@cli.command("plan", short_help="Decide whether a range of commits needs a deploy.")
@common
@ignore_option
@repo_option("The git repository.")
@click.option("--base", envvar="TERP_BASE", help="Base commit [default: the remote staging branch].")
@click.option("--head", envvar="TERP_HEAD", default="HEAD", show_default=True, help="Head commit.")
@click.option(
    "--remote",
    envvar="TERP_REMOTE",
    default="origin",
    show_default=True,
    help="Remote whose staging branch is the default base.",
)
def plan_cmd(
    config_path: Path | None,
    as_json: bool,
    ignore: tuple[str, ...],
    repo: Path,
    base: str | None,
    head: str,
    remote: str,
) -> None:
    """Decide whether BASE..HEAD needs a deploy under the ignore rules.

    Deploys iff some file changed between the two commits is not ignored. When the answer
    cannot be computed exactly (shallow history, unknown base) it deploys and says why.
    """
    import json

    from terp_actions import git as gitmod
    from terp_actions.paths import IgnoreRules
    from terp_actions.plan import build_plan, plan_to_json
    from terp_actions.report import MAX_ROWS, render_plan_summary, render_plan_text

    ctx = Context(dict(os.environ), as_json)
    git = gitmod.open_repo(repo)
    config = _load_config(config_path, repo)
    rules = IgnoreRules(ignore, where="--ignore") if ignore else config.rules()
    if base is None:
        default_base = f"{remote}/{config.branches.staging}"
        gitmod.check_revision(git, default_base, what="default base")
        base = default_base if gitmod.resolve_commit(git, default_base) else None
    # People and the job summary see the newest commits; --json lists every one.
    plan = build_plan(git, rules, base, head, keep=None if as_json else MAX_ROWS)

    ctx.runner.set_outputs(
        {
            "deploy": "true" if plan.deploy else "false",
            "reason": plan.reason,
            "base": plan.base or "",
            "head": plan.head,
            "deployable-count": str(plan.changes.deployable_count),
            "pull-requests": json.dumps(list(plan.pull_requests)),
        }
    )
    ctx.runner.add_summary(render_plan_summary(plan))
    if plan.fail_open:
        ctx.runner.annotate("warning", plan.reason, title="Plan could not be exact")
    if as_json:
        ctx.emit_json(plan_to_json(plan))
        return
    with ctx.runner.untrusted():
        for line in render_plan_text(plan):
            ctx.say(line)


@cli.command("sync", short_help="Bring main into staging: never forced, conflicts become a PR.")
@common
@repo_option("The git repository (a clone of the remote).")
@click.option("--from", "source", envvar="TERP_FROM", help="Branch to bring in [default: branches.main].")
@click.option("--to", "target", envvar="TERP_TO", help="Branch to move [default: branches.staging].")
@click.option(
    "--remote", envvar="TERP_REMOTE", default="origin", show_default=True, help="Remote to fetch and push."
)
@click.option(
    "--dry-run", is_flag=True, envvar="TERP_DRY_RUN", help="Show the decision and the push; change nothing."
)
def sync_cmd(
    config_path: Path | None,
    as_json: bool,
    repo: Path,
    source: str | None,
    target: str | None,
    remote: str,
    dry_run: bool,
) -> None:
    """Merge FROM into TO on the remote and push: up-to-date, fast-forward, merge or conflict.

    The push is plain (never forced) and only ever fast-forwards TO, so commits that exist only
    on TO are kept. A conflict pushes nothing, names the files and opens (or updates) one
    FROM → TO pull request when GITHUB_TOKEN and GITHUB_REPOSITORY are set; it exits 1.
    """
    import json

    from terp_actions import git as gitmod
    from terp_actions.errors import SyncConflict
    from terp_actions.report import render_sync_summary, render_sync_text
    from terp_actions.sync import SyncStatus, open_conflict_pr, run_sync

    ctx = Context(dict(os.environ), as_json)
    config = _load_config(config_path, repo)
    source = source or config.branches.main
    target = target or config.branches.staging
    git = gitmod.open_repo(repo)
    token = ctx.environ.get("GITHUB_TOKEN", "")
    try:
        url = gitmod.remote_url(git, remote)
    except TerpError:
        url = ""
    auth = gitmod.auth_env(
        url, token, ctx.environ.get("GITHUB_SERVER_URL", "https://github.com"), ctx.environ
    )
    for value in auth.values():
        if value.startswith("AUTHORIZATION: basic "):  # the token, encoded: hidden like the token
            encoded = value.removeprefix("AUTHORIZATION: basic ")
            ctx.redact.add(encoded)
            ctx.runner.mask(encoded)
    git = gitmod.Git(git.repo, auth)
    conflict_pr = None
    repository = ctx.environ.get("GITHUB_REPOSITORY", "")
    if token and repository:

        def conflict_pr(files: Any, main_tip: str, staging_tip: str) -> tuple[int | None, str]:

            try:
                api = _github_api(ctx)
                return open_conflict_pr(
                    api, files, source=source, target=target, main_tip=main_tip, staging_tip=staging_tip
                )
            except TerpError as exc:
                ctx.runner.annotate(
                    "warning",
                    f"the conflict pull request could not be opened: {ctx.redact(str(exc))}",
                    title="Sync pull request",
                )
                return None, "the pull request could not be opened (see the warning)"

    result = run_sync(
        git, remote=remote, source=source, target=target, dry_run=dry_run, conflict_pr=conflict_pr
    )
    ctx.runner.set_outputs(
        {
            "status": str(result.status),
            "before": result.before,
            "after": result.after,
            "merged-commits": str(result.merged_commits),
            "pull-requests": json.dumps(list(result.pull_requests)),
            "conflict-files": json.dumps(list(result.conflict_files)),
            "sync-pr": str(result.sync_pr or ""),
            "pushed": "true" if result.pushed else "false",
        }
    )
    ctx.runner.add_summary(render_sync_summary(result))
    if as_json:
        ctx.emit_json(
            {
                "status": str(result.status),
                "before": result.before,
                "after": result.after,
                "merged_commits": result.merged_commits,
                "pull_requests": list(result.pull_requests),
                "conflict_files": list(result.conflict_files),
                "sync_pr": result.sync_pr,
                "pushed": result.pushed,
                "dry_run": result.dry_run,
                "push": result.push,
                "subjects": list(result.subjects),
            }
        )
    else:
        with ctx.runner.untrusted():
            for line in render_sync_text(result):
                ctx.say(line)
    if result.status is SyncStatus.CONFLICT:
        files = ", ".join(result.conflict_files[:10]) + (" …" if len(result.conflict_files) > 10 else "")
        raise SyncConflict(
            f"{source} cannot be merged into {target} automatically: {files}; {result.pr_note}",
            result.conflict_files,
        )


def _github_api(ctx: Context) -> Any:
    """The GitHub client for GITHUB_TOKEN / GITHUB_REPOSITORY / GITHUB_API_URL. Write throttling (GitHub's
    advice against secondary rate limits) stays on unless TERP_GITHUB_THROTTLE is 0 (the sandbox)."""
    from terp_actions.github import GitHubApi

    return GitHubApi(
        ctx.environ.get("GITHUB_TOKEN", ""),
        ctx.environ.get("GITHUB_REPOSITORY", ""),
        ctx.environ.get("GITHUB_API_URL", "https://api.github.com"),
        throttle=ctx.environ.get("TERP_GITHUB_THROTTLE", "1") != "0",
    )


def _environment(config: Any, env: str) -> Any:
    environment = config.environments.get(env)
    if environment is None:
        known = ", ".join(sorted(config.environments)) or "none"
        raise BadInput(
            f"{config.source}: environment {env!r} is not configured (environments: {known}); "
            f"add environments.{env}.app and .url"
        )
    return environment


def _do_client(ctx: Context) -> Any:
    """The App Platform client: the token from DIGITALOCEAN_TOKEN, checked before any request."""
    from terp_actions.digitalocean import DEFAULT_ENDPOINT, AppPlatform

    token = ctx.environ.get("DIGITALOCEAN_TOKEN", "").strip()
    if not token:
        raise BadInput("DIGITALOCEAN_TOKEN is not set (or empty): App Platform cannot be reached without it")
    # Redacted from all our output. Not echoed in an ::add-mask:: command: a token from a secret is
    # masked by the runner already, and the command would put it on stdout for anyone capturing it.
    ctx.redact.add(token)
    return AppPlatform(token, ctx.environ.get("TERP_DO_ENDPOINT") or DEFAULT_ENDPOINT)


def _expected_commit(git: Any, sha: str | None, remote: str, config: Any, env: str) -> str:
    """The commit that must be live: ``--sha``, else the tip of the environment's branch."""
    from terp_actions import git as gitmod

    wanted = sha or f"{remote}/{_branch_for(config, env)}"
    head = gitmod.resolve_commit(git, wanted, what="--sha")
    if head is None:
        raise BadInput(f"{wanted!r} does not name a commit in {git.repo} (fetch it first)")
    return head


def _branch_for(config: Any, env: str) -> str:
    """The branch an environment deploys: branches.staging / branches.production, else its name."""
    branches: dict[str, str] = {"staging": config.branches.staging, "production": config.branches.production}
    return branches.get(env, env)


def _commit_checker(ctx: Context, git: Any, head: str) -> Callable[[str], bool]:
    """``contains(commit)``: does a deployment's commit contain ``head``? (Unknown commits: no.)"""
    from terp_actions import git as gitmod

    unknown: set[str] = set()

    def contains(commit: str) -> bool:
        if not commit:
            return False
        if commit == head:
            return True
        if gitmod.resolve_commit(git, commit) is None:
            if commit not in unknown:
                unknown.add(commit)
                message = f"deployment commit {commit[:12]} is not in this clone; not adopted"
                ctx.runner.annotate("warning", message, title="Unknown commit")
            return False
        return gitmod.is_ancestor(git, head, commit)

    return contains


def env_option(func: F) -> F:
    """``--env`` (``TERP_ENV``): the environment of the configuration to act on."""
    return click.option(
        "--env", "env", envvar="TERP_ENV", required=True, help="Environment (staging, production, …)."
    )(func)


@cli.command(
    "deploy", short_help="Deploy an environment on App Platform: adopt or create, follow, auto-heal."
)
@common
@env_option
@repo_option("The git repository (to resolve and compare commits).")
@click.option(
    "--sha", envvar="TERP_SHA", help="Commit that must go live [default: the environment branch tip]."
)
@click.option(
    "--remote", envvar="TERP_REMOTE", default="origin", show_default=True, help="Remote of the branches."
)
@click.option("--force-build", is_flag=True, envvar="TERP_FORCE_BUILD", help="Build without the build cache.")
@click.option("--timeout", envvar="TERP_TIMEOUT", help="Total deadline, e.g. 30m [default: deploy.timeout].")
@click.option("--dry-run", is_flag=True, envvar="TERP_DRY_RUN", help="Show whether it would adopt or create.")
@click.option(
    "--apply-spec",
    is_flag=True,
    envvar="TERP_APPLY_SPEC",
    help="Apply the environment's spec file first (an app update), then follow its deployment.",
)
@click.option(
    "--spec-since",
    envvar="TERP_SPEC_SINCE",
    default="",
    help="Apply the spec file only if it changed between this commit and SHA (the planned range).",
)
def deploy_cmd(
    config_path: Path | None,
    as_json: bool,
    env: str,
    repo: Path,
    sha: str | None,
    remote: str,
    force_build: bool,
    timeout: str | None,
    dry_run: bool,
    apply_spec: bool,
    spec_since: str,
) -> None:
    """Make sure the environment runs a deployment that contains SHA, and follow it until live.

    Adopts a deployment in progress (or live) whose commit contains SHA, waits for one in
    progress for an older commit, creates one otherwise; follows it phase by phase under a total
    deadline; on a failure reads the logs, fingerprints the error and retries transient failures
    (at most deploy.attempts in all, stopping at once when an error repeats).
    """
    from terp_actions import git as gitmod
    from terp_actions.config import parse_duration
    from terp_actions.deploy import DEFAULT_RULES, Deployer, DeploymentFailed, HealRule, choose_deployment

    ctx = Context(dict(os.environ), as_json)
    config = _load_config(config_path, repo)
    environment = _environment(config, env)
    deadline = config.deploy.timeout
    if timeout is not None:
        parsed = parse_duration(timeout)
        if parsed is None:
            raise BadInput(f"--timeout {timeout!r}: expected a duration like 30m or 1800s")
        deadline = parsed
    git = gitmod.open_repo(repo)
    head = _expected_commit(git, sha, remote, config, env)
    if not apply_spec and spec_since and environment.spec:
        apply_spec = _spec_changed(ctx, git, spec_since, head, environment.spec)
    # A bad spec is bad input: refused before any request.
    prepared = _prepare_spec(ctx, config, env, None, repo) if apply_spec else None
    client = _do_client(ctx)
    app = client.get_app(environment.app)
    contains = _commit_checker(ctx, git, head)

    outputs = {
        "deployment-id": "",
        "phase": "",
        "commit": "",
        "attempts": "0",
        "fingerprint": "",
        "url": str(app.get("live_url") or environment.url),
        "adopted": "false",
        "spec": "",
    }
    if prepared is not None:
        from terp_actions.spec import applied_note

        fields = _apply_spec(ctx, prepared, client, app, dry_run=dry_run)
        outputs["spec"] = "" if dry_run else applied_note(fields)
    if dry_run:
        choice = choose_deployment(client.list_deployments(app["id"]), contains)
        outputs.update({"deployment-id": choice.deployment, "adopted": str(choice.action == "adopt").lower()})
        ctx.runner.set_outputs(outputs)
        ctx.say(f"dry run: would {choice.action} ({choice.reason}) for {head[:12]} on {env}")
        return
    # Configured rules come first: a team's own knowledge of its failures overrides the defaults.
    configured = tuple(
        HealRule(r.pattern, r.kind, r.force_build, "configured rule") for r in config.deploy.rules
    )
    deployer = Deployer(
        client,
        app["id"],
        contains=contains,
        say=ctx.say,
        timeout=deadline,
        max_attempts=config.deploy.attempts,
        rules=configured + DEFAULT_RULES,
    )
    try:
        with ctx.runner.group(f"Deploy {env} ({environment.app}) to {head[:12]}"):
            result = deployer.run(force_build=force_build)
    except DeploymentFailed as exc:
        outputs.update({"deployment-id": exc.deployment, "phase": exc.phase, "fingerprint": exc.fingerprint})
        ctx.runner.set_outputs(outputs)
        ctx.runner.add_summary(f"### terp-actions deploy\n\n**{env}: failed** — {ctx.redact(str(exc))}\n")
        raise
    outputs.update(
        {
            "deployment-id": result.deployment,
            "phase": result.phase,
            "commit": result.commit,
            "attempts": str(len(result.attempts)),
            "fingerprint": result.fingerprint,
            "adopted": str(result.adopted).lower(),
        }
    )
    ctx.runner.set_outputs(outputs)
    ctx.runner.add_summary(
        f"### terp-actions deploy\n\n**{env}: live** — deployment `{result.deployment}` "
        f"(commit `{result.commit[:12]}`, {len(result.attempts)} attempt(s), "
        f"{'adopted' if result.adopted else 'created'})\n"
    )
    if as_json:
        ctx.emit_json({k.replace("-", "_"): v for k, v in outputs.items()} | {"requests": result.requests})
    else:
        ctx.say(f"LIVE  {env}: deployment {result.deployment} is ACTIVE with {result.commit[:12]}")


@cli.command("verify", short_help="Check a live deploy: phase, commit, health, latency, logs, migrations.")
@common
@env_option
@repo_option("The git repository (to compare commits).")
@click.option(
    "--sha", envvar="TERP_SHA", help="Commit that must be live [default: the environment branch tip]."
)
@click.option(
    "--remote", envvar="TERP_REMOTE", default="origin", show_default=True, help="Remote of the branches."
)
def verify_cmd(
    config_path: Path | None, as_json: bool, env: str, repo: Path, sha: str | None, remote: str
) -> None:
    """Run the verification checks against the environment and exit 1 if any fails."""
    import json

    from terp_actions import git as gitmod
    from terp_actions.deploy import commit_of
    from terp_actions.errors import VerificationFailed
    from terp_actions.verify import check_commit, percentile, run_checks, verdict_to_json

    ctx = Context(dict(os.environ), as_json)
    config = _load_config(config_path, repo)
    environment = _environment(config, env)
    settings = config.verify
    git = gitmod.open_repo(repo)
    head = _expected_commit(git, sha, remote, config, env)
    client = _do_client(ctx)
    app = client.get_app(environment.app)
    active = app.get("active_deployment") or {}
    deployed = commit_of(active)
    verdict, latencies = run_checks(
        client,
        app["id"],
        active,
        settings,
        url=environment.url,
        commit_check=check_commit(deployed, head, _commit_checker(ctx, git, head)(deployed)),
        previous_p95=_previous_p95(ctx, env),
    )
    p95 = percentile(latencies, 95) if latencies else 0.0
    ctx.runner.set_outputs(
        {
            "verdict": "pass" if verdict.passed else "fail",
            "checks": json.dumps(verdict_to_json(verdict)),
            "health-p95-ms": f"{p95:.0f}" if latencies else "",
        }
    )
    rows = "\n".join(f"| {c.status.upper()} | {c.name} | {c.detail} |" for c in verdict.checks)
    ctx.runner.add_summary(
        f"### terp-actions verify ({env})\n\n**{'verified' if verdict.passed else 'FAILED'}**"
        f"\n\n| result | check | detail |\n|---|---|---|\n{rows}\n"
    )
    if as_json:
        ctx.emit_json(
            {
                "verdict": "pass" if verdict.passed else "fail",
                "checks": verdict_to_json(verdict),
                "health_p95_ms": round(p95) if latencies else None,
            }
        )
    else:
        with ctx.runner.untrusted():
            for c in verdict.checks:
                ctx.say(f"{c.status.upper():<4}  {c.name:<16} {c.detail} ({c.duration:.1f} s)")
    if not verdict.passed:
        failed = ", ".join(c.name for c in verdict.checks if c.status == "fail")
        raise VerificationFailed(f"{env}: {failed} failed")


def _previous_p95(ctx: Context, env: str) -> float | None:
    """The p95 of the last verified deploy, from the GitHub Deployments of ``env`` (when reachable)."""
    token, repository = ctx.environ.get("GITHUB_TOKEN", ""), ctx.environ.get("GITHUB_REPOSITORY", "")
    if not (token and repository):
        return None
    from terp_actions.verify import previous_p95

    try:
        api = _github_api(ctx)
        for deployment in api.deployments(env)[:10]:
            found = previous_p95(s.description for s in api.statuses(deployment.id) if s.state == "success")
            if found is not None:
                return found
    except TerpError as exc:
        ctx.runner.annotate("warning", f"previous latency unknown: {exc}", title="Latency baseline")
    return None


class IntList(click.ParamType):  # type: ignore[type-arg]
    """Pull request numbers: repeatable, and from the environment a JSON array or one per line."""

    name = "number"

    def split_envvar_value(self, rv: str) -> Sequence[str]:
        import json

        text = rv.strip()
        if text.startswith("["):
            try:
                return [str(n) for n in json.loads(text)]
            except ValueError:
                return [text]
        return [line for line in text.split() if line]

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        try:
            number = int(str(value).lstrip("#"))
        except ValueError:
            self.fail(f"{value!r} is not a pull request number", param, ctx)
        if number <= 0:
            self.fail(f"{value!r} is not a pull request number", param, ctx)
        return number


@cli.command("report", short_help="Record a stage on each pull request's sticky comment and Deployment.")
@common
@click.option(
    "--stage",
    type=click.Choice(["merged", "synced", "planned", "deployed", "verified", "promoted"]),
    required=True,
    envvar="TERP_STAGE",
    help="The stage to record.",
)
@click.option(
    "--status",
    "status",
    type=click.Choice(["running", "success", "skipped", "failure"]),
    required=True,
    envvar="TERP_STATUS",
    help="How the stage went.",
)
@click.option(
    "--pr",
    "pulls",
    multiple=True,
    type=IntList(),
    envvar="TERP_PULL_REQUESTS",
    help="Pull request number (repeatable; TERP_PULL_REQUESTS: a JSON array as sync/plan output it).",
)
@click.option("--sha", envvar="TERP_SHA", default="", help="The commit of this stage.")
@click.option("--detail", envvar="TERP_DETAIL", default="", help="One line shown with the stage.")
@click.option("--deployment", envvar="TERP_DEPLOYMENT", default="", help="App Platform deployment id.")
@click.option(
    "--env", "env", envvar="TERP_ENV", default="", help="Environment whose GitHub Deployment to update."
)
@click.option("--environment-url", envvar="TERP_ENVIRONMENT_URL", default="", help="The environment's URL.")
@click.option(
    "--p95-ms", envvar="TERP_P95_MS", default="", help="Verified p95 latency, kept as the next baseline."
)
@click.option("--dry-run", is_flag=True, envvar="TERP_DRY_RUN", help="Print the comments; post nothing.")
def report_cmd(
    config_path: Path | None,
    as_json: bool,
    stage: str,
    status: str,
    pulls: tuple[int, ...],
    sha: str,
    detail: str,
    deployment: str,
    env: str,
    environment_url: str,
    p95_ms: str,
    dry_run: bool,
) -> None:
    """Record STAGE on the sticky comment of every pull request, and on the environment's GitHub
    Deployment. A comment that cannot be posted (a fork's token) is a warning, never a failure."""
    import datetime
    import json

    from terp_actions.publish import BOT_LOGIN, publish_stage, pulls_for_commit
    from terp_actions.report import PullState, StageState, render_comment

    ctx = Context(dict(os.environ), as_json)
    if sha and not re.fullmatch(r"[0-9a-f]{7,64}", sha):
        raise BadInput(f"--sha {sha!r} must be a commit id (hex)")
    if deployment and not re.fullmatch(r"[A-Za-z0-9-]{1,64}", deployment):
        raise BadInput(f"--deployment {deployment!r} is not a deployment id")
    note = f"p95={p95_ms}ms" if p95_ms else ""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    stage_state = StageState(status, sha, (detail + (f" ({note})" if note else "")).strip(), deployment, now)
    server = ctx.environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    repository = ctx.environ.get("GITHUB_REPOSITORY", "")
    repo_url = f"{server}/{repository}" if repository else ""
    run_id = ctx.environ.get("GITHUB_RUN_ID", "")
    log_url = f"{repo_url}/actions/runs/{run_id}" if repo_url and run_id else ""
    token = ctx.environ.get("GITHUB_TOKEN", "")
    if dry_run or not (token and repository):
        if not dry_run:
            ctx.runner.annotate(
                "warning", "GITHUB_TOKEN or GITHUB_REPOSITORY is not set: nothing posted", title="Report"
            )
        for pr in pulls:
            body = render_comment(PullState(pr).with_stage(stage, stage_state), repo_url=repo_url)
            ctx.runner.add_summary(body.split("<!-- terp-actions:state")[0])
            ctx.say(body)
        ctx.runner.set_outputs({"comments": "[]", "deployment-id": ""})
        return

    api = _github_api(ctx)
    if not pulls and sha:  # no numbers from the commit messages: ask GitHub which PRs carried the commit
        pulls = pulls_for_commit(api, sha, base=_load_config(config_path, Path()).branches.main)
    published = publish_stage(
        api,
        pulls,
        stage,
        stage_state,
        author=ctx.environ.get("TERP_BOT_LOGIN", BOT_LOGIN),
        repo_url=repo_url,
        environment=env,
        environment_url=environment_url,
        log_url=log_url,
    )
    for pr, error in published.failures:
        ctx.runner.annotate(
            "warning", f"#{pr}: the status comment could not be posted: {error}", title="Comment"
        )
        ctx.runner.add_summary(f"> #{pr}: the status comment could not be posted ({error}).")
    if published.deployment_error:
        ctx.runner.annotate(
            "warning",
            f"the GitHub Deployment was not updated: {published.deployment_error}",
            title="Deployment",
        )
    for outcome in published.comments:
        ctx.runner.add_summary(outcome.body.split("<!-- terp-actions:state")[0])
    comments = [{"pr": c.pr, "action": c.action, "comment": c.comment_id} for c in published.comments]
    ctx.runner.set_outputs(
        {"comments": json.dumps(comments), "deployment-id": str(published.deployment or "")}
    )
    if as_json:
        ctx.emit_json(
            {
                "comments": comments,
                "failures": [{"pr": p, "error": e} for p, e in published.failures],
                "deployment": published.deployment,
                "deployment_state": published.deployment_state,
            }
        )
        return
    for c in published.comments:
        ctx.say(f"#{c.pr}: comment {c.action}")
    if published.deployment:
        ctx.say(f"GitHub Deployment {published.deployment}: {published.deployment_state}")


def _verified_on_staging(ctx: Context) -> set[str]:
    """Commits whose newest staging Deployment status is a success (empty without GitHub access)."""
    token, repository = ctx.environ.get("GITHUB_TOKEN", ""), ctx.environ.get("GITHUB_REPOSITORY", "")
    if not (token and repository):
        return set()

    api = _github_api(ctx)
    found = set()
    for deployment in api.deployments("staging")[:30]:
        statuses = api.statuses(deployment.id)
        if (
            statuses
            and statuses[0].state in ("success", "inactive")
            and any(s.state == "success" for s in statuses)
        ):
            found.add(deployment.sha)
    return found


def _health_check(settings: Any, url: str) -> Callable[[], bool]:
    from terp_actions.verify import Prober, check_health

    def healthy() -> bool:
        h = settings.health
        probes = Prober(url, h.path, h.expect, h.probes, h.timeout, interval=h.interval).run()
        return check_health(probes, h.expect, h.probes).status == "pass"

    return healthy


@cli.command("promote", short_help="Promote a verified staging commit to production; roll back on failure.")
@common
@repo_option("The git repository (a clone of the remote).")
@click.option(
    "--sha", envvar="TERP_SHA", help="Commit to promote [default: the newest verified staging commit]."
)
@click.option("--force", is_flag=True, envvar="TERP_FORCE", help="Promote a commit staging has not verified.")
@click.option("--reason", envvar="TERP_REASON", default="", help="Why --force (required with it; reported).")
@click.option(
    "--remote", envvar="TERP_REMOTE", default="origin", show_default=True, help="Remote of the branches."
)
@click.option("--dry-run", is_flag=True, envvar="TERP_DRY_RUN", help="Check the gate; change nothing.")
def promote_cmd(
    config_path: Path | None,
    as_json: bool,
    repo: Path,
    sha: str | None,
    force: bool,
    reason: str,
    remote: str,
    dry_run: bool,
) -> None:
    """Fast-forward production to a staging commit that staging verified, deploy and verify it;
    when that fails, roll the app back to the last good deployment and exit 1."""
    from terp_actions import git as gitmod
    from terp_actions.deploy import Deployer, commit_of
    from terp_actions.promote import PromotionFailed, run_promotion
    from terp_actions.verify import check_commit, run_checks

    if force and not reason.strip():
        raise BadInput("--force needs --reason: the report shows why an unverified commit went out")
    ctx = Context(dict(os.environ), as_json)
    config = _load_config(config_path, repo)
    environment = _environment(config, "production")
    git = gitmod.open_repo(repo)
    token = ctx.environ.get("GITHUB_TOKEN", "")
    url = gitmod.remote_url(git, remote)
    git = gitmod.Git(
        git.repo, gitmod.auth_env(url, token, ctx.environ.get("GITHUB_SERVER_URL", "https://github.com"))
    )
    platform = _do_client(ctx)
    app = platform.get_app(environment.app)

    def deployer(sha_: str) -> Any:
        contains = _commit_checker(ctx, git, sha_)
        return Deployer(
            platform,
            app["id"],
            contains=contains,
            say=ctx.say,
            timeout=config.deploy.timeout,
            max_attempts=config.deploy.attempts,
        )

    def deploy(sha_: str) -> Any:
        with ctx.runner.group(f"Deploy production to {sha_[:12]}"):
            return deployer(sha_).run()

    def verify(sha_: str) -> tuple[bool, str]:
        active = platform.get_app(app["id"]).get("active_deployment") or {}
        contains = _commit_checker(ctx, git, sha_)(commit_of(active))
        verdict, _ = run_checks(
            platform,
            app["id"],
            active,
            config.verify,
            url=environment.url,
            commit_check=check_commit(commit_of(active), sha_, contains),
            previous_p95=None,
        )
        failed = ", ".join(f"{c.name}: {c.detail}" for c in verdict.checks if c.status == "fail")
        return verdict.passed, failed

    try:
        result = run_promotion(
            git,
            platform,
            app["id"],
            remote=remote,
            staging=config.branches.staging,
            production=config.branches.production,
            sha_text=sha,
            verified=_verified_on_staging(ctx),
            force_reason=reason if force else "",
            deploy=deploy,
            verify=verify,
            healthy=_health_check(config.verify, environment.url),
            follow=lambda d: deployer("").follow(d),
            commit_of=commit_of,
            say=ctx.say,
            dry_run=dry_run,
        )
    except PromotionFailed as exc:
        _offer_revert(ctx, git, remote, config, exc)
        _report_promotion(ctx, git, remote, config, exc.holds or sha, "failure", str(exc), environment.url)
        raise
    except TerpError as exc:
        _report_promotion(ctx, git, remote, config, sha, "failure", str(exc), environment.url)
        raise
    if not dry_run:
        _report_promotion(
            ctx,
            git,
            remote,
            config,
            result.sha,
            "success",
            "; ".join(result.notes),
            environment.url,
            previous=result.previous,
            deployment=result.deployment,
        )
    ctx.runner.set_outputs(
        {
            "sha": result.sha,
            "previous": result.previous,
            "pushed": str(result.pushed).lower(),
            "deployment-id": result.deployment,
            "verified": str(result.verified).lower(),
        }
    )
    summary = f"### terp-actions promote\n\nproduction: `{result.previous[:12]}` → `{result.sha[:12]}`"
    ctx.runner.add_summary(summary + "".join(f"\n\n{n}" for n in result.notes))
    if as_json:
        ctx.emit_json(
            {
                "sha": result.sha,
                "previous": result.previous,
                "pushed": result.pushed,
                "deployment": result.deployment,
                "verified": result.verified,
                "notes": result.notes,
            }
        )
    elif not dry_run:
        ctx.say(f"PROMOTED  production runs {result.sha[:12]} (deployment {result.deployment}), verified")


def _offer_revert(ctx: Context, git: Any, remote: str, config: Any, exc: Any) -> None:
    """After a rolled-back promotion: open the revert pull request when configured, else say how."""
    from terp_actions.promote import open_revert_pr
    from terp_actions.sync import BOT_IDENTITY

    if not (
        config.promote.revert_pr and ctx.environ.get("GITHUB_TOKEN") and ctx.environ.get("GITHUB_REPOSITORY")
    ):
        exc.message += "; set promote.revert_pr to have a revert pull request opened"
        return
    try:
        number = open_revert_pr(
            git,
            _github_api(ctx),
            remote=remote,
            production=config.branches.production,
            good=exc.runs,
            bad=exc.holds,
            identity=BOT_IDENTITY,
        )
        exc.message += f"; revert pull request #{number} opened"
    except TerpError as error:
        exc.message += f"; the revert pull request could not be opened ({error})"


def _report_promotion(
    ctx: Context,
    git: Any,
    remote: str,
    config: Any,
    sha: str | None,
    status: str,
    detail: str,
    url: str,
    *,
    previous: str = "",
    deployment: str = "",
) -> None:
    """Extend the comments of the PRs the promotion carries with the `promoted` stage (best effort)."""
    from terp_actions import git as gitmod
    from terp_actions.plan import pull_requests_in
    from terp_actions.publish import publish_stage
    from terp_actions.report import StageState

    token, repository = ctx.environ.get("GITHUB_TOKEN", ""), ctx.environ.get("GITHUB_REPOSITORY", "")
    if not (token and repository and sha and re.fullmatch(r"[0-9a-f]{40}", sha)):
        return

    previous = previous or gitmod.resolve_commit(git, f"{remote}/{config.branches.production}") or ""
    pulls = (
        tuple(sorted(pull_requests_in(gitmod.subjects(git, previous or None, sha))))
        if previous != sha
        else ()
    )
    api = _github_api(ctx)
    server = ctx.environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    report = publish_stage(
        api,
        pulls,
        "promoted",
        StageState(status, sha, detail[:300], deployment),
        repo_url=f"{server}/{repository}",
        environment="production",
        environment_url=url,
    )
    for pr, error in report.failures:
        ctx.runner.annotate(
            "warning", f"#{pr}: the status comment could not be posted: {error}", title="Comment"
        )


@cli.command("rollback", short_help="Roll an environment back to its previous good deployment.")
@common
@env_option
@repo_option("Repository whose configuration to read.")
@click.option("--to", "target", envvar="TERP_TO", help="Deployment id [default: the previous live one].")
@click.option("--dry-run", is_flag=True, envvar="TERP_DRY_RUN", help="Validate only; change nothing.")
def rollback_cmd(
    config_path: Path | None, as_json: bool, env: str, repo: Path, target: str | None, dry_run: bool
) -> None:
    """App Platform's rollback: validate, create (which pins the app), wait, check health, commit."""
    from terp_actions.deploy import Deployer
    from terp_actions.promote import RollbackFailed, roll_back

    ctx = Context(dict(os.environ), as_json)
    config = _load_config(config_path, repo)
    environment = _environment(config, env)
    platform = _do_client(ctx)
    app = platform.get_app(environment.app)
    active = (app.get("active_deployment") or {}).get("id", "")
    if not target:
        for dep in platform.list_deployments(app["id"]):
            if (
                dep["id"] != active
                and dep.get("phase") in ("ACTIVE", "SUPERSEDED")
                and platform.validate_rollback(app["id"], dep["id"]).get("valid")
            ):
                target = dep["id"]
                break
    if not target:
        raise RollbackFailed(f"{env}: no earlier deployment that went live can be rolled back to")
    if dry_run:
        ctx.runner.set_outputs({"deployment-id": "", "target": target})
        valid = platform.validate_rollback(app["id"], target)
        ctx.say(
            f"dry run: rollback of {env} to {target}: {'valid' if valid.get('valid') else valid.get('error')}"
        )
        return
    follower = Deployer(
        platform, app["id"], contains=lambda _c: False, say=ctx.say, timeout=config.deploy.timeout
    )
    deployment = roll_back(
        platform,
        app["id"],
        target,
        follow=follower.follow,
        healthy=_health_check(config.verify, environment.url),
        say=ctx.say,
    )
    ctx.runner.set_outputs({"deployment-id": deployment, "target": target})
    if as_json:
        ctx.emit_json({"deployment": deployment, "target": target})


@cli.command("doctor", short_help="Find configuration, app spec and workflow mistakes before they bite.")
@common
@repo_option("The repository to examine.")
def doctor_cmd(config_path: Path | None, as_json: bool, repo: Path) -> None:
    """Check the configuration, `.do/*.yaml` app specs, `.github/workflows/*.yml` and the
    repository for mistakes; exit 1 when one is an error, 0 otherwise."""
    from terp_actions import git as gitmod
    from terp_actions.config import DEFAULT_PATH
    from terp_actions.doctor import diagnose, read_repository
    from terp_actions.errors import DoctorFoundErrors

    ctx = Context(dict(os.environ), as_json)
    config = _load_config(config_path, repo)
    git = gitmod.open_repo(repo)
    config_file = (
        str(config_path.relative_to(repo))
        if config_path and config_path.is_relative_to(repo)
        else DEFAULT_PATH
    )
    findings = diagnose(read_repository(git, repo, config, config_file))
    if as_json:
        ctx.emit_json(
            [
                {"severity": f.severity, "file": f.file, "line": f.line, "message": f.message, "fix": f.fix}
                for f in findings
            ]
        )
    else:
        for file in sorted({f.file for f in findings}):
            ctx.say(file)
            for f in (x for x in findings if x.file == file):
                where = f":{f.line}" if f.line else ""
                ctx.say(
                    f"  {f.severity.upper():<7} {file}{where}  {f.message}"
                    + (f"\n          fix: {f.fix}" if f.fix else "")
                )
        counts = {s: sum(1 for f in findings if f.severity == s) for s in ("error", "warning", "info")}
        ctx.say(f"doctor: {counts['error']} errors, {counts['warning']} warnings, {counts['info']} notes")
    for f in findings:
        if f.severity == "error":
            ctx.runner.annotate("error", f"{f.file}:{f.line}: {f.message}", title="doctor")
    if any(f.severity == "error" for f in findings):
        raise DoctorFoundErrors(f"{sum(1 for f in findings if f.severity == 'error')} error(s) found")


def _spec_changed(ctx: Context, git: Any, since: str, head: str, spec: str) -> bool:
    """Does ``since..head`` change the spec file? Says which way it decided."""
    from terp_actions import git as gitmod

    base = gitmod.resolve_commit(git, since, what="--spec-since")
    if base is None:
        raise BadInput(f"--spec-since {since!r} does not name a commit in {git.repo} (fetch it first)")
    changed = any(True for _ in gitmod.changed_paths(git, base, head, spec))
    ctx.say(f"app spec {spec}: {'changed' if changed else 'unchanged'} in {base[:12]}..{head[:12]}")
    return changed


def _apply_spec(ctx: Context, prepared: Any, client: Any, app: Any, *, dry_run: bool) -> list[str]:
    """Show the spec's diff against the live app (in a log group and the job summary) and, unless
    a dry run, apply it; returns the changed fields. An unchanged spec is not applied again."""
    from terp_actions.spec import apply_spec

    with ctx.runner.group("App spec"):
        change = apply_spec(client, app, prepared, say=ctx.say, dry_run=dry_run)
    if change.fields:
        verb = "Would change" if dry_run else "Applied; changed"
        fields = ", ".join(f"`{f}`" for f in change.fields)
        diff = "\n".join(change.diff)
        ctx.runner.add_summary(f"### App spec\n\n{verb}: {fields}\n\n```diff\n{diff}\n```\n")
    return change.fields


def _prepare_spec(ctx: Context, config: Any, env: str, file: Path | None, repo: Path) -> Any:
    """Read, fill and check the spec for ``env`` (a ``FilledSpec``); its filled values are secrets."""
    from terp_actions.digitalocean import is_app_id
    from terp_actions.spec import prepare_spec

    environment = config.environments.get(env) if env else None
    if file is None:
        if environment is None or not environment.spec:
            raise BadInput(f"no spec file: give FILE, or set environments.{env or '<env>'}.spec")
        file = repo / environment.spec
    app_name = environment.app if environment and not is_app_id(environment.app) else ""

    def hide(secret: str) -> None:
        ctx.redact.add(secret)
        ctx.runner.mask(secret)

    branch = _branch_for(config, env) if env else ""
    return prepare_spec(file, ctx.environ, app_name=app_name, branch=branch, on_secret=hide)


@cli.group("spec", short_help="Validate an app spec, or diff it against the live app.")
def spec_group() -> None:
    """App specs as code (`.do/app*.yaml`)."""


@spec_group.command("validate")
@common
@click.option("--env", "env", envvar="TERP_ENV", default="", help="Environment the spec must match.")
@repo_option("The repository (for its configuration and spec paths).")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
def spec_validate(config_path: Path | None, as_json: bool, env: str, repo: Path, file: Path | None) -> None:
    """Check a spec offline: YAML shape, required fields, the environment match, placeholders."""
    ctx = Context(dict(os.environ), as_json)
    config = _load_config(config_path, repo)
    spec = _prepare_spec(ctx, config, env, file, repo).spec
    if as_json:
        ctx.emit_json({"valid": True, "name": spec.get("name"), "env": env or None})
        return
    ctx.say(f"ok: app spec {spec.get('name')!r} is valid" + (f" for {env}" if env else ""))


@spec_group.command("diff")
@common
@env_option
@repo_option("The repository (for its configuration and spec paths).")
def spec_diff_cmd(config_path: Path | None, as_json: bool, env: str, repo: Path) -> None:
    """Show how the environment's spec file differs from the live app's spec (secrets hidden)."""
    from terp_actions.spec import changed_fields, spec_diff

    ctx = Context(dict(os.environ), as_json)
    config = _load_config(config_path, repo)
    environment = _environment(config, env)
    filled = _prepare_spec(ctx, config, env, None, repo)
    spec, secrets = filled.spec, filled.secrets
    live = _do_client(ctx).get_app(environment.app).get("spec") or {}
    fields = changed_fields(live, spec)
    if as_json:
        ctx.emit_json({"changed_fields": fields, "diff": spec_diff(live, spec, secrets)})
        return
    for line in spec_diff(live, spec, secrets) or ["(no difference)"]:
        ctx.say(line)


@cli.command("status", short_help="Which deployment carries a commit, its phase and progress.")
@common
@env_option
@repo_option("The git repository (to compare commits).")
@click.option("--sha", envvar="TERP_SHA", help="Commit to look for [default: none, just the app's state].")
def status_cmd(config_path: Path | None, as_json: bool, env: str, repo: Path, sha: str | None) -> None:
    """Show the app's active and in-progress deployments, its rollback pin, and which deployment
    carries SHA (its phase, progress and timings)."""
    from terp_actions import git as gitmod
    from terp_actions.deploy import commit_of, progress_line

    ctx = Context(dict(os.environ), as_json)
    config = _load_config(config_path, repo)
    environment = _environment(config, env)
    client = _do_client(ctx)
    app = client.get_app(environment.app)
    deployments = client.list_deployments(app["id"])
    carrying = None
    if sha:
        git = gitmod.open_repo(repo)
        head = gitmod.resolve_commit(git, sha, what="--sha") or sha

        def contains(commit: str) -> bool:
            return bool(commit) and (
                commit == head
                or (gitmod.resolve_commit(git, commit) is not None and gitmod.is_ancestor(git, head, commit))
            )

        carrying = next((d for d in deployments if contains(commit_of(d))), None)

    def brief(dep: Any) -> dict[str, Any] | None:
        if not dep:
            return None
        return {
            "id": dep.get("id"),
            "phase": dep.get("phase"),
            "commit": commit_of(dep),
            "cause": dep.get("cause"),
            "created_at": dep.get("created_at"),
            "updated_at": dep.get("updated_at"),
            "progress": progress_line(dep),
        }

    data = {
        "app": app.get("id"),
        "name": (app.get("spec") or {}).get("name"),
        "url": app.get("live_url"),
        "active": brief(app.get("active_deployment")),
        "in_progress": brief(app.get("in_progress_deployment")),
        "pinned": brief(app.get("pinned_deployment")),
        "sha": sha,
        "carrying": brief(carrying),
    }
    if as_json:
        ctx.emit_json(data)
        return
    ctx.say(f"{env}: app {data['name']} ({data['app']})" + (f" at {data['url']}" if data["url"] else ""))
    for label in ("active", "in_progress", "pinned"):
        dep = data[label]
        if dep:
            ctx.say(
                f"  {label.replace('_', ' '):<12} {dep['id']}  {dep['phase']:<14} {str(dep['commit'])[:12]}  "
                f"{dep['progress']}"
            )
    if data["pinned"]:
        ctx.say("  the app is pinned by a rollback: commit or revert it before deploying")
    if sha:
        found = data["carrying"]
        ctx.say(
            f"  {sha[:12]}: "
            + (
                f"in deployment {found['id']} ({found['phase']}, created {found['created_at']})"
                if found
                else "in no recent deployment"
            )
        )


@cli.command("logs", short_help="Build, deploy or run logs of an environment (redacted).")
@common
@env_option
@click.option(
    "--type",
    "kind",
    type=click.Choice(["build", "deploy", "run"]),
    required=True,
    envvar="TERP_TYPE",
    help="Which logs.",
)
@click.option(
    "--deployment", envvar="TERP_DEPLOYMENT", help="Deployment id [default: the active deployment]."
)
@click.option(
    "--tail",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    envvar="TERP_TAIL",
    help="Show the last N lines.",
)
@click.option(
    "--grep", envvar="TERP_GREP", help="Keep only lines containing this text (plain text, not a regex)."
)
@repo_option("Repository whose configuration to read.")
def logs_cmd(
    config_path: Path | None,
    as_json: bool,
    env: str,
    kind: str,
    deployment: str | None,
    tail: int,
    grep: str | None,
    repo: Path,
) -> None:
    """Print an environment's logs, redacted, newest lines last. Log-file URLs are never shown."""
    ctx = Context(dict(os.environ), as_json)
    config = _load_config(config_path, repo)
    environment = _environment(config, env)
    client = _do_client(ctx)
    app = client.get_app(environment.app)
    text = client.logs(app["id"], deployment, kind.upper())
    lines = [line for line in text.splitlines() if grep is None or grep in line][-tail:]
    if as_json:
        ctx.emit_json(
            {
                "app": app["id"],
                "deployment": deployment,
                "type": kind,
                "lines": [ctx.redact(x) for x in lines],
            }
        )
        return
    with ctx.runner.untrusted():
        for line in lines:
            ctx.say(line)


@cli.command("demo", short_help="Run the flow on a throwaway repository.")
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Build the demo repository in this (new or empty) folder and keep it.",
)
def demo_cmd(keep: Path | None) -> None:
    """Run the flow on a throwaway TERP-like repository: no accounts, nothing leaves the machine."""
    from terp_actions.sandbox.demo import run_demo

    ctx = Context(dict(os.environ), as_json=False)
    run_demo(ctx.say, keep)


@cli.group("sandbox", short_help="Local stand-ins for GitHub, App Platform and the app.")
def sandbox_group() -> None:
    """Local stand-ins for GitHub, App Platform and the app, on 127.0.0.1."""


@sandbox_group.command("serve")
@click.option(
    "--scenario",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Scenario YAML: apps, repository, phase timings, faults, health script.",
)
@click.option(
    "--urls-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the URLs and tokens (JSON) to this file, once everything listens.",
)
@click.option(
    "--contracts",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    envvar="TERP_CONTRACTS_DIR",
    help="Folder of the OpenAPI contracts to check traffic against "
    "[default: shared/contracts beside the checkout, when present].",
)
def sandbox_serve(scenario: Path | None, urls_file: Path | None, contracts: Path | None) -> None:
    """Start the three stand-ins and run until interrupted (Ctrl-C).

    Prints a JSON object with their base URLs, the tokens they accept, the app ids, and the
    environment variables that point terp-actions commands at them.
    """
    import importlib.util
    import json
    import signal
    import threading

    from terp_actions.sandbox.contract import default_contracts_dir
    from terp_actions.sandbox.serve import Sandbox, load_scenario

    loaded = load_scenario(scenario)
    contracts = contracts or default_contracts_dir()
    if contracts is not None and importlib.util.find_spec("openapi_core") is None:
        click.echo(
            "sandbox: openapi-core is not installed: traffic is not checked against the contracts", err=True
        )
        contracts = None
    sandbox = Sandbox(loaded, contracts)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        # The tokens shown are the sandbox's own fixed strings, never a secret of the user's.
        text = json.dumps(sandbox.describe(), indent=2)
        click.echo(text)
        if urls_file is not None:
            partial = urls_file.with_name(urls_file.name + ".partial")
            partial.write_text(text + "\n", encoding="utf-8")
            partial.replace(urls_file)
        click.echo("sandbox: serving; Ctrl-C to stop", err=True)
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
        problems = sandbox.violations()
        for problem in problems:
            click.echo(f"sandbox: contract violation: {problem}", err=True)
        click.echo(f"sandbox: stopped ({len(problems)} contract violations)", err=True)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="terp-actions")
