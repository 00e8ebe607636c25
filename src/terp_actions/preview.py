"""Preview apps for pull requests: names, specs and safety, decided from values (no I/O).

A preview is an App Platform app of its own per open pull request, built from the staging spec:
named from the repository and the PR number (always a valid, stable, collision-safe app name),
building the PR's head branch, without domains or alerts, with the database the configuration
says (none by default), and carrying a marker (an app-level environment variable naming the
repository and the PR) so nothing but our own previews is ever updated or deleted.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from terp_actions.errors import BadInput

MARKER_KEY: Final = "TERP_PREVIEW_OF"
NAME_RE: Final = re.compile(r"[a-z][a-z0-9-]{0,30}[a-z0-9]")
_COMPONENTS: Final = ("services", "workers", "jobs", "static_sites", "functions")
_SIZED: Final = ("services", "workers", "jobs")
_DB_URL: Final = re.compile(r"(?i)\b(postgres(ql)?|mysql|mariadb|mongodb(\+srv)?|redis|rediss|valkey)://")
_DB_KEY: Final = re.compile(r"(?i)(^|_)(DATABASE|DB)(_|$)")
_BINDABLE: Final = re.compile(r"\$\{([A-Za-z0-9_-]+)\.([A-Za-z0-9_]+)\}")


def marker(repository: str, pr: int) -> str:
    """The marker value a preview of ``repository``'s pull request ``pr`` carries."""
    return f"{repository.lower()}#{pr}"


def preview_name(repository: str, pr: int, template: str = "{repo}-pr{pr}-{hash}") -> str:
    """The app name of ``repository``'s pull request ``pr``: lower-case letters, digits and '-',
    starting with a letter, 2-32 characters, the same on every run. ``{hash}`` is 4 hex digits
    of the whole ``owner/name``, so two repositories whose names cut to the same prefix (or two
    owners' forks of one name) never share a preview; ``{repo}`` is the repository's name, cut
    to what fits."""
    if pr <= 0:
        raise BadInput(f"pull request number {pr} is not positive")
    owner_name = repository.lower()
    digest = hashlib.sha256(owner_name.encode()).hexdigest()[:4]
    slug = re.sub(r"[^a-z0-9]+", "-", owner_name.rsplit("/", 1)[-1]).strip("-") or "app"
    if not slug[0].isalpha():
        slug = "r" + slug
    rest = template.replace("{repo}", "").format(pr=pr, hash=digest)
    room = 32 - len(rest)
    if "{repo}" in template:
        slug = slug[: max(room, 1)].rstrip("-") or "r"
    name = template.replace("{repo}", slug).format(pr=pr, hash=digest)
    if not NAME_RE.fullmatch(name):
        raise BadInput(
            f"environments.preview.name: template {template!r} gives {name!r}, not a valid App Platform app "
            "name (lower-case letters, digits and '-', starting with a letter, 2-32 characters)"
        )
    return name


@dataclass(frozen=True)
class PreviewPlan:
    """How the preview spec was made, for the summary and the tests."""

    spec: dict[str, Any]
    dropped: tuple[str, ...]  # fields removed (domains, alerts, database bindings and values)


def _components(spec: Mapping[str, Any]) -> Iterable[tuple[str, int, dict[str, Any]]]:
    for kind in _COMPONENTS:
        for index, component in enumerate(spec.get(kind) or []):
            if isinstance(component, dict):
                yield kind, index, component


def builds_repository(kind: str, source: Mapping[str, Any], repository: str) -> bool:
    """True when a component's ``github``/``gitlab``/``git`` source is ``repository`` itself:
    owner/name equal (case-insensitive), never merely contained (``terp/terp`` is not
    ``terp/terp-worker``); a ``git`` source by its ``repo_clone_url``'s path without ``.git``."""
    wanted = repository.strip("/").lower()
    if kind == "git":
        path = urlsplit(str(source.get("repo_clone_url") or "")).path.strip("/").lower()
        return path.removesuffix(".git") == wanted
    return str(source.get("repo") or "").strip("/").lower() == wanted


def _is_database_env(env: Mapping[str, Any], database_names: set[str]) -> bool:
    value = str(env.get("value", ""))
    bound = {m[1] for m in _BINDABLE.finditer(value)}
    return bool(_DB_KEY.search(str(env.get("key", ""))) or _DB_URL.search(value) or bound & database_names)


def build_preview_spec(
    base: Mapping[str, Any],
    *,
    name: str,
    repository: str,
    pr: int,
    head_branch: str,
    database: str | Mapping[str, Any] = "none",
    instance_size: str = "",
    envs: Mapping[str, str] | None = None,
) -> PreviewPlan:
    """The preview's spec from the (filled) staging spec: renamed, every component from this
    repository building ``head_branch`` with ``deploy_on_push: false``, no domains or alerts, the
    configured database (``none``: its components, bindings and values dropped; ``staging``:
    kept; a mapping: a fragment whose ``databases`` and ``envs`` replace them), the optional
    instance size and preview-only values, and the marker."""
    spec: dict[str, Any] = copy.deepcopy(dict(base))
    dropped: list[str] = []
    spec["name"] = name
    for key in ("domains", "alerts"):
        if spec.pop(key, None) is not None:
            dropped.append(key)
    database_names = {str(d.get("name")) for d in spec.get("databases") or [] if isinstance(d, Mapping)}
    replace_database = database != "staging"
    if replace_database and spec.get("databases"):
        spec.pop("databases")
        dropped.append("databases")
    for kind, index, component in _components(spec):
        for source_key in ("github", "gitlab", "git"):
            source = component.get(source_key)
            if isinstance(source, dict) and builds_repository(source_key, source, repository):
                source["branch"] = head_branch
                if source_key != "git":  # a git source has only repo_clone_url and branch
                    source["deploy_on_push"] = False
        if instance_size and kind in _SIZED:
            component["instance_size_slug"] = instance_size
            component.pop("instance_count", None)
            component.pop("autoscaling", None)
        if replace_database and component.get("envs"):
            kept = [e for e in component["envs"] if not _is_database_env(e, database_names)]
            dropped += [f"{kind}[{index}].envs.{e.get('key')}" for e in component["envs"] if e not in kept]
            component["envs"] = kept
    app_envs = [e for e in spec.get("envs") or [] if isinstance(e, dict) and e.get("key") != MARKER_KEY]
    if replace_database:
        dropped += [f"envs.{e.get('key')}" for e in app_envs if _is_database_env(e, database_names)]
        app_envs = [e for e in app_envs if not _is_database_env(e, database_names)]
    if isinstance(database, Mapping):
        spec["databases"] = copy.deepcopy(list(database.get("databases") or []))
        app_envs += [dict(e) for e in database.get("envs") or []]
    for key, value in (envs or {}).items():
        app_envs = [e for e in app_envs if e.get("key") != key]
        app_envs.append({"key": key, "value": value, "scope": "RUN_AND_BUILD_TIME"})
    app_envs.append({"key": MARKER_KEY, "value": marker(repository, pr), "scope": "RUN_TIME"})
    spec["envs"] = app_envs
    return PreviewPlan(spec, tuple(dropped))


def _strings(value: Any, field: str) -> Iterable[tuple[str, str]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{field}.{key}" if field else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{field}[{index}]")
    elif isinstance(value, str):
        yield field, value


def check_preview_safety(
    spec: Mapping[str, Any], *, production_clusters: Sequence[str], production_values: Mapping[str, str]
) -> None:
    """Refuse (one line naming the field) a preview spec that would reach production's database
    or secrets: a database on one of production's clusters, or any value holding the value of a
    variable configured as production-only."""
    clusters = {c for c in production_clusters if c}
    for index, db in enumerate(spec.get("databases") or []):
        if isinstance(db, Mapping) and db.get("cluster_name") in clusters:
            raise BadInput(
                f"preview spec: databases[{index}].cluster_name {db['cluster_name']!r} is the production "
                "app's database cluster: a preview never uses production's database "
                "(environments.preview.database)"
            )
    secrets = {name: value for name, value in production_values.items() if len(value) >= 4}
    for field, value in _strings(spec, ""):
        for name, secret in secrets.items():
            if secret in value:
                raise BadInput(
                    f"preview spec: {field} holds the value of {name}, which is production-only "
                    "(environments.preview.production_only): refused"
                )


def marker_of(app: Mapping[str, Any]) -> str:
    """The preview marker an app's spec carries ('' for any other app)."""
    for env in (app.get("spec") or {}).get("envs") or []:
        if isinstance(env, Mapping) and env.get("key") == MARKER_KEY:
            return str(env.get("value") or "")
    return ""


def previews_of(apps: Iterable[Mapping[str, Any]], repository: str) -> list[tuple[int, Mapping[str, Any]]]:
    """This repository's previews among ``apps``: (PR number, app), by the marker and the name."""
    found = []
    prefix = repository.lower() + "#"
    for app in apps:
        mark = marker_of(app)
        if mark.startswith(prefix) and mark[len(prefix) :].isdigit():
            found.append((int(mark[len(prefix) :]), app))
    return sorted(found, key=lambda item: item[0])
