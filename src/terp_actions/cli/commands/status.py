"""``terp-actions status``: the app's deployments, its rollback pin, and which one carries a commit."""

from __future__ import annotations

from pathlib import Path

import click

from terp_actions.cli import options
from terp_actions.cli.session import Session


@click.command("status", short_help="Which deployment carries a commit, its phase and progress.")
@options.common
@options.env()
@options.repo("The git repository (to compare commits).")
@options.sha("Commit to look for [default: none, just the app's state].")
@click.option(
    "--watch",
    is_flag=True,
    envvar="TERP_WATCH",
    help="Follow the deployment in progress until it ends (exit 1 failed).",
)
def command(
    config_path: Path | None, as_json: bool, env: str, repo: Path, sha: str | None, watch: bool
) -> None:
    """Show the app's active and in-progress deployments, its rollback pin, and which deployment
    carries SHA (its phase, progress and timings). With --watch, follow the deployment in
    progress, whoever started it, phase by phase until it ends."""
    from terp_actions.flows import app_status, watch_environment
    from terp_actions.render import render_status_text

    session = Session.start(as_json=as_json)
    config = session.config(config_path, repo)
    environment = session.environment(config, env)
    if watch:
        watched = watch_environment(session.platform(), environment, settings=config.deploy, console=session)
        session.finish(watched, lines=render_status_text(watched, env))
        return
    git = session.git(repo) if sha else None
    head = session.expected_commit(git, sha, "", config, env) if git is not None and sha else None
    outcome = app_status(session.platform(), environment.app, git=git, head=head, console=session)
    session.finish(outcome, lines=render_status_text(outcome, env))
