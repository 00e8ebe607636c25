"""The pull-request comment: rendering, hidden state, and publishing on the GitHub stand-in."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from terp_actions.github import GitHubApi
from terp_actions.publish import (
    mark_interrupted,
    publish_stage,
    pulls_for_commit,
    record_deployment,
    update_pull_comment,
)
from terp_actions.report import (
    MARKER,
    MAX_COMMENT,
    PullState,
    StageState,
    encode_state,
    parse_state,
    render_comment,
)
from terp_actions.sandbox.fake_github import GitHubStandIn
from terp_actions.sandbox.http import Fault
from terp_actions.verify import baseline_p95

SHA = "a" * 40


def test_comment_round_trips_its_state() -> None:
    """The hidden state read back from a rendered comment equals what was written."""
    state = PullState(
        12,
        "Add export",
        {"synced": StageState("success", SHA, "merge"), "deployed": StageState("running", SHA, "", "dep-1")},
    )
    body = render_comment(state, repo_url="https://github.com/terp/terp")
    assert body.startswith(MARKER)
    assert parse_state(body, 12) == state  # details are short: kept whole
    assert f"[`aaaaaaa`](https://github.com/terp/terp/commit/{SHA})" in body
    assert "```mermaid" in body and 'synced["synced ✅"]' in body


def test_a_skipped_plan_shows_deploy_and_verify_as_not_needed_not_pending() -> None:
    """A docs-only pull request's comment never promises a deploy that will not come; the hidden
    state keeps only what was reported."""
    state = PullState(12, "", {"planned": StageState("skipped", SHA, "no deploy needed")})
    body = render_comment(state)
    assert "| deployed | ⏭️ skipped |  | not needed: the plan found nothing to deploy |" in body
    assert "| verified | ⏭️ skipped |" in body and 'verified["verified ⏭️"]' in body
    assert "| promoted | ⏳ pending | | |" in body  # a promotion still carries it to production
    assert parse_state(body, 12) == state
    planned = PullState(12, "", {"planned": StageState("success", SHA, "deploy")})
    assert "| deployed | ⏳ pending | | |" in render_comment(planned)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"pr": 13, "stages": {}}, id="another-pr"),
        pytest.param({"pr": 12, "stages": {"hacked": {"status": "success"}}}, id="unknown-stage"),
        pytest.param({"pr": 12, "stages": {"synced": {"status": "owned"}}}, id="unknown-status"),
        pytest.param(
            {"pr": 12, "stages": {"synced": {"status": "success", "sha": "zz; rm -rf"}}}, id="bad-sha"
        ),
        pytest.param({"pr": 12, "stages": []}, id="stages-not-a-map"),
        pytest.param([1, 2], id="not-an-object"),
    ],
)
def test_untrusted_state_is_refused(data: object) -> None:
    """State that does not validate is ignored as a whole."""
    blob = base64.b64encode(json.dumps(data).encode()).decode()
    assert parse_state(f"{MARKER}\n<!-- terp-actions:state v1 {blob} -->", 12) is None
    assert parse_state("<!-- terp-actions:state v1 not-base64!!! -->", 12) is None
    assert parse_state(encode_state(PullState(12)).replace(" v1 ", " v9 "), 12) is None


def test_untrusted_text_is_made_inert() -> None:
    """Titles and details cannot mention people, inject HTML, break the table or end the state block."""
    state = PullState(
        1, "@octocat <script>x</script> | -->", {"planned": StageState("success", SHA, "@team ::error::x")}
    )
    body = render_comment(state)
    assert "@octocat" not in body and "@team" not in body and "<script>" not in body
    assert parse_state(body, 1) == state


def test_comment_stays_under_the_limit() -> None:
    """Whatever the details, the comment fits GitHub's 65,536 characters and keeps its state."""
    huge = "x" * 60_000
    state = PullState(
        1, "t", {s: StageState("failure", SHA, huge) for s in ("synced", "planned", "deployed")}
    )
    body = render_comment(state)
    assert len(body) <= MAX_COMMENT and "❌ failure" in body
    kept = parse_state(body, 1)
    assert kept is not None and set(kept.stages) == {"synced", "planned", "deployed"}


@pytest.fixture
def gh(origin: Path) -> GitHubStandIn:
    stand_in = GitHubStandIn(origin, tokens={"ghs_sandbox": "github-actions[bot]", "ghp_person": "mallory"})
    stand_in.start()
    stand_in.add_pull("Add export", "feature", "main", number=12)
    yield stand_in  # type: ignore[misc]
    stand_in.stop()


def api_for(gh: GitHubStandIn, token: str = "ghs_sandbox") -> GitHubApi:
    return GitHubApi(token, "terp/terp", gh.url, throttle=False, sleep=lambda _s: None)


def test_rerun_edits_the_comment_and_never_duplicates(gh: GitHubStandIn) -> None:
    """Stage after stage, the one comment is edited in place and accumulates the stages."""
    api = api_for(gh)
    first = update_pull_comment(api, 12, "synced", StageState("success", SHA))
    second = update_pull_comment(api, 12, "planned", StageState("success", SHA, "deploy: 2 files"))
    assert (first.action, second.action, first.comment_id) == ("created", "updated", second.comment_id)
    assert len(gh.comments) == 1
    state = parse_state(next(iter(gh.comments.values())).body, 12)
    assert state is not None and set(state.stages) == {"synced", "planned"}


def test_a_forged_state_by_another_author_is_ignored(gh: GitHubStandIn) -> None:
    """Our marker and a crafted state in someone else's comment: neither edited nor believed."""
    forged = render_comment(PullState(12, "x", {"verified": StageState("success", SHA, "all good")}))
    api_for(gh, "ghp_person").create_comment(12, forged)
    outcome = update_pull_comment(api_for(gh), 12, "synced", StageState("success", SHA))
    assert outcome.action == "created" and len(gh.comments) == 2
    state = parse_state(outcome.body, 12)
    assert state is not None and "verified" not in state.stages


def test_a_lost_create_is_looked_for_before_trying_again(gh: GitHubStandIn) -> None:
    """A create answered 502 after it was processed leads to an edit, not a second comment."""
    gh.inject(Fault("issues/create-comment", "after", frozenset({1}), 502))
    outcome = update_pull_comment(api_for(gh), 12, "synced", StageState("success", SHA))
    assert outcome.action == "updated" and len(gh.comments) == 1


def test_a_refused_comment_is_a_failure_to_report_not_an_exception(gh: GitHubStandIn) -> None:
    """A 403 (a fork's token) is collected; the other pull requests are still commented on."""
    gh.add_pull("Other", "feature", "main", number=13)
    gh.inject(Fault("issues/create-comment", "status", frozenset({1}), 403))
    report = publish_stage(api_for(gh), (12, 13), "synced", StageState("success", SHA))
    assert [pr for pr, _ in report.failures] == [12] and [c.pr for c in report.comments] == [13]


def test_one_deployment_per_environment_and_commit(gh: GitHubStandIn, origin: Path) -> None:
    """Recording twice for the same commit reuses the Deployment; states accumulate."""
    sha = subprocess.run(
        ["git", "rev-parse", "main"], cwd=origin, capture_output=True, text=True, check=True
    ).stdout.strip()
    api = api_for(gh)
    first = record_deployment(
        api, "staging", sha, "in_progress", description="deployed", log_url="https://ci/run/1"
    )
    second = record_deployment(
        api,
        "staging",
        sha,
        "success",
        description="verified: p95=120ms",
        environment_url="https://staging.example",
    )
    assert first == second and len(gh.deployments) == 1
    assert [s.state for s in api.statuses(first)] == ["success", "in_progress"]
    assert api.statuses(first)[0].description == "verified: p95=120ms"


def test_pull_requests_of_a_commit_are_asked_again_while_github_lags(gh: GitHubStandIn, origin: Path) -> None:
    """GitHub lists a just-pushed commit's pull requests late: an empty answer is retried briefly."""
    sha = subprocess.run(
        ["git", "rev-parse", "feature"], cwd=origin, capture_output=True, text=True, check=True
    ).stdout.strip()
    gh.add_pull("Feature", "feature", "main", merged_sha=sha, number=30)
    gh.add_pull("Into staging", "feature", "staging", merged_sha=sha, number=31)
    gh.pulls_visible_after = 1
    waits: list[float] = []
    assert pulls_for_commit(api_for(gh), sha, sleep=waits.append) == (30,)
    assert waits == [2.0]


class Racing:
    """The real client, with another writer getting in at one chosen moment (as a second report
    running at the same time would): a double at our client's interface, over real HTTP."""

    def __init__(
        self, api: GitHubApi, before: str = "", after: str = "", act: Callable[[], object] = lambda: None
    ) -> None:
        self._api, self._before, self._after, self._act = api, before, after, act

    def __getattr__(self, name: str) -> object:
        method = getattr(self._api, name)

        def call(*args: object, **kwargs: object) -> object:
            if name == self._before:
                self._before = ""
                self._act()
            result = method(*args, **kwargs)
            if name == self._after:
                self._after = ""
                self._act()
            return result

        return call


def _states(gh: GitHubStandIn) -> list[set[str]]:
    ours = [c for c in gh.comments.values() if MARKER in c.body]
    return [set((parse_state(c.body, 12) or PullState(12)).stages) for c in ours]


def test_two_creates_at_once_end_in_one_comment_with_both_rows(gh: GitHubStandIn) -> None:
    """Another report creates its comment just before ours: ours becomes a pointer to the first,
    which gets our row too."""
    other = api_for(gh)
    racing = Racing(
        other,
        before="create_comment",
        act=lambda: update_pull_comment(other, 12, "synced", StageState("success", SHA)),
    )
    outcome = update_pull_comment(racing, 12, "promoted", StageState("failure", SHA, "rolled back"))  # type: ignore[arg-type]
    assert _states(gh) == [{"synced", "promoted"}]
    first, second = sorted(gh.comments.values(), key=lambda c: c.id)
    assert outcome.comment_id == first.id and "the first status comment" in second.body
    assert MARKER not in second.body


def test_an_edit_overwritten_underneath_is_merged_again(gh: GitHubStandIn) -> None:
    """Another report, working from what the comment said before our edit, overwrites it right
    after: our read-back sees it and merges our row back in."""
    api = api_for(gh)
    update_pull_comment(api, 12, "synced", StageState("success", SHA))
    [comment] = gh.comments.values()
    stale = comment.body
    racing = Racing(api, after="update_comment", act=lambda: api.update_comment(comment.id, stale))
    update_pull_comment(racing, 12, "verified", StageState("success", SHA, "p95=3ms"))  # type: ignore[arg-type]
    assert _states(gh) == [{"synced", "verified"}]


def test_two_deployments_at_once_leave_one_active(gh: GitHubStandIn, origin: Path) -> None:
    """Another run creates the Deployment for the same environment and commit first: ours is
    marked inactive and the state goes on the first, so one stays active."""
    sha = subprocess.run(
        ["git", "rev-parse", "main"], cwd=origin, capture_output=True, text=True, check=True
    ).stdout.strip()
    api = api_for(gh)
    racing = Racing(
        api,
        before="create_deployment",
        act=lambda: api.create_deployment(ref=sha, environment="staging", description="x"),
    )
    kept = record_deployment(racing, "staging", sha, "success", description="verified")  # type: ignore[arg-type]
    states = {d.id: d.statuses[-1]["state"] if d.statuses else None for d in gh.deployments.values()}
    assert kept == min(states) and states[kept] == "success"
    assert [s for i, s in states.items() if i != kept] == ["inactive"]


def test_a_run_that_ended_without_a_result_is_closed_by_the_next(gh: GitHubStandIn, origin: Path) -> None:
    """A Deployment left in_progress and a comment row left running by a cancelled run (hours
    ago) are marked interrupted by the next run for the environment, which then carries on."""
    sha = subprocess.run(
        ["git", "rev-parse", "main"], cwd=origin, capture_output=True, text=True, check=True
    ).stdout.strip()
    api = api_for(gh)
    old = api.create_deployment(ref=sha, environment="staging", description="deployed")
    api.create_status(old.id, "in_progress", description="deployed running")
    for status in gh.deployments[old.id].statuses:  # the cancelled run reported three hours ago
        status["created"] -= 3 * 3600
    update_pull_comment(api, 12, "deployed", StageState("running", sha, "", "", "2020-01-01T00:00:00Z"))

    outcome = update_pull_comment(api, 12, "synced", StageState("success", SHA))
    marked = mark_interrupted(api, "staging", now=time.time())
    assert marked == [old.id] and gh.deployments[old.id].statuses[-1]["state"] == "error"
    assert "interrupted" in gh.deployments[old.id].statuses[-1]["description"]
    state = parse_state(outcome.body, 12)
    assert state is not None and state.stages["deployed"].status == "failure"
    assert "interrupted" in state.stages["deployed"].detail and state.stages["synced"].status == "success"
    # A run still within its time is left alone.
    fresh = api.create_deployment(ref=sha, environment="production", description="deployed")
    api.create_status(fresh.id, "in_progress", description="deployed running")
    assert mark_interrupted(api, "production", now=time.time()) == []


def test_a_production_success_leaves_one_active_production_deployment(
    gh: GitHubStandIn, origin: Path
) -> None:
    """GitHub's auto_inactive leaves production Deployments alone, so a newer promotion marks
    the one that ran before inactive itself; staging relies on auto_inactive."""
    sha = subprocess.run(
        ["git", "rev-parse", "main"], cwd=origin, capture_output=True, text=True, check=True
    ).stdout.strip()
    feature = subprocess.run(
        ["git", "rev-parse", "feature"], cwd=origin, capture_output=True, text=True, check=True
    ).stdout.strip()
    api = api_for(gh)
    first = record_deployment(api, "production", sha, "success", description="promoted")
    second = record_deployment(api, "production", feature, "success", description="promoted")
    assert gh.deployments[first].production and gh.deployments[first].statuses[-1]["state"] == "inactive"
    assert gh.deployments[second].statuses[-1]["state"] == "success"


def test_stand_in_users_carry_every_field_github_requires(gh: GitHubStandIn) -> None:
    """Users in comments carry all of GitHub's required simple-user fields, contract or not."""
    api_for(gh).create_comment(12, "hello")
    answer = httpx.get(
        f"{gh.url}/repos/terp/terp/issues/12/comments", headers={"Authorization": "token ghs_sandbox"}
    )
    user = answer.json()[0]["user"]
    required = {
        "avatar_url",
        "events_url",
        "followers_url",
        "following_url",
        "gists_url",
        "gravatar_id",
        "html_url",
        "id",
        "node_id",
        "login",
        "organizations_url",
        "received_events_url",
        "repos_url",
        "site_admin",
        "starred_url",
        "subscriptions_url",
        "type",
        "url",
    }
    assert required <= set(user)


def test_the_latency_baseline_is_only_a_note_we_wrote(gh: GitHubStandIn, origin: Path) -> None:
    """A p95 note in a status written by someone else (or malformed) is not a baseline; ours is."""
    sha = subprocess.run(
        ["git", "rev-parse", "main"], cwd=origin, capture_output=True, text=True, check=True
    ).stdout.strip()
    ours, theirs = api_for(gh), api_for(gh, "ghp_person")
    older = ours.create_deployment(ref=sha, environment="staging", description="deploy")
    ours.create_status(older.id, "success", description="verified success: (p95=100ms)")
    newer = theirs.create_deployment(ref=sha, environment="staging", description="deploy")
    theirs.create_status(newer.id, "success", description="verified success: (p95=1ms)")
    assert baseline_p95(ours, "staging") == 100.0
