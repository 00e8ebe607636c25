"""``terp-actions demo``: the flow on a throwaway repository, narrated as a person would see it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from terp_actions.config import Config
from terp_actions.errors import BadInput
from terp_actions.plan import build_plan
from terp_actions.report import render_plan_text, render_sync_text
from terp_actions.sandbox.history import (
    TERP_BATCHES,
    TERP_PULLS,
    HistoryBuilder,
    merge_terp_pull,
    start_terp_history,
)
from terp_actions.sync import run_sync

Say = Callable[[str], None]

# Paths whose fate people most often get wrong under GitHub's pattern rules.
_TRICKY = ("README.md", "app/README.md", "docs/setup.md", ".vscode/settings.json", "app/routes.py")


def run_demo(say: Say, keep: Path | None = None) -> None:
    """Build the demo repository (in ``keep``, or a temporary folder removed afterwards) and narrate."""
    if keep is not None and keep.exists() and any(keep.iterdir()):
        raise BadInput(f"--keep {keep}: the folder is not empty; give a new or empty folder")
    root = keep or Path(tempfile.mkdtemp(prefix="terp-demo-"))
    try:
        builder = start_terp_history(root)
        _narrate(say, builder)
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)
    if keep is not None:
        say(f"\nThe repository is kept in {builder.work} (origin: {builder.origin}).")


def _narrate(say: Say, b: HistoryBuilder) -> None:
    config = Config()
    rules = config.rules()
    say("terp-actions demo: merges to main, synced into staging, and the deploy decision for each sync")
    say(f"  repository: {b.work} (origin: {b.origin})")
    say("  ignore rules (the defaults): " + ", ".join(config.ignore))
    say("")
    say("How the rules read a few paths (terp-actions check-ignore PATH...):")
    for path in _TRICKY:
        m = rules.match(path)
        why = f"matched {m.pattern}" if m.ignored else "no rule matches: a change here deploys"
        say(f"  {path:<24} {why}")
    say("  (GitHub's '*.md' would only match README.md at the root; '**.md' matches app/README.md too.)")

    for index, batch in enumerate(TERP_BATCHES, start=1):
        for number in batch:
            merge_terp_pull(b, number)
        b.push("main")
        say("")
        say("Merged into main: " + ", ".join(f"#{n} {TERP_PULLS[n][0]}" for n in batch))
        if index == 2:  # someone hotfixes staging directly: the next sync must merge, and keep it
            b.git.run(["fetch", "--quiet", "origin"])
            b.git.run(["checkout", "--quiet", "-B", "staging", "origin/staging"])
            b.commit("Hotfix: raise the invoice PDF timeout", {"app/invoices/pdf.py": "TIMEOUT = 30\n"})
            b.push("staging")
            b.git.run(["checkout", "--quiet", "main"])
            say("Meanwhile a hotfix was pushed straight to staging.")
        result = run_sync(b.git, remote="origin", source="main", target="staging")
        for line in render_sync_text(result):
            say("  " + line)
        plan = build_plan(b.git, rules, result.before, result.after)
        for line in render_plan_text(plan):
            say("  " + line)
    say("")
    say("Next: terp-actions sync --dry-run and terp-actions plan --base origin/staging on your repository.")
