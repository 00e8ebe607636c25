"""`terp-actions rehearse`: a team's own merges replayed on the sandbox, nothing pushed anywhere."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from terp_actions.sandbox.history import DemoRepo

from .conftest import invoke


def refs(repo: Path) -> str:
    args = ["git", "for-each-ref", "--format=%(refname) %(objectname)"]
    return subprocess.run(args, cwd=repo, capture_output=True, text=True, check=True).stdout


def test_rehearse_prints_a_verdict_per_merge_and_each_comment(terp_history: DemoRepo) -> None:
    """The last 5 merges of the TERP-like history: docs-only and editor-only ones would not
    deploy (the rule per file named), code would deploy and verify; one promotion; every pull
    request's comment; and neither the clone nor its origin changed."""
    before = refs(terp_history.work) + refs(terp_history.origin)
    result = invoke(["rehearse", "--repo", str(terp_history.work), "--last", "5", "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    verdicts = {tuple(m["pull-requests"]): m for m in data["merges"]}
    assert list(verdicts) == [(102,), (103,), (104,), (105,), (106,)]
    assert (
        verdicts[(102,)]["deploy"] is False and "docs/api/invoices.md by **.md" in verdicts[(102,)]["reason"]
    )
    assert (
        verdicts[(105,)]["deploy"] is False
        and "dashboard.html by dashboard.html" in verdicts[(105,)]["reason"]
    )
    assert verdicts[(106,)]["deploy"] is True and verdicts[(106,)]["verified"] is True
    assert data["promotion"].startswith("promotion: production would run")
    assert set(data["comments"]) == {"102", "103", "104", "105", "106"}
    assert "| planned | ⏭️ skipped |" in data["comments"]["102"]
    assert "| promoted | ✅ success |" in data["comments"]["106"]
    assert refs(terp_history.work) + refs(terp_history.origin) == before  # nothing pushed, nothing moved


def test_rehearse_for_people_shows_verdict_lines_then_the_comments(terp_history: DemoRepo) -> None:
    """Without --json: one verdict per merge (what, whether, why), the promotion, the comments."""
    result = invoke(["rehearse", "--repo", str(terp_history.work), "--last", "2"])
    assert result.exit_code == 0, result.stderr
    assert "#105 Agent prompts and roadmap\n    NO DEPLOY   no deploy needed" in result.stdout
    assert "#106 Split reports\n    DEPLOY      deploy: 2 of 2 changed files" in result.stdout
    assert "── the comment #106 would get:" in result.stdout


def test_rehearse_refuses_bad_input(terp_history: DemoRepo, tmp_path: Path) -> None:
    """--last out of range, or a folder that is not a repository: one line, exit 2."""
    zero = invoke(["rehearse", "--repo", str(terp_history.work), "--last", "0"])
    assert zero.exit_code == 2 and "--last 0: give a number from 1 to 200" in zero.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    bare = invoke(["rehearse", "--repo", str(empty)])
    assert bare.exit_code == 2 and "terp-actions: error:" in bare.stderr


def test_rehearse_warns_about_a_pattern_that_can_never_match(terp_history: DemoRepo) -> None:
    """rehearse is where rules are tuned: a never-matching pattern is a warning naming its fix."""
    config = terp_history.work / ".github" / "terp-actions.yml"
    config.write_text(config.read_text().replace('  - ".vscode/**"\n', '  - ".vscode/"\n'))
    result = invoke(["rehearse", "--repo", str(terp_history.work), "--last", "1"])
    assert result.exit_code == 0, result.stderr
    assert "'.vscode/'" in result.stderr and "'.vscode/**'" in result.stderr
