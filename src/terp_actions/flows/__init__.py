"""The stages as the actions, the CLI and the demo all run them: each flow takes its clients and
settings as parameters and returns an outcome that knows its action outputs and its JSON.

A flow never reads the environment and never prints: it talks to people through a ``Console``
(the CLI's session, or the demo's indented printer), so every caller gets the same behaviour.
"""

from terp_actions.flows.outcome import Console, Outcome
from terp_actions.flows.previews import PreviewOutcome, preview_down, preview_up
from terp_actions.flows.production import PromoteOutcome, RollbackOutcome, promote, roll_back_environment
from terp_actions.flows.reporting import ReportOutcome, report_stage
from terp_actions.flows.staging import (
    DeployOutcome,
    PlanOutcome,
    StatusOutcome,
    SyncOutcome,
    VerifyOutcome,
    app_status,
    baseline_for,
    commit_checker,
    deploy_environment,
    deployer_for,
    follow_logs,
    health_check,
    live_base,
    plan_range,
    spec_changed_in,
    sync_branches,
    verify_environment,
    watch_environment,
)

__all__ = [
    "Console",
    "DeployOutcome",
    "Outcome",
    "PlanOutcome",
    "PreviewOutcome",
    "PromoteOutcome",
    "ReportOutcome",
    "RollbackOutcome",
    "StatusOutcome",
    "SyncOutcome",
    "VerifyOutcome",
    "app_status",
    "baseline_for",
    "commit_checker",
    "deploy_environment",
    "deployer_for",
    "follow_logs",
    "health_check",
    "live_base",
    "plan_range",
    "preview_down",
    "preview_up",
    "promote",
    "report_stage",
    "roll_back_environment",
    "spec_changed_in",
    "sync_branches",
    "verify_environment",
    "watch_environment",
]
