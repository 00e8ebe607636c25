"""``terp-actions demo``: the whole flow on a throwaway repository and the local sandbox."""

from __future__ import annotations

from pathlib import Path

import click

from terp_actions.cli.session import Session


@click.command("demo", short_help="Run the flow on a throwaway repository.")
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Build the demo repository in this (new or empty) folder and keep it.",
)
def command(keep: Path | None) -> None:
    """Run the flow on a throwaway TERP-like repository: no accounts, nothing leaves the machine."""
    from terp_actions.sandbox.demo import run_demo

    run_demo(Session.start().say, keep)
