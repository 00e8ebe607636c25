"""``terp-actions promote``: a staging-verified commit to production, rolled back when it fails."""

from __future__ import annotations

from pathlib import Path

import click

from terp_actions.cli import options
from terp_actions.cli.session import Session
from terp_actions.errors import BadInput


@click.command("promote", short_help="Promote a verified staging commit to production; roll back on failure.")
@options.common
@options.repo("The git repository (a clone of the remote).")
@options.sha("Commit to promote [default: the newest verified staging commit].")
@click.option("--force", is_flag=True, envvar="TERP_FORCE", help="Promote a commit staging has not verified.")
@options.reason("Why --force or --override-freeze (required with them; reported).")
@options.override_freeze
@options.remote()
@options.dry_run("Check the gate; change nothing.")
def command(
    config_path: Path | None,
    as_json: bool,
    repo: Path,
    sha: str | None,
    force: bool,
    reason: str,
    override_freeze: bool,
    remote: str,
    dry_run: bool,
) -> None:
    """Fast-forward production to a staging commit that staging verified, deploy and verify it;
    when that fails, roll the app back to the last good deployment and exit 1. A deploy freeze
    (TERP_FREEZE) refuses it unless --override-freeze --reason is given."""
    from terp_actions.flows import promote
    from terp_actions.render import render_promote_summary, render_promote_text

    if force and not reason.strip():
        raise BadInput("--force needs --reason: the report shows why an unverified commit went out")
    session = Session.start(as_json=as_json)
    freeze = session.freeze(override=override_freeze, reason=reason)
    config = session.with_smoke_headers(session.config(config_path, repo))
    session.environment(config, "production")
    outcome = promote(
        session.git(repo, remote=remote),
        session.platform(),
        session.github_or_none(),
        config,
        remote=remote,
        sha=sha,
        force_reason=reason if force else "",
        console=session,
        repo_url=session.repo_url,
        log_url=session.log_url,
        dry_run=dry_run,
        freeze=freeze,
    )
    session.finish(outcome, summary=render_promote_summary(outcome), lines=render_promote_text(outcome))
