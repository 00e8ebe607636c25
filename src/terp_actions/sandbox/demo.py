"""``terp-actions demo``: the flow on a throwaway repository, narrated as a person would see it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from terp_actions.config import Config
from terp_actions.errors import BadInput
from terp_actions.plan import build_plan
from terp_actions.report import render_plan_text
from terp_actions.sandbox.history import DemoRepo, build_terp_history

Say = Callable[[str], None]

# Three syncs of main into staging, each bringing the pull requests merged since the last one.
_BATCHES = ((101, 102, 103), (104, 105), (106,))
# Paths whose fate people most often get wrong under GitHub's pattern rules.
_TRICKY = ("README.md", "app/README.md", "docs/setup.md", ".vscode/settings.json", "app/routes.py")


def run_demo(say: Say, keep: Path | None = None) -> None:
    """Build the demo repository (in ``keep``, or a temporary folder removed afterwards) and narrate."""
    if keep is not None and keep.exists() and any(keep.iterdir()):
        raise BadInput(f"--keep {keep}: the folder is not empty; give a new or empty folder")
    root = keep or Path(tempfile.mkdtemp(prefix="terp-demo-"))
    try:
        repo = build_terp_history(root)
        _narrate(say, repo)
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)
    if keep is not None:
        say(f"\nThe repository is kept in {repo.work} (origin: {repo.origin}).")


def _narrate(say: Say, repo: DemoRepo) -> None:
    config = Config()
    rules = config.rules()
    git = repo.git()
    say("terp-actions demo: the deploy decision on a throwaway TERP-like repository")
    say(f"  repository: {repo.work}")
    say("  ignore rules (the defaults): " + ", ".join(config.ignore))
    say("")
    say("How the rules read a few paths (terp-actions check-ignore PATH...):")
    for path in _TRICKY:
        m = rules.match(path)
        why = f"matched {m.pattern}" if m.ignored else "no rule matches: a change here deploys"
        say(f"  {path:<24} {why}")
    say("  (GitHub's '*.md' would only match README.md at the root; '**.md' matches app/README.md too.)")

    by_number = {pr.number: pr for pr in repo.pulls}
    staging = git.text(["rev-parse", "origin/staging"])
    for index, batch in enumerate(_BATCHES, start=1):
        head = by_number[batch[-1]].merge_commit
        titles = ", ".join(f"#{n} {by_number[n].title}" for n in batch)
        say("")
        say(f"Sync {index}: main brings {titles}")
        plan = build_plan(git, rules, staging, head)
        for line in render_plan_text(plan):
            say("  " + line)
        # The sync itself (issue: sync main into staging) is a fast-forward here.
        git.run(["push", "--quiet", "origin", f"{head}:refs/heads/staging"])
        staging = head
    say("")
    say("Next: terp-actions plan --repo DIR --base origin/staging runs the same decision on your repository.")
