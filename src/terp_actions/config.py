"""The configuration file (``.github/terp-actions.yml``): load, validate, and fill in defaults."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, TypeVar, cast
from urllib.parse import urlsplit

from terp_actions import yamlfile
from terp_actions.errors import BadInput, ConfigError, PatternError
from terp_actions.git import is_branch_name
from terp_actions.paths import MAX_PATTERNS, IgnoreRules, parse_pattern
from terp_actions.redact import Redactor

DEFAULT_PATH: Final = ".github/terp-actions.yml"

# The generic part every web app shares: documentation, Markdown anywhere ("**.md", not the
# root-only "*.md"), the workflows, and editor folders (".vscode/**": ".vscode/" would match
# nothing). A team's own patterns go into its configuration file (TERP's: docs/examples/).
DEFAULT_IGNORE: Final = (
    "docs/**",
    "**.md",
    ".github/**",
    ".vscode/**",
    ".cursor/**",
    ".idea/**",
    ".kiro/**",
)

_DURATION: Final = re.compile(r"(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?")
_ENV_NAME: Final = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_VARIABLE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")

HealKind = Literal["transient", "deterministic"]


@dataclass(frozen=True)
class Branches:
    """The three branches of the flow."""

    main: str = "main"
    staging: str = "staging"
    production: str = "production"


@dataclass(frozen=True)
class Environment:
    """One App Platform environment: the app (id or name), its public URL, its spec file, and the
    name it has in the configuration (staging, production, …)."""

    app: str
    url: str
    spec: str = ""
    name: str = ""


@dataclass(frozen=True)
class HealthSettings:
    """How ``/health`` is probed."""

    path: str = "/health"
    expect: Mapping[str, str | int | float | bool] = field(
        default_factory=lambda: {"status": "healthy", "database": "connected"}
    )
    probes: int = 3
    timeout: float = 300.0
    interval: float = 2.0


@dataclass(frozen=True)
class LatencySettings:
    """The latency budget and the allowed regression against the previous verified deploy."""

    p95_ms: float = 1500.0
    max_regression: float = 1.5
    # Healthy answers timed for the p95: with the 3 health probes alone a p95 is one sample.
    samples: int = 10


@dataclass(frozen=True)
class LogSettings:
    """What counts as an error line in runtime logs, and the known noise to allow."""

    error: str = r"(?i)\berror\b"
    allow: tuple[str, ...] = ()
    max: int = 0


# Where the common layouts keep migrations: Drizzle, Prisma, Django, Knex and plain
# `migrations/` folders at any depth; Alembic's versions; Rails' db/migrate.
DEFAULT_MIGRATION_PATHS: Final = ("**/migrations/**", "**/alembic/versions/**", "**/db/migrate/**")


@dataclass(frozen=True)
class MigrationSettings:
    """Patterns in the deploy logs that show migrations applied, or failed; and the files (GitHub
    filter patterns) that are migrations, which a promotion names before it rolls anything back."""

    ok: str = r"(?i)migrations? (applied|up to date)"
    fail: str = r"(?i)migration.{0,200}(failed|error)"
    paths: tuple[str, ...] = DEFAULT_MIGRATION_PATHS


@dataclass(frozen=True)
class SmokeCheck:
    """One request a live deploy must answer as expected (``verify.smoke``). Header values may
    hold ``${NAME}`` placeholders filled from the environment; the filled values are secrets."""

    path: str
    method: str = "GET"
    status: int = 200
    contains: str = ""
    json: Mapping[str, Any] = field(default_factory=dict)
    max_ms: float | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VerifySettings:
    """All verification settings."""

    health: HealthSettings = field(default_factory=HealthSettings)
    latency: LatencySettings = field(default_factory=LatencySettings)
    logs: LogSettings = field(default_factory=LogSettings)
    migrations: MigrationSettings = field(default_factory=MigrationSettings)
    smoke: tuple[SmokeCheck, ...] = ()


@dataclass(frozen=True)
class HealRuleSetting:
    """A configured auto-heal rule: a regex over the failure's logs and what it means."""

    pattern: str
    kind: HealKind
    force_build: bool = False


@dataclass(frozen=True)
class DeploySettings:
    """The total deadline of one deploy, the attempts auto-heal may use, and extra heal rules
    (checked before the built-in ones)."""

    timeout: float = 1800.0
    attempts: int = 3
    rules: tuple[HealRuleSetting, ...] = ()


@dataclass(frozen=True)
class GitHubSettings:
    """How patient a run is with GitHub: the total time it may wait out rate limits, and how many
    commits of a range it asks GitHub about when no subject names their pull request."""

    rate_limit_budget: float = 300.0
    pull_lookup_limit: int = 50


@dataclass(frozen=True)
class PromoteSettings:
    """Promotion: whether a failed, rolled-back promotion opens a revert pull request, and what a
    failed promotion that carries migrations does (``rollback`` as any other, or ``stop``)."""

    revert_pr: bool = False
    after_migrations: Literal["rollback", "stop"] = "rollback"


@dataclass(frozen=True)
class PreviewSettings:
    """Preview apps (``environments.preview``): which environment's spec they start from, their
    name template, overrides, which database they get, what their health check expects, how many
    may live at once and for how long, and the variables whose values are production-only."""

    base: str = "staging"
    name: str = "{repo}-pr{pr}-{hash}"
    instance_size: str = ""
    envs: Mapping[str, str] = field(default_factory=dict)
    database: str | Mapping[str, Any] = "none"
    expect: Mapping[str, str | int | float | bool] | None = None  # None: from the database choice
    max: int = 5
    ttl: float = 7 * 24 * 3600.0
    production_only: tuple[str, ...] = ()

    @property
    def health_expect(self) -> Mapping[str, str | int | float | bool]:
        """What a preview's /health must answer: configured, else healthy (and the database
        connected only when the preview has one)."""
        if self.expect is not None:
            return self.expect
        if self.database == "none":
            return {"status": "healthy"}
        return {"status": "healthy", "database": "connected"}


@dataclass(frozen=True)
class Config:
    """A validated configuration; ``source`` is the file it came from, or "defaults"."""

    branches: Branches = field(default_factory=Branches)
    ignore: tuple[str, ...] = DEFAULT_IGNORE
    environments: Mapping[str, Environment] = field(default_factory=dict)
    verify: VerifySettings = field(default_factory=VerifySettings)
    deploy: DeploySettings = field(default_factory=DeploySettings)
    promote: PromoteSettings = field(default_factory=PromoteSettings)
    preview: PreviewSettings = field(default_factory=PreviewSettings)
    github: GitHubSettings = field(default_factory=GitHubSettings)
    # Environment variables whose values are secrets although their names do not say so.
    secrets: tuple[str, ...] = ()
    source: str = "defaults"

    def rules(self) -> IgnoreRules:
        """The ignore rules, compiled."""
        return IgnoreRules(self.ignore, where=f"{self.source}: ignore")

    def migration_rules(self) -> IgnoreRules:
        """``verify.migrations.paths``, compiled."""
        return IgnoreRules(self.verify.migrations.paths, where=f"{self.source}: verify.migrations.paths")

    def branch_for(self, env: str) -> str:
        """The branch an environment deploys: branches.staging / branches.production, else its name."""
        return {"staging": self.branches.staging, "production": self.branches.production}.get(env, env)


def load(path: Path, *, required: bool = False) -> Config:
    """Load and validate ``path``; with the file absent, defaults (or an error when ``required``)."""
    where = str(path)
    if not path.exists() and not path.is_symlink():
        if required:
            raise ConfigError(
                [f"{where}: no such configuration file"],
                hint="terp-actions init writes one (or drop --config to use the repository's)",
            )
        return Config()
    try:
        text = yamlfile.read_text(path, what="configuration file")
    except BadInput as exc:
        raise ConfigError([str(exc)]) from None
    return parse(text, where=where)


def parse(text: str, *, where: str = DEFAULT_PATH) -> Config:
    """Validate configuration text; every mistake becomes one line of a single ConfigError."""
    try:
        data = yamlfile.parse(text, where=where)
    except BadInput as exc:
        raise ConfigError([str(exc)]) from None
    if data is None:
        data = {}
    reader = _Reader(where)
    config = reader.config(data)
    if reader.problems:
        raise ConfigError(reader.problems)
    return config


def parse_duration(value: object) -> float | None:
    """Seconds from ``300``, ``"300s"``, ``"30m"``, ``"1h30m"``, ``"7d"``; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value > 0 else None
    if isinstance(value, str) and value.strip():
        found = _DURATION.fullmatch(value.strip())
        if found and any(found.groups()):
            d, h, m, s = (float(found[k] or 0) for k in "dhms")
            total = d * 86400 + h * 3600 + m * 60 + s
            return total if total > 0 else None
    return None


T = TypeVar("T")


class _Reader:
    """Walks the parsed YAML, collecting one problem line per mistake."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.problems: list[str] = []

    def problem(self, field_: str, message: str) -> None:
        self.problems.append(f"{self.where}: {field_}: {message}")

    def section(self, data: object, name: str, allowed: set[str]) -> dict[str, Any]:
        """A mapping with only ``allowed`` keys; problems for anything else."""
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.problem(name or "(top level)", f"expected a mapping, got {_kind(data)}")
            return {}
        out: dict[str, Any] = {}
        for key, value in data.items():
            dotted = f"{name}.{key}" if name else str(key)
            if key not in allowed:
                choices = ", ".join(sorted(allowed))
                self.problem(dotted, f"unknown key (expected one of: {choices})")
            else:
                out[key] = value
        return out

    def get(
        self,
        data: Mapping[str, Any],
        name: str,
        key: str,
        default: T,
        *,
        convert: Callable[[object], T | None],
        expected: str,
    ) -> T:
        """``data[key]`` converted, the default when absent, a problem when it does not convert."""
        if key not in data:
            return default
        value = data[key]
        converted = convert(value)
        if converted is None:
            self.problem(f"{name}.{key}" if name else key, f"expected {expected}, got {_kind(value)}")
            return default
        return converted

    def config(self, data: object) -> Config:
        top = self.section(
            data,
            "",
            {"branches", "ignore", "environments", "verify", "deploy", "promote", "github", "secrets"},
        )
        environments = top.get("environments")
        preview = environments.pop("preview", None) if isinstance(environments, dict) else None
        return Config(
            preview=self.preview(preview),
            branches=self.branches(top.get("branches")),
            ignore=self.patterns(top["ignore"], "ignore", DEFAULT_IGNORE)
            if "ignore" in top
            else DEFAULT_IGNORE,
            environments=self.environments(top.get("environments")),
            verify=self.verify(top.get("verify")),
            deploy=self.deploy(top.get("deploy")),
            promote=self.promote(top.get("promote")),
            github=self.github(top.get("github")),
            secrets=self.secrets(top.get("secrets")),
            source=self.where,
        )

    def preview(self, data: object) -> PreviewSettings:
        name = "environments.preview"
        keys = {
            "base",
            "name",
            "instance_size",
            "envs",
            "database",
            "expect",
            "max",
            "ttl",
            "production_only",
        }
        sec = self.section(data, name, keys)
        d = PreviewSettings()
        database: str | Mapping[str, Any] = d.database
        if "database" in sec:
            value = sec["database"]
            fragment = isinstance(value, dict) and bool(value) and set(value) <= {"databases", "envs"}
            if value in ("none", "staging") or fragment:
                database = value
            else:
                self.problem(
                    f"{name}.database", "expected none, staging, or a spec fragment {databases, envs}"
                )
        return PreviewSettings(
            base=self.get(sec, name, "base", d.base, convert=_env_name, expected="an environment name"),
            name=self.get(sec, name, "name", d.name, convert=_name_template,
                          expected="a template with {pr} (and {repo}, {hash})"),
            instance_size=self.get(sec, name, "instance_size", d.instance_size, convert=_nonempty_str,
                                   expected="an App Platform instance size slug"),
            envs=self.get(sec, name, "envs", d.envs, convert=_headers, expected="a mapping of names to text"),
            database=database,
            expect=self.get(sec, name, "expect", d.expect, convert=_expect, expected="a mapping of keys"),
            max=self.get(sec, name, "max", d.max, convert=_positive_int, expected="a positive integer"),
            ttl=self.get(sec, name, "ttl", d.ttl, convert=parse_duration, expected="a duration like 7d"),
            production_only=self.secrets_at(sec.get("production_only"), f"{name}.production_only"),
        )  # fmt: skip

    def branches(self, data: object) -> Branches:
        sec = self.section(data, "branches", {"main", "staging", "production"})
        base = Branches()
        values = {
            key: self.get(sec, "branches", key, getattr(base, key), convert=_branch, expected="a branch name")
            for key in ("main", "staging", "production")
        }
        if len(set(values.values())) < 3:
            self.problem("branches", "main, staging and production must be three different branches")
        return Branches(**values)

    def patterns(self, data: object, name: str, fallback: tuple[str, ...] = ()) -> tuple[str, ...]:
        """A list of GitHub filter patterns (``ignore``, ``verify.migrations.paths``)."""
        if data is None:
            return ()
        if not isinstance(data, list):
            self.problem(name, f"expected a list of patterns, got {_kind(data)}")
            return fallback
        if len(data) > MAX_PATTERNS:
            self.problem(name, f"{len(data):,} patterns; at most {MAX_PATTERNS:,} are supported")
            return fallback
        patterns: list[str] = []
        for index, item in enumerate(data):
            if not isinstance(item, str):
                self.problem(f"{name}[{index}]", f"expected a pattern string, got {_kind(item)} (quote it)")
                continue
            try:
                parse_pattern(item)
            except PatternError as exc:
                self.problem(f"{name}[{index}]", f"invalid pattern {item!r}: {exc.reason}")
                continue
            patterns.append(item)
        return tuple(patterns)

    def environments(self, data: object) -> dict[str, Environment]:
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.problem("environments", f"expected a mapping of environments, got {_kind(data)}")
            return {}
        envs: dict[str, Environment] = {}
        for name, value in data.items():
            field_ = f"environments.{name}"
            if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
                self.problem(field_, "an environment name is lower-case letters, digits, '-' or '_'")
                continue
            sec = self.section(value, field_, {"app", "url", "spec"})
            for required in ("app", "url"):
                if required not in sec:
                    self.problem(f"{field_}.{required}", "missing (required)")
            app = self.get(sec, field_, "app", "", convert=_nonempty_str, expected="an app id or name")
            url = self.get(
                sec, field_, "url", "", convert=_url, expected="an http(s) URL without credentials"
            )
            spec = self.get(
                sec, field_, "spec", "", convert=_relative_path, expected="a path relative to the repository"
            )
            envs[name] = Environment(app=app, url=url, spec=spec, name=name)
        return envs

    def verify(self, data: object) -> VerifySettings:
        sec = self.section(data, "verify", {"health", "latency", "logs", "migrations", "smoke"})
        return VerifySettings(
            health=self.health(sec.get("health")),
            latency=self.latency(sec.get("latency")),
            logs=self.logs(sec.get("logs")),
            migrations=self.migrations(sec.get("migrations")),
            smoke=self.smoke(sec.get("smoke")),
        )

    def smoke(self, data: object) -> tuple[SmokeCheck, ...]:
        if data is None:
            return ()
        if not isinstance(data, list):
            self.problem("verify.smoke", f"expected a list of requests, got {_kind(data)}")
            return ()
        checks = []
        for index, item in enumerate(data):
            name = f"verify.smoke[{index}]"
            sec = self.section(
                item, name, {"path", "method", "status", "contains", "json", "max_ms", "headers"}
            )
            path = self.get(sec, name, "path", "", convert=_url_path, expected="a path starting with '/'")
            if not path:
                self.problem(f"{name}.path", "missing (a path starting with '/')")
                continue
            method = self.get(sec, name, "method", "GET", convert=_method, expected="GET, HEAD or OPTIONS")
            checks.append(
                SmokeCheck(
                    path=path,
                    method=method,
                    status=self.get(
                        sec, name, "status", 200, convert=_http_status, expected="an HTTP status"
                    ),
                    contains=self.get(sec, name, "contains", "", convert=_nonempty_str, expected="text"),
                    json=self.get(
                        sec, name, "json", {}, convert=_expect, expected="a mapping of JSON keys to values"
                    ),
                    max_ms=self.get(
                        sec, name, "max_ms", None, convert=_positive_number, expected="a positive number"
                    ),
                    headers=self.get(
                        sec, name, "headers", {}, convert=_headers, expected="a mapping of names to text"
                    ),
                )
            )
        return tuple(checks)

    def health(self, data: object) -> HealthSettings:
        name = "verify.health"
        sec = self.section(data, name, {"path", "expect", "probes", "timeout", "interval"})
        d = HealthSettings()
        return HealthSettings(
            path=self.get(sec, name, "path", d.path, convert=_url_path, expected="a path starting with '/'"),
            expect=self.get(
                sec, name, "expect", d.expect, convert=_expect, expected="a mapping of JSON keys to values"
            ),
            probes=self.get(
                sec, name, "probes", d.probes, convert=_positive_int, expected="a positive integer"
            ),
            timeout=self.get(
                sec, name, "timeout", d.timeout, convert=parse_duration, expected="a duration like 300s or 5m"
            ),
            interval=self.get(
                sec, name, "interval", d.interval, convert=parse_duration, expected="a duration like 2s"
            ),
        )

    def latency(self, data: object) -> LatencySettings:
        name = "verify.latency"
        sec = self.section(data, name, {"p95_ms", "max_regression", "samples"})
        d = LatencySettings()
        return LatencySettings(
            p95_ms=self.get(
                sec, name, "p95_ms", d.p95_ms, convert=_positive_number, expected="a positive number"
            ),
            max_regression=self.get(
                sec,
                name,
                "max_regression",
                d.max_regression,
                convert=_ratio,
                expected="a ratio of at least 1.0",
            ),
            samples=self.get(
                sec, name, "samples", d.samples, convert=_latency_samples, expected="an integer from 1 to 100"
            ),
        )

    def logs(self, data: object) -> LogSettings:
        name = "verify.logs"
        sec = self.section(data, name, {"error", "allow", "max"})
        d = LogSettings()
        return LogSettings(
            error=self.get(
                sec, name, "error", d.error, convert=_regex, expected="a valid regular expression"
            ),
            allow=self.get(
                sec, name, "allow", d.allow, convert=_regex_list, expected="a list of regular expressions"
            ),
            max=self.get(sec, name, "max", d.max, convert=_count, expected="a whole number, 0 or more"),
        )

    def migrations(self, data: object) -> MigrationSettings:
        name = "verify.migrations"
        sec = self.section(data, name, {"ok", "fail", "paths"})
        d = MigrationSettings()
        return MigrationSettings(
            ok=self.get(sec, name, "ok", d.ok, convert=_regex, expected="a valid regular expression"),
            fail=self.get(sec, name, "fail", d.fail, convert=_regex, expected="a valid regular expression"),
            paths=self.patterns(sec["paths"], f"{name}.paths") if "paths" in sec else d.paths,
        )

    def secrets(self, data: object) -> tuple[str, ...]:
        return self.secrets_at(data, "secrets")

    def secrets_at(self, data: object, name: str) -> tuple[str, ...]:
        """A list of environment variable names (``secrets``, ``environments.preview.production_only``)."""
        if data is None:
            return ()
        if not isinstance(data, list):
            self.problem(name, f"expected a list of environment variable names, got {_kind(data)}")
            return ()
        names = []
        for index, item in enumerate(data):
            if not isinstance(item, str) or not _VARIABLE.fullmatch(item):
                self.problem(f"{name}[{index}]", f"expected an environment variable name, got {item!r}")
                continue
            names.append(item)
        return tuple(names)

    def promote(self, data: object) -> PromoteSettings:
        sec = self.section(data, "promote", {"revert_pr", "after_migrations"})
        d = PromoteSettings()
        return PromoteSettings(
            revert_pr=self.get(
                sec, "promote", "revert_pr", d.revert_pr, convert=_bool, expected="true or false"
            ),
            after_migrations=self.get(
                sec, "promote", "after_migrations", d.after_migrations,
                convert=_after_migrations, expected="rollback or stop",
            ),
        )  # fmt: skip

    def github(self, data: object) -> GitHubSettings:
        sec = self.section(data, "github", {"rate_limit_budget", "pull_lookup_limit"})
        d = GitHubSettings()
        return GitHubSettings(
            rate_limit_budget=self.get(sec, "github", "rate_limit_budget", d.rate_limit_budget,
                                       convert=parse_duration, expected="a duration like 5m"),
            pull_lookup_limit=self.get(sec, "github", "pull_lookup_limit", d.pull_lookup_limit,
                                       convert=_count, expected="a whole number, 0 or more"),
        )  # fmt: skip

    def heal_rules(self, data: object) -> tuple[HealRuleSetting, ...]:
        if data is None:
            return ()
        if not isinstance(data, list):
            self.problem("deploy.rules", f"expected a list of rules, got {_kind(data)}")
            return ()
        rules = []
        for index, item in enumerate(data):
            name = f"deploy.rules[{index}]"
            sec = self.section(item, name, {"pattern", "kind", "force_build"})
            if "pattern" not in sec or "kind" not in sec:
                self.problem(name, "needs a pattern and a kind (transient or deterministic)")
                continue
            pattern = self.get(
                sec, name, "pattern", "", convert=_regex, expected="a valid regular expression"
            )
            kind = self.get(sec, name, "kind", "", convert=_heal_kind, expected="transient or deterministic")
            force = self.get(sec, name, "force_build", False, convert=_bool, expected="true or false")
            if pattern and kind:
                rules.append(HealRuleSetting(pattern, cast(HealKind, kind), force))
        return tuple(rules)

    def deploy(self, data: object) -> DeploySettings:
        sec = self.section(data, "deploy", {"timeout", "attempts", "rules"})
        d = DeploySettings()
        return DeploySettings(
            timeout=self.get(
                sec, "deploy", "timeout", d.timeout, convert=parse_duration, expected="a duration like 30m"
            ),
            attempts=self.get(
                sec, "deploy", "attempts", d.attempts, convert=_attempts, expected="an integer from 1 to 10"
            ),
            rules=self.heal_rules(sec.get("rules")),
        )


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, str):
        # Values are echoed to help find the mistake, but never a credential someone pasted.
        shown = value if len(value) <= 80 else value[:77] + "..."
        return Redactor()(repr(shown))
    if isinstance(value, int | float):
        return f"the number {value}"
    return f"a {type(value).__name__}"


def _nonempty_str(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _branch(value: object) -> str | None:
    return value if isinstance(value, str) and is_branch_name(value) else None


def _url(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:  # a malformed host ("https://[::1") or port is no URL: the usual one-line refusal
        parts = urlsplit(value)
        _ = parts.port
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.password or parts.username:
        return None
    return value.rstrip("/")


def _url_path(value: object) -> str | None:
    return value if isinstance(value, str) and value.startswith("/") and " " not in value else None


def _relative_path(value: object) -> str | None:
    if not isinstance(value, str) or not value or value.startswith(("/", "./")) or ".." in value.split("/"):
        return None
    return value


def _expect(value: object) -> dict[str, str | int | float | bool] | None:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str | int | float | bool) for k, v in value.items()
    ):
        return None
    return dict(value)


def _heal_kind(value: object) -> str | None:
    return value if value in ("transient", "deterministic") else None


def _env_name(value: object) -> str | None:
    return value if isinstance(value, str) and _ENV_NAME.fullmatch(value) and value != "preview" else None


def _name_template(value: object) -> str | None:
    if not isinstance(value, str) or "{pr}" not in value:
        return None
    try:
        value.replace("{repo}", "r").format(pr=1, hash="abcd")
    except (KeyError, IndexError, ValueError):
        return None
    return value


def _after_migrations(value: object) -> Literal["rollback", "stop"] | None:
    if value == "rollback":
        return "rollback"
    return "stop" if value == "stop" else None


def _bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _latency_samples(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 100 else None


def _method(value: object) -> str | None:
    # Read-only methods only: a smoke check must never change the app it checks.
    return value.upper() if isinstance(value, str) and value.upper() in ("GET", "HEAD", "OPTIONS") else None


def _http_status(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599 else None


def _headers(value: object) -> dict[str, str] | None:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return None
    return dict(value)


def _positive_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _attempts(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 10 else None


def _positive_number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def _ratio(value: object) -> float | None:
    number = _positive_number(value)
    return number if number is not None and number >= 1.0 else None


def _regex(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        re.compile(value)
    except re.error:
        return None
    return value


def _regex_list(value: object) -> tuple[str, ...] | None:
    if not isinstance(value, list):
        return None
    checked = [_regex(item) for item in value]
    return None if any(c is None for c in checked) else tuple(c for c in checked if c is not None)
