"""`terp-actions demo`: the whole flow on the sandbox, as a newcomer sees it."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import invoke


def test_demo_shows_every_path_on_the_pull_requests() -> None:
    """The demo runs the seven paths and a preview's life through the flows, and each shows on
    the pull requests."""
    result = invoke(["demo"])
    assert result.exit_code == 0, result.stderr
    out, comments = result.stdout.split("What each pull request shows")
    # A code merge deploys; a docs-only merge skips; a staging hotfix is kept by a merge.
    assert "DEPLOY  deploy: 2 of 4 changed files are not ignored" in out
    assert "SKIP    no deploy needed (all 6 files match ignore rules" in out
    assert "sync FAST-FORWARD  staging fast-forwarded to main" in out
    assert out.count("sync MERGE  merged main into staging") == 4
    # A transient registry failure is healed by a retry, with its fingerprint on the comment.
    assert "healed on 2 attempts: transient failure retried (error: failed to push image" in comments
    # The staging spec change is applied, its filled secret hidden.
    assert "sandbox-session-secret" not in result.stdout and "value: '***'" in out
    assert "app spec applied: services.web.envs" in comments
    # A conflict pushes nothing and opens the main → staging pull request.
    assert "sync CONFLICT" in out and "nothing pushed" in out
    assert "| synced | ❌ failure |" in comments and "opened pull request #" in comments
    # Staging runs and the first promotion verify; the second promotion fails and is rolled back.
    assert out.count("PASS  health") == 5 and out.count("FAIL  health") == 1
    assert "PROMOTED  production runs" in out and "rollback committed" in out
    assert "| promoted | ✅ success |" in comments and "| promoted | ❌ failure |" in comments
    assert "Rolled back: production runs" in comments.split("### terp-actions: #107")[1]
    # Every merged pull request's comment has its merge commit in the merged row.
    merged, previews = comments.split("### terp-actions: #110")
    assert merged.count("### terp-actions: #") == 9
    assert merged.count("| merged | ✅ success |") == 9 and "| merged | ⏳ pending |" not in merged
    # A preview's whole life: created and verified, updated by a push (one app), deleted on close;
    # a docs-only pull request gets none, and its comment says why.
    assert "#110 opened: preview created at http://127.0.0.1:" in out and out.count(", pass") >= 2
    assert "#110 pushed to: preview updated, pass (1 app of that name)" in out
    assert "#110 closed: preview deleted" in out and "#111 opened: preview skipped" in out
    assert "| preview | ⏭️ skipped |" in previews and "deleted (the pull request was closed)" in previews
    assert "no preview needed (the one changed file is ignored: docs/reminders.md" in previews


def test_demo_keep_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    """``demo --keep`` into a folder with files in it is refused, touching nothing."""
    (tmp_path / "precious.txt").write_text("keep me")
    result = invoke(["demo", "--keep", str(tmp_path)])
    assert result.exit_code == 2
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_demo_keep_leaves_a_usable_repository(tmp_path: Path) -> None:
    """``demo --keep DIR`` leaves the repository for the person to explore with plan."""
    keep = tmp_path / "demo"
    assert invoke(["demo", "--keep", str(keep)]).exit_code == 0
    result = invoke(["plan", "--repo", str(keep / "work"), "--base", "HEAD~1", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["deploy"] is True
