"""App specs as code: placeholders, environment checks, diffs with secrets hidden, and
`deploy --apply-spec` against the App Platform stand-in."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from terp_actions.errors import BadInput, ConfigError
from terp_actions.spec import changed_fields, fill_placeholders, prepare_spec, spec_diff, validate

TOKEN = "dop_v1_sandbox"
CANARY = "CanarySecret-5f1e9c"

STAGING_SPEC = """\
name: terp-staging
region: nyc
services:
  - name: web
    github: {repo: terp/terp, branch: staging, deploy_on_push: false}
    envs:
      - {key: PUBLIC_URL, value: "${APP_URL}"}
      - {key: DATABASE_URL, value: "${db.DATABASE_URL}"}
      - {key: SESSION_SECRET, value: "${SESSION_SECRET}", type: SECRET}
      - {key: LOG_LEVEL, value: info}
"""


# --- pure core --------------------------------------------------------------------------------


def test_placeholders_are_filled_from_the_environment_and_bindables_are_kept() -> None:
    """`${NAME}` comes from the environment; App Platform's own `${APP_URL}`, `${db.X}` stay."""
    filled = fill_placeholders(yaml.safe_load(STAGING_SPEC), {"SESSION_SECRET": CANARY}, where="app.yaml")
    envs = {e["key"]: e["value"] for e in filled.spec["services"][0]["envs"]}
    assert envs == {
        "PUBLIC_URL": "${APP_URL}",
        "DATABASE_URL": "${db.DATABASE_URL}",
        "SESSION_SECRET": CANARY,
        "LOG_LEVEL": "info",
    }
    assert filled.secrets == (CANARY,)


def test_a_missing_placeholder_value_names_the_field() -> None:
    """An unset variable is bad input naming the file, the field and the variable."""
    with pytest.raises(BadInput, match=r"app\.yaml: services\[0\]\.envs\[2\]\.value: .*SESSION_SECRET"):
        fill_placeholders(yaml.safe_load(STAGING_SPEC), {}, where="app.yaml")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        pytest.param({"name": "terp-production"}, "is not this environment's app 'terp-staging'", id="app"),
        pytest.param({"colour": "blue"}, "colour: unknown key (known: alerts, databases", id="unknown-field"),
        pytest.param({"servces": []}, "servces: unknown key (did you mean 'services'?)", id="typo"),
        pytest.param({"services": []}, "no services", id="no-components"),
    ],
)
def test_a_spec_for_another_app_or_with_a_wrong_shape_is_refused(
    change: dict[str, object], problem: str
) -> None:
    """The spec must be this environment's, and look like an app spec."""
    spec = {**yaml.safe_load(STAGING_SPEC), **change}
    problems = validate(spec, where="app.yaml", app_name="terp-staging", branch="staging")
    assert any(problem in p for p in problems), problems


def test_a_spec_building_another_branch_is_refused() -> None:
    """A staging spec that builds `main` would deploy the wrong code; it is named by field."""
    spec = yaml.safe_load(STAGING_SPEC.replace("branch: staging", "branch: main"))
    assert validate(spec, where="app.yaml", app_name="terp-staging", branch="staging") == [
        "app.yaml: services.web.branch: 'main' is not this environment's branch 'staging'"
    ]
    assert validate(spec, where="app.yaml", app_name="terp-staging", branch="main") == []


def test_diffs_hide_secret_values_and_name_the_changed_fields() -> None:
    """A diff shows what changed, never a secret; a SECRET value's change cannot be seen."""
    live = {"name": "a", "envs": [{"key": "K", "value": "EV[1:abc]", "type": "SECRET"}], "region": "nyc"}
    new = {"name": "a", "envs": [{"key": "K", "value": CANARY, "type": "SECRET"}], "region": "ams"}
    diff = "\n".join(spec_diff(live, new, (CANARY,)))
    assert "-region: nyc" in diff and "+region: ams" in diff
    assert CANARY not in diff and "EV[1:abc]" not in diff
    assert changed_fields(live, new) == ["region"]
    assert changed_fields(new, new) == []


# --- the CLI against the App Platform stand-in ------------------------------------------------


def test_changed_fields_name_components_and_envs_by_name() -> None:
    """A changed env value is named down to the variable, not as the whole services list."""
    live = yaml.safe_load(STAGING_SPEC)
    new = yaml.safe_load(STAGING_SPEC.replace("value: info", "value: debug"))
    assert changed_fields(live, new) == ["services.web.envs.LOG_LEVEL.value"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("name: x\nservices: 5\n", "services: expected a list, got 5", id="services-number"),
        pytest.param(
            "name: x\nservices: [web]\n", "services[0]: expected a mapping, got 'web'", id="component-text"
        ),
        pytest.param(
            "name: x\nservices:\n  - name: web\n    github: staging\n",
            "services[0].github: expected a mapping, got 'staging'",
            id="github-text",
        ),
    ],
)
def test_a_spec_of_the_wrong_shape_names_the_field(tmp_path: Path, text: str, problem: str) -> None:
    """Fields of the wrong kind are bad input naming the field, never a traceback."""
    path = tmp_path / "app.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(f"{path}: {problem}")):
        prepare_spec(path, {})


@pytest.mark.parametrize(
    ("component", "problem"),
    [
        pytest.param({"helth_check": {"http_path": "/"}},
                     "services[0].helth_check: unknown key (did you mean 'health_check'?)", id="deep-typo"),
        pytest.param({"instance_count": "two"},
                     "services[0].instance_count: expected a whole number, got 'two'", id="type"),
        pytest.param({"protocol": "HTTP3"},
                     "services[0].protocol: 'HTTP3' is not one of HTTP, HTTP2", id="enum"),
        pytest.param({"github": {"repo": "a/b", "brnch": "x"}},
                     "services[0].github.brnch: unknown key (did you mean 'branch'?)", id="source-typo"),
    ],
)  # fmt: skip
def test_app_spec_mistakes_at_any_depth_are_one_line_naming_the_field(
    component: dict[str, object], problem: str
) -> None:
    """The schema finds unknown keys at any depth (with the nearest valid one), wrong types and
    unknown enum values; a valid spec has none."""
    spec = yaml.safe_load(STAGING_SPEC)
    assert validate(spec, where="app.yaml") == []
    spec["services"][0] |= component
    assert f"app.yaml: {problem}" in validate(spec, where="app.yaml")
