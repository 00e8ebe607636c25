"""``terp-actions preview up|down|list|prune``: one App Platform app per open pull request."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from terp_actions.cli import options
from terp_actions.cli.session import Session
from terp_actions.errors import BadInput

if TYPE_CHECKING:
    from terp_actions.flows.previews import PreviewContext


@click.group("preview", short_help="Preview apps for pull requests: up, down, list, prune.")
def command() -> None:
    """One App Platform app per open pull request, built from the staging spec, verified, on the
    pull request's comment, and gone when the pull request closes."""


def _context(session: Session, config_path: Path | None, repo: Path) -> PreviewContext:
    from terp_actions.flows.previews import PreviewContext

    config = session.config(config_path, repo)
    if not session.repository:
        raise BadInput("GITHUB_REPOSITORY (owner/name) is not set: previews are named after the repository")
    return PreviewContext(
        session.platform(),
        session.github_or_none(),
        config,
        session.repository,
        session,
        environ=session.environ,
        repo_url=session.repo_url,
    )


@command.command("up")
@options.common
@options.repo("The repository, with the pull request's head checked out or fetchable.")
@options.pull_request
@options.remote()
@click.option(
    "--force", is_flag=True, envvar="TERP_FORCE", help="Make a preview even if every change is ignored."
)
@options.override_freeze
@options.reason("Why --override-freeze (required with it; reported).")
def up(
    config_path: Path | None, as_json: bool, repo: Path, pr: int, remote: str, force: bool,
    override_freeze: bool, reason: str,
) -> None:  # fmt: skip
    """Create or update the preview app of pull request PR, deploy and verify it, and put its URL
    and verdict on the pull request's comment."""
    from terp_actions.flows.previews import preview_up
    from terp_actions.render import render_preview_text

    session = Session.start(as_json=as_json)
    freeze = session.freeze(override=override_freeze, reason=reason)
    ctx = _context(session, config_path, repo)
    git = session.git(repo, remote=remote)
    outcome = preview_up(ctx, git, repo, pr, remote=remote, force=force, freeze=freeze)
    session.finish(outcome, lines=render_preview_text(outcome))


@command.command("down")
@options.common
@options.repo("The repository (for its configuration).")
@options.pull_request
def down(config_path: Path | None, as_json: bool, repo: Path, pr: int) -> None:
    """Delete pull request PR's preview app (an app already gone is fine; an app that is not this
    repository's preview is never touched)."""
    from terp_actions.flows.previews import preview_down
    from terp_actions.render import render_preview_text

    session = Session.start(as_json=as_json)
    outcome = preview_down(_context(session, config_path, repo), pr)
    session.finish(outcome, lines=render_preview_text(outcome))


@command.command("list")
@options.common
@options.repo("The repository (for its configuration).")
def list_(config_path: Path | None, as_json: bool, repo: Path) -> None:
    """This repository's preview apps: name, pull request, state, URL, age, commit."""
    from terp_actions.flows.previews import PreviewListOutcome, list_previews
    from terp_actions.render import render_preview_list

    session = Session.start(as_json=as_json)
    outcome = PreviewListOutcome(list_previews(_context(session, config_path, repo), time.time()))
    session.finish(outcome, lines=render_preview_list(outcome))


@command.command("prune")
@options.common
@options.repo("The repository (for its configuration).")
@options.dry_run("Say which previews would be deleted; delete nothing.")
def prune(config_path: Path | None, as_json: bool, repo: Path, dry_run: bool) -> None:
    """Delete the previews whose pull request is closed or that are older than
    environments.preview.ttl."""
    from terp_actions.flows.previews import prune_previews
    from terp_actions.render import render_preview_list

    session = Session.start(as_json=as_json)
    outcome = prune_previews(_context(session, config_path, repo), time.time(), dry_run=dry_run)
    session.finish(outcome, lines=render_preview_list(outcome))
