"""``terp-actions check-ignore``: which ignore rule decides each path (like ``git check-ignore -v``)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from terp_actions.cli import options
from terp_actions.cli.session import Session
from terp_actions.errors import BadInput


@click.command("check-ignore", short_help="Show which ignore rule decides each path.")
@options.common
@options.ignore
@options.repo("Repository whose configuration to read.")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read paths from stdin, one per line.")
@click.argument("paths", nargs=-1)
def command(
    config_path: Path | None,
    as_json: bool,
    ignore: tuple[str, ...],
    repo: Path,
    from_stdin: bool,
    paths: tuple[str, ...],
) -> None:
    """Say for each PATH whether the ignore rules ignore it, and which pattern decided.

    Like `git check-ignore -v`, for tuning rules. Paths are relative to the repository root.
    """
    from terp_actions.paths import display_path

    session = Session.start(as_json=as_json)
    rules = session.rules(config_path, repo, ignore)
    wanted = list(paths)
    if from_stdin:
        wanted += [line for line in sys.stdin.read().splitlines() if line]
    if not wanted:
        raise BadInput("check-ignore: give at least one PATH (or --stdin)")
    for path in wanted:
        if path.startswith("/"):
            raise BadInput(
                f"check-ignore: path {path!r} is absolute; give it relative to the repository root"
            )
    matches = [rules.match(path.removeprefix("./")) for path in wanted]
    if as_json:
        session.emit_json([{"path": m.path, "ignored": m.ignored, "pattern": m.pattern} for m in matches])
        return
    width = max(len(display_path(m.path)) for m in matches)
    with session.runner.untrusted():
        for m in matches:
            if m.pattern is None:
                why = "no rule matches"
            else:
                why = f"matched {m.pattern}" if m.ignored else f"re-included by {m.pattern}"
            session.say(f"{'ignored' if m.ignored else 'deploys'}  {display_path(m.path):<{width}}  ({why})")
