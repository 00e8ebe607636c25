"""Every option more than one command takes, declared once with one default and one variable.

Each factory returns a fresh decorator (click options must not be shared between commands);
a command names the options it uses and, where the help differs, says so in one argument.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


class PatternList(click.ParamType):  # type: ignore[type-arg]
    """A repeatable pattern option whose environment variable holds one pattern per line."""

    name = "pattern"
    envvar_list_splitter = "\n"

    def split_envvar_value(self, rv: str) -> Sequence[str]:
        # Blank lines are separators people leave in YAML block scalars, not patterns.
        return [line for line in rv.splitlines() if line.strip()]


class IntList(click.ParamType):  # type: ignore[type-arg]
    """Pull request numbers: repeatable, and from the environment a JSON array or one per line."""

    name = "number"

    def split_envvar_value(self, rv: str) -> Sequence[str]:
        text = rv.strip()
        if text.startswith("["):
            try:
                return [str(n) for n in json.loads(text)]
            except ValueError:
                return [text]
        return [line for line in text.split() if line]

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            number = int(str(value).lstrip("#"))
        except ValueError:
            self.fail(f"{value!r} is not a pull request number", param, ctx)
        if number <= 0:
            self.fail(f"{value!r} is not a pull request number", param, ctx)
        return number


def common(func: F) -> F:
    """``--config`` and ``--json``: every command takes them."""
    func = click.option(
        "--json", "as_json", is_flag=True, envvar="TERP_JSON", help="Machine-readable output on stdout."
    )(func)
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="TERP_CONFIG",
        help="Configuration file [default: <repo>/.github/terp-actions.yml, defaults when absent].",
    )(func)


def repo(help_text: str = "The git repository.") -> Callable[[F], F]:
    """``--repo DIR`` (``TERP_REPO``, default ``.``)."""
    return click.option(
        "--repo",
        type=click.Path(file_okay=False, path_type=Path),
        default=".",
        envvar="TERP_REPO",
        show_default=True,
        help=help_text,
    )


def remote(help_text: str = "Remote of the branches.") -> Callable[[F], F]:
    """``--remote`` (``TERP_REMOTE``, default ``origin``)."""
    return click.option("--remote", envvar="TERP_REMOTE", default="origin", show_default=True, help=help_text)


def sha(help_text: str) -> Callable[[F], F]:
    """``--sha`` (``TERP_SHA``): a commit; what it means and defaults to is the command's."""
    return click.option("--sha", envvar="TERP_SHA", default=None, help=help_text)


def env(*, required: bool = True) -> Callable[[F], F]:
    """``--env`` (``TERP_ENV``): the configured environment to act on."""
    if required:  # no default at all: click >= 8.3 takes an explicit None as a value given
        return click.option(
            "--env", "env", envvar="TERP_ENV", required=True, help="Environment (staging, production, …)."
        )
    return click.option(
        "--env", "env", envvar="TERP_ENV", default="", help="Environment (staging, production, …)."
    )


def dry_run(help_text: str = "Show what would happen; change nothing.") -> Callable[[F], F]:
    """``--dry-run`` (``TERP_DRY_RUN``)."""
    return click.option("--dry-run", is_flag=True, envvar="TERP_DRY_RUN", help=help_text)


def ignore(func: F) -> F:
    """``--ignore`` (repeatable; ``TERP_IGNORE`` one per line): replaces the configured rules."""
    return click.option(
        "--ignore",
        "ignore",
        multiple=True,
        type=PatternList(),
        envvar="TERP_IGNORE",
        help="Ignore pattern (repeatable); replaces the configured list.",
    )(func)


def override_freeze(func: F) -> F:
    """``--override-freeze`` (``TERP_OVERRIDE_FREEZE``): act although ``TERP_FREEZE`` is set."""
    return click.option(
        "--override-freeze",
        is_flag=True,
        envvar="TERP_OVERRIDE_FREEZE",
        help="Deploy although a deploy freeze (TERP_FREEZE) is in force; needs --reason.",
    )(func)


def reason(help_text: str) -> Callable[[F], F]:
    """``--reason`` (``TERP_REASON``): why an override; reported."""
    return click.option("--reason", envvar="TERP_REASON", default="", help=help_text)


def pull_request(func: F) -> F:
    """``--pr N`` (``TERP_PR``): one pull request."""
    return click.option("--pr", "pr", type=int, required=True, envvar="TERP_PR", help="The pull request.")(
        func
    )
