"""The docs cannot go stale: every command option, configuration key and action is documented
where the README points, every link resolves, and the README stays an adoption guide."""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

import click
import pytest

from terp_actions.cli import COMMANDS, cli
from terp_actions.config import Config

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
COMMON = ("--config", "--json", "--help")
SECTIONS = ("branches", "verify", "deploy", "promote", "github", "environments", "environments.preview",
            "verify.health", "verify.latency", "verify.logs", "verify.migrations")  # fmt: skip


def section(text: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    start = text.index(heading)
    level = len(heading) - len(heading.lstrip("#"))
    rest = text[start + len(heading) :]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.MULTILINE)
    return rest[: end.start()] if end else rest


def commands() -> list[tuple[str, str, click.Command]]:
    """(top-level name, full name, command) for every command and sub-command."""
    ctx = click.Context(cli)
    found = []
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None
        if isinstance(command, click.Group):
            found += [(name, f"{name} {sub}", c) for sub, c in command.commands.items()]
        else:
            found.append((name, name, command))
    return found


@pytest.mark.parametrize(
    ("top", "full", "command"), commands(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_command_option_is_documented(top: str, full: str, command: click.Command) -> None:
    """Each option of each command appears in that command's section of docs/commands.md."""
    page = (DOCS / "commands.md").read_text()
    heading = (
        f"## `terp-actions {full}`" if f"## `terp-actions {full}`" in page else f"## `terp-actions {top}`"
    )
    text = section(page, heading)
    intro = page[: page.index("\n## ")]
    assert "`--config PATH` and `--json`" in intro  # the options every command shares, said once
    for param in command.params:
        for opt in (o for o in getattr(param, "opts", []) if o.startswith("--") and o not in COMMON):
            assert f"`{opt}" in text or f"{opt} " in text or f"{opt}`" in text, f"{full}: {opt} undocumented"


def config_keys(cls: type = Config, prefix: str = "") -> list[str]:
    """Every key the configuration file accepts, dotted (list items' fields included)."""
    keys = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if (cls.__name__, f.name) in {("Config", "source"), ("Environment", "name")}:
            continue
        key = (
            f"{prefix}{f.name}" if (cls.__name__, f.name) != ("Config", "preview") else "environments.preview"
        )
        keys.append(key)
        kind = hints[f.name]
        args = typing.get_args(kind)
        inner = next((a for a in args if dataclasses.is_dataclass(a)), None)
        if dataclasses.is_dataclass(kind):
            keys += config_keys(kind, f"{key}.")  # type: ignore[arg-type]
        elif inner is not None and typing.get_origin(kind) is tuple:
            keys += config_keys(inner, f"{key}[].")  # type: ignore[arg-type]
        elif inner is not None:  # a mapping of named entries
            keys += config_keys(inner, f"{key}.<name>.")  # type: ignore[arg-type]
    return keys


def test_every_configuration_key_is_documented() -> None:
    """Each key is a row of docs/configuration.md's table; a list item's fields are in its row."""
    text = (DOCS / "configuration.md").read_text()
    rows = {m[1]: m[0] for m in re.finditer(r"^\| `([^`]+)` \|.*$", text, re.MULTILINE)}
    keys = config_keys()
    assert "verify.smoke[].max_ms" in keys and "environments.<name>.url" in keys  # the walk works
    for key in keys:
        if "[]." in key:
            parent, _, field = key.partition("[].")
            assert parent in rows and re.search(rf"\b{field}\b", rows[parent]), f"{key} undocumented"
        elif key not in SECTIONS:
            assert key in rows, f"{key} has no row in docs/configuration.md"


def test_every_action_has_its_section_and_readme() -> None:
    """docs/actions.md has a section per action; each action's README has its tables (tested
    input by input in test_actions)."""
    text = (DOCS / "actions.md").read_text()
    for action in sorted(p.parent.name for p in (ROOT / "actions").glob("*/action.yml")):
        assert re.search(rf"^## .*`actions/{action}`", text, re.MULTILINE), action
        assert (ROOT / "actions" / action / "README.md").exists()


@pytest.mark.parametrize("page", [README, *sorted(DOCS.glob("*.md"))], ids=lambda p: p.name)
def test_every_relative_link_resolves(page: Path) -> None:
    """Links between the pages (and to files of the repository) point at something that exists."""
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text()):
        if "://" in target:
            continue
        assert (page.parent / target).exists(), f"{page.name}: {target}"


def test_the_readme_starts_with_adoption_and_stays_short() -> None:
    """Quick start (the two commands), then adoption within the first 100 lines; under 15 KB."""
    text = README.read_text()
    lines = text.splitlines()
    adoption = lines.index("## Use it in your repository")
    assert lines.index("## Quick start") < adoption < 100
    quick = section(text, "## Quick start")
    commands_shown = re.findall(r"^python3 dev\.py (\w+)", quick, re.MULTILINE)
    assert commands_shown == ["demo", "test"]
    assert len(text.encode()) < 15_000
    assert "Dependencies and why" in text  # the README says why each dependency was chosen
