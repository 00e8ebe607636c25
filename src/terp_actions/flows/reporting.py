"""Reporting a stage on the pull requests' sticky comments and the environment's GitHub Deployment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, ClassVar

from terp_actions.gha import Json
from terp_actions.publish import BOT_LOGIN, StageReport, publish_stage
from terp_actions.report import PullState, StageState, render_comment

if TYPE_CHECKING:
    from terp_actions.github import GitHubClient


from terp_actions.flows.outcome import Console, Outcome

# --- report -----------------------------------------------------------------------------------------


@dataclass
class ReportOutcome(Outcome):
    """What one stage's report published (or, dry, would publish)."""

    OUTPUTS: ClassVar = ("comments", "github-deployment-id")
    published: StageReport | None = None
    previews: list[str] = field(default_factory=list)

    def data(self) -> dict[str, Json]:
        p = self.published
        return {
            "comments": [{"pr": c.pr, "action": c.action, "comment-id": c.comment_id} for c in p.comments]
            if p
            else [],
            "failures": [{"pr": pr, "error": error} for pr, error in p.failures] if p else [],
            "github-deployment-id": p.deployment if p else None,
            "deployment-state": (p.deployment_state or None) if p else None,
        }


def report_stage(
    github: GitHubClient | None,
    pulls: Sequence[int],
    stage: str,
    state: StageState,
    *,
    console: Console,
    env: str = "",
    environment_url: str = "",
    repo_url: str = "",
    log_url: str = "",
    merges: Mapping[int, str] | None = None,
    author: str = BOT_LOGIN,
    dry_run: bool = False,
    also: tuple[str, StageState] | None = None,
) -> ReportOutcome:
    """Record ``stage`` on each pull request's sticky comment (filling its `merged` row from
    ``merges`` when it has none) and on the environment's GitHub Deployment. A comment or
    Deployment that cannot be written is a warning, never the run's failure. Everything posted
    goes through the console's redactor first: the detail is redacted before it is rendered, put in
    the hidden state or used as a Deployment description. ``also``: an earlier stage recorded in
    the same comment edit (the Deployment follows the main stage)."""
    merges = merges or {}
    state = replace(state, detail=console.redact(state.detail))
    if also is not None:
        also = (also[0], replace(also[1], detail=console.redact(also[1].detail)))
    if dry_run or github is None:
        if not dry_run:
            console.warn("GITHUB_TOKEN or GITHUB_REPOSITORY is not set: nothing posted", "Report")
        previews = []
        for pr in pulls:
            pull = PullState(pr)
            if also is not None:
                pull = pull.with_stage(*also)
            pull = pull.with_stage(stage, state)
            if pr in merges:
                pull = pull.with_stage("merged", StageState("success", merges[pr], "", "", state.at))
            previews.append(render_comment(pull, repo_url=repo_url))
        return ReportOutcome(previews=previews)
    published = publish_stage(
        github,
        tuple(pulls),
        stage,
        state,
        author=author,
        repo_url=repo_url,
        environment=env,
        environment_url=environment_url,
        log_url=log_url,
        merges=merges,
        also=also,
    )
    for pr, error in published.failures:
        console.warn(f"#{pr}: the status comment could not be posted: {error}", "Comment")
    if published.deployment_error:
        console.warn(f"the GitHub Deployment was not updated: {published.deployment_error}", "Deployment")
    return ReportOutcome(published=published)
