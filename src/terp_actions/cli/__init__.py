"""The command-line interface: the group, exit codes, and a lazy table of commands.

Only click and the standard library load here; a command's module (and what it imports, such as
``pydo`` or ``github``) loads only when that command runs, so start-up pays for one command.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Final

import click

from terp_actions import __version__
from terp_actions.errors import TerpError

# name -> (module under terp_actions.cli.commands, one-line help shown by --help)
COMMANDS: Final = {
    "init": ("init", "Adopt terp-actions here: configuration, caller workflows, checklist."),
    "check-ignore": ("check_ignore", "Show which ignore rule decides each path."),
    "plan": ("plan", "Decide whether a range of commits needs a deploy."),
    "sync": ("sync", "Bring main into staging: never forced, conflicts become a PR."),
    "deploy": ("deploy", "Deploy an environment on App Platform: adopt or create, follow, auto-heal."),
    "verify": ("verify", "Check a live deploy: phase, commit, health, latency, logs, migrations."),
    "report": ("report", "Record a stage on each pull request's sticky comment and Deployment."),
    "promote": ("promote", "Promote a verified staging commit to production; roll back on failure."),
    "rollback": ("rollback", "Roll an environment back to its previous good deployment."),
    "preview": ("preview", "Preview apps for pull requests: up, down, list, prune."),
    "status": ("status", "Which deployment carries a commit, its phase and progress."),
    "logs": ("logs", "Build, deploy or run logs of an environment (redacted)."),
    "spec": ("spec", "Validate an app spec, or diff it against the live app."),
    "doctor": ("doctor", "Find configuration, app spec and workflow mistakes before they bite."),
    "demo": ("demo", "Run the flow on a throwaway repository."),
    "sandbox": ("sandbox", "Local stand-ins for GitHub, App Platform and the app."),
    "rehearse": ("rehearse", "Replay your last merges through the flow on the sandbox."),
}


def _error_line(message: str) -> None:
    click.echo(f"terp-actions: error: {message}", err=True)


class TerpGroup(click.Group):
    """Loads commands on demand; turns our errors into one line and their exit code (anything
    else is a bug: 3, with its traceback)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(f"terp_actions.cli.commands.{entry[0]}")
        command: click.Command = module.command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # From the table: --help must not import every command.
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, short) in COMMANDS.items()])

    def main(self, *args: Any, **kwargs: Any) -> Any:
        # click prints usage errors as "Usage: … Error: …"; ours are one line, exit 2.
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else "", err=True)
            sys.exit(2)
        except click.UsageError as exc:
            where = f"{exc.ctx.command_path}: " if exc.ctx else ""
            _error_line(f"{where}{exc.format_message()}")
            sys.exit(2)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.Abort:
            _error_line("interrupted")
            sys.exit(130)
        except click.ClickException as exc:
            _error_line(exc.format_message())
            sys.exit(exc.exit_code)

    def invoke(self, ctx: click.Context) -> Any:
        from terp_actions.cli.session import Session

        try:
            return super().invoke(ctx)
        except TerpError as exc:
            # The session's redactor has seen every secret the command registered on the way.
            (Session.of(ctx) or Session.start()).report_error(exc)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception:  # noqa: BLE001 - the last line of defence: show the bug, exit 3
            import traceback

            session = Session.of(ctx) or Session.start()
            click.echo(session.redact(traceback.format_exc()), err=True)
            _error_line("internal error (a bug): please report it with the traceback above")
            sys.exit(3)


@click.group(
    cls=TerpGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, prog_name="terp-actions")
def cli() -> None:
    """From a merged pull request to a verified App Platform deploy.

    Exit codes: 0 done (also "nothing to do"), 1 the work ran and the answer is no,
    2 bad input or configuration, 3 a bug.
    """


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="terp-actions")
