"""What people read of each command's outcome: the job-summary Markdown and the terminal lines.

Pure: an outcome in, text out. The pull-request comment is rendered in ``report.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from terp_actions import markdown
from terp_actions.report import escape_markdown, plural

if TYPE_CHECKING:
    from terp_actions.doctor import Finding
    from terp_actions.flows import (
        DeployOutcome,
        PromoteOutcome,
        ReportOutcome,
        RollbackOutcome,
        StatusOutcome,
        VerifyOutcome,
    )
    from terp_actions.flows.adoption import InitOutcome
    from terp_actions.flows.previews import PreviewListOutcome, PreviewOutcome


def render_deploy_summary(outcome: DeployOutcome) -> str:
    """The deploy's job summary: the spec change, then live or failed."""
    parts = []
    if outcome.spec_fields:
        verb = "Would change" if outcome.choice is not None else "Applied; changed"
        fields = ", ".join(markdown.code(f) for f in outcome.spec_fields)
        diff = "\n".join(outcome.spec_diff)
        parts.append(f"### App spec\n\n{verb}: {fields}\n\n```diff\n{diff}\n```\n")
    r = outcome.result
    if outcome.redeploy:
        parts.append(f"### Redeploy\n\n{escape_markdown(outcome.redeploy)}\n")
    if outcome.freeze:
        parts.append(f"### Deploy freeze\n\n{escape_markdown(outcome.freeze)}\n")
    if outcome.failure is not None:
        failure = escape_markdown(str(outcome.failure))
        parts.append(f"### terp-actions deploy\n\n**{outcome.env}: failed** — {failure}\n")
    elif r is not None:
        parts.append(
            f"### terp-actions deploy\n\n**{outcome.env}: live** — deployment `{r.deployment}` "
            f"(commit `{r.commit[:12]}`, {plural(len(r.attempts), 'attempt')}, "
            f"{'adopted' if r.adopted else 'created'})\n"
        )
    return "\n".join(parts)


def render_deploy_text(outcome: DeployOutcome) -> list[str]:
    """The deploy's last line for people (progress was printed as it happened)."""
    if outcome.choice is not None:
        c = outcome.choice
        return [f"dry run: would {c.action} ({c.reason}) for {outcome.head[:12]} on {outcome.env}"]
    r = outcome.result
    if outcome.frozen:
        return [f"NOT DEPLOYED  {outcome.env}: {outcome.freeze}"]
    if r is None:
        return []
    return [f"LIVE  {outcome.env}: deployment {r.deployment} is ACTIVE with {r.commit[:12]}"]


def _check_rows(outcome: VerifyOutcome) -> list[str]:
    return [
        f"| {c.status.upper()} | {c.name} | {escape_markdown(c.detail)} |" for c in outcome.verdict.checks
    ]


def render_verify_summary(outcome: VerifyOutcome) -> str:
    """The verification's job summary: the verdict and a table of the checks."""
    verdict = "verified" if outcome.verdict.passed else "FAILED"
    rows = "\n".join(_check_rows(outcome))
    table = f"| result | check | detail |\n|---|---|---|\n{rows}\n"
    return f"### terp-actions verify ({outcome.env})\n\n**{verdict}**\n\n{table}"


def render_verify_text(outcome: VerifyOutcome) -> list[str]:
    """One line per check, then the verdict (VERIFIED or FAILED, as deploy ends LIVE)."""
    checks = outcome.verdict.checks
    lines = [f"{c.status.upper():<4}  {c.name:<16} {c.detail} ({c.duration:.1f} s)" for c in checks]
    failed = [c.name for c in checks if c.status == "fail"]
    if failed:
        lines.append(f"FAILED  {outcome.env}: {', '.join(failed)}")
    else:
        lines.append(f"VERIFIED  {outcome.env}: {sum(c.status == 'pass' for c in checks)} checks passed")
    return lines


def render_report_summary(outcome: ReportOutcome) -> str:
    """The comments as posted (or, dry, as they would be), without their hidden state."""
    bodies = [c.body for c in outcome.published.comments] if outcome.published else outcome.previews
    notes = [f"> #{pr}: the status comment could not be posted ({error})." for pr, error in (
        outcome.published.failures if outcome.published else [])]  # fmt: skip
    return "\n".join([*(b.split("<!-- terp-actions:state")[0] for b in bodies), *notes])


def render_report_text(outcome: ReportOutcome) -> list[str]:
    """What was posted, one line each; in a dry run, the comments themselves."""
    p = outcome.published
    if p is None:
        return list(outcome.previews)
    lines = [f"#{c.pr}: comment {c.action}" for c in p.comments]
    if p.deployment:
        lines.append(f"GitHub Deployment {p.deployment}: {p.deployment_state}")
    return lines


def render_promote_summary(outcome: PromoteOutcome) -> str:
    """The promotion's job summary: production before → after, and its notes or failure."""
    r = outcome.result
    previous, sha = (r.previous, r.sha) if r else (outcome.previous, outcome.sha)
    text = f"### terp-actions promote\n\nproduction: `{previous[:12]}` → `{sha[:12]}`"
    notes = [escape_markdown(note) for note in r.notes] if r else []
    for warning in r.rollback_warnings if r else ():
        notes.append(f"App Platform warned about the rollback: {escape_markdown(warning)}")
    if outcome.failure is not None:
        notes.append(f"**failed** — {escape_markdown(str(outcome.failure))}")
    if outcome.pulls:
        notes.append("Pull requests: " + ", ".join(f"#{n}" for n in outcome.pulls))
    return text + "".join(f"\n\n{n}" for n in notes) + "\n"


def render_promote_text(outcome: PromoteOutcome) -> list[str]:
    """The promotion's last line (a failure is the error line, printed once by the error path)."""
    r = outcome.result
    if r is None or outcome.dry_run or outcome.failure is not None:
        return []
    return [f"PROMOTED  production runs {r.sha[:12]} (deployment {r.deployment}), verified"]


def render_rollback_summary(outcome: RollbackOutcome, env: str) -> str:
    """The rollback's job summary: what it restored, and each warning App Platform gave."""
    done = "would roll back" if outcome.dry_run else f"rolled back by deployment `{outcome.deployment}`"
    text = f"### terp-actions rollback\n\n{env} {done} to `{outcome.target}`"
    warnings = "".join(f"\n- App Platform warned: {escape_markdown(w)}" for w in outcome.warnings)
    return text + ("\n" + warnings if warnings else "") + "\n"


def render_rollback_text(outcome: RollbackOutcome, env: str) -> list[str]:
    """The rollback's last line (the dry run said its verdict as it went)."""
    if outcome.dry_run:
        return []
    return [
        f"ROLLED BACK  {env} runs deployment {outcome.deployment} (restoring {outcome.target}); committed",
        *(f"  App Platform warned: {w}" for w in outcome.warnings),
    ]


def render_status_text(outcome: StatusOutcome, env: str) -> list[str]:
    """The app and its deployments, one line each."""
    data = outcome.data()
    lines = [f"{env}: app {data['name']} ({data['app-id']})" + (f" at {data['url']}" if data["url"] else "")]
    if not data["active"] and not data["in-progress"]:
        lines.append("  no deployment yet")
    for label in ("active", "in-progress", "pinned"):
        dep = data[label]
        if isinstance(dep, dict):
            lines.append(
                f"  {label.replace('-', ' '):<12} {dep['deployment-id']}  {dep['phase']!s:<14} "
                f"{str(dep['commit'] or '')[:12]}  {dep['progress']}"
            )
    if data["pinned"]:
        lines.append("  the app is pinned by a rollback: commit or revert it before deploying")
    active = outcome.app.get("active_deployment") or {}
    if (active.get("cause_details") or {}).get("type") == "AUTO_ROLLBACK":
        restored = active.get("cloned_from") or "an earlier deployment"
        lines.append(f"  App Platform rolled back by itself: the live deployment restores {restored}")
    if outcome.head:
        found = data["carrying"]
        where = (
            f"in deployment {found['deployment-id']} ({found['phase']}, created {found['created-at']})"
            if isinstance(found, dict)
            else "in no recent deployment"
        )
        lines.append(f"  {outcome.head[:12]}: {where}")
    return lines


def render_doctor_text(findings: Sequence[Finding]) -> list[str]:
    """Findings grouped by file, each with its fix, then the counts."""
    lines = []
    for file in sorted({f.file for f in findings}):
        lines.append(file)
        for f in (x for x in findings if x.file == file):
            where = f":{f.line}" if f.line else ""
            lines.append(
                f"  {f.severity.upper():<7} {file}{where}  {f.message}"
                + (f"\n          fix: {f.fix}" if f.fix else "")
            )
    counts = {s: sum(1 for f in findings if f.severity == s) for s in ("error", "warning", "info")}
    lines.append(
        f"doctor: {plural(counts['error'], 'error')}, {plural(counts['warning'], 'warning')}, "
        f"{plural(counts['info'], 'note')}"
    )
    return lines


def render_init_text(outcome: InitOutcome) -> list[str]:
    """What init did to each file, doctor's findings, and the checklist, numbered."""
    lines = [f"{action:<16} {path}" for path, action in outcome.actions.items()]
    lines += [f"note: {note}" for note in outcome.adoption.notes]
    lines += ["", *render_doctor_text(outcome.findings), "", "What a person must still do:"]
    lines += [f"  {n}. {step}" for n, step in enumerate(outcome.steps, 1)]
    return lines


def render_preview_text(outcome: PreviewOutcome) -> list[str]:
    """One line: what became of the preview."""
    if outcome.action in ("created", "updated") and outcome.failure is None:
        return [f"PREVIEW  #{outcome.pr} {outcome.name} {outcome.action}: {outcome.url}, verified"]
    if outcome.reason:
        return [f"PREVIEW  #{outcome.pr}: {outcome.reason}"]
    return []


def render_preview_list(outcome: PreviewListOutcome) -> list[str]:
    """A line per preview: name, pull request, phase, URL, age, commit."""
    lines = [
        f"{p.name:<32} #{p.pr:<6} {p.phase:<10} {p.url or '-':<40} {p.age_seconds / 3600:>6.1f} h  "
        f"{p.commit[:12] or '-'}"
        for p in outcome.previews
    ]
    if not outcome.previews:
        lines.append("no preview apps of this repository")
    if outcome.deleted:
        verb = "would delete" if outcome.dry_run else "deleted"
        lines.append(f"{verb}: " + ", ".join(outcome.deleted))
    return lines
