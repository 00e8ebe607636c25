"""Untrusted text in Markdown sinks: comments, PR bodies and summaries stay inert."""

from __future__ import annotations

import re

import pytest

from terp_actions.flows import VerifyOutcome
from terp_actions.markdown import code, escape
from terp_actions.render import render_verify_summary
from terp_actions.report import PullState, StageState, render_comment
from terp_actions.sandbox.fake_github import GitHubStandIn
from terp_actions.sync import open_conflict_pr
from terp_actions.verify import CheckResult, Verdict

from .test_report import api_for, gh  # noqa: F401 - gh is a fixture

HOSTILE = [
    pytest.param("<img src=x onerror=alert(1)>", id="html"),
    pytest.param("<details><summary>open me</summary>", id="details"),
    pytest.param("ping @terp/admins and @octocat", id="mentions"),
    pytest.param("a | fake | row |", id="table-row"),
    pytest.param("[click](https://evil.example) ![pixel](https://evil.example/p.png)", id="link-and-image"),
    pytest.param("close `code` and ``double``", id="backticks"),
    pytest.param("<!-- terp-actions:status -->", id="forged-marker"),
    pytest.param("line one\n## heading\n| x |", id="line-breaks"),
]


def _inert(rendered: str) -> None:
    assert (
        "<img" not in rendered
        and "<details" not in rendered
        and "<!-- terp-actions:status -->" not in rendered
    )
    assert not re.search(r"(?<!\\)\]\(", rendered), "a link or image survived"
    assert not re.search(r"(?<![\w\u200b])@(?=[A-Za-z])", rendered), "a mention survived"


@pytest.mark.parametrize("text", HOSTILE)
def test_escaped_text_is_one_inert_line(text: str) -> None:
    """No HTML, link, image, mention, table cell or line break survives escaping."""
    out = escape(text)
    _inert(out)
    assert "\n" not in out and "`" not in out
    assert out.count("|") == out.count("\\|")


@pytest.mark.parametrize("text", HOSTILE)
def test_a_hostile_detail_keeps_the_comment_shape(text: str) -> None:
    """Whatever a stage's detail holds, the comment keeps its 7 table rows and no live markup."""
    body = render_comment(PullState(7).with_stage("deployed", StageState("failure", "a" * 40, text)))
    table = [line for line in body.splitlines() if line.startswith("|")]
    assert len(table) == 8 and all(line.count("|") - line.count("\\|") == 5 for line in table)
    _inert(body.replace("<!-- terp-actions:status -->", "", 1).split("<!-- terp-actions:state")[0])


@pytest.mark.parametrize("text", HOSTILE)
def test_a_hostile_runtime_log_line_stays_in_its_summary_cell(text: str) -> None:
    """The verify summary quotes a log line in a table cell: it stays one cell of one row."""
    check = CheckResult("runtime logs", "fail", f"1 error lines, first: {text}")
    summary = render_verify_summary(VerifyOutcome("staging", Verdict((check,)), []))
    rows = [line for line in summary.splitlines() if line.startswith("| FAIL")]
    assert len(rows) == 1 and rows[0].count("|") - rows[0].count("\\|") == 4
    _inert(summary)


def test_a_file_name_cannot_break_out_of_its_code_span() -> None:
    """A backtick in a file name cannot end the code span around it."""
    assert code("evil`](x)<img>.py") == "`evil'](x)<img>.py`"
    assert code("a|b") == "`a\\|b`"


def test_the_conflict_pull_request_body_quotes_file_names_safely(gh: GitHubStandIn) -> None:  # noqa: F811
    """The conflict PR lists each file in a code span nothing in its name can close."""
    number, _ = open_conflict_pr(
        api_for(gh), ["app/ok.py", "evil`](https://x)<img src=x>@team.py"],
        source="main", target="staging", main_tip="a" * 40, staging_tip="b" * 40,
    )  # fmt: skip
    body = gh.pulls[int(number or 0)].body
    listed = [line for line in body.splitlines() if line.startswith("- ")]
    assert listed == ["- `app/ok.py`", "- `evil'](https://x)<img src=x>@team.py`"]
