"""App specs as code: read a `.do/app*.yaml`, fill its `${NAME}` placeholders, check it belongs to
the environment, and show how it differs from the live spec (secret values hidden). Pure, except
``load_spec`` which reads the file."""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from terp_actions import yamlfile
from terp_actions.errors import BadInput, ConfigError
from terp_actions.redact import MASK, Redactor

# App Platform resolves these itself at deploy time: ${APP_URL}, ${db.DATABASE_URL}, ${_self.X}.
_APP_PLATFORM_NAMES: Final = frozenset(
    {"APP_URL", "APP_DOMAIN", "APP_ID", "PUBLIC_URL", "PRIVATE_URL", "PRIVATE_DOMAIN"}
)
_PLACEHOLDER: Final = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.]*)\}")
_COMPONENTS: Final = ("services", "static_sites", "jobs", "workers", "functions")


@dataclass(frozen=True)
class FilledSpec:
    """A spec with its placeholders filled; ``secrets`` are the values that came from the environment."""

    spec: dict[str, Any]
    secrets: tuple[str, ...]
    unfilled: tuple[str, ...] = ()  # placeholders left as they are (their values were absent)


def load_spec(path: Path) -> tuple[str, Any]:
    """The file's text and its YAML; an unreadable, oversized or malformed file is bad input
    naming the file and line."""
    return yamlfile.load(path, what="app spec")


def fill_placeholders(
    spec: Any, environ: Mapping[str, str], *, where: str, require_values: bool = True
) -> FilledSpec:
    """Replace ``${NAME}`` from ``environ``; App Platform's own references stay as they are. A
    placeholder without a value is bad input, or, unless ``require_values``, left as it is."""
    used: list[str] = []
    unfilled: list[str] = []

    def fill(value: Any, field: str) -> Any:
        if isinstance(value, dict):
            return {k: fill(v, f"{field}.{k}" if field else str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v, f"{field}[{i}]") for i, v in enumerate(value)]
        if not isinstance(value, str):
            return value

        def one(match: re.Match[str]) -> str:
            name = match[1]
            if "." in name or name in _APP_PLATFORM_NAMES:
                return match[0]
            if name not in environ and not require_values:
                if name not in unfilled:
                    unfilled.append(name)
                return match[0]
            if name not in environ:
                raise BadInput(
                    f"{where}: {field}: placeholder ${{{name}}} has no value (set the {name} variable)"
                )
            used.append(environ[name])
            return environ[name]

        return _PLACEHOLDER.sub(one, value)

    return FilledSpec(fill(spec, ""), tuple(v for v in used if v), tuple(unfilled))


def validate(spec: Any, *, where: str, app_name: str = "", branch: str = "") -> list[str]:
    """Problems with ``spec`` for an environment whose app is ``app_name`` building ``branch``."""
    if not isinstance(spec, Mapping):
        return [f"{where}: expected an app spec (a mapping)"]
    problems = [f"{where}: {problem}" for problem in shape_problems(spec)]
    if problems:
        return problems
    if not spec.get("name"):
        problems.append(f"{where}: name: missing (required)")
    components = [(kind, c) for kind in _COMPONENTS for c in spec.get(kind) or []]
    if not components:
        problems.append(f"{where}: no services, static_sites, jobs, workers or functions")
    if app_name and spec.get("name") and spec["name"] != app_name:
        problems.append(f"{where}: name: {spec['name']!r} is not this environment's app {app_name!r}")
    for kind, component in components:
        if not isinstance(component, Mapping) or not component.get("name"):
            problems.append(f"{where}: {kind}: a component without a name")
            continue
        source = component.get("github") or component.get("gitlab") or component.get("git") or {}
        if branch and source.get("branch") and source["branch"] != branch:
            problems.append(
                f"{where}: {kind}.{component['name']}.branch: {source['branch']!r} is not this "
                f"environment's branch {branch!r}"
            )
    return problems


def shape_problems(spec: Any) -> list[str]:
    """What App Platform would refuse in ``spec``'s shape, checked against its app spec schema
    (``appspec.schema.yaml``, with a maintained validator): unknown keys at any depth with the
    nearest valid one, wrong types and unknown enum values, each one line naming the field."""
    problems: list[str] = []
    for error in sorted(
        _schema_validator().iter_errors(spec), key=lambda e: [str(p) for p in e.absolute_path]
    ):
        where = _field_path(error.absolute_path)
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
            allowed = sorted(schema.get("properties") or {})
            for key in error.instance:
                if key in allowed:
                    continue
                near = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else f" (known: {', '.join(allowed)})"
                problems.append(f"{_join(where, str(key))}: unknown key{hint}")
        elif error.validator == "type":
            expected, got = _kinds(error.validator_value), _kind(error.instance)
            problems.append(f"{where or '(top level)'}: expected {expected}, got {got}")
        elif error.validator == "enum":
            choices = ", ".join(str(c) for c in error.validator_value)
            problems.append(f"{where}: {str(error.instance)[:60]!r} is not one of {choices}")
        elif error.validator == "pattern" and where == "name":
            problems.append(
                f"name: {str(error.instance)[:60]!r} is not a valid app name (2 to 32 lowercase letters, "
                "digits and '-', starting with a letter)"
            )
        elif error.validator == "required":
            problems.append(
                f"{where or '(top level)'}: {error.message.split(' is a required')[0]} is required"
            )
        else:
            problems.append(f"{where or '(top level)'}: {error.message[:120]}")
    return problems


@functools.cache
def _schema_validator() -> Any:
    """The app spec schema's validator, built once (jsonschema is imported only here)."""
    from importlib import resources  # noqa: PLC0415

    import yaml  # noqa: PLC0415
    from jsonschema import Draft202012Validator  # noqa: PLC0415 - only spec and doctor check specs

    text = resources.files("terp_actions").joinpath("appspec.schema.yaml").read_text(encoding="utf-8")
    return Draft202012Validator(yaml.safe_load(text))


def _field_path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _kinds(value: Any) -> str:
    names = {"string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false",
             "array": "a list", "object": "a mapping"}  # fmt: skip
    return " or ".join(names.get(str(v), str(v)) for v in (value if isinstance(value, list) else [value]))


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return repr(value)[:40]


def _shown(value: Any, redact: Redactor) -> Any:
    """``value`` as it may be shown: filled secrets masked, ``type: SECRET`` values hidden (App
    Platform returns those only encrypted anyway)."""
    if isinstance(value, dict):
        shown = {k: _shown(v, redact) for k, v in value.items()}
        if shown.get("type") == "SECRET" and "value" in shown:
            shown["value"] = MASK
        return shown
    if isinstance(value, list):
        return [_shown(v, redact) for v in value]
    return redact(value) if isinstance(value, str) else value


def spec_diff(live: Any, new: Any, secrets: tuple[str, ...] = ()) -> list[str]:
    """A unified diff of the live spec against the new one, secret values hidden."""
    import yaml  # noqa: PLC0415

    redact = Redactor(secrets)

    def text(spec: Any) -> list[str]:
        shown = _shown(spec or {}, redact)
        return yaml.safe_dump(shown, sort_keys=True, default_flow_style=False).splitlines()

    return list(difflib.unified_diff(text(live), text(new), "live", "new", lineterm="", n=2))


def changed_fields(live: Any, new: Any) -> list[str]:
    """Dotted names of the fields that differ. ``type: SECRET`` values are left out of the
    comparison: App Platform returns them only encrypted, so a change to one cannot be seen."""
    plain = Redactor()
    return _changed(_shown(live, plain), _shown(new, plain), "")


def _changed(live: Any, new: Any, prefix: str) -> list[str]:
    if isinstance(live, Mapping) and isinstance(new, Mapping):
        names = []
        for key in sorted(set(live) | set(new), key=str):
            names += _changed(live.get(key), new.get(key), f"{prefix}.{key}" if prefix else str(key))
        return names
    if isinstance(live, list) and isinstance(new, list) and live != new:
        old_items, new_items = _by_identity(live), _by_identity(new)
        if old_items is not None and new_items is not None:
            names = []
            for ident in sorted(set(old_items) | set(new_items)):
                names += _changed(old_items.get(ident), new_items.get(ident), f"{prefix}.{ident}")
            return names
    return [] if live == new else [prefix or "(spec)"]


def _by_identity(items: list[Any]) -> dict[str, Any] | None:
    """Components by ``name`` and envs by ``key``, so a change reads `services.web.envs.LOG_LEVEL`."""
    named = {
        str(i.get("name") or i.get("key")): i
        for i in items
        if isinstance(i, Mapping) and (i.get("name") or i.get("key"))
    }
    return named if len(named) == len(items) else None


def prepare_spec(
    path: Path,
    environ: Mapping[str, str],
    *,
    app_name: str = "",
    branch: str = "",
    on_secret: Callable[[str], None] = lambda _: None,
    require_values: bool = True,
) -> FilledSpec:
    """Read ``path``, fill its placeholders and check it for the environment (``ConfigError``).
    ``on_secret`` gets every filled value before any check can print a line. Without
    ``require_values`` a placeholder whose value is absent stays as written (its shape is
    checked, not its value)."""
    _, raw = load_spec(path)
    filled = fill_placeholders(raw, environ, where=str(path), require_values=require_values)
    for secret in filled.secrets:
        on_secret(secret)
    problems = validate(filled.spec, where=str(path), app_name=app_name, branch=branch)
    if problems:
        raise ConfigError(problems)
    return filled


def check_against_live(live: Mapping[str, Any], spec: Mapping[str, Any]) -> None:
    """A spec whose name or region differs from the live app's is for another app: refused."""
    for key in ("name", "region"):  # a staging spec applied to production is the classic accident
        if live.get(key) and spec.get(key) and live[key] != spec[key]:
            raise BadInput(
                f"app spec {key}: {spec[key]!r} does not match the live app's {live[key]!r}; not applied"
            )


@dataclass(frozen=True)
class SpecChange:
    """What applying a spec changed (or, in a dry run, would change): field names and the diff."""

    fields: list[str]
    diff: list[str]
    deployment: str = ""  # the deployment the update started, when App Platform named it


def apply_spec(
    client: Any,
    app: Mapping[str, Any],
    filled: FilledSpec,
    *,
    say: Callable[[str], None],
    dry_run: bool = False,
) -> SpecChange:
    """Apply ``filled`` to ``app`` with an app update (which starts a deployment) when it differs
    from the live spec; no fields means nothing was applied."""
    live = app.get("spec") or {}
    check_against_live(live, filled.spec)
    fields = changed_fields(live, filled.spec)
    if not fields:
        say("app spec: no change from the live spec; not applied")
        return SpecChange([], [])
    diff = spec_diff(live, filled.spec, filled.secrets)
    for line in diff:
        say(line)
    if dry_run:
        say("dry run: the spec would be applied")
    else:
        updated = client.update_app(app["id"], filled.spec)
        started = str((updated.get("pending_deployment") or {}).get("id") or "")
        say(f"app spec applied ({', '.join(fields)}); following the deployment it started")
        return SpecChange(fields, diff, started)
    return SpecChange(fields, diff)


def applied_note(fields: list[str]) -> str:
    """One line for the deploy report and PR comment: which spec fields an update changed."""
    return f"app spec applied: {', '.join(fields)}" if fields else ""
