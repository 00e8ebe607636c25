"""``terp-actions sandbox serve``: all three stand-ins, set up from a scenario file, until stopped."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from terp_actions import yamlfile
from terp_actions.errors import BadInput
from terp_actions.git import Git, first_parent_messages
from terp_actions.plan import pull_request_numbers, pull_request_title
from terp_actions.sandbox import DO_TOKEN, GITHUB_TOKEN
from terp_actions.sandbox.contract import DIGITALOCEAN_CONTRACT, GITHUB_CONTRACT, load_contract
from terp_actions.sandbox.fake_app import AppStandIn, HealthAnswer
from terp_actions.sandbox.fake_appplatform import (
    DEFAULT_TIMINGS,
    App,
    AppPlatformStandIn,
    Failure,
    ScaledClock,
)
from terp_actions.sandbox.fake_github import GitHubStandIn
from terp_actions.sandbox.history import TERP_IGNORE, build_terp_history
from terp_actions.sandbox.http import Fault, StandIn

_TOP = {"repository", "github", "digitalocean", "apps", "faults", "failures", "health"}
# App Platform's clock runs this many times faster than the wall: a deploy of the default timings
# (100 s) takes about 3 s. --realistic-timings (or digitalocean.speed: 1) runs it in real time.
FAST = 30.0


@dataclass
class Scenario:
    """What the sandbox starts with. Every field has a default: an empty file is a valid scenario."""

    repository: Path | None = None
    github_repository: str = "terp/terp"
    timings: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TIMINGS))
    speed: float = FAST
    apps: list[dict[str, str]] = field(
        default_factory=lambda: [
            {"name": "terp-staging", "branch": "staging", "environment": "staging"},
            {"name": "terp", "branch": "production", "environment": "production"},
        ]
    )
    faults: list[tuple[str, Fault]] = field(default_factory=list)
    failures: list[tuple[str, Failure]] = field(default_factory=list)
    health: list[HealthAnswer] = field(default_factory=list)


def load_scenario(path: Path | None) -> Scenario:
    """Read and check a scenario file; mistakes are one line naming the file and the field."""
    if path is None:
        return Scenario()
    where = str(path)
    data = yamlfile.load(path, what="scenario")[1] or {}
    if not isinstance(data, dict):
        raise BadInput(f"{where}: expected a mapping at the top level")
    unknown = set(data) - _TOP
    if unknown:
        raise BadInput(
            f"{where}: {sorted(unknown)[0]}: unknown key (expected one of: {', '.join(sorted(_TOP))})"
        )
    scenario = Scenario()
    try:
        if data.get("repository"):
            scenario.repository = (path.parent / str(data["repository"])).resolve()
        scenario.github_repository = str(
            (data.get("github") or {}).get("repository", scenario.github_repository)
        )
        scenario.timings.update(
            {k: float(v) for k, v in ((data.get("digitalocean") or {}).get("timings") or {}).items()}
        )
        scenario.speed = float((data.get("digitalocean") or {}).get("speed", scenario.speed))
        if data.get("apps"):
            scenario.apps = [_app(item, where) for item in data["apps"]]
        for item in data.get("faults") or []:
            service = item.pop("service", "digitalocean")
            calls = frozenset(int(c) for c in item.pop("calls", []))
            scenario.faults.append((service, Fault(calls=calls, **item)))
        for item in data.get("failures") or []:
            scenario.failures.append((str(item.pop("app")), Failure(**item)))
        scenario.health = [HealthAnswer(**item) for item in (data.get("health") or {}).get("script") or []]
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise BadInput(f"{where}: {exc}") from None
    if scenario.speed <= 0:
        raise BadInput(f"{where}: digitalocean.speed: must be a positive number, got {scenario.speed:g}")
    return scenario


def _app(item: Mapping[str, Any], where: str) -> dict[str, str]:
    if not isinstance(item, Mapping) or not {"name", "branch"} <= set(item):
        raise BadInput(f"{where}: apps: each app needs a name and a branch")
    return {
        "name": str(item["name"]),
        "branch": str(item["branch"]),
        "environment": str(item.get("environment", item["name"])),
    }


class Sandbox:
    """The stand-ins of a scenario, running on 127.0.0.1: GitHub, App Platform, and one app per
    environment (each its own URL, as App Platform gives each app its own)."""

    def __init__(self, scenario: Scenario, contracts: Path | None = None) -> None:
        self._tmp = Path(tempfile.mkdtemp(prefix="terp-sandbox-"))
        repo, self.work = scenario.repository, None
        if repo is None:
            built = build_terp_history(self._tmp / "history")
            for wanted in scenario.apps:  # every app's branch exists, at staging's commit
                refspec = f"refs/remotes/origin/staging:refs/heads/{wanted['branch']}"
                built.git().run(["push", "--quiet", "origin", refspec], check=False)
            repo, self.work = built.origin, built.work
        self.repository = repo
        self.github = GitHubStandIn(
            repo, scenario.github_repository, tokens={GITHUB_TOKEN: "github-actions[bot]"}
        )
        self.pulls = register_pulls(self.github, Git(repo))
        self.digitalocean = AppPlatformStandIn(tokens={DO_TOKEN}, clock=ScaledClock(scenario.speed))
        self.web = {spec["environment"]: AppStandIn(scenario.health) for spec in scenario.apps}
        self.stand_ins: list[StandIn] = [self.github, self.digitalocean, *self.web.values()]
        for stand_in in self.stand_ins:
            stand_in.start()
        if contracts is not None:
            self.github.contract = load_contract(contracts / GITHUB_CONTRACT)
            self.digitalocean.contract = load_contract(contracts / DIGITALOCEAN_CONTRACT)
        self.apps: dict[str, App] = {}
        for spec in scenario.apps:
            created = self.digitalocean.add_app(
                spec["name"], spec["branch"], repo=repo, github_repo=scenario.github_repository,
                timings=dict(scenario.timings), url=self.web[spec["environment"]].url,
            )  # fmt: skip
            self.apps[spec["environment"]] = created
        by_name = {a.name: a for a in self.apps.values()}
        for name, failure in scenario.failures:
            if name not in by_name:
                raise BadInput(f"failures: no app named {name!r} in the scenario")
            self.digitalocean.fail_next_deployment(by_name[name], failure)
        for service, fault in scenario.faults:
            by_service: dict[str, list[StandIn]] = {
                "github": [self.github], "digitalocean": [self.digitalocean], "app": list(self.web.values())
            }  # fmt: skip
            targets = by_service.get(service, [])
            if not targets:
                raise BadInput(f"faults: unknown service {service!r} (github, digitalocean or app)")
            for target in targets:
                target.inject(fault)
        self.config = self._tmp / "terp-actions.yml"
        self.config.write_text(self.config_text(), encoding="utf-8")

    def config_text(self) -> str:
        """A configuration for the sandbox: its apps and URLs, TERP's ignore rules."""
        lines = ["# Written by `terp-actions sandbox serve`: its apps, on 127.0.0.1.", "ignore:"]
        lines += [f"  - {json.dumps(pattern)}" for pattern in TERP_IGNORE]
        lines.append("environments:")
        specs = {"staging": ".do/app-staging.yaml", "production": ".do/app.yaml"}
        for env, app in self.apps.items():
            spec = specs.get(env, "")
            extra = (
                f", spec: {spec}" if spec and self.work is not None and (self.work / spec).exists() else ""
            )
            lines.append(
                f"  {env}: {{app: {json.dumps(app.name)}, url: {json.dumps(self.web[env].url)}{extra}}}"
            )
        lines.append("verify: {health: {interval: 0.2s}}")
        return "\n".join(lines) + "\n"

    def describe(self) -> dict[str, Any]:
        """Base URLs, tokens and app ids, and the environment that points terp-actions here."""
        env = {
            "GITHUB_API_URL": self.github.url,
            "GITHUB_REPOSITORY": self.github.full_name,
            "GITHUB_TOKEN": GITHUB_TOKEN,
            "TERP_DO_ENDPOINT": self.digitalocean.url,
            "DIGITALOCEAN_TOKEN": DO_TOKEN,
            "TERP_CONFIG": str(self.config),
        }
        if self.work is not None:
            env["TERP_REPO"] = str(self.work)
        return {
            "github": {"url": self.github.url, "token": GITHUB_TOKEN, "repository": self.github.full_name},
            "digitalocean": {"url": self.digitalocean.url, "token": DO_TOKEN},
            "apps": {
                env_name: {
                    "id": app.id,
                    "name": app.name,
                    "branch": app.branch,
                    "url": self.web[env_name].url,
                }
                for env_name, app in self.apps.items()
            },
            "pull-requests": sorted(self.pulls),
            "repository": str(self.repository),
            "env": env,
        }

    def violations(self) -> list[str]:
        """Contract violations seen so far, across the stand-ins."""
        return [v for s in self.stand_ins for v in s.violations]

    def stop(self) -> None:
        """Stop every stand-in and remove the generated repository."""
        for stand_in in self.stand_ins:
            stand_in.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)


def register_pulls(github: GitHubStandIn, git: Git, branch: str = "main") -> list[int]:
    """Register the pull requests the branch's history merged, from GitHub's own subjects
    ("Merge pull request #N from …", a squash's "Title (#N)") with their titles. Returns their
    numbers."""
    numbers = []
    for message in first_parent_messages(git, branch):
        for number in pull_request_numbers(message.subject):
            if number not in github.pulls:
                title = pull_request_title(message.subject, message.body)
                github.add_pull(title, f"pr-{number}", branch, merged_sha=message.sha, number=number)
                numbers.append(number)
    return numbers
