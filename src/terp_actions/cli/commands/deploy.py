"""``terp-actions deploy``: make an environment run a deployment that contains a commit."""

from __future__ import annotations

from pathlib import Path

import click

from terp_actions.cli import options
from terp_actions.cli.session import Session
from terp_actions.errors import BadInput


@click.command(
    "deploy", short_help="Deploy an environment on App Platform: adopt or create, follow, auto-heal."
)
@options.common
@options.env()
@options.repo("The git repository (to resolve and compare commits).")
@options.sha("Commit that must go live [default: the environment branch tip].")
@options.remote()
@click.option("--force-build", is_flag=True, envvar="TERP_FORCE_BUILD", help="Build without the build cache.")
@click.option(
    "--redeploy",
    is_flag=True,
    envvar="TERP_REDEPLOY",
    help="Create a new deployment even when the live one carries SHA (after a setting or secret changed).",
)
@options.override_freeze
@options.reason("Why --override-freeze (required with it) or --redeploy; reported.")
@click.option("--timeout", envvar="TERP_TIMEOUT", help="Total deadline, e.g. 30m [default: deploy.timeout].")
@options.dry_run("Show whether it would adopt or create.")
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
def command(
    config_path: Path | None,
    as_json: bool,
    env: str,
    repo: Path,
    sha: str | None,
    remote: str,
    force_build: bool,
    redeploy: bool,
    override_freeze: bool,
    reason: str,
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

    A deploy freeze (TERP_FREEZE) stops it before any request and exits 0, saying so; with
    --override-freeze --reason it deploys and reports the reason.
    """
    from terp_actions.config import parse_duration
    from terp_actions.flows import deploy_environment, spec_changed_in
    from terp_actions.render import render_deploy_summary, render_deploy_text

    session = Session.start(as_json=as_json)
    freeze = session.freeze(override=override_freeze, reason=reason)
    config = session.config(config_path, repo)
    environment = session.environment(config, env)
    deadline = None
    if timeout is not None:
        deadline = parse_duration(timeout)
        if deadline is None:
            raise BadInput(f"--timeout {timeout!r}: expected a duration like 30m or 1800s")
    from terp_actions.git import has_remote

    git = session.git(repo)
    if has_remote(git, remote):
        # Fetches go to the remote with GITHUB_TOKEN (a newer push that superseded ours is fetched).
        git = session.git(repo, remote=remote)
    head = session.expected_commit(git, sha, remote, config, env)
    if not apply_spec and spec_since and environment.spec:
        apply_spec = spec_changed_in(git, spec_since, head, environment.spec, session)
    # A bad spec is bad input: refused before any request.
    spec = session.prepare_spec(config, env, None, repo) if apply_spec else None
    outcome = deploy_environment(
        session.platform(),
        git,
        environment,
        head,
        settings=config.deploy,
        console=session,
        spec=spec,
        force_build=force_build,
        redeploy=(" ".join(reason.split()) or "asked for") if redeploy else "",
        dry_run=dry_run,
        timeout=deadline,
        freeze=freeze,
        # GitHub's comparison, built only when a superseding commit cannot be fetched
        compare=(lambda base, other: str(session.github().compare(base, other).get("status")))
        if session.has_github
        else None,
    )
    session.finish(outcome, summary=render_deploy_summary(outcome), lines=render_deploy_text(outcome))
