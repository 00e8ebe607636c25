"""``terp-actions doctor``: configuration, app spec and workflow mistakes, found before they bite."""

from __future__ import annotations

from pathlib import Path

import click

from terp_actions.cli import options
from terp_actions.cli.session import Session


@click.command("doctor", short_help="Find configuration, app spec and workflow mistakes before they bite.")
@options.common
@options.repo("The repository to examine.")
def command(config_path: Path | None, as_json: bool, repo: Path) -> None:
    """Check the configuration, `.do/*.yaml` app specs, `.github/workflows/*.yml` and the
    repository for mistakes; exit 1 when one is an error, 0 otherwise."""
    from terp_actions.config import DEFAULT_PATH
    from terp_actions.doctor import diagnose, read_repository
    from terp_actions.errors import DoctorFoundErrors
    from terp_actions.render import render_doctor_text
    from terp_actions.report import plural

    session = Session.start(as_json=as_json)
    config = session.config(config_path, repo)
    git = session.git(repo)
    config_file = (
        str(config_path.relative_to(repo))
        if config_path and config_path.is_relative_to(repo)
        else DEFAULT_PATH
    )
    findings = diagnose(read_repository(git, repo, config, config_file))
    if as_json:
        session.emit_json(
            [
                {"severity": f.severity, "file": f.file, "line": f.line, "message": f.message, "fix": f.fix}
                for f in findings
            ]
        )
    else:
        for line in render_doctor_text(findings):
            session.say(line)
    errors = [f for f in findings if f.severity == "error"]
    if session.runner.in_actions:  # outside Actions the list above already shows each one
        for f in errors:
            session.runner.annotate("error", f"{f.file}:{f.line}: {f.message}", title="doctor")
    if errors:
        raise DoctorFoundErrors(f"doctor found {plural(len(errors), 'error')}")
