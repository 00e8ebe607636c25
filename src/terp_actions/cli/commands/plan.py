"""``terp-actions plan``: does a range of commits need a deploy under the ignore rules?"""

from __future__ import annotations

from pathlib import Path

import click

from terp_actions.cli import options
from terp_actions.cli.session import Session
from terp_actions.errors import BadInput


@click.command("plan", short_help="Decide whether a range of commits needs a deploy.")
@options.common
@options.ignore
@options.repo()
@click.option(
    "--base",
    envvar="TERP_BASE",
    help="Base commit [default: --env's live commit, else the remote staging branch].",
)
@options.env(required=False)
@click.option("--head", envvar="TERP_HEAD", default="HEAD", show_default=True, help="Head commit.")
@options.remote("Remote whose staging branch is the default base.")
def command(
    config_path: Path | None,
    as_json: bool,
    ignore: tuple[str, ...],
    repo: Path,
    base: str | None,
    env: str,
    head: str,
    remote: str,
) -> None:
    """Decide whether BASE..HEAD needs a deploy under the ignore rules.

    Deploys iff some file changed between the two commits is not ignored. With --env (and no
    --base), BASE is the commit that environment's app runs now. When the answer cannot be
    computed exactly (shallow history, unknown base) it deploys and says why.
    """
    from terp_actions import git as gitmod
    from terp_actions.flows import plan_range
    from terp_actions.report import MAX_ROWS, render_plan_summary, render_plan_text

    session = Session.start(as_json=as_json)
    git = session.git(repo)
    config = session.config(config_path, repo)
    rules = session.rules(config_path, repo, ignore, config)
    if base is None and env:
        from terp_actions.flows import live_base

        base = live_base(session.platform(), git, session.environment(config, env), remote, console=session)
    if base is None:
        gitmod.check_names(git, remote)
        default_base = f"{remote}/{config.branches.staging}"
        base = default_base if gitmod.resolve_commit(git, default_base, what="default base") else None
        known = gitmod.tracked_branches(git, remote) if base is None else set()
        if known:  # the remote's branches are known here, and the configured one is not among them
            raise BadInput(
                f"branches.staging: {default_base} does not exist (the branches of {remote} here: "
                f"{', '.join(sorted(known)[:10])}); fix branches.staging in {config.source}, or pass --base"
            )
    # People and the job summary see the newest commits; --json lists every one.
    outcome = plan_range(git, rules, base, head, keep=None if as_json else MAX_ROWS)
    if outcome.plan.fail_open:
        session.warn(outcome.plan.reason, "Plan could not be exact")
    session.finish(outcome, summary=render_plan_summary(outcome.plan), lines=render_plan_text(outcome.plan))
