"""The App Platform stand-in driven through the real pydo client (digitalocean.py)."""

from __future__ import annotations

import ssl
import subprocess
import threading
from pathlib import Path

import httpx
import pytest
import trustme

from terp_actions.backoff import RetryPolicy
from terp_actions.digitalocean import AppPlatform, is_loopback
from terp_actions.errors import AppNotFound, DigitalOceanError, RequestLost, TokenRefused
from terp_actions.sandbox.contract import DIGITALOCEAN_CONTRACT, load_contract
from terp_actions.sandbox.fake_appplatform import AppPlatformStandIn, Failure, ManualClock
from terp_actions.sandbox.http import Fault

from .conftest import CONTRACTS, Sleeps, needs_contracts

TOKEN = "dop_v1_sandbox"


@pytest.fixture
def client(do_stand_in: AppPlatformStandIn, sleeps: Sleeps) -> AppPlatform:
    """A real pydo-backed client pointed at the stand-in, sleeping nowhere."""
    return AppPlatform(
        TOKEN, do_stand_in.url, timeout=5, sleep=sleeps, policy=RetryPolicy(attempts=3, deadline=60)
    )


def test_phases_progress_on_the_injected_clock(
    do_stand_in: AppPlatformStandIn, client: AppPlatform, clock: ManualClock, origin: Path
) -> None:
    """A deployment moves PENDING_BUILD → BUILDING → PENDING_DEPLOY → DEPLOYING → ACTIVE as time passes."""
    app = do_stand_in.add_app("terp-staging", "staging", repo=origin)
    dep = client.create_deployment(app.id, force_build=True)
    seen = [dep["phase"]]
    for step in (6, 60, 5, 30):
        clock.advance(step)
        seen.append(client.get_deployment(app.id, dep["id"])["phase"])
    assert seen == ["PENDING_BUILD", "BUILDING", "PENDING_DEPLOY", "DEPLOYING", "ACTIVE"]
    final = client.get_deployment(app.id, dep["id"])
    assert [s["status"] for s in final["progress"]["steps"]] == ["SUCCESS", "SUCCESS"]
    assert client.get_app(app.id)["active_deployment"]["id"] == dep["id"]


def test_deployment_builds_the_branch_tip(
    do_stand_in: AppPlatformStandIn, client: AppPlatform, origin: Path
) -> None:
    """Each deployment records the tip of the app's branch in the real repository."""
    tip = subprocess.run(
        ["git", "rev-parse", "staging"], cwd=origin, capture_output=True, text=True, check=True
    ).stdout.strip()
    app = do_stand_in.add_app("terp-staging", "staging", repo=origin)
    assert client.create_deployment(app.id)["services"][0]["source_commit_hash"] == tip


def test_newer_deployment_supersedes(
    do_stand_in: AppPlatformStandIn, client: AppPlatform, clock: ManualClock
) -> None:
    """A deployment in progress is superseded by a newer one; an active one once the newer goes live."""
    app = do_stand_in.add_app("terp-staging", "staging")
    first = client.create_deployment(app.id)
    clock.advance(200)
    second = client.create_deployment(app.id)
    clock.advance(10)
    third = client.create_deployment(app.id)
    assert client.get_deployment(app.id, second["id"])["phase"] == "SUPERSEDED"
    body = client.get_app(app.id)
    assert body["active_deployment"]["id"] == first["id"]
    assert body["in_progress_deployment"]["id"] == third["id"]
    clock.advance(200)
    assert client.get_deployment(app.id, first["id"])["phase"] == "SUPERSEDED"
    assert [d["id"] for d in client.list_deployments(app.id)] == [third["id"], second["id"], first["id"]]


def test_failed_deployment_serves_its_build_log(
    do_stand_in: AppPlatformStandIn, client: AppPlatform, clock: ManualClock
) -> None:
    """A planned failure ends in ERROR and the build log says why; log URLs never leak into errors."""
    app = do_stand_in.add_app("terp-staging", "staging")
    do_stand_in.fail_next_deployment(
        app, Failure("BUILDING", 20, "Step 3/9: npm ci\nnpm ERR! code ETIMEDOUT\n")
    )
    dep = client.create_deployment(app.id)
    clock.advance(30)
    failed = client.get_deployment(app.id, dep["id"])
    assert failed["phase"] == "ERROR"
    assert [s["status"] for s in failed["progress"]["steps"]] == ["ERROR", "PENDING"]
    assert "npm ERR! code ETIMEDOUT" in client.logs(app.id, dep["id"], "BUILD")
    assert "Migrations applied" not in client.logs(app.id, dep["id"], "BUILD")


def test_log_files_need_their_token(do_stand_in: AppPlatformStandIn, client: AppPlatform) -> None:
    """A log file URL without its unguessable token is refused."""
    app = do_stand_in.add_app("terp-staging", "staging")
    dep = client.create_deployment(app.id)
    url = f"{do_stand_in.url}/_logs/{dep['id']}/BUILD?token=guess"
    assert httpx.get(url).status_code == 403


def test_rollback_pins_and_commit_unpins(
    do_stand_in: AppPlatformStandIn, client: AppPlatform, clock: ManualClock
) -> None:
    """Rollback validates, pins the app (new deployments refused), and commit or revert unpins it."""
    app = do_stand_in.add_app("terp", "production")
    good = client.create_deployment(app.id)
    clock.advance(200)
    client.create_deployment(app.id)
    clock.advance(200)
    assert client.validate_rollback(app.id, good["id"])["valid"] is True
    rolled = client.rollback(app.id, good["id"])
    assert rolled["cause_details"]["type"] == "MANUAL_ROLLBACK"  # the fact, not a cause text
    assert client.get_app(app.id)["pinned_deployment"]["id"] == rolled["id"]
    with pytest.raises(DigitalOceanError, match="pinned"):
        client.create_deployment(app.id)
    with pytest.raises(DigitalOceanError, match="pinned"):  # a spec update would deploy too
        client.update_app(app.id, {"name": "terp", "services": [{"name": "web"}]})
    assert client.validate_rollback(app.id, good["id"])["error"]["code"] == "app_pinned"
    client.commit_rollback(app.id)
    assert "pinned_deployment" not in client.get_app(app.id)
    client.rollback(app.id, good["id"])
    reverted = client.revert_rollback(app.id)
    assert reverted["cause_details"]["type"] == "MANUAL" and "pinned_deployment" not in client.get_app(app.id)


def test_not_found_bodies_become_our_errors(do_stand_in: AppPlatformStandIn, client: AppPlatform) -> None:
    """An unknown app is a configuration error (exit 2); an unknown deployment names itself."""
    app = do_stand_in.add_app("terp-staging", "staging")
    with pytest.raises(AppNotFound) as caught:
        client.get_app("no-such-app")
    assert caught.value.exit_code == 2
    with pytest.raises(DigitalOceanError, match="deployment 0000"):
        client.get_deployment(app.id, "0000")
    assert client.get_app("terp-staging")["id"] == app.id


def test_wrong_token_is_refused(do_stand_in: AppPlatformStandIn, sleeps: Sleeps) -> None:
    """A token the API does not know gives 401, reported without the token."""
    do_stand_in.add_app("terp-staging", "staging")
    bad = AppPlatform("dop_v1_" + "f" * 64, do_stand_in.url, sleep=sleeps)
    with pytest.raises(TokenRefused, match="refused DIGITALOCEAN_TOKEN") as caught:
        bad.list_apps()
    assert caught.value.status == 401 and caught.value.exit_code == 2 and "f" * 64 not in str(caught.value)


def test_plain_http_is_only_for_loopback() -> None:
    """A non-loopback http endpoint is refused before any request."""
    assert (
        is_loopback("http://127.0.0.1:8080")
        and is_loopback("http://localhost:1")
        and not is_loopback("http://10.0.0.1")
    )
    with pytest.raises(DigitalOceanError, match="must be https"):
        AppPlatform(TOKEN, "http://api.example.com")


def test_rate_limit_headers_are_sent(do_stand_in: AppPlatformStandIn) -> None:
    """Every API answer carries ratelimit-limit/remaining/reset as the real API does."""
    first = httpx.get(f"{do_stand_in.url}/v2/apps", headers={"Authorization": f"Bearer {TOKEN}"})
    second = httpx.get(f"{do_stand_in.url}/v2/apps", headers={"Authorization": f"Bearer {TOKEN}"})
    assert first.headers["ratelimit-limit"] == "5000"
    assert int(second.headers["ratelimit-remaining"]) == int(first.headers["ratelimit-remaining"]) - 1
    assert httpx.get(f"{do_stand_in.url}/v2/apps").status_code == 401
    # The contract requires a bearer token: the stand-in noted the bare request as a violation.
    assert len(do_stand_in.violations) == (1 if CONTRACTS else 0)
    do_stand_in.violations.clear()


def test_429_is_retried_after_the_time_it_asks(
    do_stand_in: AppPlatformStandIn, client: AppPlatform, sleeps: Sleeps
) -> None:
    """A 429 with Retry-After is waited out (as asked) and retried; the read then succeeds."""
    app = do_stand_in.add_app("terp-staging", "staging")
    do_stand_in.inject(Fault("apps_get", "status", frozenset({1}), 429, retry_after=7))
    assert client.get_app(app.id)["id"] == app.id
    assert sleeps == [7.0]


def test_5xx_reads_are_retried_with_bounded_backoff(
    do_stand_in: AppPlatformStandIn, client: AppPlatform, sleeps: Sleeps
) -> None:
    """Reads retry on 5xx a bounded number of times, then fail with the status."""
    app = do_stand_in.add_app("terp-staging", "staging")
    do_stand_in.inject(Fault("apps_list_deployments", "status", frozenset({1, 2, 3}), 503))
    with pytest.raises(DigitalOceanError) as caught:
        client.list_deployments(app.id)
    assert caught.value.status == 503 and len(sleeps) == 2
    assert client.list_deployments(app.id) == []


def test_a_create_whose_answer_is_lost_is_not_repeated(
    do_stand_in: AppPlatformStandIn, client: AppPlatform
) -> None:
    """A processed create answered 502 raises RequestLost once; the deployment exists, only one."""
    app = do_stand_in.add_app("terp-staging", "staging")
    do_stand_in.inject(Fault("apps_create_deployment", "after", frozenset({1}), 502))
    with pytest.raises(RequestLost):
        client.create_deployment(app.id)
    assert do_stand_in.calls["apps_create_deployment"] == 1
    assert len(client.list_deployments(app.id)) == 1


def test_truncated_json_is_an_error_then_retried(
    do_stand_in: AppPlatformStandIn, client: AppPlatform
) -> None:
    """A cut-off JSON answer to a read is treated as a transient failure and retried."""
    app = do_stand_in.add_app("terp-staging", "staging")
    do_stand_in.inject(Fault("apps_get", "truncate", frozenset({1})))
    assert client.get_app(app.id)["id"] == app.id
    assert do_stand_in.calls["apps_get"] == 2


def test_slow_answer_past_the_timeout_is_lost_for_a_write(
    do_stand_in: AppPlatformStandIn, sleeps: Sleeps
) -> None:
    """A write answered after the client's read timeout raises RequestLost (it may have happened)."""
    app = do_stand_in.add_app("terp-staging", "staging")
    slow_client = AppPlatform(TOKEN, do_stand_in.url, timeout=1, sleep=sleeps)
    do_stand_in.inject(Fault("apps_create_deployment", "slow", frozenset({1}), delay=1.5))
    with pytest.raises(RequestLost):
        slow_client.create_deployment(app.id)


def test_two_clients_at_once(do_stand_in: AppPlatformStandIn, client: AppPlatform) -> None:
    """Concurrent clients on two apps each see their own deployments."""
    apps = [do_stand_in.add_app(f"app-{i}", "staging") for i in range(2)]
    errors: list[BaseException] = []

    def work(app_id: str) -> None:
        try:
            for _ in range(5):
                client.create_deployment(app_id)
                client.list_deployments(app_id)
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(a.id,)) for a in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [len(a.deployments) for a in apps] == [5, 5]


@needs_contracts
def test_a_malformed_request_is_caught_by_the_contract(do_stand_in: AppPlatformStandIn) -> None:
    """A request the contract does not allow is recorded as a violation (and fails the test)."""
    app = do_stand_in.add_app("terp-staging", "staging")
    malformed = httpx.post(
        f"{do_stand_in.url}/v2/apps/{app.id}/deployments",
        json={"force_build": "yes"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    httpx.get(f"{do_stand_in.url}/v2/apps/{app.id}/secrets", headers={"Authorization": f"Bearer {TOKEN}"})
    found = list(do_stand_in.violations)
    do_stand_in.violations.clear()
    assert any("request apps_create_deployment" in v and "force_build" in v for v in found), found
    assert any("no such operation" in v for v in found), found
    assert malformed.status_code == 400 and app.deployments == []


@needs_contracts
def test_the_stand_in_serves_exactly_the_contract_operations(do_stand_in: AppPlatformStandIn) -> None:
    """Every operation of the App Platform contract has a route, and no route is outside it."""
    assert CONTRACTS is not None
    contract = load_contract(CONTRACTS / DIGITALOCEAN_CONTRACT)
    routed = {r.operation for r in do_stand_in.routes if r.in_contract}
    assert routed == set(contract.operations)


SPEC = {
    "name": "terp-pr-7",
    "region": "nyc",
    "services": [
        {"name": "web", "github": {"repo": "terp/terp", "branch": "feature", "deploy_on_push": False}}
    ],
}


def test_create_app_deploys_it_from_its_branch(
    do_stand_in: AppPlatformStandIn, client: AppPlatform, origin: Path
) -> None:
    """Creating an app from a spec starts its first deployment, building the spec's branch tip."""
    do_stand_in.repos["terp/terp"] = origin
    app = client.create_app(SPEC)
    tip = subprocess.run(
        ["git", "rev-parse", "feature"], cwd=origin, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert app["spec"]["name"] == "terp-pr-7"
    assert app["in_progress_deployment"]["services"][0]["source_commit_hash"] == tip
    assert [a["id"] for a in client.list_apps()] == [app["id"]]


def test_create_app_refuses_a_taken_name_and_a_spec_without_components(client: AppPlatform) -> None:
    """A second app with the same name is refused (409), and so is a spec App Platform cannot build."""
    client.create_app(SPEC)
    with pytest.raises(DigitalOceanError, match="409 an app named 'terp-pr-7' already exists"):
        client.create_app(SPEC)
    with pytest.raises(DigitalOceanError, match="needs at least one component"):
        client.create_app({"name": "empty-app"})
    assert len(client.list_apps()) == 1


def test_delete_app_twice_is_fine(client: AppPlatform) -> None:
    """Deleting an app removes it; deleting it again answers 'already gone', not an error."""
    app = client.create_app(SPEC)
    assert client.delete_app(app["id"]) is True
    assert client.delete_app(app["id"]) is False
    assert client.list_apps() == []


def test_validate_spec_as_app_platform_does(do_stand_in: AppPlatformStandIn, client: AppPlatform) -> None:
    """Propose says if a name is free (and suggests one); a broken spec is refused by its first problem."""
    assert client.validate_spec(SPEC)["app_name_available"] is True
    app = client.create_app(SPEC)
    taken = client.validate_spec(SPEC)
    assert taken["app_name_available"] is False
    assert taken["app_name_suggestion"] != SPEC["name"]
    # As an update of the app that holds the name, the name is the app's own.
    assert client.validate_spec(SPEC, app_id=app["id"])["app_name_available"] is True
    twice = {**SPEC, "services": [SPEC["services"][0], SPEC["services"][0]]}
    with pytest.raises(DigitalOceanError, match=r"400 .*'web' is used twice"):
        client.validate_spec(twice)
    assert do_stand_in.calls["apps_validate_appSpec"] == 4


@needs_contracts
def test_the_contract_refuses_an_invalid_app_name(
    do_stand_in: AppPlatformStandIn, client: AppPlatform
) -> None:
    """A name App Platform's pattern refuses never reaches an app: the request is refused with 400."""
    with pytest.raises(DigitalOceanError, match="400"):
        client.create_app({**SPEC, "name": "Terp_PR_7"})
    assert do_stand_in.apps == {}
    do_stand_in.violations.clear()  # recorded on purpose


def test_a_dropped_log_download_is_retried(
    do_stand_in: AppPlatformStandIn, client: AppPlatform, sleeps: Sleeps
) -> None:
    """One dropped log download is tried again; the log is read whole, never empty."""
    app = do_stand_in.add_app("terp-staging", "staging", timings={})
    dep = do_stand_in.deploy(app)
    do_stand_in.inject(Fault("log_file", "close", frozenset({1})))
    text = client.logs(app.id, dep.id, "DEPLOY")
    assert "Migrations applied" in text and do_stand_in.calls["log_file"] == 2 and len(sleeps) == 1


def test_rollback_validation_answers_with_the_documented_conditions(
    do_stand_in: AppPlatformStandIn, client: AppPlatform, clock: ManualClock
) -> None:
    """A deployment that failed, or has not ended, is never a valid target; the codes are App
    Platform's own (incompatible_result, incompatible_phase)."""
    app = do_stand_in.add_app("terp", "production")
    do_stand_in.fail_next_deployment(app, Failure("BUILDING", 10.0, "error: build failed"))
    failed = client.create_deployment(app.id)
    clock.advance(200)
    running = client.create_deployment(app.id)
    clock.advance(1)
    assert client.validate_rollback(app.id, failed["id"])["error"]["code"] == "incompatible_result"
    assert client.validate_rollback(app.id, running["id"])["error"]["code"] == "incompatible_phase"
    with pytest.raises(DigitalOceanError, match="no such deployment"):
        client.validate_rollback(app.id, "0" * 8 + "-0000-0000-0000-" + "0" * 12)


def test_a_name_never_goes_in_the_path_and_every_page_is_read(
    do_stand_in: AppPlatformStandIn, client: AppPlatform
) -> None:
    """App Platform takes an id in the app path (a name there is 404); a name is found by
    listing the apps, every page of them."""
    for index in range(250):
        do_stand_in.add_app(f"other-{index}", "main")
    wanted = do_stand_in.add_app("terp-staging", "staging")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(f"{do_stand_in.url}/v2/apps/terp-staging", headers=headers).status_code == 404
    assert client.get_app("terp-staging")["id"] == wanted.id
    assert len(client.list_apps()) == 251 and do_stand_in.calls["apps_list"] >= 4


def test_a_spec_update_pulls_new_code_only_with_update_all_source_versions(
    do_stand_in: AppPlatformStandIn, client: AppPlatform, origin: Path, tmp_path: Path
) -> None:
    """Without update_all_source_versions an app update builds the commit already running (as
    App Platform does: "only newly added sources"); our client sends it, so the new tip builds."""
    app = do_stand_in.add_app("terp-staging", "staging", repo=origin, timings={})
    old = do_stand_in.deploy(app).commit
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", "-b", "staging", str(origin), str(work)], check=True)
    (work / "new.py").write_text("x = 2\n")
    subprocess.run(["git", "-C", str(work), "add", "new.py"], check=True)
    subprocess.run(["git", "-C", str(work), "commit", "-q", "-m", "new"], check=True)
    subprocess.run(["git", "-C", str(work), "push", "-q", "origin", "staging"], check=True)
    new = subprocess.run(
        ["git", "-C", str(work), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    )
    spec = {
        "name": "terp-staging",
        "services": [{"name": "web", "github": {"repo": "terp/terp", "branch": "staging"}}],
    }
    plain = httpx.put(
        f"{do_stand_in.url}/v2/apps/{app.id}",
        json={"spec": spec},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert plain.status_code == 200 and app.deployments[0].commit == old
    client.update_app(app.id, spec)
    assert app.deployments[0].commit == new.stdout.strip() != old


@pytest.mark.parametrize("links", ["https", "wss"])
def test_live_logs_are_read_over_tls_too(
    do_stand_in: AppPlatformStandIn,
    client: AppPlatform,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    links: str,
) -> None:
    """A live log App Platform hands out as https or wss is read, with the certificate checked
    (a throwaway certificate authority the test trusts through SSL_CERT_FILE)."""
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(context)
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    do_stand_in.tls, do_stand_in.log_links = context, links
    app = do_stand_in.add_app("terp-staging", "staging", timings={})
    dep = do_stand_in.deploy(app)
    app.run_log = "GET /health 200 3ms\nERROR over TLS\n"
    assert client.logs(app.id, dep.id, "RUN").splitlines()[-1] == "ERROR over TLS"
