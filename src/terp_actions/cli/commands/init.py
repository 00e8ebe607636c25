"""``terp-actions init``: adopt terp-actions in a repository."""

from __future__ import annotations

from pathlib import Path

import click

from terp_actions.cli import options
from terp_actions.cli.session import Session


@click.command("init", short_help="Adopt terp-actions here: configuration, caller workflows, checklist.")
@click.option(
    "--json", "as_json", is_flag=True, envvar="TERP_JSON", help="Machine-readable output on stdout."
)
@options.repo("The repository to adopt terp-actions in (a clone, with its remote branches fetched).")
@options.dry_run("Show the files init would write; write nothing.")
@click.option("--force", is_flag=True, envvar="TERP_FORCE", help="Overwrite files that exist and differ.")
@click.option(
    "--ref", default="", envvar="TERP_REF", metavar="SHA",
    help="The terp-actions commit to pin (a full commit id) [default: this installation's].",
)  # fmt: skip
def command(as_json: bool, repo: Path, dry_run: bool, force: bool, ref: str) -> None:
    """Look at the repository (branches, .do/*.yaml specs, workflows' paths-ignore) and write
    .github/terp-actions.yml and two caller workflows (staging, promote) pinned to the full
    commit SHA of this release; never overwrite a file without --force; then run doctor over
    the result and print what a person must still do on GitHub and App Platform. Exit 1 when
    doctor finds an error."""
    from terp_actions.adopt import release_pin
    from terp_actions.flows.adoption import adopt_repository
    from terp_actions.render import render_init_text

    session = Session.start(as_json=as_json)
    git = session.git(repo)
    pin, how = release_pin(ref.strip())
    session.say(f"pinning {how}")
    outcome = adopt_repository(git, repo, pin, console=session, force=force, dry_run=dry_run)
    session.finish(outcome, lines=render_init_text(outcome))
