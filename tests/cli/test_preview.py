"""`terp-actions preview`: a preview app per pull request against the stand-ins (real git, real
PyGithub and pydo over HTTP), with the faults previews must survive."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from click.testing import Result

from terp_actions.preview import MARKER_KEY
from terp_actions.report import parse_state
from terp_actions.sandbox.contract import DIGITALOCEAN_CONTRACT, GITHUB_CONTRACT
from terp_actions.sandbox.fake_app import AppStandIn
from terp_actions.sandbox.fake_appplatform import AppPlatformStandIn
from terp_actions.sandbox.fake_github import GitHubStandIn
from terp_actions.sandbox.http import Fault, Request

from ..conftest import Repo, _attach_contract
from .conftest import invoke

CANARY = "sess-" + "Qx7" * 8
STAGING_SPEC = """\
name: terp-staging
region: nyc
domains: [{domain: staging.terp.example, type: PRIMARY}]
databases: [{name: db, engine: PG, production: true, cluster_name: terp-staging-db}]
services:
  - name: web
    github: {repo: terp/terp, branch: staging, deploy_on_push: false}
    envs:
      - {key: DATABASE_URL, value: "${db.DATABASE_URL}"}
      - {key: SESSION_SECRET, value: "${SESSION_SECRET}", type: SECRET}
"""
PRODUCTION_SPEC = (
    STAGING_SPEC.replace("terp-staging-db", "terp-prod-db")
    .replace("terp-staging", "terp")
    .replace("branch: staging", "branch: production")
)


@dataclass
class World:
    dev: Repo
    clone: Path
    gh: GitHubStandIn
    do: AppPlatformStandIn
    app: AppStandIn

    def run(self, *args: str, **extra: str) -> Result:
        env = {
            "GITHUB_TOKEN": "ghs_sandbox", "GITHUB_REPOSITORY": "terp/terp", "GITHUB_API_URL": self.gh.url,
            "DIGITALOCEAN_TOKEN": "dop_v1_sandbox", "TERP_DO_ENDPOINT": self.do.url,
            "TERP_REPO": str(self.clone), "SESSION_SECRET": CANARY, **extra,
        }  # fmt: skip
        return invoke(["preview", *args], env=env)

    def open_pr(self, number: int, branch: str, files: dict[str, str]) -> str:
        self.dev.git("checkout", "-q", "-B", branch, "origin/main")
        sha = self.dev.commit(f"Change on {branch}", files)
        self.dev.git("push", "-q", "origin", branch)
        self.gh.add_pull(f"PR {number}", branch, "main", number=number, head_sha=sha)
        return sha

    def previews(self) -> list[object]:
        return [a for a in self.do.apps.values() if a.applied_spec and "pr" in a.name]

    def row(self, number: int) -> object:
        [body] = [c.body for c in self.gh.comments.values() if c.issue == number]
        state = parse_state(body, number)
        assert state is not None
        return state.stages["preview"]


@pytest.fixture
def world(tmp_path: Path, origin: Path) -> Iterator[World]:
    dev = Repo(tmp_path / "dev")
    subprocess.run(["git", "clone", "-q", str(origin), str(dev.path)], check=True)
    dev.git("checkout", "-q", "-B", "main", "origin/main")
    dev.commit("Specs", {".do/app-staging.yaml": STAGING_SPEC, ".do/app.yaml": PRODUCTION_SPEC})
    dev.git("push", "-q", "origin", "main")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
    (clone / ".github").mkdir()
    (clone / ".github" / "terp-actions.yml").write_text(
        "environments:\n"
        "  staging: {app: terp-staging, url: 'https://staging.terp.example', spec: .do/app-staging.yaml}\n"
        "  production: {app: terp, url: 'https://terp.example', spec: .do/app.yaml}\n"
        "  preview: {max: 2, production_only: [PROD_DATABASE_URL]}\n"
        "verify: {health: {probes: 2, interval: 0.01s, timeout: 5s}}\n"
    )
    gh = GitHubStandIn(origin, tokens={"ghs_sandbox": "github-actions[bot]"}).start()
    do = AppPlatformStandIn(tokens={"dop_v1_sandbox"}).start()
    app = AppStandIn().start()
    do.repos["terp/terp"] = origin
    # A new app's URL comes a while after it went live, as on App Platform (shortened here).
    do.new_app_url, do.new_app_timings, do.new_app_url_delay = app.url, {}, 0.5
    _attach_contract(gh, GITHUB_CONTRACT)
    _attach_contract(do, DIGITALOCEAN_CONTRACT)
    try:
        yield World(dev, clone, gh, do, app)
    finally:
        for stand_in in (gh, do, app):
            stand_in.stop()
    assert gh.violations == [] and do.violations == [], gh.violations + do.violations


def test_up_creates_deploys_verifies_and_comments_then_a_push_updates_it(world: World) -> None:
    """The first `up` creates the app from the staging spec (the PR's branch, no domain, no
    database, the marker), deploys and verifies it, and puts its URL on the comment; after a
    push, `up` updates the same app to the new commit: never a second app."""
    first = world.open_pr(21, "feat-21", {"app/export.py": "x = 1\n"})
    result = world.run("up", "--pr", "21", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["action"] == "created" and data["verdict"] == "pass" and data["url"] == world.app.url
    [app] = world.previews()
    spec = app.applied_spec
    assert app.name == data["name"] and spec["services"][0]["github"]["branch"] == "feat-21"
    assert "domains" not in spec and "databases" not in spec
    assert {"key": MARKER_KEY, "value": "terp/terp#21", "scope": "RUN_TIME"} in spec["envs"]
    assert app.deployments[0].commit == first
    # the create's answer names its deployment (pending_deployment): followed without a listing
    assert world.do.calls["apps_list_deployments"] == 0
    row = world.row(21)
    assert row.status == "success" and row.sha == first
    # its cost, as App Platform quotes the spec (propose's app_cost), on the row and in --json
    assert row.detail == f"{world.app.url} — verified (about $5/month while it lives)"
    assert data["monthly-cost"] == 5
    world.dev.git("checkout", "-q", "feat-21")
    second = world.dev.commit("More", {"app/export.py": "x = 2\n"})
    world.dev.git("push", "-q", "origin", "feat-21")
    again = world.run("up", "--pr", "21", "--json")
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["action"] == "updated"
    [same] = world.previews()
    assert same.id == app.id and same.deployments[0].commit == second
    assert world.row(21).sha == second
    everything = result.stdout + result.stderr + again.stdout + again.stderr
    everything += "".join(c.body for c in world.gh.comments.values())
    assert CANARY not in everything and CANARY not in json.dumps(world.do.calls)


def test_a_docs_only_pr_gets_no_preview_unless_forced(world: World) -> None:
    """Every change ignored: no app, and the comment says why (the rule per file)."""
    world.open_pr(22, "feat-22", {"docs/guide.md": "# Guide\n"})
    result = world.run("up", "--pr", "22")
    assert result.exit_code == 0, result.stderr
    assert not world.previews() and world.do.calls["apps_create"] == 0
    row = world.row(22)
    assert (
        row.status == "skipped"
        and "no preview needed" in row.detail
        and "docs/guide.md by **.md" in row.detail
    )
    assert world.run("up", "--pr", "22", "--force").exit_code == 0 and len(world.previews()) == 1


def test_production_s_database_is_refused_before_any_request(world: World) -> None:
    """A staging spec pointing at production's database cluster: one line naming the field,
    exit 2, nothing created."""
    spec = world.clone / ".do" / "app-staging.yaml"
    spec.write_text(STAGING_SPEC.replace("terp-staging-db", "terp-prod-db"))
    (world.clone / ".github" / "terp-actions.yml").write_text(
        (world.clone / ".github" / "terp-actions.yml")
        .read_text()
        .replace("max: 2", "max: 2, database: staging")
    )
    world.open_pr(23, "feat-23", {"app/x.py": "x\n"})
    result = world.run("up", "--pr", "23")
    assert result.exit_code == 2
    assert (
        "databases[0].cluster_name 'terp-prod-db' is the production app's database cluster" in result.stderr
    )
    assert world.do.calls["apps_create"] == 0 and world.do.calls["apps_update"] == 0


def test_the_cap_is_refused_naming_the_open_previews(world: World) -> None:
    """environments.preview.max: 2 — a third PR's preview is refused, the two live ones named."""
    for number in (31, 32):
        world.open_pr(number, f"feat-{number}", {f"app/f{number}.py": "x\n"})
        assert world.run("up", "--pr", str(number)).exit_code == 0
    world.open_pr(33, "feat-33", {"app/f33.py": "x\n"})
    refused = world.run("up", "--pr", "33")
    assert refused.exit_code == 1 and "2 previews are live" in refused.stderr
    assert "#31 " in refused.stderr and "#32 " in refused.stderr and len(world.previews()) == 2


def test_a_lost_create_answer_never_makes_two_apps(world: World) -> None:
    """App Platform creates the app but the answer is lost (502): the app is found by its name
    and adopted — one app, one preview."""
    world.open_pr(41, "feat-41", {"app/x.py": "x\n"})
    world.do.inject(Fault("apps_create", kind="after", status=502, calls=frozenset({1})))
    result = world.run("up", "--pr", "41", "--json")
    assert result.exit_code == 0, result.stderr
    assert len(world.previews()) == 1 and json.loads(result.stdout)["verdict"] == "pass"


def _created_by_someone_else(world: World, *, marked: bool) -> None:
    """Just before our create is handled, another client creates an app of the same name (with
    our marker: a concurrent run of ours; without it: someone else's app)."""

    def create(request: Request) -> None:
        spec = request.json()["spec"]
        if not marked:
            spec["envs"] = []
        answer = httpx.post(
            f"{world.do.url}/v2/apps",
            json={"spec": spec},
            headers={"Authorization": "Bearer dop_v1_sandbox", "Accept": "application/json"},
        )
        assert answer.status_code == 200

    world.do.before["apps_create"] = create


def test_a_create_refused_409_by_a_concurrent_run_updates_that_app(world: World) -> None:
    """Two runs for one PR: ours gets App Platform's 409 for the taken name, finds the app by
    name, sees our marker on it and updates it — one app, a green preview."""
    world.open_pr(43, "feat-43", {"app/x.py": "x\n"})
    _created_by_someone_else(world, marked=True)
    result = world.run("up", "--pr", "43", "--json")
    assert result.exit_code == 0, result.stderr
    assert len(world.previews()) == 1 and json.loads(result.stdout)["action"] == "updated"


def test_a_create_refused_409_for_someone_else_s_app_is_refused_by_name(world: World) -> None:
    """A 409 for an app that is not a preview of this PR is refused naming it; it is not touched."""
    world.open_pr(44, "feat-44", {"app/x.py": "x\n"})
    _created_by_someone_else(world, marked=False)
    result = world.run("up", "--pr", "44")
    [theirs] = world.previews()
    assert result.exit_code == 1 and f"is taken by app {theirs.id}" in result.stderr
    assert len(theirs.deployments) == 1  # never updated


def test_a_name_taken_by_another_app_is_refused_and_left_alone(world: World) -> None:
    """An app with the preview's name but without our marker: refused by name, never updated or
    deleted."""
    world.open_pr(51, "feat-51", {"app/x.py": "x\n"})
    name = json.loads(world.run("up", "--pr", "51", "--json").stdout)["name"]
    [ours] = world.previews()
    ours.applied_spec = {**ours.applied_spec, "envs": []}  # someone else's app now holds the name
    refused = world.run("up", "--pr", "51")
    assert refused.exit_code == 1 and f"the app name {name!r} is taken by app {ours.id}" in refused.stderr
    down = world.run("down", "--pr", "51")
    assert down.exit_code == 1 and "is not a preview of terp/terp#51: not deleted" in down.stderr
    assert ours.id in world.do.apps


def test_down_twice_is_fine_even_when_the_delete_answer_is_lost(world: World) -> None:
    """`down` deletes the app (the answer 500s after deleting: still fine); a second `down` finds
    nothing and says so; the comment's row says the preview is gone."""
    world.open_pr(61, "feat-61", {"app/x.py": "x\n"})
    assert world.run("up", "--pr", "61").exit_code == 0
    world.do.inject(Fault("apps_delete", kind="after", status=500, calls=frozenset({1})))
    first = world.run("down", "--pr", "61", "--json")
    assert first.exit_code == 0, first.stderr
    assert json.loads(first.stdout)["action"] == "deleted" and not world.previews()
    second = world.run("down", "--pr", "61", "--json")
    assert second.exit_code == 0 and json.loads(second.stdout)["action"] == "gone"
    assert world.row(61).status == "skipped" and "deleted" in world.row(61).detail
    # the pull request is still open: deleted on request, not "closed"
    assert world.row(61).detail.endswith("(deleted on request)")


def test_a_pull_request_closed_without_merging_shows_its_flow_rows_as_never(world: World) -> None:
    """After `down` for a PR closed unmerged, the comment shows a `closed` row and merged ...
    promoted as skipped ("never"), not pending for ever; a merged PR's rows stay as they were."""
    world.open_pr(62, "feat-62", {"app/x.py": "x\n"})
    assert world.run("up", "--pr", "62").exit_code == 0
    world.gh.pulls[62].state = "closed"
    assert world.run("down", "--pr", "62").exit_code == 0
    [body] = [c.body for c in world.gh.comments.values() if c.issue == 62]
    assert "| closed | ⏭️ skipped |  | closed without merging |" in body
    assert "| merged | ⏭️ skipped |  | never: closed without merging |" in body
    assert "⏳ pending" not in body
    world.open_pr(63, "feat-63", {"app/y.py": "y\n"})
    assert world.run("up", "--pr", "63").exit_code == 0
    world.gh.pulls[63].state, world.gh.pulls[63].merged = "closed", True
    assert world.run("down", "--pr", "63").exit_code == 0
    [merged] = [c.body for c in world.gh.comments.values() if c.issue == 63]
    assert "| closed |" not in merged and "| merged | ⏳ pending |" in merged


def test_prune_deletes_only_closed_previews_of_this_repository(world: World) -> None:
    """A closed PR's preview goes; an open one stays; another app is never touched; --dry-run
    deletes nothing; list shows name, PR, phase, URL, age and commit."""
    for number in (71, 72):
        world.open_pr(number, f"feat-{number}", {f"app/f{number}.py": "x\n"})
        assert world.run("up", "--pr", str(number)).exit_code == 0
    other = world.do.add_app("terp-pr71-0000", "main")  # a look-alike name, no marker
    world.gh.pulls[71].state = "closed"
    listed = json.loads(world.run("list", "--json").stdout)["previews"]
    assert [p["pr"] for p in listed] == [71, 72] and all(p["phase"] == "ACTIVE" for p in listed)
    dry = world.run("prune", "--dry-run", "--json")
    assert json.loads(dry.stdout)["deleted"] == [listed[0]["name"]] and len(world.previews()) == 2
    pruned = world.run("prune", "--json")
    assert pruned.exit_code == 0 and json.loads(pruned.stdout)["deleted"] == [listed[0]["name"]]
    assert [a.name for a in world.previews()] == [listed[1]["name"]] and other.id in world.do.apps


def test_a_deploy_freeze_stops_previews(world: World) -> None:
    """TERP_FREEZE set: no app, the row says the freeze stopped it."""
    world.open_pr(81, "feat-81", {"app/x.py": "x\n"})
    result = world.run("up", "--pr", "81", TERP_FREEZE="release window")
    assert result.exit_code == 0 and not world.previews()
    assert world.row(81).status == "skipped" and "deploy freeze (release window)" in world.row(81).detail
