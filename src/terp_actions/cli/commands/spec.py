"""``terp-actions spec validate|diff``: app specs as code (`.do/app*.yaml`)."""

from __future__ import annotations

from pathlib import Path

import click

from terp_actions.cli import options
from terp_actions.cli.session import Session


@click.group("spec", short_help="Validate an app spec, or diff it against the live app.")
def command() -> None:
    """App specs as code (`.do/app*.yaml`)."""


@command.command("validate")
@options.common
@options.env(required=False)
@options.repo("The repository (for its configuration and spec paths).")
@click.option(
    "--require-values",
    is_flag=True,
    envvar="TERP_REQUIRE_VALUES",
    help="Fail when a ${NAME} placeholder has no value in the environment [default: check the shape only].",
)
@click.option(
    "--remote", is_flag=True, envvar="TERP_REMOTE",
    help="Also ask App Platform to validate it (needs DIGITALOCEAN_TOKEN) [default: offline only].",
)  # fmt: skip
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
def validate(
    config_path: Path | None,
    as_json: bool,
    env: str,
    repo: Path,
    require_values: bool,
    remote: bool,
    file: Path | None,
) -> None:
    """Check a spec offline against App Platform's app spec schema (unknown keys at any depth,
    types, values), required fields, the environment match and placeholders (filled from the
    environment when set; without their values, the shape is still checked). With --remote, App
    Platform checks it too (its own validation of a proposed spec)."""
    session = Session.start(as_json=as_json)
    config = session.config(config_path, repo)
    filled = session.prepare_spec(config, env, file, repo, require_values=require_values or remote)
    spec = filled.spec
    cost = None
    if remote:
        answer = session.platform().validate_spec(spec)
        cost = answer.get("app_cost")
    if as_json:
        session.emit_json(
            {"valid": True, "name": spec.get("name"), "env": env or None, "unfilled": list(filled.unfilled),
             "remote": remote, "app-cost": cost}
        )  # fmt: skip
        return
    where = " by App Platform too" if remote else ""
    session.say(f"ok: app spec {spec.get('name')!r} is valid" + (f" for {env}" if env else "") + where)
    if filled.unfilled:
        names = ", ".join(f"${{{n}}}" for n in filled.unfilled)
        session.say(f"not filled (no value in the environment; --require-values insists): {names}")


@command.command("diff")
@options.common
@options.env()
@options.repo("The repository (for its configuration and spec paths).")
def diff(config_path: Path | None, as_json: bool, env: str, repo: Path) -> None:
    """Show how the environment's spec file differs from the live app's spec (secrets hidden)."""
    from terp_actions.spec import changed_fields, spec_diff

    session = Session.start(as_json=as_json)
    config = session.config(config_path, repo)
    environment = session.environment(config, env)
    filled = session.prepare_spec(config, env, None, repo)
    live = session.platform().get_app(environment.app).get("spec") or {}
    lines = spec_diff(live, filled.spec, filled.secrets)
    if as_json:
        session.emit_json({"changed-fields": changed_fields(live, filled.spec), "diff": lines})
        return
    for line in lines or ["(no difference)"]:
        session.say(line)
