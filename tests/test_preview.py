"""Preview apps, the deciding part: names, the preview spec, and the production-safety check."""

from __future__ import annotations

import pytest

from terp_actions.errors import BadInput
from terp_actions.preview import (
    MARKER_KEY,
    NAME_RE,
    build_preview_spec,
    check_preview_safety,
    marker,
    marker_of,
    preview_name,
)

STAGING = {
    "name": "terp-staging",
    "region": "nyc",
    "domains": [{"domain": "staging.terp.example", "type": "PRIMARY"}],
    "alerts": [{"rule": "DEPLOYMENT_FAILED"}],
    "databases": [{"name": "db", "engine": "PG", "production": True, "cluster_name": "terp-staging-db"}],
    "services": [
        {
            "name": "web",
            "github": {"repo": "terp/terp", "branch": "staging", "deploy_on_push": True},
            "instance_size_slug": "apps-d-1vcpu-2gb",
            "instance_count": 2,
            "envs": [
                {"key": "DATABASE_URL", "value": "${db.DATABASE_URL}"},
                {"key": "CACHE_URL", "value": "redis://cache.internal:6379"},
                {"key": "LOG_LEVEL", "value": "info"},
            ],
        },
        {"name": "docs", "github": {"repo": "terp/handbook", "branch": "main"}},
    ],
}


@pytest.mark.parametrize(
    "repository",
    [
        "terp/terp",
        "Acme-Corp/My_Very.Long.Repository-Name-For-The-ERP-System",
        "acme/123shop",
        "x/Über App",
        "o/---",
    ],
)
def test_names_are_always_valid_and_stable(repository: str) -> None:
    """Any repository name gives a valid App Platform name (2-32, a-z0-9-, starting with a letter),
    the same on every run, naming the PR."""
    name = preview_name(repository, 4321)
    assert NAME_RE.fullmatch(name) and 2 <= len(name) <= 32, name
    assert name == preview_name(repository, 4321) and "pr4321" in name


def test_names_do_not_collide() -> None:
    """Two repositories cut to the same prefix, one name under two owners, two PRs: all differ."""
    names = {
        preview_name("acme/erp-system-frontend-application-one", 7),
        preview_name("acme/erp-system-frontend-application-two", 7),
        preview_name("acme/terp", 7),
        preview_name("fork/terp", 7),
        preview_name("acme/terp", 8),
    }
    assert len(names) == 5


def test_a_template_that_cannot_give_a_valid_name_is_refused() -> None:
    """A template making an invalid name is bad input naming the field."""
    with pytest.raises(BadInput, match=r"environments\.preview\.name"):
        preview_name("terp/terp", 1, "PR_{pr}")
    assert preview_name("terp/terp", 12, "preview-{pr}") == "preview-12"


def test_the_preview_spec_builds_the_pr_branch_without_domains_alerts_or_the_database() -> None:
    """Components of this repository build the head branch with deploy_on_push false (another
    repository's stay as they are); domains and alerts go; by default the database component, its
    binding and database values go; the size is overridden; the marker is added."""
    plan = build_preview_spec(
        STAGING, name="terp-pr7-abcd", repository="terp/terp", pr=7, head_branch="feature/x",
        instance_size="apps-s-1vcpu-0.5gb", envs={"FEATURE_FLAGS": "all"},
    )  # fmt: skip
    spec = plan.spec
    web, docs = spec["services"]
    assert spec["name"] == "terp-pr7-abcd" and "domains" not in spec and "alerts" not in spec
    assert web["github"] == {"repo": "terp/terp", "branch": "feature/x", "deploy_on_push": False}
    assert docs["github"]["branch"] == "main"
    assert web["instance_size_slug"] == "apps-s-1vcpu-0.5gb" and "instance_count" not in web
    assert "databases" not in spec and [e["key"] for e in web["envs"]] == ["LOG_LEVEL"]
    assert {"key": "FEATURE_FLAGS", "value": "all", "scope": "RUN_AND_BUILD_TIME"} in spec["envs"]
    assert marker_of({"spec": spec}) == marker("terp/terp", 7) == "terp/terp#7"
    assert "services[0].envs.DATABASE_URL" in plan.dropped and STAGING["domains"]  # the input is untouched


def test_only_components_of_this_very_repository_build_the_pr_branch() -> None:
    """A component belongs to the repository when owner/name is equal (any case), never merely
    contained: terp/terp-worker keeps its branch; a git source matches by its clone URL's path and
    gets no deploy_on_push (the app spec has none there)."""
    base = {
        "name": "terp-staging",
        "services": [
            {"name": "web", "github": {"repo": "Terp/TERP", "branch": "staging"}},
            {"name": "api", "gitlab": {"repo": "terp/terp", "branch": "staging"}},
        ],
        "workers": [
            {"name": "worker", "github": {"repo": "terp/terp-worker", "branch": "staging"}},
            {
                "name": "mirror",
                "git": {"repo_clone_url": "https://git.example/terp/terp.git", "branch": "staging"},
            },
            {
                "name": "other",
                "git": {"repo_clone_url": "https://git.example/terp/terp-old.git", "branch": "x"},
            },
        ],
    }
    spec = build_preview_spec(base, name="n-1", repository="terp/terp", pr=1, head_branch="feat").spec
    web, api = spec["services"]
    worker, mirror, other = spec["workers"]
    assert web["github"] == {"repo": "Terp/TERP", "branch": "feat", "deploy_on_push": False}
    assert api["gitlab"]["branch"] == "feat"
    assert worker["github"] == {"repo": "terp/terp-worker", "branch": "staging"}
    assert mirror["git"] == {"repo_clone_url": "https://git.example/terp/terp.git", "branch": "feat"}
    assert other["git"]["branch"] == "x"


def test_the_database_is_staging_s_only_when_said_or_a_fragment_of_its_own() -> None:
    """`staging` keeps the staging database (its migrations run there); a fragment replaces it."""
    kept = build_preview_spec(
        STAGING, name="n-1", repository="terp/terp", pr=1, head_branch="b", database="staging"
    )
    assert kept.spec["databases"] == STAGING["databases"]
    fragment = {
        "databases": [{"name": "pr-db", "engine": "PG", "production": False}],
        "envs": [{"key": "DATABASE_URL", "value": "${pr-db.DATABASE_URL}"}],
    }
    own = build_preview_spec(
        STAGING, name="n-1", repository="terp/terp", pr=1, head_branch="b", database=fragment
    )
    assert own.spec["databases"] == fragment["databases"]
    assert {"key": "DATABASE_URL", "value": "${pr-db.DATABASE_URL}"} in own.spec["envs"]


def test_production_s_database_or_secrets_are_refused_naming_the_field() -> None:
    """A database on production's cluster, or a value holding a production-only variable's value:
    one line naming the field."""
    prod_db = {"name": "db", "engine": "PG", "production": True, "cluster_name": "terp-prod-db"}
    spec = {**STAGING, "databases": [prod_db]}
    with pytest.raises(
        BadInput, match=r"databases\[0\]\.cluster_name 'terp-prod-db' is the production app's"
    ):
        check_preview_safety(spec, production_clusters=["terp-prod-db"], production_values={})
    leaky = build_preview_spec(STAGING, name="n-1", repository="terp/terp", pr=1, head_branch="b",
                               envs={"API_URL": "https://x?key=prod-s3cr3t-key"}).spec  # fmt: skip
    with pytest.raises(
        BadInput, match=r"envs\[\d\]\.value holds the value of PROD_API_KEY, which is production-only"
    ):
        check_preview_safety(
            leaky, production_clusters=[], production_values={"PROD_API_KEY": "prod-s3cr3t-key"}
        )
    check_preview_safety(leaky, production_clusters=["terp-prod-db"], production_values={})  # fine


def test_the_marker_is_read_only_from_the_app_level_variable() -> None:
    """Another app (no marker, or the variable in a component) is not a preview."""
    assert marker_of({"spec": {"envs": [{"key": MARKER_KEY, "value": "terp/terp#3"}]}}) == "terp/terp#3"
    assert marker_of({"spec": {"services": [{"envs": [{"key": MARKER_KEY, "value": "terp/terp#3"}]}]}}) == ""
