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
from terp_actions.git import is_commit_id
from terp_actions.paths import meant_pattern, parse_pattern, subsumes

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
    release: bool  # False: a commit that is not a release (a checkout, an install from a commit)
    source: str = "development checkout"  # where a non-release commit came from

    @property
    def comment(self) -> str:
        return f"v{self.version}" if self.release else f"v{self.version} ({self.source}, not a release)"


@dataclass(frozen=True)
class SpecFact:
    """An app spec of the repository: its file, its app name and its primary domain."""

    path: str
    name: str
    domain: str = ""
    deploys_on_push: bool = False  # some component has deploy_on_push: true


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


def ignore_patterns(paths_ignore: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    """The generic defaults, then the patterns the existing workflows already skip on: each as the
    team meant it where GitHub's meaning is clear (``.vscode/`` matches nothing; ``.vscode/**`` is
    meant), without exact duplicates or patterns another one already covers (``*.md`` beside
    ``**.md``). Returns the patterns, notes, and comments on the rewrites for the file."""
    patterns, notes, rewritten = list(DEFAULT_IGNORE), [], []
    for pattern in paths_ignore:
        try:
            parse_pattern(pattern)
        except PatternError as exc:
            notes.append(f"paths-ignore pattern {pattern!r} left out: {exc.reason}")
            continue
        meant = meant_pattern(pattern)
        if meant != pattern:
            rewritten.append(
                f"{pattern!r} in a workflow's paths-ignore matches nothing on GitHub; written as {meant!r}"
            )
        if meant not in patterns:
            patterns.append(meant)
    if not any(p.startswith("!") for p in patterns):  # with a negation, order decides: keep all
        patterns = [p for p in patterns if not any(subsumes(q, p) for q in patterns)]
    return patterns, notes, rewritten


def _q(text: str) -> str:
    """A YAML scalar that reads back as exactly ``text`` (JSON strings are YAML)."""
    return json.dumps(text)


def config_text(adoption: Adoption, patterns: Sequence[str], pin: Pin, rewritten: Sequence[str] = ()) -> str:
    b = adoption.branches
    lines = [
        f"# terp-actions configuration, written by `terp-actions init` {pin.comment}.",
        "# Every key: https://github.com/terp/terp-actions/blob/main/docs/configuration.md",
        "branches: {" + ", ".join(f"{k}: {_q(b[k])}" for k in ("main", "staging", "production")) + "}",
        "# Changes only to these paths need no deploy (GitHub filter patterns, as in paths-ignore).",
        *(f"# {line}" for line in rewritten),
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
    patterns, pattern_notes, rewritten = ignore_patterns(facts.paths_ignore)
    adoption.notes += pattern_notes + rewritten
    adoption.guessed_urls = [env for env, spec in environments.items() if not (spec and spec.domain)]
    adoption.files = [
        PlannedFile(DEFAULT_PATH, config_text(adoption, patterns, pin, rewritten)),
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
    pushed = [s.path for s in adoption.environments.values() if s is not None and s.deploys_on_push]
    if pushed or not all(adoption.environments.values()):
        items.append(
            f"In {' and '.join(pushed) if pushed else 'each app spec'}, set deploy_on_push: false on every "
            f"component that builds {b['staging']} or {b['production']}: terp-actions deploys, so docs-only "
            "merges do not (doctor checks this)"
        )
    items += [
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
            on_push = any(
                isinstance(source, Mapping) and source.get("deploy_on_push") is True
                for kind in ("services", "workers", "jobs", "static_sites", "functions")
                for component in spec.get(kind) or []
                if isinstance(component, Mapping)
                for source in (component.get("github"), component.get("gitlab"))
            )
            specs.append(SpecFact(path, spec["name"], str(primary.get("domain") or ""), on_push))
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


INSTALL_HINT: Final = (
    f"install terp-actions from its repository at a tag or commit — pipx install "
    f"'git+https://github.com/{UPSTREAM}@<commit>' (or pip install, or uv tool install) — or pass "
    "--ref <full commit id>"
)


def release_pin(ref: str = "") -> tuple[Pin, str]:
    """The commit to pin and how it was found, the way Python packaging records it: ``--ref``
    (a full commit id, always accepted); the release commit stamped by the release build; PEP 610's
    ``direct_url.json`` (the commit of an install from a repository, or the HEAD of the checkout
    an install came from); the commit the build stamped when it was built from a checkout; a
    development checkout's HEAD. A pin must never move, so a tag or branch name is refused."""
    from terp_actions import _release  # noqa: PLC0415 - written by the release build

    if ref:
        if not is_commit_id(ref, full=True) or len(ref) != 40:
            raise BadInput(
                f"--ref {ref[:80]!r}: give the full 40-character commit id — a tag or branch can move, a "
                f"pin must not; `git ls-remote https://github.com/{UPSTREAM} {ref[:80]}` prints the commit"
            )
        return Pin(ref.lower(), __version__, release=False, source="--ref"), f"--ref {ref[:12]} (as given)"
    if _release.COMMIT:
        return Pin(
            _release.COMMIT, __version__, release=True
        ), f"release v{__version__} ({_release.COMMIT[:12]})"
    found = _installed_commit()
    if found is not None:
        return found
    if _release.BUILT_FROM:
        sha = _release.BUILT_FROM
        return Pin(sha, __version__, release=False, source="built from a checkout"), (
            f"the commit this build was made from ({sha[:12]}), which is not a release"
        )
    checkout = _checkout_head(Path(__file__).resolve().parents[2])
    if checkout is not None:
        return checkout
    raise BadInput(f"this installation of terp-actions does not record which commit it is: {INSTALL_HINT}")


def _installed_commit() -> tuple[Pin, str] | None:
    """PEP 610: how pip, pipx and uv recorded where this installation came from."""
    from importlib import metadata  # noqa: PLC0415

    try:
        text = metadata.distribution("terp-actions").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    try:
        direct = json.loads(text or "null")
    except ValueError:
        return None
    if not isinstance(direct, Mapping):
        return None
    vcs = direct.get("vcs_info")
    if (
        isinstance(vcs, Mapping)
        and vcs.get("vcs") == "git"
        and is_commit_id(str(vcs.get("commit_id") or ""), full=True)
    ):
        sha = str(vcs["commit_id"])
        return Pin(sha, __version__, release=False, source="installed from a commit"), (
            f"the commit this was installed from ({sha[:12]}), which is not a release"
        )
    url = str(direct.get("url") or "")
    if url.startswith("file://") and isinstance(direct.get("dir_info"), Mapping):
        from urllib.parse import unquote, urlsplit  # noqa: PLC0415

        return _checkout_head(Path(unquote(urlsplit(url).path)))
    return None


def _checkout_head(folder: Path) -> tuple[Pin, str] | None:
    """The HEAD of the terp-actions checkout at ``folder`` (None when it is not one)."""
    if not (folder / ".git").exists() or not (folder / "src" / "terp_actions").is_dir():
        return None
    from terp_actions import git as gitmod  # noqa: PLC0415

    try:
        sha = gitmod.open_repo(folder).text(["rev-parse", "--verify", "HEAD"]).strip()
    except TerpError as exc:
        raise BadInput(f"the development checkout {folder} has no commit to pin: {exc}") from exc
    return Pin(sha, __version__, release=False), (
        f"development checkout {folder}: pinned to its HEAD {sha[:12]}, which is not a release — "
        "pin a release before relying on it"
    )
