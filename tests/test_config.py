"""The configuration file: defaults, validation messages naming file and field, values read."""

from __future__ import annotations

from pathlib import Path

import pytest

from terp_actions import config as configmod
from terp_actions.config import DEFAULT_IGNORE, Config, parse, parse_duration
from terp_actions.errors import ConfigError


def problems(text: str) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as caught:
        parse(text, where="cfg.yml")
    return caught.value.problems


def test_absent_file_gives_the_terp_defaults(tmp_path: Path) -> None:
    """No file: the TERP rules, main/staging/production, documented verify defaults."""
    config = configmod.load(tmp_path / "missing.yml")
    assert config == Config()
    assert config.ignore == DEFAULT_IGNORE
    assert "**.md" in config.ignore and ".vscode/**" in config.ignore and "*.md" not in config.ignore
    assert config.verify.health.expect == {"status": "healthy", "database": "connected"}
    assert config.deploy.attempts == 3 and config.deploy.timeout == 1800


def test_required_file_that_is_missing_is_an_error(tmp_path: Path) -> None:
    """An explicitly named configuration that does not exist is refused, naming it."""
    with pytest.raises(ConfigError, match=r"missing\.yml: no such configuration file"):
        configmod.load(tmp_path / "missing.yml", required=True)


def test_empty_file_is_all_defaults() -> None:
    """An empty file means defaults, with the file as the source."""
    config = parse("", where="cfg.yml")
    assert config.ignore == DEFAULT_IGNORE and config.source == "cfg.yml"


def test_full_configuration_is_read() -> None:
    """Every documented field is read into the settings."""
    config = parse(
        """
branches: {main: trunk, staging: stage, production: prod}
ignore: ["docs/**", "!docs/api/**"]
environments:
  staging: {app: terp-staging, url: "https://staging.terp.example/", spec: .do/app-staging.yaml}
  production: {app: 0b3f-uuid, url: https://terp.example}
verify:
  health: {path: /healthz, expect: {status: ok}, probes: 5, timeout: 2m}
  latency: {p95_ms: 900, max_regression: 1.2}
  logs: {error: "ERROR", allow: ["deprecat"], max: 2}
  migrations: {ok: "migrated", fail: "rollback"}
deploy: {timeout: 1h30m, attempts: 2}
""",
        where="cfg.yml",
    )
    assert config.branches.staging == "stage"
    assert config.ignore == ("docs/**", "!docs/api/**")
    assert config.environments["staging"].url == "https://staging.terp.example"
    assert config.environments["production"].spec == ""
    assert config.verify.health.timeout == 120 and config.verify.health.probes == 5
    assert config.verify.latency.max_regression == 1.2
    assert config.verify.logs.allow == ("deprecat",)
    assert config.deploy.timeout == 5400 and config.deploy.attempts == 2
    assert config.rules().is_ignored("docs/guide.md") and not config.rules().is_ignored("docs/api/x.md")


def test_empty_ignore_list_ignores_nothing() -> None:
    """``ignore: []`` means every change deploys (not the defaults)."""
    assert parse("ignore: []").ignore == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("colour: red", "cfg.yml: colour: unknown key", id="unknown-top-key"),
        pytest.param("verify: {health: {probs: 3}}", "cfg.yml: verify.health.probs: unknown key", id="typo"),
        pytest.param("ignore: docs/**", "cfg.yml: ignore: expected a list of patterns", id="ignore-not-list"),
        pytest.param(
            "ignore: ['docs/[a', '**.md']", "cfg.yml: ignore[0]: invalid pattern 'docs/[a'", id="bad-pattern"
        ),
        pytest.param(
            "ignore: ['a', 3]", "cfg.yml: ignore[1]: expected a pattern string", id="pattern-number"
        ),
        pytest.param(
            "verify: {health: {probes: three}}",
            "cfg.yml: verify.health.probes: expected a positive integer, got 'three'",
            id="wrong-type",
        ),
        pytest.param(
            "verify: {health: {probes: 0}}",
            "verify.health.probes: expected a positive integer",
            id="zero-probes",
        ),
        pytest.param(
            "verify: {health: {timeout: soon}}",
            "verify.health.timeout: expected a duration",
            id="bad-duration",
        ),
        pytest.param(
            "verify: {logs: {error: '(unclosed'}}",
            "verify.logs.error: expected a valid regular expression",
            id="bad-regex",
        ),
        pytest.param(
            "verify: {latency: {max_regression: 0.5}}",
            "max_regression: expected a ratio of at least 1.0",
            id="ratio",
        ),
        pytest.param(
            "deploy: {attempts: 50}", "deploy.attempts: expected an integer from 1 to 10", id="attempts"
        ),
        pytest.param("deploy: {attempts: true}", "got a boolean (true)", id="bool-is-not-int"),
        pytest.param(
            "branches: {main: main, staging: main}",
            "cfg.yml: branches: main, staging and production must be three different",
            id="same-branch",
        ),
        pytest.param(
            "branches: {staging: 'bad..name'}", "branches.staging: expected a branch name", id="bad-branch"
        ),
        pytest.param(
            "environments: {staging: {app: x}}",
            "environments.staging.url: missing (required)",
            id="missing-url",
        ),
        pytest.param(
            "environments: {staging: {app: x, url: 'ftp://x'}}",
            "environments.staging.url: expected an http(s) URL",
            id="bad-url",
        ),
        pytest.param(
            "environments: {staging: {app: x, url: 'https://u:p@x.example'}}",
            "without credentials",
            id="url-credentials",
        ),
        pytest.param(
            "environments: {staging: {app: x, url: 'https://x', spec: /abs.yaml}}",
            "environments.staging.spec",
            id="abs-spec",
        ),
        pytest.param(
            "environments: {Staging!: {app: x, url: 'https://x'}}", "environments.Staging!", id="env-name"
        ),
        pytest.param("- a\n- b", "cfg.yml: (top level): expected a mapping", id="top-level-list"),
        pytest.param("ignore: [a\nverify: {", "cfg.yml: line ", id="yaml-syntax"),
        pytest.param(
            "deploy: {attempts: 1}\ndeploy: {attempts: 2}", "duplicate key 'deploy'", id="duplicate-key"
        ),
        pytest.param(
            "verify: {migrations: {paths: ['db/[z-a]/**']}}",
            "verify.migrations.paths[0]: invalid pattern 'db/[z-a]/**'",
            id="migration-pattern",
        ),
        pytest.param(
            "promote: {after_migrations: pause}",
            "promote.after_migrations: expected rollback or stop",
            id="after-migrations",
        ),
    ],
)
def test_mistakes_give_one_line_naming_file_and_field(text: str, expected: str) -> None:
    """Each mistake is one line that names the file and the field."""
    found = problems(text)
    assert any(expected in line for line in found), found
    assert all(line.startswith("cfg.yml: ") and "\n" not in line for line in found)


def test_every_mistake_is_reported_at_once() -> None:
    """Several mistakes are all listed, one line each, not just the first."""
    found = problems("colour: red\ndeploy: {attempts: 0}\nignore: ['[abs']")
    assert len(found) == 3


def test_secret_in_url_is_not_echoed() -> None:
    """A URL with a password is refused without repeating the password."""
    found = problems("environments: {staging: {app: x, url: 'https://u:s3cr3tpass@x.example'}}")
    assert not any("s3cr3tpass" in line for line in found)


def test_load_reads_a_file_from_disk(tmp_path: Path) -> None:
    """A file on disk is read, and its path is the error location."""
    path = tmp_path / "terp-actions.yml"
    path.write_text("deploy: {attempts: nope}\n")
    with pytest.raises(ConfigError) as caught:
        configmod.load(path)
    assert caught.value.problems[0].startswith(f"{path}: deploy.attempts:")


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(300, 300.0), ("300s", 300.0), ("30m", 1800.0), ("1h", 3600.0), ("1h30m", 5400.0), ("2.5s", 2.5),
     ("0s", None), ("", None), ("5 minutes", None), (True, None), (-3, None)],
)  # fmt: skip
def test_durations(value: object, seconds: float | None) -> None:
    """Durations accept seconds or h/m/s strings and refuse the rest."""
    assert parse_duration(value) == seconds


def test_heal_rules_are_read_and_checked() -> None:
    """deploy.rules adds auto-heal rules; a bad regex or kind is named by index."""
    config = parse("deploy: {rules: [{pattern: 'quota exceeded', kind: deterministic}, "
                   "{pattern: 'cache', kind: transient, force_build: true}]}")  # fmt: skip
    assert [(r.pattern, r.kind, r.force_build) for r in config.deploy.rules] == [
        ("quota exceeded", "deterministic", False),
        ("cache", "transient", True),
    ]
    found = problems(
        "deploy: {rules: [{pattern: '(', kind: transient}, {pattern: x, kind: maybe}, {kind: transient}]}"
    )
    assert any("deploy.rules[0].pattern: expected a valid regular expression" in p for p in found)
    assert any("deploy.rules[1].kind: expected transient or deterministic" in p for p in found)
    assert any("deploy.rules[2]: needs a pattern and a kind" in p for p in found)


def test_promote_settings() -> None:
    """promote.revert_pr is a boolean, off by default."""
    assert parse("").promote.revert_pr is False
    assert parse("promote: {revert_pr: true}").promote.revert_pr is True
    assert any(
        "promote.revert_pr: expected true or false" in p for p in problems("promote: {revert_pr: yes-please}")
    )


def test_migration_paths_default_to_the_common_layouts() -> None:
    """Without verify.migrations.paths the common layouts count; a list replaces them."""
    rules = parse("").migration_rules()
    for path in ("migrations/0001.sql", "drizzle/migrations/0002.sql", "alembic/versions/ab12_add.py",
                 "app/db/migrate/20260101_add.rb", "server/prisma/migrations/1/migration.sql"):  # fmt: skip
        assert rules.is_ignored(path), path
    assert not rules.is_ignored("src/migrate.ts") and not rules.is_ignored("docs/migrations.md")
    custom = parse("verify: {migrations: {paths: ['sql/**']}}").migration_rules()
    assert custom.is_ignored("sql/1.sql") and not custom.is_ignored("migrations/1.sql")
    assert parse("promote: {after_migrations: stop}").promote.after_migrations == "stop"
    assert parse("").promote.after_migrations == "rollback"


@pytest.mark.parametrize("url", ["https://[::1", "https://[zz]/x", "https://host:99999/"])
def test_a_url_that_does_not_parse_is_refused_in_one_line(url: str) -> None:
    """A malformed IPv6 host or port is the usual problem line naming the field, not a traceback."""
    text = f"environments:\n  staging: {{app: a, url: '{url}'}}\n"
    with pytest.raises(ConfigError, match=r"environments\.staging\.url: expected"):
        parse(text, where="cfg.yml")
