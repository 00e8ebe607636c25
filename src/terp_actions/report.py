"""Rendering what people read: summaries and the pull-request comment with its hidden state.

Pure: text in, text out. Publishing it (GitHub) lives in ``publish.py``."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from terp_actions import markdown
from terp_actions.git import is_commit_id
from terp_actions.paths import display_path
from terp_actions.plan import Plan
from terp_actions.sync import SyncResult

MAX_ROWS: Final = 50


def is_deployment_id(text: str) -> bool:
    """True for what an App Platform deployment id can be (letters, digits, dashes; at most 64)."""
    return bool(_DEPLOYMENT_ID.fullmatch(text))


def plural(count: int, noun: str) -> str:
    """``1 commit``, ``2 commits``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


escape_markdown = markdown.escape


def render_plan_summary(plan: Plan) -> str:
    """The job-summary Markdown of a plan: verdict first, then the commits table."""
    verdict = "🚀 Deploy" if plan.deploy else "⏭️ No deploy needed"
    base = plan.base[:12] if plan.base else "unknown"
    lines = [
        "### terp-actions plan",
        "",
        f"**{verdict}** — {escape_markdown(plan.reason)}",
        "",
        f"Range `{base}..{plan.head[:12]}`: {plural(plan.commit_count, 'commit')}, "
        f"{plural(plan.changes.count, 'changed file')}.",
    ]
    if plan.pull_requests:
        lines.append("Pull requests: " + ", ".join(f"#{n}" for n in plan.pull_requests))
    if plan.commits:
        lines += ["", "| commit | subject | decision | files |", "|---|---|---|---|"]
        for commit in plan.commits[:MAX_ROWS]:
            files = ", ".join(markdown.code(display_path(p)) for p in commit.files[:3])
            if commit.file_count > 3:
                files += f" +{commit.file_count - 3} more"
            decision = "deploy" if commit.deployable else "ignored"
            lines.append(
                f"| `{commit.sha[:7]}` | {escape_markdown(commit.subject)} | {decision} | {files or '—'} |"
            )
        hidden = plan.commit_count - min(len(plan.commits), MAX_ROWS)
        if hidden > 0:
            lines.append(f"\n…and {hidden} more commits (`terp-actions plan --json` lists them all).")
    return "\n".join(lines) + "\n"


def render_plan_text(plan: Plan, *, rows: int = MAX_ROWS) -> list[str]:
    """The terminal rendering of a plan: a header, one row per commit, the verdict last."""
    base = plan.base[:12] if plan.base else "unknown"
    lines = [
        f"plan {base}..{plan.head[:12]}: {plural(plan.commit_count, 'commit')}, "
        f"{plural(plan.changes.count, 'changed file')}"
    ]
    for commit in plan.commits[:rows]:
        files = ", ".join(display_path(p) for p in commit.files[:2])
        if commit.file_count > 2:
            files += f" +{commit.file_count - 2} more"
        subject = commit.subject if len(commit.subject) <= 50 else commit.subject[:49] + "…"
        decision = "deploy" if commit.deployable else "ignore"
        lines.append(f"  {decision:<6}  {commit.sha[:7]}  {subject:<50}  {files or '(no files)'}")
    hidden = plan.commit_count - min(len(plan.commits), rows)
    if hidden > 0:
        lines.append(f"  … {hidden} more commits (--json lists them all)")
    if plan.pull_requests:
        lines.append("  pull requests: " + ", ".join(f"#{n}" for n in plan.pull_requests))
    lines.append(("DEPLOY  " if plan.deploy else "SKIP    ") + plan.reason)
    return lines


def render_sync_text(result: SyncResult) -> list[str]:
    """The terminal rendering of a sync: one verdict line, then what came over."""
    s, t = result.source, result.target
    n = len(result.conflict_files)
    verdicts = {
        "up-to-date": f"{t} already contains {s} ({result.before[:12]}): nothing to do",
        "fast-forward": f"{t} fast-forwarded to {s}: {result.before[:12]} → {result.after[:12]}",
        "merge": f"merged {s} into {t}: {result.before[:12]} → {result.after[:12]}",
        # The conflict itself (files, pull request) is the command's error line, printed once.
        "conflict": f"{s} conflicts with {t} in {plural(n, 'file')}: nothing pushed",
    }
    verdict = verdicts[str(result.status)]
    if result.dry_run and result.status in ("fast-forward", "merge"):
        verdict = f"dry run: would {result.push}"
    lines = [f"sync {str(result.status).upper()}  {verdict}"]
    if result.status != "up-to-date":
        lines.append(
            f"  {plural(result.merged_commits, 'commit')} from {s}"
            + (
                "; pull requests " + ", ".join(f"#{n}" for n in result.pull_requests)
                if result.pull_requests
                else ""
            )
        )
        lines += [f"    {subject}" for subject in result.subjects[:20]]
        if len(result.subjects) > 20:
            lines.append(f"    … {len(result.subjects) - 20} more")
    lines += [f"  conflict: {display_path(f)}" for f in result.conflict_files]
    return lines


def render_sync_summary(result: SyncResult) -> str:
    """The job-summary Markdown of a sync."""
    lines = ["### terp-actions sync", "", f"**{result.status}** — `{result.source}` → `{result.target}`"]
    if result.status != "up-to-date":
        lines.append(
            f"\n{plural(result.merged_commits, 'commit')}; "
            f"staging `{result.before[:12]}` → `{result.after[:12]}`"
            + (" (dry run)" if result.dry_run else "")
        )
    if result.pull_requests:
        lines.append("Pull requests: " + ", ".join(f"#{n}" for n in result.pull_requests))
    if result.conflict_files:
        lines += [
            "",
            "Conflicting files:",
            *[f"- {markdown.code(display_path(f))}" for f in result.conflict_files[:100]],
        ]
        lines.append(f"\n{escape_markdown(result.pr_note)}")
    return "\n".join(lines) + "\n"


# --- The pull-request comment --------------------------------------------------------------------

STAGES: Final = ("merged", "synced", "planned", "deployed", "verified", "promoted")
# Stages a pull request may have besides the flow's: shown only once reported (a row above the
# flow's, outside its picture). A preview app lives before the merge.
OPTIONAL_STAGES: Final = ("preview", "closed")
ALL_STAGES: Final = (*OPTIONAL_STAGES, *STAGES)
STATUSES: Final = ("pending", "running", "success", "skipped", "failure")
MARKER: Final = "<!-- terp-actions:status -->"
STATE_VERSION: Final = 1
MAX_COMMENT: Final = 65_536
MAX_DETAIL: Final = 500  # per stage, in the hidden state (the table shows at most 1,000)
_STATE_RE: Final = re.compile(r"<!-- terp-actions:state v(\d+) ([A-Za-z0-9+/=]{1,60000}) -->")
_ICONS: Final = {"pending": "⏳", "running": "🔄", "success": "✅", "skipped": "⏭️", "failure": "❌"}
_DEPLOYMENT_ID: Final = re.compile(r"[A-Za-z0-9-]{1,64}")


@dataclass(frozen=True)
class StageState:
    """Where a pull request stands at one stage."""

    status: str
    sha: str = ""
    detail: str = ""
    deployment: str = ""
    at: str = ""


@dataclass(frozen=True)
class PullState:
    """A pull request's way through the stages, as carried in its comment."""

    pr: int
    title: str = ""
    stages: Mapping[str, StageState] = field(default_factory=dict)

    def with_stage(self, stage: str, state: StageState) -> PullState:
        """This state with ``stage`` replaced."""
        return PullState(self.pr, self.title, {**self.stages, stage: state})


def encode_state(state: PullState) -> str:
    """The hidden, versioned state block (base64 JSON: nothing in it can end the HTML comment)."""
    stages = {
        name: {
            "status": st.status,
            "sha": st.sha,
            "detail": st.detail[:MAX_DETAIL],
            "deployment": st.deployment,
            "at": st.at,
        }
        for name, st in state.stages.items()
    }
    data = {"pr": state.pr, "title": state.title[:300], "stages": stages}
    blob = base64.b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()
    return f"<!-- terp-actions:state v{STATE_VERSION} {blob} -->"


def parse_state(body: str, pr: int) -> PullState | None:
    """The state carried by one of our comments, validated as untrusted input (None if unusable)."""
    found = _STATE_RE.search(body or "")
    if found is None or int(found[1]) != STATE_VERSION:
        return None
    try:
        data = json.loads(base64.b64decode(found[2], validate=True))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(data, dict) or data.get("pr") != pr or not isinstance(data.get("stages"), dict):
        return None
    stages: dict[str, StageState] = {}
    for name, raw in data["stages"].items():
        if name not in ALL_STAGES or not isinstance(raw, dict) or raw.get("status") not in STATUSES:
            return None
        sha, deployment = str(raw.get("sha", "")), str(raw.get("deployment", ""))
        if (sha and not is_commit_id(sha)) or (deployment and not is_deployment_id(deployment)):
            return None
        stages[name] = StageState(
            raw["status"],
            sha,
            str(raw.get("detail", ""))[:MAX_DETAIL],
            deployment,
            str(raw.get("at", ""))[:40],
        )
    title = data.get("title", "")
    return PullState(pr, title[:300] if isinstance(title, str) else "", stages)


def render_comment(state: PullState, *, repo_url: str = "", note: str = "") -> str:
    """The sticky comment: a stage table, a Mermaid diagram and the hidden state, under 64 KiB."""
    for detail_limit in (1000, 300, 80, 0):
        body = _render(state, repo_url, note, detail_limit)
        if len(body) <= MAX_COMMENT:
            return body
    return body[: MAX_COMMENT - 200] + "\n\n(truncated)\n" + encode_state(state)


_NOT_NEEDED: Final = StageState("skipped", detail="not needed: the plan found nothing to deploy")
_NOT_MERGED: Final = StageState("skipped", detail="never: closed without merging")


def _shown(state: PullState, stage: str) -> StageState | None:
    """The row shown for ``stage``: what was reported, or "skipped" where it will never run (so
    never "pending"): the deploy and verify rows of a pull request whose plan was skipped, and
    every row a pull request closed without merging never reached."""
    current = state.stages.get(stage)
    planned = state.stages.get("planned")
    if current is None and stage in ("deployed", "verified") and planned and planned.status == "skipped":
        return _NOT_NEEDED
    if current is None and stage in STAGES and "closed" in state.stages:
        return _NOT_MERGED
    return current


def _render(state: PullState, repo_url: str, note: str, limit: int) -> str:
    title = f" — {escape_markdown(state.title)}" if state.title else ""
    lines = [
        MARKER,
        f"### terp-actions: #{state.pr}{title}",
        "",
        "| stage | status | commit | details |",
        "|---|---|---|---|",
    ]
    for stage in (*(s for s in OPTIONAL_STAGES if s in state.stages), *STAGES):
        current = _shown(state, stage)
        if current is None:
            lines.append(f"| {stage} | {_ICONS['pending']} pending | | |")
            continue
        commit = ""
        if current.sha:
            short = current.sha[:7]
            commit = f"[`{short}`]({repo_url}/commit/{current.sha})" if repo_url else f"`{short}`"
        detail = escape_markdown(current.detail)[:limit] if limit else ""
        if current.deployment:
            detail = f"deployment `{current.deployment}`" + (f"; {detail}" if detail else "")
        lines.append(f"| {stage} | {_ICONS[current.status]} {current.status} | {commit} | {detail} |")
    nodes = []
    for stage in STAGES:
        shown = _shown(state, stage)
        status = shown.status if shown else "pending"
        nodes.append(f'{stage}["{stage} {_ICONS[status]}"]')
    lines += ["", "```mermaid", "flowchart LR", "  " + " --> ".join(nodes), "```"]
    if note:
        lines += ["", escape_markdown(note)]
    lines += ["", encode_state(state)]
    return "\n".join(lines) + "\n"
