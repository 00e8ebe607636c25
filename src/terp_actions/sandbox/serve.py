"""``terp-actions sandbox serve``: all three stand-ins, set up from a scenario file, until stopped."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from terp_actions import yamlfile
from terp_actions.errors import BadInput
from terp_actions.sandbox.contract import DIGITALOCEAN_CONTRACT, GITHUB_CONTRACT, load_contract
from terp_actions.sandbox.fake_app import AppStandIn, HealthAnswer
from terp_actions.sandbox.fake_appplatform import DEFAULT_TIMINGS, App, AppPlatformStandIn, Failure
from terp_actions.sandbox.fake_github import GitHubStandIn
from terp_actions.sandbox.history import build_terp_history
from terp_actions.sandbox.http import Fault, StandIn

# The tokens the stand-ins accept: fixed, public, and worthless anywhere else.
GITHUB_TOKEN = "ghs_sandbox"  # noqa: S105
DO_TOKEN = "dop_v1_sandbox"  # noqa: S105
_TOP = {"repository", "github", "digitalocean", "apps", "faults", "failures", "health"}


@dataclass
class Scenario:
    """What the sandbox starts with. Every field has a default: an empty file is a valid scenario."""

    repository: Path | None = None
    github_repository: str = "terp/terp"
    timings: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TIMINGS))
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
    """The three stand-ins of a scenario, running on 127.0.0.1."""

    def __init__(self, scenario: Scenario, contracts: Path | None = None) -> None:
        self._tmp: Path | None = None
        repo = scenario.repository
        if repo is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="terp-sandbox-"))
            built = build_terp_history(self._tmp)
            for wanted in scenario.apps:  # every app's branch exists, at staging's commit
                refspec = f"refs/remotes/origin/staging:refs/heads/{wanted['branch']}"
                built.git().run(["push", "--quiet", "origin", refspec], check=False)
            repo = built.origin
        self.repository = repo
        self.github = GitHubStandIn(
            repo, scenario.github_repository, tokens={GITHUB_TOKEN: "github-actions[bot]"}
        )
        self.digitalocean = AppPlatformStandIn(tokens={DO_TOKEN})
        self.app = AppStandIn(scenario.health)
        self.stand_ins: list[StandIn] = [self.github, self.digitalocean, self.app]
        for stand_in in self.stand_ins:
            stand_in.start()
        if contracts is not None:
            self.github.contract = load_contract(contracts / GITHUB_CONTRACT)
            self.digitalocean.contract = load_contract(contracts / DIGITALOCEAN_CONTRACT)
        self.apps: dict[str, App] = {}
        for spec in scenario.apps:
            created = self.digitalocean.add_app(
                spec["name"], spec["branch"], repo=repo, github_repo=scenario.github_repository,
                timings=dict(scenario.timings), url=self.app.url,
            )  # fmt: skip
            self.apps[spec["environment"]] = created
        by_name = {a.name: a for a in self.apps.values()}
        for name, failure in scenario.failures:
            if name not in by_name:
                raise BadInput(f"failures: no app named {name!r} in the scenario")
            self.digitalocean.fail_next_deployment(by_name[name], failure)
        for service, fault in scenario.faults:
            target = {"github": self.github, "digitalocean": self.digitalocean, "app": self.app}.get(service)
            if target is None:
                raise BadInput(f"faults: unknown service {service!r} (github, digitalocean or app)")
            target.inject(fault)

    def describe(self) -> dict[str, Any]:
        """Base URLs, tokens and app ids, and the environment that points terp-actions here."""
        return {
            "github": {"url": self.github.url, "token": GITHUB_TOKEN, "repository": self.github.full_name},
            "digitalocean": {"url": self.digitalocean.url, "token": DO_TOKEN},
            "app": {"url": self.app.url},
            "apps": {
                env: {"id": app.id, "name": app.name, "branch": app.branch} for env, app in self.apps.items()
            },
            "repository": str(self.repository),
            "env": {
                "GITHUB_API_URL": self.github.url,
                "GITHUB_REPOSITORY": self.github.full_name,
                "GITHUB_TOKEN": GITHUB_TOKEN,
                "TERP_DO_ENDPOINT": self.digitalocean.url,
                "DIGITALOCEAN_TOKEN": DO_TOKEN,
            },
        }

    def violations(self) -> list[str]:
        """Contract violations seen so far, across the stand-ins."""
        return [v for s in self.stand_ins for v in s.violations]

    def stop(self) -> None:
        """Stop every stand-in and remove the generated repository."""
        for stand_in in self.stand_ins:
            stand_in.stop()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
