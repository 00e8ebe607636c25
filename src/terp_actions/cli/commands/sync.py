"""``terp-actions sync``: bring main into staging with a plain push; a conflict becomes a pull request."""

from __future__ import annotations

from pathlib import Path

import click

from terp_actions.cli import options
from terp_actions.cli.session import Session


@click.command("sync", short_help="Bring main into staging: never forced, conflicts become a PR.")
@options.common
@options.repo("The git repository (a clone of the remote).")
@click.option("--from", "source", envvar="TERP_FROM", help="Branch to bring in [default: branches.main].")
@click.option("--to", "target", envvar="TERP_TO", help="Branch to move [default: branches.staging].")
@options.remote("Remote to fetch and push.")
@options.dry_run("Show the decision and the push; change nothing.")
def command(
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
    from terp_actions.flows import sync_branches
    from terp_actions.report import render_sync_summary, render_sync_text

    session = Session.start(as_json=as_json)
    config = session.config(config_path, repo)
    outcome = sync_branches(
        session.git(repo, remote=remote),
        remote=remote,
        source=source or config.branches.main,
        target=target or config.branches.staging,
        github=session.github_or_none(),
        console=session,
        dry_run=dry_run,
        pull_lookup_limit=config.github.pull_lookup_limit,
    )
    session.finish(
        outcome, summary=render_sync_summary(outcome.result), lines=render_sync_text(outcome.result)
    )
