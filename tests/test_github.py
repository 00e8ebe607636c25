"""The GitHub stand-in driven through the real PyGithub client (github.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from terp_actions.backoff import RetryPolicy
from terp_actions.errors import GitHubError, RateLimited
from terp_actions.github import GitHubApi
from terp_actions.sandbox.contract import GITHUB_CONTRACT, load_contract
from terp_actions.sandbox.fake_github import GitHubStandIn, primary_rate_limit, secondary_rate_limit
from terp_actions.sandbox.http import Fault

from .conftest import CONTRACTS, Sleeps, needs_contracts


@pytest.fixture
def api(gh_stand_in: GitHubStandIn, sleeps: Sleeps) -> GitHubApi:
    """The bot's client (the workflow token), no throttling, no real sleeps."""
    return GitHubApi(
        "ghs_sandbox",
        "terp/terp",
        gh_stand_in.url,
        throttle=False,
        sleep=sleeps,
        policy=RetryPolicy(attempts=3, deadline=600),
    )


def rev(origin: Path, name: str) -> str:
    return subprocess.run(
        ["git", "rev-parse", name], cwd=origin, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_pull_requests_round_trip(gh_stand_in: GitHubStandIn, api: GitHubApi) -> None:
    """Create, find, read and update a pull request; a second identical one is refused."""
    created = api.create_pull(title="Sync main into staging", head="feature", base="staging", body="conflict")
    assert created.url.startswith(gh_stand_in.url)
    assert [p.number for p in api.open_pulls(head="feature", base="staging")] == [created.number]
    assert api.get_pull(created.number).title == "Sync main into staging"
    assert api.update_pull(created.number, title="Sync (2 files)", body="b").title == "Sync (2 files)"
    with pytest.raises(GitHubError) as caught:
        api.create_pull(title="again", head="feature", base="staging", body="")
    assert caught.value.status == 422


def test_comments_paginate_and_are_authored_by_the_token_user(
    gh_stand_in: GitHubStandIn, api: GitHubApi
) -> None:
    """All pages of comments are read; comments carry the token's user; edits happen in place."""
    pr = api.create_pull(title="T", head="feature", base="main", body="")
    people = GitHubApi("ghp_person", "terp/terp", gh_stand_in.url, throttle=False)
    for i in range(33):
        people.create_comment(pr.number, f"comment {i}")
    mine = api.create_comment(pr.number, "<!-- terp-actions -->\nstatus")
    listed = api.comments(pr.number)
    assert len(listed) == 34 and listed[-1] == mine and mine.author == "github-actions[bot]"
    updated = api.update_comment(mine.id, "<!-- terp-actions -->\nnew")
    assert updated.body.endswith("new") and updated.id == mine.id
    assert [c.id for c in api.comments(pr.number)] == [c.id for c in listed]


def test_deployments_and_statuses(gh_stand_in: GitHubStandIn, api: GitHubApi, origin: Path) -> None:
    """Deployments keep log_url/environment_url; a new success marks the previous one inactive."""
    first = api.create_deployment(
        ref="staging", environment="staging", description="deploy", payload={"run": 1}
    )
    api.create_status(
        first.id, "success", log_url="https://ci/run/1", environment_url="https://staging.example"
    )
    second = api.create_deployment(ref="main", environment="staging", description="deploy")
    api.create_status(second.id, "in_progress", log_url="https://ci/run/2")
    api.create_status(
        second.id, "success", log_url="https://ci/run/2", environment_url="https://staging.example"
    )
    assert first.sha == rev(origin, "staging") and first.payload == {"run": 1}
    assert [d.id for d in api.deployments("staging")] == [second.id, first.id]
    assert [d.id for d in api.deployments("staging", sha=first.sha)] == [
        second.id,
        first.id,
    ]  # main == staging here
    assert [s.state for s in api.statuses(first.id)] == ["inactive", "success"]
    latest = api.statuses(second.id)[0]
    assert (latest.state, latest.log_url, latest.environment_url) == (
        "success",
        "https://ci/run/2",
        "https://staging.example",
    )


def test_refs_compare_and_commit_pulls(gh_stand_in: GitHubStandIn, api: GitHubApi, origin: Path) -> None:
    """Branch tips come from the real repository; compare and commit→PR lookups agree with git."""
    assert api.branch_sha("main") == rev(origin, "main")
    comparison = api.compare("main", "feature")
    assert (comparison["status"], comparison["ahead_by"], [f["filename"] for f in comparison["files"]]) == (
        "ahead",
        1,
        ["feature.py"],
    )
    gh_stand_in.add_pull("Feature", "feature", "main", merged_sha=rev(origin, "feature"), number=7)
    assert [p.number for p in api.pulls_for_commit(rev(origin, "feature"))] == [7]


def test_api_version_is_pinned_and_enforced(gh_stand_in: GitHubStandIn, api: GitHubApi) -> None:
    """Our client sends 2022-11-28; another version is refused like GitHub does."""
    api.branch_sha("main")
    other = httpx.get(
        f"{gh_stand_in.url}/repos/terp/terp",
        headers={"Authorization": "token ghs_sandbox", "X-GitHub-Api-Version": "2099-01-01"},
    )
    assert other.status_code == 400 and "not supported" in other.json()["message"]
    assert (
        httpx.get(f"{gh_stand_in.url}/repos/terp/terp", headers={"Authorization": "token nope"}).status_code
        == 401
    )
    gh_stand_in.violations.clear()  # the two hand-made requests above break the contract on purpose


def test_primary_rate_limit_is_waited_out_on_reads(
    gh_stand_in: GitHubStandIn, api: GitHubApi, sleeps: Sleeps
) -> None:
    """A 403 with x-ratelimit-remaining 0 on a read waits until the reset, then succeeds."""
    gh_stand_in.inject(primary_rate_limit("git/get-ref", frozenset({1})))
    assert api.branch_sha("main")
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 61


@pytest.mark.parametrize(
    ("status", "retry_after", "waited"),
    [
        pytest.param(403, 90, 90.0, id="403-retry-after-90"),
        pytest.param(429, 240, 240.0, id="429-retry-after-240"),
        pytest.param(403, None, 60.0, id="403-no-retry-after"),
        pytest.param(429, None, 60.0, id="429-no-retry-after"),
    ],
)
def test_a_write_refused_by_a_secondary_limit_is_repeated_after_the_wait_it_asks(
    gh_stand_in: GitHubStandIn,
    api: GitHubApi,
    sleeps: Sleeps,
    status: int,
    retry_after: int | None,
    waited: float,
) -> None:
    """GitHub's secondary limit (403 or 429): wait exactly retry-after (not cut at 30 s), or a
    minute without it, then repeat the write, which the refusal left unprocessed: one comment."""
    pr = api.create_pull(title="T", head="feature", base="main", body="")
    gh_stand_in.inject(secondary_rate_limit("issues/create-comment", retry_after, frozenset({1}), status))
    api.create_comment(pr.number, "hello")
    assert sleeps == [waited] and [c.body for c in api.comments(pr.number)] == ["hello"]


def test_a_rate_limit_past_the_run_s_budget_fails_saying_when_to_rerun(
    gh_stand_in: GitHubStandIn, api: GitHubApi, sleeps: Sleeps
) -> None:
    """Waits come out of one budget per run: a wait it cannot cover is RateLimited, naming the
    budget and when to rerun; nothing is written and nothing slept past the budget."""
    pr = api.create_pull(title="T", head="feature", base="main", body="")
    api.rate_limit_budget = 300
    gh_stand_in.inject(secondary_rate_limit("issues/create-comment", 200, frozenset({1})))
    api.create_comment(pr.number, "first")
    gh_stand_in.inject(
        secondary_rate_limit("issues/create-comment", 200, frozenset({3}))
    )  # call 2 was the repeat
    with pytest.raises(RateLimited) as caught:
        api.create_comment(pr.number, "second")
    assert "200 s, more than this run has left (100 of github.rate_limit_budget 300 s)" in str(caught.value)
    assert "rerun the job after" in caught.value.hint
    assert sleeps == [200.0] and [c.body for c in api.comments(pr.number)] == ["first"]


def test_server_errors_on_reads_are_retried(
    gh_stand_in: GitHubStandIn, api: GitHubApi, sleeps: Sleeps
) -> None:
    """A 502 on a read is retried with backoff."""
    gh_stand_in.inject(Fault("repos/compare-commits", "status", frozenset({1}), 502))
    assert api.compare("main", "feature")["ahead_by"] == 1
    assert len(sleeps) == 1


@needs_contracts
def test_the_stand_in_serves_exactly_the_contract_operations(gh_stand_in: GitHubStandIn) -> None:
    """Every operation of the GitHub contract has a route, and no route is outside it."""
    assert CONTRACTS is not None
    contract = load_contract(CONTRACTS / GITHUB_CONTRACT)
    assert {r.operation for r in gh_stand_in.routes if r.in_contract} == set(contract.operations)


@pytest.mark.parametrize("kind", ["truncate", "invalid_json"])
def test_an_unreadable_answer_is_our_error_after_bounded_retries(
    gh_stand_in: GitHubStandIn, api: GitHubApi, sleeps: Sleeps, kind: str
) -> None:
    """A body that is not GitHub's JSON becomes GitHubError('unreadable answer'), retried for reads."""
    gh_stand_in.add_pull("Fix", "fix", "main", merged_sha="a" * 40, number=5)
    for operation, call in (
        ("issues/list-comments", lambda: api.comments(5)),
        ("repos/list-deployments", lambda: api.deployments("staging")),
    ):
        gh_stand_in.inject(Fault(operation, kind))  # type: ignore[arg-type]
        with pytest.raises(GitHubError, match="unreadable answer"):
            call()
        assert gh_stand_in.calls[operation] > 1  # retried, as a read is
    assert sleeps


def test_auto_inactive_spares_production_deployments(
    gh_stand_in: GitHubStandIn, api: GitHubApi, origin: Path
) -> None:
    """As GitHub documents it, a success with auto_inactive marks earlier non-production,
    non-transient Deployments of the environment inactive; production ones stay."""
    main = subprocess.run(
        ["git", "rev-parse", "main"], cwd=origin, capture_output=True, text=True, check=True
    )
    sha = main.stdout.strip()
    for environment in ("staging", "production"):
        first = api.create_deployment(
            ref=sha, environment=environment, description="one", production=environment == "production"
        )
        api.create_status(first.id, "success")
        second = api.create_deployment(
            ref=sha, environment=environment, description="two", production=environment == "production"
        )
        api.create_status(second.id, "success")
        states = [s.state for s in api.statuses(first.id)]
        assert states[0] == ("inactive" if environment == "staging" else "success"), environment


def test_pull_requests_under_api_version_2026_03_10_lack_merge_commit_sha(
    gh_stand_in: GitHubStandIn, origin: Path
) -> None:
    """Asked for API version 2026-03-10, the stand-in answers pull requests without
    merge_commit_sha, as GitHub does; our reading of a pull request does not need it."""
    from terp_actions.github import _pull_from_json  # noqa: PLC0415 - the reader of raw answers

    main = subprocess.run(
        ["git", "rev-parse", "main"], cwd=origin, capture_output=True, text=True, check=True
    )
    gh_stand_in.add_pull("Fix", "fix", "main", merged_sha=main.stdout.strip(), number=5)
    headers = {"Authorization": "token ghs_sandbox", "X-GitHub-Api-Version": "2026-03-10"}
    answer = httpx.get(f"{gh_stand_in.url}/repos/terp/terp/pulls/5", headers=headers).json()
    assert "merge_commit_sha" not in answer and answer["merged_at"]
    assert _pull_from_json(answer).merged is True
    older = httpx.get(
        f"{gh_stand_in.url}/repos/terp/terp/pulls/5",
        headers={"Authorization": "token ghs_sandbox", "X-GitHub-Api-Version": "2022-11-28"},
    ).json()
    assert older["merge_commit_sha"] == main.stdout.strip()
