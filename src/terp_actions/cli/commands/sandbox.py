"""``terp-actions sandbox serve``: the stand-ins for GitHub, App Platform and the app, until stopped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


@click.group("sandbox", short_help="Local stand-ins for GitHub, App Platform and the app.")
def command() -> None:
    """Local stand-ins for GitHub, App Platform and the app, on 127.0.0.1."""


@command.command("serve")
@click.option(
    "--scenario",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Scenario YAML: apps, repository, phase timings, faults, health script.",
)
@click.option(
    "--urls-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the URLs and tokens (JSON) to this file, once everything listens.",
)
@click.option(
    "--contracts",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    envvar="TERP_CONTRACTS_DIR",
    help="Folder of the OpenAPI contracts to check traffic against "
    "[default: shared/contracts beside the checkout, when present].",
)
@click.option(
    "--realistic-timings",
    is_flag=True,
    help="Run App Platform's phases in real time (a deploy takes minutes) [default: 30x faster].",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the description as JSON instead of export lines."
)
def serve(
    scenario: Path | None,
    urls_file: Path | None,
    contracts: Path | None,
    realistic_timings: bool,
    as_json: bool,
) -> None:
    """Start the stand-ins (GitHub, App Platform, one app per environment) and run until
    interrupted (Ctrl-C).

    Prints the `export` lines that point terp-actions commands at them (--json: their base URLs,
    the tokens they accept, the apps, the pull requests registered and those variables).
    """
    import importlib.util
    import json
    import signal
    import threading

    from terp_actions.sandbox.contract import default_contracts_dir
    from terp_actions.sandbox.serve import Sandbox, load_scenario

    loaded = load_scenario(scenario)
    if realistic_timings:
        loaded.speed = 1.0
    contracts = contracts or default_contracts_dir()
    if contracts is not None and importlib.util.find_spec("openapi_core") is None:
        click.echo(
            "sandbox: openapi-core is not installed: traffic is not checked against the contracts", err=True
        )
        contracts = None
    sandbox = Sandbox(loaded, contracts)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        # The tokens shown are the sandbox's own fixed strings, never a secret of the user's.
        described = sandbox.describe()
        text = json.dumps(described, indent=2)
        click.echo(text if as_json else export_lines(described))
        if urls_file is not None:
            partial = urls_file.with_name(urls_file.name + ".partial")
            partial.write_text(text + "\n", encoding="utf-8")
            partial.replace(urls_file)
        click.echo("sandbox: serving; Ctrl-C to stop", err=True)
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
        problems = sandbox.violations()
        for problem in problems:
            click.echo(f"sandbox: contract violation: {problem}", err=True)
        click.echo(f"sandbox: stopped ({len(problems)} contract violations)", err=True)


def export_lines(described: dict[str, Any]) -> str:
    """What a person pastes into a shell to point terp-actions at the sandbox."""
    import shlex

    lines = ["# terp-actions sandbox: paste these into your shell, then run commands against it"]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in described["env"].items()]
    for env, app in described["apps"].items():
        lines.append(f"# {env}: app {app['name']} ({app['id']}), {app['url']}")
    numbers = ", ".join(f"#{n}" for n in described["pull-requests"]) or "none"
    lines.append(f"# pull requests merged in its history: {numbers}")
    lines.append(
        "# e.g. terp-actions sync && terp-actions plan --base origin/staging~1 --head origin/staging"
    )
    return "\n".join(lines)
