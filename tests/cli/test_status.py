"""`terp-actions status` and `logs`: what runs where, and its logs, redacted."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from terp_actions.sandbox.fake_appplatform import AppPlatformStandIn

from .conftest import invoke
from .test_deploy import cli_env, configured  # noqa: F401 - configured is a fixture


def test_cli_status_and_logs(do_stand_in: AppPlatformStandIn, origin: Path, configured: Path) -> None:
    """`status` names the deployment carrying a commit; `logs` prints the build log."""
    app = do_stand_in.add_app("terp-staging", "staging", repo=origin, timings={})
    do_stand_in.deploy(app)
    head = subprocess.run(
        ["git", "rev-parse", "origin/staging"], cwd=configured, capture_output=True, text=True, check=True
    ).stdout.strip()
    status = invoke(
        ["status", "--env", "staging", "--sha", head, "--json"], env=cli_env(do_stand_in, configured)
    )
    assert status.exit_code == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["carrying"]["deployment-id"] == app.deployments[0].id and data["active"]["phase"] == "ACTIVE"
    logs = invoke(
        ["logs", "--env", "staging", "--type", "build", "--grep", "building"],
        env=cli_env(do_stand_in, configured),
    )
    assert logs.exit_code == 0 and "building commit" in logs.stdout and "token=" not in logs.stdout
