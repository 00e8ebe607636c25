"""A throwaway TERP-like repository: a bare origin and a work clone with a realistic history."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from terp_actions.config import DEFAULT_IGNORE
from terp_actions.git import Git

# A fixed identity and clock, and no user or system configuration (signing, hooks, templates):
# the demo must behave the same on every machine and never prompt.
_IDENTITY = {
    "GIT_AUTHOR_NAME": "TERP Developer",
    "GIT_AUTHOR_EMAIL": "dev@terp.example",
    "GIT_COMMITTER_NAME": "TERP Developer",
    "GIT_COMMITTER_EMAIL": "dev@terp.example",
    "GIT_CONFIG_NOSYSTEM": "1",
}
_EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z


@dataclass(frozen=True)
class PullRequest:
    """A pull request the history merged: number, title, how it was merged, its merge commit."""

    number: int
    title: str
    files: tuple[str, ...]
    squash: bool
    merge_commit: str


@dataclass
class DemoRepo:
    """The built repository: where it is and what went into it."""

    root: Path
    origin: Path
    work: Path
    env: Mapping[str, str]
    pulls: list[PullRequest] = field(default_factory=list)

    def git(self) -> Git:
        """A Git for the work clone, with the repository's hermetic environment."""
        return Git(self.work, self.env)


class HistoryBuilder:
    """Makes commits and merges pull requests in a work clone, with a deterministic clock."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        empty_config = root / "gitconfig"
        empty_config.write_text("")
        templates = root / "templates"
        templates.mkdir(exist_ok=True)
        self.env = {**_IDENTITY, "GIT_CONFIG_GLOBAL": str(empty_config), "GIT_TEMPLATE_DIR": str(templates)}
        self.root = root
        self.origin = root / "origin.git"
        self.work = root / "work"
        self._tick = 0
        Git(root, self.env).run(["init", "--quiet", "--bare", "--initial-branch=main", str(self.origin)])
        Git(root, self.env).run(["clone", "--quiet", str(self.origin), str(self.work)])
        self.git = Git(self.work, self.env)
        self.git.run(["checkout", "--quiet", "-B", "main"])

    def _clock(self) -> dict[str, str]:
        self._tick += 1
        stamp = f"@{_EPOCH + self._tick * 3600} +0000"
        return {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}

    def commit(
        self, message: str, files: Mapping[str, str | None], renames: Mapping[str, str] | None = None
    ) -> str:
        """Write (or, for None, delete) ``files``, move ``renames``, commit; return the new SHA."""
        for old, new in (renames or {}).items():
            (self.work / new).parent.mkdir(parents=True, exist_ok=True)
            self.git.run(["mv", "--", old, new])
        for name, content in files.items():
            if content is None:
                self.git.run(["rm", "--quiet", "--", name])
                continue
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
            self.git.run(["add", "--", name])
        Git(self.work, {**self.env, **self._clock()}).run(
            ["commit", "--quiet", "--allow-empty", "-m", message]
        )
        return self.git.text(["rev-parse", "HEAD"])

    def merge_pull(
        self,
        number: int,
        title: str,
        files: Mapping[str, str | None],
        *,
        renames: Mapping[str, str] | None = None,
        squash: bool = False,
    ) -> PullRequest:
        """Merge a pull request into main as GitHub would: a squash commit or a merge commit."""
        touched = (*files, *(renames or {}), *(renames or {}).values())
        if squash:
            sha = self.commit(f"{title} (#{number})", files, renames)
            return PullRequest(number, title, touched, squash, sha)
        branch = f"pr-{number}"
        self.git.run(["checkout", "--quiet", "-b", branch])
        self.commit(title, files, renames)
        self.git.run(["checkout", "--quiet", "main"])
        message = f"Merge pull request #{number} from terp/{branch}\n\n{title}"
        Git(self.work, {**self.env, **self._clock()}).run(
            ["merge", "--quiet", "--no-ff", "-m", message, branch]
        )
        return PullRequest(number, title, touched, squash, self.git.text(["rev-parse", "HEAD"]))

    def push(self, *refspecs: str) -> None:
        """Push to the bare origin (plain pushes; never forced)."""
        self.git.run(["push", "--quiet", "origin", *refspecs])

    def on_staging(self, message: str, files: Mapping[str, str | None] | None = None) -> str:
        """What a person does straight on staging: commit ``files`` on top of origin's staging (or,
        without files, merge origin's main into it taking main's side of a conflict) and push."""
        self.git.run(["fetch", "--quiet", "origin"])
        self.git.run(["checkout", "--quiet", "-B", "staging", "origin/staging"])
        if files is not None:
            self.commit(message, files)
        else:
            Git(self.work, {**self.env, **self._clock()}).run(
                ["merge", "--quiet", "-X", "theirs", "-m", message, "origin/main"]
            )
        self.push("staging")
        self.git.run(["checkout", "--quiet", "main"])
        return self.git.text(["rev-parse", "origin/staging"])

    def repo(self, pulls: list[PullRequest]) -> DemoRepo:
        """What was built."""
        return DemoRepo(self.root, self.origin, self.work, self.env, pulls)


# TERP's own ignore rules: the generic defaults plus the team's folders (its configuration file,
# as in docs/examples/terp-actions.yml).
TERP_IGNORE: tuple[str, ...] = (
    *DEFAULT_IGNORE,
    "agent-prompts/**",
    "product-management/**",
    "testing/**",
    "tests-e2e/**",
    "dashboard.html",
)
TERP_CONFIG = "ignore:\n" + "".join(f"  - {json.dumps(p)}\n" for p in TERP_IGNORE)

APP_FILES = {
    "app/main.py": "from app.routes import app\n",
    "app/routes.py": "app = object()\n",
    "app/models/invoice.py": "TAX = 0.2\n",
    "app/reports.py": "def monthly():\n    return []\n",
    "requirements.txt": "flask==3.0\n",
    "README.md": "# TERP\n",
    "docs/setup.md": "# Setup\n",
    ".do/app.yaml": (
        "name: terp\nregion: nyc\nservices:\n  - name: web\n"
        "    github: {repo: terp/terp, branch: production, deploy_on_push: false}\n"
        "    run_command: gunicorn app.main:app\n    health_check: {http_path: /health}\n"
    ),
    ".do/app-staging.yaml": (
        "name: terp-staging\nregion: nyc\nservices:\n  - name: web\n"
        "    github: {repo: terp/terp, branch: staging, deploy_on_push: false}\n"
        "    run_command: gunicorn app.main:app\n    health_check: {http_path: /health}\n"
    ),
    ".github/workflows/ci.yml": "on: push\n",
    ".vscode/settings.json": "{}\n",
    ".github/terp-actions.yml": TERP_CONFIG,
}


# The pull requests of the TERP-like history: number → (title, files, how it is merged).
TERP_PULLS: dict[int, tuple[str, dict[str, str | None], dict[str, Any]]] = {
    101: ("Add invoice PDF export", {"app/invoices/pdf.py": "def render(): ...\n"}, {"squash": True}),
    102: ("Document the invoice API", {"docs/api/invoices.md": "# Invoices\n"}, {}),
    103: (
        "Fix rounding in tax totals",
        {"app/models/invoice.py": "TAX = 0.20\nROUND = 2\n", "CHANGELOG.md": "- rounding\n"},
        {},
    ),
    104: (
        "Tighten CI and editor settings",
        {".github/workflows/ci.yml": "on: [push]\n", ".vscode/settings.json": '{"x": 1}\n'},
        {"squash": True},
    ),
    105: (
        "Agent prompts and roadmap",
        {
            "agent-prompts/deploy.md": "Deploy carefully.\n",
            "product-management/roadmap.md": "Q3\n",
            "dashboard.html": "<html></html>\n",
            "app/README.md": "# app\n",
        },
        {},
    ),
    106: ("Split reports", {}, {"renames": {"app/reports.py": "app/reporting/monthly.py"}}),
    107: (
        "Cache invoice totals",
        {"app/models/invoice.py": "TAX = 0.20\nROUND = 2\nCACHE = True\n"},
        {"squash": True},
    ),
    108: (
        "Staging: log at debug level",
        {
            ".do/app-staging.yaml": (
                "name: terp-staging\n"
                "region: nyc\n"
                "services:\n"
                "  - name: web\n"
                "    github: {repo: terp/terp, branch: staging, deploy_on_push: false}\n"
                "    envs:\n"
                "      - {key: LOG_LEVEL, value: debug}\n"
                "      - {key: PUBLIC_URL, value: '${APP_URL}'}\n"
                "      - {key: SESSION_SECRET, value: '${SESSION_SECRET}', type: SECRET}\n"
            )
        },
        {"squash": True},
    ),
}
# A merge that changes the staging app spec: the demo's fourth run applies it.
SPEC_PULL = 108
# Three syncs of main into staging, each bringing the pull requests merged since the last one.
TERP_BATCHES: tuple[tuple[int, ...], ...] = ((101, 102, 103), (104, 105), (106,))


def start_terp_history(root: Path) -> HistoryBuilder:
    """The initial import, pushed as main and staging."""
    b = HistoryBuilder(root)
    b.commit("Initial import of TERP", APP_FILES)
    b.push("main", "main:staging")
    return b


def merge_terp_pull(builder: HistoryBuilder, number: int) -> PullRequest:
    """Merge one of TERP_PULLS into main (not pushed)."""
    title, files, how = TERP_PULLS[number]
    return builder.merge_pull(number, title, files, **how)


def build_terp_history(root: Path) -> DemoRepo:
    """A TERP-like repository: code, docs-only and mixed pull requests merged into main.

    ``staging`` is pushed at the first commit; main then gains the six pull requests of
    TERP_PULLS, which a sync would bring over in the three TERP_BATCHES.
    """
    b = start_terp_history(root)
    pulls = [merge_terp_pull(b, n) for batch in TERP_BATCHES for n in batch]
    b.push("main")
    return b.repo(pulls)
