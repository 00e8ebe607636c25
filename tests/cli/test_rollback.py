"""`terp-actions rollback`: App Platform rollback of an environment, committed when healthy."""

from __future__ import annotations

import json
from pathlib import Path

from terp_actions.sandbox.fake_app import UNHEALTHY

from .conftest import invoke
from .test_promote import World, world  # noqa: F401 - world is a fixture


def test_manual_rollback_to_the_previous_live_deployment(world: World) -> None:
    """`rollback --env production` restores the previous live build and leaves the app unpinned."""
    assert world.run().exit_code == 0
    env = {
        "DIGITALOCEAN_TOKEN": "dop_v1_sandbox",
        "TERP_DO_ENDPOINT": world.do.url,
        "TERP_REPO": str(world.repo),
    }
    dry = invoke(["rollback", "--env", "production", "--dry-run"], env=env)
    assert dry.exit_code == 0 and "valid" in dry.stdout
    result = invoke(["rollback", "--env", "production", "--json"], env=env)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["deployment-id"] == world.do.apps[world.app_id].deployments[0].id and data["dry-run"] is False
    app = world.do.apps[world.app_id]
    assert app.pinned is None and app.deployments[0].commit == world.production_sha


def test_a_failed_rollback_names_both_failures_and_leaves_the_app_pinned(world: World) -> None:
    """When the restored build is unhealthy too, both errors are named and the pin stays for a person."""
    world.app.responder = lambda: UNHEALTHY
    result = world.run("--sha", world.staging_sha)
    assert result.exit_code == 1
    assert "verification failed" in result.stderr and "then the rollback failed too" in result.stderr
    assert world.do.apps[world.app_id].pinned is not None


def test_without_an_earlier_live_build_there_is_nothing_to_roll_back_to(world: World) -> None:
    """A failure with no earlier live build of production's commit says so instead of guessing."""
    app = world.do.apps[world.app_id]
    app.deployments.clear()
    world.app.responder = lambda: UNHEALTHY
    result = world.run("--sha", world.staging_sha)
    assert result.exit_code == 1 and "no earlier live deployment" in result.stderr
    assert app.pinned is None


def test_rolling_back_to_the_running_build_is_refused_naming_the_valid_targets(world: World) -> None:
    """`--to` the deployment that runs is bad input: it says which one is live and which earlier
    ones went live, and changes nothing."""
    assert (
        world.run().exit_code == 0
    )  # production now runs the staging commit; its old build went live before
    app = world.do.apps[world.app_id]
    live = next(d for d in app.deployments if world.do.phase(app, d)[0] == "ACTIVE")
    earlier = next(d for d in app.deployments if d.commit != live.commit)
    env = {
        "DIGITALOCEAN_TOKEN": "dop_v1_sandbox",
        "TERP_DO_ENDPOINT": world.do.url,
        "TERP_REPO": str(world.repo),
    }
    count = len(app.deployments)
    result = invoke(["rollback", "--env", "production", "--to", live.id], env=env)
    assert result.exit_code == 2
    assert f"runs deployment {live.id}" in result.stderr and earlier.id in result.stderr
    assert len(app.deployments) == count and app.pinned is None


def test_rollback_warnings_reach_the_log_the_summary_and_the_json(world: World, tmp_path: Path) -> None:
    """App Platform's validation warns that an image without a digest is not guaranteed to come
    back: the warning is said as the rollback runs, in the summary and in --json."""
    assert world.run().exit_code == 0
    app = world.do.apps[world.app_id]
    app.applied_spec = {"name": app.name, "services": [{"name": "web", "image": {"registry_type": "DOCR",
                        "repository": "terp", "tag": "latest"}}]}  # fmt: skip
    summary = tmp_path / "summary"
    env = {
        "DIGITALOCEAN_TOKEN": "dop_v1_sandbox", "TERP_DO_ENDPOINT": world.do.url,
        "TERP_REPO": str(world.repo), "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary),
    }  # fmt: skip
    result = invoke(["rollback", "--env", "production", "--json"], env=env)
    assert result.exit_code == 0, result.stderr
    [warning] = json.loads(result.stdout)["warnings"]
    assert warning.startswith(
        "image_source_missing_digest (web): one or more components are missing an image digest"
    )
    assert "rollback warning: image_source_missing_digest" in result.stderr
    assert "App Platform warned: image\\_source\\_missing\\_digest (web)" in summary.read_text()
