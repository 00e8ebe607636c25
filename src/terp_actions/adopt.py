"""`init`: what a repository needs to adopt terp-actions, decided from what it already has.

The deciding is pure (``plan_files`` and ``checklist`` over ``RepoFacts`` and a ``Pin``); reading
the repository and finding the release to pin are the edges (``read_facts``, ``release_pin``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from terp_actions import __version__
from terp_actions.config import DEFAULT_IGNORE, DEFAULT_PATH
from terp_actions.doctor import Repository, triggers
from terp_actions.errors import BadInput, PatternError, TerpError
from terp_actions.paths import parse_pattern

UPSTREAM: Final = "terp/terp-actions"  # where the reusable workflows live
STAGING_CALLER: Final = ".github/workflows/terp-staging.yml"
PROMOTE_CALLER: Final = ".github/workflows/terp-promote.yml"
_MAIN_CANDIDATES: Final = ("main", "master", "trunk", "develop")
_STAGING_NAME: Final = re.compile(r"stag|preprod|pre-prod")


@dataclass(frozen=True)
class Pin:
    """The commit of terp-actions the written workflows use, and the version it is."""

    sha: str
    version: str
    release: bool  # False: a development checkout's HEAD

    @property
    def comment(self) -> str:
        return (
            f"v{self.version}" if self.release else f"v{self.version} (development checkout, not a release)"
        )


@dataclass(frozen=True)
class SpecFact:
    """An app spec of the repository: its file, its app name and its primary domain."""

    path: str
    name: str
    domain: str = ""


@dataclass(frozen=True)
class RepoFacts:
    """What ``init`` looks at."""

    branches: frozenset[str]
    default_branch: str = ""
    specs: tuple[SpecFact, ...] = ()
    paths_ignore: tuple[str, ...] = ()  # the workflows' push / pull_request paths-ignore, in order


@dataclass(frozen=True)
class PlannedFile:
    path: str
    text: str


@dataclass
class Adoption:
    """What ``init`` writes, and what it had to guess (each guess is a checklist item)."""

    branches: dict[str, str]
    environments: dict[str, SpecFact | None]
    files: list[PlannedFile] = field(default_factory=list)
    guessed_urls: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- deciding (pure) ------------------------------------------------------------------------------


def choose_branches(facts: RepoFacts) -> dict[str, str]:
    """main: the remote's default branch, else the first usual name present; staging and
    production: their usual names (created by a person when missing: the checklist says how)."""
    main = facts.default_branch if facts.default_branch in facts.branches else ""
    main = main or next((b for b in _MAIN_CANDIDATES if b in facts.branches), "main")
    staging = next((b for b in ("staging", "stage") if b in facts.branches), "staging")
    production = next((b for b in ("production", "prod") if b in facts.branches), "production")
    return {"main": main, "staging": staging, "production": production}


def choose_environments(specs: Sequence[SpecFact]) -> tuple[dict[str, SpecFact | None], list[str]]:
    """Staging is the spec whose file or app name says so; production another one (``app.yaml``
    first). Other specs are named in a note and left out."""
    notes: list[str] = []
    staging = [s for s in specs if _STAGING_NAME.search(Path(s.path).name + " " + s.name)]
    others = sorted(
        (s for s in specs if s not in staging), key=lambda s: (Path(s.path).name != "app.yaml", s.path)
    )
    chosen: dict[str, SpecFact | None] = {
        "staging": staging[0] if staging else None,
        "production": others[0] if others else None,
    }
    for left in [*staging[1:], *others[1:]]:
        notes.append(
            f"{left.path} (app {left.name!r}) is not used for staging or production: add it by hand if needed"
        )
    return chosen, notes


def ignore_patterns(paths_ignore: Sequence[str]) -> tuple[list[str], list[str]]:
    """The generic defaults, then the patterns the existing workflows already skip on (valid ones)."""
    patterns, notes = list(DEFAULT_IGNORE), []
    for pattern in paths_ignore:
        if pattern in patterns:
            continue
        try:
            parse_pattern(pattern)
        except PatternError as exc:
            notes.append(f"paths-ignore pattern {pattern!r} left out: {exc.reason}")
            continue
        patterns.append(pattern)
    return patterns, notes


def _q(text: str) -> str:
    """A YAML scalar that reads back as exactly ``text`` (JSON strings are YAML)."""
    return json.dumps(text)


def config_text(adoption: Adoption, patterns: Sequence[str], pin: Pin) -> str:
    b = adoption.branches
    lines = [
        f"# terp-actions configuration, written by `terp-actions init` {pin.comment}.",
        "# Every key: https://github.com/terp/terp-actions/blob/main/docs/configuration.md",
        "branches: {" + ", ".join(f"{k}: {_q(b[k])}" for k in ("main", "staging", "production")) + "}",
        "# Changes only to these paths need no deploy (GitHub filter patterns, as in paths-ignore).",
        "ignore:",
        *(f"  - {_q(p)}" for p in patterns),
        "environments:",
    ]
    for env, spec in adoption.environments.items():
        name = spec.name if spec else f"CHANGE-ME-{env}"
        url = f"https://{spec.domain}" if spec and spec.domain else f"https://{name}.ondigitalocean.app"
        extra = f", spec: {_q(spec.path)}" if spec else ""
        guess = "  # CHANGE ME: the app's live URL" if not (spec and spec.domain) else ""
        lines.append(f"  {env}: {{app: {_q(name)}, url: {_q(url)}{extra}}}{guess}")
    lines += [
        "verify:",
        "  health: {path: /health, expect: {status: healthy, database: connected}}",
        "  # Smoke checks: read-only requests showing the features work, run after health passes.",
        "  # smoke:",
        "  #   - {path: /login, contains: Sign in}",
        "  #   - {path: /api/invoices?limit=1, status: 200, json: {ok: true}, max_ms: 800}",
        "  #   - path: /api/me",
        '  #     headers: {Authorization: "Bearer ${SMOKE_API_TOKEN}"}  # from the environment, masked',
        "promote:",
        "  revert_pr: false           # true: a failed, rolled-back promotion opens a revert pull request",
        "  after_migrations: rollback  # or stop: a failed promotion carrying migrations waits for a person",
    ]
    return "\n".join(lines) + "\n"


def staging_caller(branches: Mapping[str, str], pin: Pin) -> str:
    return f"""# Written by `terp-actions init` {pin.comment}.
# Every merge into {branches["main"]}: sync it into {branches["staging"]}, deploy and verify staging when the
# change needs it, and report on each pull request. Run it by hand to redeploy staging.
name: terp-actions staging

on:
  push:
    branches: [{_q(branches["main"])}]
  workflow_dispatch:
    inputs:
      redeploy:
        description: Why redeploy staging now (reported), e.g. a secret changed on App Platform.
        type: string
        required: true
      override-freeze:
        description: Deploy although the deploy freeze (vars.TERP_FREEZE) is in force.
        type: boolean
        default: false

permissions: {{}}

concurrency:
  group: terp-actions-staging-${{{{ github.repository }}}}
  cancel-in-progress: false

jobs:
  staging:
    uses: {UPSTREAM}/.github/workflows/staging.yml@{pin.sha} # {pin.comment}
    permissions:
      contents: write # push {branches["staging"]}
      pull-requests: write # the status comments, and the pull request a conflict opens
      deployments: write # the staging Deployment; reading it gives the latency baseline
    with:
      redeploy: ${{{{ inputs.redeploy || '' }}}}
      override-freeze: ${{{{ inputs.override-freeze || false }}}}
    secrets:
      DIGITALOCEAN_TOKEN: ${{{{ secrets.DIGITALOCEAN_TOKEN }}}}
"""


def promote_caller(branches: Mapping[str, str], pin: Pin) -> str:
    return f"""# Written by `terp-actions init` {pin.comment}.
# Run by a person (and approved by the production environment's reviewers): the verified
# {branches["staging"]} commit goes to {branches["production"]}, is deployed and verified,
# and is rolled back if it fails.
name: terp-actions promote

on:
  workflow_dispatch:
    inputs:
      sha:
        description: Commit to promote (hex); empty means the newest commit staging verified.
        type: string
        default: ''
      force:
        description: Promote a commit staging has not verified (give a reason).
        type: boolean
        default: false
      reason:
        description: Why force, or why override the deploy freeze.
        type: string
        default: ''
      override-freeze:
        description: Promote although the deploy freeze (vars.TERP_FREEZE) is in force.
        type: boolean
        default: false

permissions: {{}}

concurrency:
  group: terp-actions-promote-${{{{ github.repository }}}}
  cancel-in-progress: false

jobs:
  promote:
    uses: {UPSTREAM}/.github/workflows/promote.yml@{pin.sha} # {pin.comment}
    permissions:
      contents: write # fast-forward {branches["production"]}
      pull-requests: write # the status comments
      deployments: write # the production Deployment; reading staging's verifications
    with:
      sha: ${{{{ inputs.sha }}}}
      force: ${{{{ inputs.force }}}}
      reason: ${{{{ inputs.reason }}}}
      override-freeze: ${{{{ inputs.override-freeze }}}}
    secrets:
      DIGITALOCEAN_TOKEN: ${{{{ secrets.DIGITALOCEAN_TOKEN }}}}
"""


def plan_adoption(facts: RepoFacts, pin: Pin) -> Adoption:
    """The three files and the guesses behind them."""
    environments, notes = choose_environments(facts.specs)
    adoption = Adoption(choose_branches(facts), environments, notes=notes)
    patterns, pattern_notes = ignore_patterns(facts.paths_ignore)
    adoption.notes += pattern_notes
    adoption.guessed_urls = [env for env, spec in environments.items() if not (spec and spec.domain)]
    adoption.files = [
        PlannedFile(DEFAULT_PATH, config_text(adoption, patterns, pin)),
        PlannedFile(STAGING_CALLER, staging_caller(adoption.branches, pin)),
        PlannedFile(PROMOTE_CALLER, promote_caller(adoption.branches, pin)),
    ]
    return adoption


def checklist(adoption: Adoption, facts: RepoFacts) -> list[str]:
    """What a person must still do on GitHub and App Platform, in order."""
    b, items = adoption.branches, []
    missing = [b[k] for k in ("staging", "production") if b[k] not in facts.branches]
    if missing:
        items.append(
            "Create the branches "
            + " and ".join(missing)
            + f" from {b['main']}: "
            + "; ".join(f"git push origin {b['main']}:refs/heads/{m}" for m in missing)
        )
    for env, spec in adoption.environments.items():
        if spec is None:
            items.append(
                f"Create the {env} app on App Platform (a spec in .do/, e.g. `doctl apps create --spec "
                f".do/app{'-staging' if env == 'staging' else ''}.yaml`) and put its name in "
                f"environments.{env}.app of {DEFAULT_PATH}"
            )
    for env in adoption.guessed_urls:
        items.append(
            f"Set environments.{env}.url in {DEFAULT_PATH} to the app's live URL "
            f"(`doctl apps list --format Spec.Name,DefaultIngress`); the written one is a guess"
        )
    items += [
        f"In each app spec, set deploy_on_push: false on every component that builds {b['staging']} or "
        f"{b['production']}: terp-actions deploys, so docs-only merges do not (doctor checks this)",
        "Add the secret DIGITALOCEAN_TOKEN (Settings → Secrets and variables → Actions): a DigitalOcean "
        "token with the custom scopes app:read and app:update (app:update requires regions:read, "
        "sizes:read and actions:read); add app:create and app:delete only for preview apps. An "
        "environment secret of that name in `staging` / `production` takes precedence in those jobs",
        "GITHUB_TOKEN needs nothing: the written workflows grant each job only what it uses "
        "(contents, pull-requests, deployments)",
        "Create the environment `production` (Settings → Environments) with required reviewers "
        "(tick “Prevent self-review”) so nobody promotes alone; create `staging` as well",
        f"Settings → Actions → General → Workflow permissions: allow GitHub Actions to create pull "
        f"requests (the sync opens one when {b['main']} conflicts with {b['staging']})",
        "Optional: the repository variable TERP_FREEZE (a reason) stops deploys and promotions",
        f"Commit the three files, push, and merge a pull request into {b['main']}: the staging "
        "workflow runs; `terp-actions rehearse` shows beforehand what it will do with your history",
    ]
    return items


# --- reading (effects) ------------------------------------------------------------------------------


def read_facts(git: Any, repository: Repository, writes: Sequence[str]) -> RepoFacts:
    """Branches (local and the remote's), and from what doctor read: the ``.do/*.yaml`` specs and
    the paths-ignore of the workflows init does not write."""
    refs = git.text(["for-each-ref", "--format=%(refname)", "refs/heads", "refs/remotes"]).split()
    branches = set()
    for ref in refs:
        if ref.startswith("refs/heads/"):
            branches.add(ref.removeprefix("refs/heads/"))
        elif ref.count("/") >= 3 and not ref.endswith("/HEAD"):
            branches.add(ref.split("/", 3)[3])
    proc = git.run(["symbolic-ref", "-q", "refs/remotes/origin/HEAD"], check=False)
    head = proc.stdout.decode("utf-8", "replace").strip() if proc.returncode == 0 else ""
    specs = []
    for path, (_, spec) in sorted(repository.specs.items()):
        if isinstance(spec, Mapping) and isinstance(spec.get("name"), str):
            domains = [d for d in spec.get("domains") or [] if isinstance(d, Mapping)]
            primary = next((d for d in domains if d.get("type") == "PRIMARY"), domains[0] if domains else {})
            specs.append(SpecFact(path, spec["name"], str(primary.get("domain") or "")))
    ignored: list[str] = []
    for path, (_, workflow) in sorted(repository.workflows.items()):
        if path in writes or not isinstance(workflow, Mapping):
            continue
        events = triggers(workflow)
        for trigger in (events.get("push"), events.get("pull_request")):
            patterns = trigger.get("paths-ignore") if isinstance(trigger, Mapping) else None
            for pattern in patterns if isinstance(patterns, list) else []:
                if isinstance(pattern, str) and pattern not in ignored:
                    ignored.append(pattern)
    return RepoFacts(
        frozenset(branches), head.removeprefix("refs/remotes/origin/"), tuple(specs), tuple(ignored)
    )


def release_pin() -> tuple[Pin, str]:
    """The commit to pin and how it was found: the release commit written into the package when
    the release was built; else, from a development checkout, that checkout's HEAD."""
    from terp_actions import _release  # noqa: PLC0415 - written by the release build

    if _release.COMMIT:
        return Pin(
            _release.COMMIT, __version__, release=True
        ), f"release v{__version__} ({_release.COMMIT[:12]})"
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / ".git").exists():
        from terp_actions import git as gitmod  # noqa: PLC0415

        try:
            sha = gitmod.open_repo(checkout).text(["rev-parse", "--verify", "HEAD"]).strip()
        except TerpError as exc:
            raise BadInput(f"the development checkout {checkout} has no commit to pin: {exc}") from exc
        return Pin(sha, __version__, release=False), (
            f"development checkout {checkout}: pinned to its HEAD {sha[:12]}, which is not a release — "
            "pin a release before relying on it"
        )
    raise BadInput(
        "this build of terp-actions carries no release commit to pin: install a release "
        "(pipx install terp-actions) or run init from a clone of terp-actions"
    )
