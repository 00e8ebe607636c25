"""``terp-actions rollback``: App Platform's rollback of an environment, committed when healthy."""

from __future__ import annotations

from pathlib import Path

import click

from terp_actions.cli import options
from terp_actions.cli.session import Session


@click.command("rollback", short_help="Roll an environment back to its previous good deployment.")
@options.common
@options.env()
@options.repo("Repository whose configuration to read.")
@click.option("--to", "target", envvar="TERP_TO", help="Deployment id [default: the previous live one].")
@options.dry_run("Validate only; change nothing.")
def command(
    config_path: Path | None, as_json: bool, env: str, repo: Path, target: str | None, dry_run: bool
) -> None:
    """App Platform's rollback: validate, create (which pins the app), wait, check health, commit."""
    from terp_actions.flows import roll_back_environment
    from terp_actions.render import render_rollback_summary, render_rollback_text

    session = Session.start(as_json=as_json)
    config = session.config(config_path, repo)
    environment = session.environment(config, env)
    outcome = roll_back_environment(
        session.platform(), environment, config=config, console=session, to=target, dry_run=dry_run
    )
    session.finish(
        outcome, summary=render_rollback_summary(outcome, env), lines=render_rollback_text(outcome, env)
    )
