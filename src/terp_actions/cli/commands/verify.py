"""``terp-actions verify``: the checks of a live deploy, and exit 1 when one fails."""

from __future__ import annotations

from pathlib import Path

import click

from terp_actions.cli import options
from terp_actions.cli.session import Session


@click.command("verify", short_help="Check a live deploy: phase, commit, health, latency, logs, migrations.")
@options.common
@options.env()
@options.repo("The git repository (to compare commits).")
@options.sha("Commit that must be live [default: the environment branch tip].")
@options.remote()
def command(
    config_path: Path | None, as_json: bool, env: str, repo: Path, sha: str | None, remote: str
) -> None:
    """Run the verification checks against the environment and exit 1 if any fails."""
    from terp_actions.flows import baseline_for, verify_environment
    from terp_actions.render import render_verify_summary, render_verify_text

    session = Session.start(as_json=as_json)
    config = session.with_smoke_headers(session.config(config_path, repo))
    environment = session.environment(config, env)
    git = session.git(repo)
    head = session.expected_commit(git, sha, remote, config, env)
    outcome = verify_environment(
        session.platform(),
        git,
        environment,
        head,
        settings=config.verify,
        console=session,
        baseline=baseline_for(session.github_or_none(), env, session),
    )
    session.finish(outcome, summary=render_verify_summary(outcome), lines=render_verify_text(outcome))
