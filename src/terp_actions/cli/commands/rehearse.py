"""``terp-actions rehearse``: your last merges through the staging flow and a promotion, on the sandbox."""

from __future__ import annotations

from pathlib import Path

import click

from terp_actions.cli import options
from terp_actions.cli.session import Session


@click.command("rehearse", short_help="Replay your last merges through the flow on the sandbox.")
@options.common
@options.repo("Your repository (a clone; nothing is pushed anywhere).")
@click.option(
    "--last",
    type=int,
    default=5,
    envvar="TERP_LAST",
    show_default=True,
    help="How many merges into main to replay.",
)
@click.option("--verbose", is_flag=True, envvar="TERP_VERBOSE", help="Also print every stage as it runs.")
def command(config_path: Path | None, as_json: bool, repo: Path, last: int, verbose: bool) -> None:
    """Replay the last N merges into the main branch of your repository (a throwaway origin that
    borrows its objects; nothing is pushed anywhere, no token is needed) through sync, plan,
    deploy, verify and report against the sandbox, then one promotion, with your configuration
    and ignore rules; print per merge whether it would have deployed and why, and the comment
    each pull request would have got."""
    from terp_actions.sandbox.rehearse import rehearse

    session = Session.start(as_json=as_json)
    config = session.config(config_path, repo)
    session.git(repo)  # a repository, or one clear line
    session.rules(config_path, repo, (), config)  # rehearse is for tuning rules: their warnings show
    said: list[str] = []
    result = rehearse(said.append if as_json else session.say, repo, config, last=last, verbose=verbose)
    if as_json:
        session.emit_json(
            {
                "merges": [
                    {
                        "sha": merge.sha,
                        "title": merge.title,
                        "pull-requests": list(merge.pulls),
                        "deploy": run.deploy,
                        "reason": run.reason,
                        "deployed": run.deployed,
                        "verified": run.verified,
                    }
                    for merge, run in result.merges
                ],
                "promotion": result.promotion,
                "comments": {str(n): body for n, body in result.comments.items()},
            }
        )
        return
    for number, body in result.comments.items():
        session.say("")
        session.say(f"── the comment #{number} would get:")
        session.say(body)
