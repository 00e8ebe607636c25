"""``terp-actions report``: record a stage on each pull request's sticky comment and Deployment."""

from __future__ import annotations

import json
from pathlib import Path

import click

from terp_actions.cli import options
from terp_actions.cli.session import Session
from terp_actions.errors import BadInput
from terp_actions.git import is_commit_id


@click.command("report", short_help="Record a stage on each pull request's sticky comment and Deployment.")
@options.common
@click.option(
    "--stage",
    type=click.Choice(["merged", "synced", "planned", "deployed", "verified", "promoted"]),
    required=True,
    envvar="TERP_STAGE",
    help="The stage to record.",
)
@click.option(
    "--status",
    "status",
    type=click.Choice(["running", "success", "skipped", "failure"]),
    required=True,
    envvar="TERP_STATUS",
    help="How the stage went.",
)
@click.option(
    "--pr",
    "pulls",
    multiple=True,
    type=options.IntList(),
    envvar="TERP_PULL_REQUESTS",
    help="Pull request number (repeatable; TERP_PULL_REQUESTS: a JSON array as sync/plan output it).",
)
@click.option("--sha", envvar="TERP_SHA", default="", help="The commit of this stage.")
@click.option("--detail", envvar="TERP_DETAIL", default="", help="One line shown with the stage.")
@click.option("--deployment", envvar="TERP_DEPLOYMENT", default="", help="App Platform deployment id.")
@options.env(required=False)
@click.option("--environment-url", envvar="TERP_ENVIRONMENT_URL", default="", help="The environment's URL.")
@click.option(
    "--p95-ms", envvar="TERP_P95_MS", default="", help="Verified p95 latency, kept as the next baseline."
)
@click.option(
    "--merge-commits",
    envvar="TERP_MERGE_COMMITS",
    default="",
    help='Each pull request\'s merge commit, a JSON object as sync outputs it ({"101": "<sha>"}); '
    "fills the comment's merged row.",
)
@click.option(
    "--also-stage",
    type=click.Choice(["", "merged", "synced", "planned", "deployed", "verified"]),
    default="",
    envvar="TERP_ALSO_STAGE",
    help="An earlier stage to record in the same edit (one comment write for both).",
)
@click.option(
    "--also-status",
    type=click.Choice(["", "running", "success", "skipped", "failure"]),
    default="",
    envvar="TERP_ALSO_STATUS",
    help="How the earlier stage went.",
)
@click.option("--also-detail", envvar="TERP_ALSO_DETAIL", default="", help="The earlier stage's line.")
@click.option(
    "--also-deployment", envvar="TERP_ALSO_DEPLOYMENT", default="", help="The earlier stage's deployment id."
)
@options.repo("Repository whose configuration to read.")
@options.dry_run("Print the comments; post nothing.")
def command(
    config_path: Path | None,
    as_json: bool,
    stage: str,
    status: str,
    pulls: tuple[int, ...],
    sha: str,
    detail: str,
    deployment: str,
    env: str,
    environment_url: str,
    p95_ms: str,
    merge_commits: str,
    also_stage: str,
    also_status: str,
    also_detail: str,
    also_deployment: str,
    repo: Path,
    dry_run: bool,
) -> None:
    """Record STAGE on the sticky comment of every pull request, and on the environment's GitHub
    Deployment. A comment that cannot be posted (a fork's token) is a warning, never a failure."""
    import datetime

    from terp_actions.flows import report_stage
    from terp_actions.publish import BOT_LOGIN, pulls_for_commit
    from terp_actions.render import render_report_summary, render_report_text
    from terp_actions.report import StageState, is_deployment_id

    session = Session.start(as_json=as_json)
    config = session.config(config_path, repo)
    if sha and not is_commit_id(sha):
        raise BadInput(f"--sha {sha!r} must be a commit id (hex)")
    if deployment and not is_deployment_id(deployment):
        raise BadInput(f"--deployment {deployment!r} is not a deployment id")
    if p95_ms and not p95_ms.isdigit():
        raise BadInput(f"--p95-ms {p95_ms!r} must be a whole number of milliseconds")
    if not pulls and not sha:
        raise BadInput(
            "nothing to report on: give the pull requests (--pr, TERP_PULL_REQUESTS) or the commit "
            "(--sha) whose pull requests GitHub knows"
        )
    if bool(also_stage) != bool(also_status):
        raise BadInput("--also-stage and --also-status go together (the earlier stage and how it went)")
    if also_deployment and not is_deployment_id(also_deployment):
        raise BadInput(f"--also-deployment {also_deployment!r} is not a deployment id")
    merges = _merge_commits(merge_commits)
    note = f"p95={p95_ms}ms" if p95_ms else ""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    state = StageState(status, sha, (detail + (f" ({note})" if note else "")).strip(), deployment, now)
    also = (
        (also_stage, StageState(also_status, sha, also_detail.strip(), also_deployment, now))
        if also_stage
        else None
    )
    github = None if dry_run else session.github_or_none()
    if github is not None and not pulls and sha:
        # No numbers from the commit messages: ask GitHub which pull requests carried the commit.
        pulls = pulls_for_commit(github, sha, base=config.branches.main)
    outcome = report_stage(
        github,
        pulls,
        stage,
        state,
        console=session,
        env=env,
        environment_url=environment_url,
        repo_url=session.repo_url,
        log_url=session.log_url,
        merges=merges,
        author=session.environ.get("TERP_BOT_LOGIN", BOT_LOGIN),
        dry_run=dry_run,
        also=also,
    )
    session.finish(outcome, summary=render_report_summary(outcome), lines=render_report_text(outcome))


def _merge_commits(text: str) -> dict[int, str]:
    """``--merge-commits``: a JSON object of pull request number to full commit id."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not all(
        str(k).isdigit() and isinstance(v, str) and is_commit_id(v) for k, v in data.items()
    ):
        raise BadInput(
            '--merge-commits must be a JSON object of pull request numbers to commit ids, {"101": "<sha>"}'
        )
    return {int(k): v for k, v in data.items()}
