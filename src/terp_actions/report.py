"""Rendering what people read: summaries and (later) PR comments. Pure: text in, text out."""

from __future__ import annotations

import re
from typing import Final

from terp_actions.paths import display_path
from terp_actions.plan import Plan
from terp_actions.sync import SyncResult

MAX_ROWS: Final = 50
_MENTION: Final = re.compile(r"@(?=[A-Za-z0-9-])")


def escape_markdown(text: str) -> str:
    """Untrusted text made inert in Markdown: no HTML, no table breaks, no @-mentions."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("|", "\\|").replace("`", "'").replace("\n", " ").replace("\r", " ")
    return _MENTION.sub("@\u200b", text)


def render_plan_summary(plan: Plan) -> str:
    """The job-summary Markdown of a plan: verdict first, then the commits table."""
    verdict = "🚀 Deploy" if plan.deploy else "⏭️ No deploy needed"
    base = plan.base[:12] if plan.base else "unknown"
    lines = [
        "### terp-actions plan",
        "",
        f"**{verdict}** — {escape_markdown(plan.reason)}",
        "",
        f"Range `{base}..{plan.head[:12]}`: {plan.commit_count} commits, {plan.changes.count} changed files.",
    ]
    if plan.pull_requests:
        lines.append("Pull requests: " + ", ".join(f"#{n}" for n in plan.pull_requests))
    if plan.commits:
        lines += ["", "| commit | subject | decision | files |", "|---|---|---|---|"]
        for commit in plan.commits[:MAX_ROWS]:
            files = ", ".join(escape_markdown(display_path(p)) for p in commit.files[:3])
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
        f"plan {base}..{plan.head[:12]}: {plan.commit_count} commits, {plan.changes.count} changed files"
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
        "conflict": f"{s} conflicts with {t} in {n} files, nothing pushed; {result.pr_note}",
    }
    verdict = verdicts[str(result.status)]
    if result.dry_run and result.status in ("fast-forward", "merge"):
        verdict = f"dry run: would {result.push}"
    lines = [f"sync {str(result.status).upper()}  {verdict}"]
    if result.status != "up-to-date":
        lines.append(
            f"  {result.merged_commits} commits from {s}"
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
            f"\n{result.merged_commits} commits; staging `{result.before[:12]}` → `{result.after[:12]}`"
            + (" (dry run)" if result.dry_run else "")
        )
    if result.pull_requests:
        lines.append("Pull requests: " + ", ".join(f"#{n}" for n in result.pull_requests))
    if result.conflict_files:
        lines += [
            "",
            "Conflicting files:",
            *[f"- `{escape_markdown(display_path(f))}`" for f in result.conflict_files[:100]],
        ]
        lines.append(f"\n{escape_markdown(result.pr_note)}")
    return "\n".join(lines) + "\n"
