"""`doctor`: configuration, app specs and workflows that would silently do something else than meant.

Each check is a pure function over what was read (texts, parsed YAML, the paths git knows); the
reading is ``read_repository``. Findings carry a severity, the file and line, and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from terp_actions import yamlfile
from terp_actions.config import DEFAULT_IGNORE, Config
from terp_actions.errors import PatternError
from terp_actions.paths import IgnoreRules, parse_pattern
from terp_actions.spec import shape_problems

Severity = Literal["error", "warning", "info"]
OTHER_PLATFORMS: Final = {
    "railway.json": "Railway",
    "railway.toml": "Railway",
    "vercel.json": "Vercel",
    "netlify.toml": "Netlify",
    "fly.toml": "Fly.io",
    "render.yaml": "Render",
    "heroku.yml": "Heroku",
    "app.json": "Heroku",
}
_SECRET_USE: Final = re.compile(r"\$\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


@dataclass(frozen=True)
class Finding:
    """One problem: how bad, where, what, and how to fix it."""

    severity: Severity
    file: str
    line: int
    message: str
    fix: str = ""


@dataclass
class Repository:
    """What doctor reads: the configuration, app specs, workflows (text and YAML), the paths in history."""

    config: Config
    config_file: str
    config_text: str = ""
    specs: dict[str, tuple[str, Any]] = field(default_factory=dict)  # file -> (text, parsed)
    workflows: dict[str, tuple[str, Any]] = field(default_factory=dict)
    paths: set[str] = field(default_factory=set)  # every path in the history
    files: set[str] = field(default_factory=set)  # paths in the work tree now
    remote_branches: set[str] = field(default_factory=set)  # origin's branches this clone knows


def line_of(text: str, needle: str) -> int:
    """1-based line of the first occurrence of ``needle`` in ``text`` (0 when absent)."""
    index = text.find(needle)
    return text.count("\n", 0, index) + 1 if index >= 0 else 0


# --- the checks (pure) ---------------------------------------------------------------------------


def check_patterns(patterns: Sequence[str], paths: Iterable[str], *, file: str, text: str) -> list[Finding]:
    """Patterns that will surprise: root-only globs, duplicates, ones that match nothing in history,
    negations that re-include nothing."""
    found: list[Finding] = []
    all_paths = sorted(paths)  # sorted: the example named is the same on every run
    seen: set[str] = set()
    for index, pattern in enumerate(patterns):
        where = yamlfile.locate(text, ("ignore", index)) or line_of(text, pattern)
        if pattern in seen:
            found.append(
                Finding("warning", file, where, f"pattern {pattern!r} is listed twice", "remove one")
            )
        seen.add(pattern)
        never = parse_pattern(pattern).never
        if never:
            found.append(
                Finding("error", file, where, f"pattern {pattern!r} can never match a changed file", never)
            )
            continue
        body = pattern.removeprefix("!")
        if body.startswith("*") and not body.startswith("**") and "/" not in body:
            deeper = [p for p in all_paths if "/" in p and IgnoreRules([f"**/{body}"]).is_ignored(p)]
            if deeper:
                found.append(
                    Finding(
                        "warning",
                        file,
                        where,
                        f"{pattern!r} matches only files at the repository root under GitHub's rules "
                        f"({len(deeper)} deeper, e.g. {deeper[0]})",
                        f"write {('!' if pattern.startswith('!') else '') + '*' + body!r} for every folder",
                    )
                )
        rules = IgnoreRules([body])
        # The generic defaults are there for files to come (docs, editor folders): not a mistake.
        if pattern not in DEFAULT_IGNORE and all_paths and not any(rules.is_ignored(p) for p in all_paths):
            found.append(
                Finding(
                    "info",
                    file,
                    where,
                    f"pattern {pattern!r} matches no file in the history",
                    "remove it, or check its spelling",
                )
            )
        if pattern.startswith("!") and index > 0:
            earlier = IgnoreRules([p for p in patterns[:index] if not p.startswith("!")])
            if not any(earlier.is_ignored(p) and rules.is_ignored(p) for p in all_paths):
                found.append(
                    Finding(
                        "warning",
                        file,
                        where,
                        f"{pattern!r} re-includes nothing an earlier pattern ignored",
                        "remove it, or move it after the pattern it should override",
                    )
                )
    return found


def check_environments(config: Config, *, file: str, text: str) -> list[Finding]:
    """Staging and production must not share a URL, an app or a branch."""
    found: list[Finding] = []
    staging, production = config.environments.get("staging"), config.environments.get("production")
    if staging and production:
        if staging.url == production.url:
            found.append(
                Finding(
                    "error",
                    file,
                    line_of(text, staging.url),
                    f"staging and production share the URL {staging.url}: staging checks hit production",
                    "give staging its own URL (its App Platform app's live URL)",
                )
            )
        if staging.app == production.app:
            found.append(
                Finding(
                    "error",
                    file,
                    line_of(text, staging.app),
                    f"staging and production are the same app {staging.app!r}",
                    "use two apps",
                )
            )
    if config.branches.staging == config.branches.production:
        found.append(
            Finding("error", file, line_of(text, "branches"), "staging and production are the same branch")
        )
    return found


def _spec_components(spec: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    for kind in ("services", "workers", "jobs", "static_sites", "functions"):
        yield from spec.get(kind) or []


def check_spec(file: str, text: str, spec: Any, config: Config) -> list[Finding]:
    """An app spec that deploys every push of staging (defeating the ignore rules), builds another
    branch than configured, or has no health check."""
    if not isinstance(spec, Mapping):
        return [Finding("error", file, 1, "not an app spec (expected a mapping)")]
    shape = shape_problems(spec)
    if shape:
        return [Finding("error", file, _spec_line(text, p), f"not a valid app spec: {p}") for p in shape]
    env = "staging" if "staging" in Path(file).name else "production"
    branch = config.branches.staging if env == "staging" else config.branches.production
    found: list[Finding] = []
    for component in _spec_components(spec):
        source = component.get("github") or component.get("gitlab") or component.get("git") or {}
        name = component.get("name", "?")
        if source.get("deploy_on_push") and source.get("branch") == config.branches.staging and config.ignore:
            found.append(
                Finding(
                    "error",
                    file,
                    line_of(text, "deploy_on_push"),
                    f"component {name!r} deploys every push to {config.branches.staging}: App Platform "
                    "would deploy docs-only merges too, defeating the ignore rules",
                    "set deploy_on_push: false and let terp-actions deploy",
                )
            )
        if source.get("branch") and source.get("branch") != branch:
            found.append(
                Finding(
                    "error",
                    file,
                    line_of(text, str(source.get("branch"))),
                    f"component {name!r} builds branch {source.get('branch')!r}, but {env} is {branch!r}",
                    f"set branch: {branch}",
                )
            )
        if "health_check" not in component and name != "?" and component in (spec.get("services") or []):
            found.append(
                Finding(
                    "warning",
                    file,
                    line_of(text, f"name: {name}"),
                    f"service {name!r} has no health_check",
                    "add health_check: {http_path: /health}",
                )
            )
    return found


def _spec_line(text: str, problem: str) -> int:
    """The line of the field a spec problem names (``services[0].helth_check: …``)."""
    field = problem.split(":", 1)[0]
    path: list[str | int] = []
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", field):
        path.append(int(part[1:-1]) if part.startswith("[") else part)
    return yamlfile.locate(text, path) or 1


def triggers(workflow: Mapping[Any, Any]) -> Mapping[str, Any]:
    """A workflow's ``on:`` as a mapping of event to its settings (a string or list too)."""
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as True
    if isinstance(on, str):
        return {on: {}}
    if isinstance(on, list):
        return {str(t): {} for t in on}
    return on if isinstance(on, Mapping) else {}


def _workflow_shape(workflow: Mapping[Any, Any]) -> str:
    """The first field of the wrong kind for the checks below ('' when the shape is right)."""
    jobs = workflow.get("jobs")
    if jobs is not None and not isinstance(jobs, Mapping):
        return "jobs: expected a mapping of jobs"
    for name, job in (jobs or {}).items():
        if not isinstance(job, Mapping):
            return f"jobs.{name}: expected a mapping"
        if not isinstance(job.get("steps", []), list):
            return f"jobs.{name}.steps: expected a list"
        if not isinstance(job.get("permissions", {}), Mapping | str):
            return f"jobs.{name}.permissions: expected a mapping or read-all/write-all"
    for event, trigger in triggers(workflow).items():
        if isinstance(trigger, Mapping):
            for key in ("paths-ignore", "paths", "branches"):
                value = trigger.get(key)
                if value is not None and not (
                    isinstance(value, list) and all(isinstance(v, str) for v in value)
                ):
                    return f"on.{event}.{key}: expected a list of patterns"
    return ""


def runs_terp_actions(workflow: Mapping[Any, Any]) -> bool:
    """True for a workflow that runs terp-actions (our reusable workflows, actions or CLI)."""
    for job in (workflow.get("jobs") or {}).values():
        if not isinstance(job, Mapping):
            continue
        uses = [str(job.get("uses", ""))]
        runs = []
        for step in job.get("steps") or []:
            if isinstance(step, Mapping):
                uses.append(str(step.get("uses", "")))
                runs.append(str(step.get("run", "")))
        if any("terp-actions" in u or u.startswith(("$/actions/", "./actions/")) for u in uses):
            return True
        if any(re.search(r"(^|\s)terp-actions\s", r) for r in runs):
            return True
    return False


def _check_paths_ignore(
    file: str, text: str, ignored: list[Any], *, event: str = "push", ours: bool = True
) -> list[Finding]:
    """A workflow's paths-ignore patterns that GitHub refuses, or that can never match a file:
    errors in a workflow that runs terp-actions, warnings in the team's other workflows (they
    are the team's to fix; terp-actions only reads them)."""
    severity: Severity = "error" if ours else "warning"
    found: list[Finding] = []
    for index, pattern in enumerate(ignored):
        where = yamlfile.locate(text, ("on", event, "paths-ignore", index)) or line_of(text, str(pattern))
        try:
            never = parse_pattern(str(pattern)).never
        except PatternError as exc:
            found.append(
                Finding(
                    severity,
                    file,
                    where,
                    f"paths-ignore: {exc.reason}",
                    "see terp-actions check-ignore",
                )
            )
            continue
        if never:
            found.append(
                Finding(
                    severity,
                    file,
                    where,
                    f"paths-ignore: {str(pattern)!r} can never match a changed file",
                    never,
                )
            )
    return found


def check_workflow(file: str, text: str, workflow: Any, config: Config) -> list[Finding]:
    """paths-ignore that disagrees with the ignore rules; terp-actions jobs without what they need;
    secrets used by a reusable workflow but not declared."""
    if not isinstance(workflow, Mapping):
        return [Finding("error", file, 1, "not a workflow (expected a mapping)")]
    shape = _workflow_shape(workflow)
    if shape:
        return [Finding("error", file, line_of(text, shape.split(":")[0].split(".")[-1]),
                        f"not a valid workflow: {shape}", "GitHub refuses this file as it is")]  # fmt: skip
    found: list[Finding] = []
    events = triggers(workflow)
    for event in ("push", "pull_request"):
        ignored = (
            (events.get(event) or {}).get("paths-ignore") if isinstance(events.get(event), Mapping) else None
        )
        if not ignored:
            continue
        found += _check_paths_ignore(file, text, ignored, event=event, ours=runs_terp_actions(workflow))
        if sorted(map(str, ignored)) != sorted(config.ignore):
            missing = sorted(set(config.ignore) - set(map(str, ignored)))
            extra = sorted(set(map(str, ignored)) - set(config.ignore))
            found.append(
                Finding(
                    "warning",
                    file,
                    yamlfile.locate(text, ("on", event, "paths-ignore")) or line_of(text, "paths-ignore"),
                    f"{event}.paths-ignore disagrees with the ignore rules (missing {missing or 'none'}, "
                    f"extra {extra or 'none'})",
                    "drop paths-ignore and let terp-actions plan decide, or keep both lists equal",
                )
            )
    for name, job in (workflow.get("jobs") or {}).items():
        steps = " ".join(
            str(s.get("uses", "")) for s in (job or {}).get("steps") or [] if isinstance(s, Mapping)
        )
        perms = (job or {}).get("permissions") or workflow.get("permissions") or {}
        if "actions/sync" in steps and (not isinstance(perms, Mapping) or perms.get("contents") != "write"):
            found.append(
                Finding(
                    "error",
                    file,
                    line_of(text, f"{name}:"),
                    f"job {name!r} syncs but cannot push",
                    "grant permissions: contents: write to that job",
                )
            )
        if (
            ("actions/deploy" in steps or "actions/promote" in steps)
            and not (job or {}).get("concurrency")
            and not workflow.get("concurrency")
        ):
            found.append(
                Finding(
                    "warning",
                    file,
                    line_of(text, f"{name}:"),
                    f"job {name!r} deploys without a concurrency group: deploys could overlap",
                    "add concurrency: {group: deploy-<env>, cancel-in-progress: false}",
                )
            )
    for env, where in _deployed_environments(workflow):
        if env not in config.environments:
            found.append(
                Finding(
                    "error",
                    file,
                    line_of(text, where),
                    f"this workflow deploys the environment {env!r}, which {config.source} lacks",
                    f"add environments.{env} (app and url) to the configuration (init writes one)",
                )
            )
    call = events.get("workflow_call")
    if isinstance(call, Mapping) or "workflow_call" in events:
        declared = set(((call or {}) if isinstance(call, Mapping) else {}).get("secrets") or {})
        for secret in sorted(set(_SECRET_USE.findall(text)) - declared - {"GITHUB_TOKEN"}):
            found.append(
                Finding(
                    "error",
                    file,
                    line_of(text, f"secrets.{secret}"),
                    f"secret {secret} is used but not declared under on.workflow_call.secrets",
                    "declare it, so callers must pass it explicitly",
                )
            )
    return found


def _deployed_environments(workflow: Mapping[Any, Any]) -> list[tuple[str, str]]:
    """The environments a workflow deploys through terp-actions, with the text to point at: our
    deploy/verify/promote actions (``env`` input, promote: production) and our reusable workflows
    (staging.yml: its ``environment`` input, default staging; promote.yml: production). Values
    that are expressions are the caller's to know, and left out."""
    found: list[tuple[str, str]] = []
    for job in (workflow.get("jobs") or {}).values():
        if not isinstance(job, Mapping):
            continue
        uses, given = str(job.get("uses", "")), job.get("with") or {}
        if "/.github/workflows/staging.yml@" in uses and "terp-actions" in uses:
            found.append((str(given.get("environment", "staging")), "staging.yml"))
        if "/.github/workflows/promote.yml@" in uses and "terp-actions" in uses:
            found.append(("production", "promote.yml"))
        for step in job.get("steps") or []:
            if not isinstance(step, Mapping):
                continue
            action, inputs = str(step.get("uses", "")), step.get("with") or {}
            if "actions/promote" in action and "terp-actions" in action:
                found.append(("production", "actions/promote"))
            elif (
                any(f"actions/{name}" in action for name in ("deploy", "verify")) and "terp-actions" in action
            ):
                found.append((str(inputs.get("env", "staging")), action.split("@", maxsplit=1)[0]))
    return [(env, where) for env, where in found if "${{" not in env]


def check_branches(repo: Repository) -> list[Finding]:
    """The main and staging branches the remote does not have (when the clone knows the remote's
    branches); production may come later (the checklist and the first promotion)."""
    if not repo.remote_branches:
        return []
    b = repo.config.branches
    return [
        Finding(
            "warning",
            repo.config_file,
            yamlfile.locate(repo.config_text, ("branches", key)) or line_of(repo.config_text, "branches"),
            f"branches.{key}: origin/{name} does not exist",
            f"create it (git push origin {b.main}:refs/heads/{name}), or fix branches.{key}",
        )
        for key, name in (("main", b.main), ("staging", b.staging))
        if name not in repo.remote_branches
    ]


def check_config_file(repo: Repository) -> list[Finding]:
    """No configuration file: say that the defaults are in use (and that no environment is)."""
    if repo.config_text:
        return []
    return [
        Finding(
            "info",
            repo.config_file,
            0,
            "no configuration file: the defaults are in use, and no environment is configured",
            "terp-actions init writes one",
        )
    ]


def check_platform_files(files: Iterable[str]) -> list[Finding]:
    """Deployment files of other hosting platforms, left over and misleading."""
    return [
        Finding(
            "warning",
            path,
            0,
            f"{path} configures {OTHER_PLATFORMS[path]}, not App Platform",
            "delete it if that platform is no longer used",
        )
        for path in sorted(files)
        if path in OTHER_PLATFORMS
    ]


def diagnose(repo: Repository) -> list[Finding]:
    """Every finding for ``repo``, errors first."""
    found = check_config_file(repo)
    found += check_patterns(repo.config.ignore, repo.paths, file=repo.config_file, text=repo.config_text)
    found += check_environments(repo.config, file=repo.config_file, text=repo.config_text)
    found += check_branches(repo)
    for file, (text, spec) in sorted(repo.specs.items()):
        found += check_spec(file, text, spec, repo.config)
    for file, (text, workflow) in sorted(repo.workflows.items()):
        found += check_workflow(file, text, workflow, repo.config)
    found += check_platform_files(repo.files)
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(found, key=lambda f: (order[f.severity], f.file, f.line))


# --- reading (effects) ------------------------------------------------------------------------------

MAX_HISTORY_PATHS: Final = 200_000


def read_repository(git: Any, root: Path, config: Config, config_file: str) -> Repository:
    """Read what doctor checks: the config text, `.do/*.yaml`, workflows, and git's paths."""
    from terp_actions import git as gitmod  # noqa: PLC0415

    def load(path: Path) -> tuple[str, Any]:
        return yamlfile.load(path, where=str(path.relative_to(root)))

    repo = Repository(config, config_file)
    config_path = root / config_file
    if config_path.exists():
        repo.config_text = yamlfile.read_text(config_path, what="configuration file")
    for folder, target in ((".do", repo.specs), (".github/workflows", repo.workflows)):
        for path in sorted((root / folder).glob("*.y*ml")) if (root / folder).is_dir() else []:
            target[str(path.relative_to(root))] = load(path)
    repo.files = {gitmod.decode_path(t) for t in git.stream(["ls-files", "-z"]) if t}
    repo.remote_branches = gitmod.tracked_branches(git, "origin")
    for token in git.stream(
        ["log", "--all", "-z", "--name-only", "--format=", "--no-renames", "--no-show-signature"]
    ):
        name = gitmod.decode_path(token).lstrip("\n")
        if name:
            repo.paths.add(name)
        if len(repo.paths) >= MAX_HISTORY_PATHS:
            break
    repo.paths |= repo.files
    return repo
