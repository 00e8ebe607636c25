"""``terp-actions logs``: an environment's build, deploy or run logs, redacted."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from terp_actions.cli import options
from terp_actions.cli.session import Session


@click.command("logs", short_help="Build, deploy or run logs of an environment (redacted).")
@options.common
@options.env()
@click.option(
    "--type",
    "kind",
    type=click.Choice(["build", "deploy", "run"]),
    required=True,
    envvar="TERP_TYPE",
    help="Which logs.",
)
@click.option(
    "--deployment", envvar="TERP_DEPLOYMENT", help="Deployment id [default: the active deployment]."
)
@click.option(
    "--tail",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    envvar="TERP_TAIL",
    help="Show the last N lines.",
)
@click.option(
    "--grep", envvar="TERP_GREP", help="Keep only lines containing this text (plain text, not a regex)."
)
@click.option(
    "--follow",
    is_flag=True,
    envvar="TERP_FOLLOW",
    help="Keep printing new lines until the deployment ends (Ctrl-C stops).",
)
@options.repo("Repository whose configuration to read.")
def command(
    config_path: Path | None,
    as_json: bool,
    env: str,
    kind: str,
    deployment: str | None,
    tail: int,
    grep: str | None,
    follow: bool,
    repo: Path,
) -> None:
    """Print an environment's logs, redacted, newest lines last. Log-file URLs are never shown."""
    session = Session.start(as_json=as_json)
    config = session.config(config_path, repo)
    environment = session.environment(config, env)
    platform = session.platform()
    if follow:
        from terp_actions.flows import follow_logs

        with session.runner.untrusted(), contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends a follow
            follow_logs(
                platform, environment, kind.upper(), deployment=deployment, emit=session.say,
                keep=lambda line: grep is None or grep in line,
            )  # fmt: skip
        return

    app = platform.get_app(environment.app)
    if not deployment:  # the active deployment's logs: say which one, or that there is none yet
        active = app.get("active_deployment") or {}
        if not active.get("id"):
            from terp_actions.errors import LogUnavailable

            raise LogUnavailable(
                f"{env}: the app has no deployment yet, so no {kind} log", app=str(app["id"])
            )
        deployment = str(active["id"])
    text = platform.logs(app["id"], deployment, kind.upper())
    lines = [line for line in text.splitlines() if grep is None or grep in line][-tail:]
    if as_json:
        session.emit_json({"app-id": app["id"], "deployment-id": deployment, "type": kind, "lines": lines})
        return
    with session.runner.untrusted():
        for line in lines:
            session.say(line)
