"""A realistic web-app repository, shaped as a new team's would be when it adopts terp-actions:
server/ and client/, Drizzle migrations, docs, two App Platform specs in .do/, a CI workflow
whose paths-ignore holds the usual mistakes, 25 merged pull requests, and main, staging and
production on its remote."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

CI_WORKFLOW = """\
name: ci
on:
  push:
    branches: [main]
    paths-ignore:
      - 'docs/**'
      - '**.md'
      - '*.md'
      - '.vscode/'
  pull_request:
    paths-ignore:
      - 'docs/**'
      - '**.md'
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: npm test
"""


def app_spec(name: str, branch: str, *, deploy_on_push: bool = False, domain: str = "") -> str:
    """An App Platform spec of a web service and a PRE_DEPLOY migration job building ``branch``."""
    domains = f"domains:\n  - {{domain: {domain}, type: PRIMARY}}\n" if domain else ""
    source = f"github: {{repo: acme/shop, branch: {branch}, deploy_on_push: {str(deploy_on_push).lower()}}}"
    return (
        f"name: {name}\nregion: nyc\n{domains}"
        "services:\n"
        "  - name: web\n"
        f"    {source}\n"
        "    build_command: npm ci && npm run build\n"
        "    run_command: npm start\n"
        "    http_port: 8080\n"
        "    instance_size_slug: apps-s-1vcpu-1gb\n"
        "    instance_count: 1\n"
        "    health_check: {http_path: /health}\n"
        "    envs:\n"
        "      - {key: DATABASE_URL, value: '${db.DATABASE_URL}', scope: RUN_TIME}\n"
        "jobs:\n"
        "  - name: migrate\n"
        "    kind: PRE_DEPLOY\n"
        f"    {source}\n"
        "    run_command: npx drizzle-kit migrate\n"
        "databases:\n"
        "  - {name: db, engine: PG, production: true, cluster_name: shop-db}\n"
    )


def _git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True, env=os.environ)
    return proc.stdout.strip()


def build_webapp(root: Path, *, pulls: int = 25) -> Path:
    """The work clone of a new web-app repository (its origin beside it); returns the clone."""
    origin = root / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "--initial-branch=main", str(origin)], check=True)
    work = root / "shop"
    work.mkdir()
    _git(work, "init", "-q", "--initial-branch=main")
    files = {
        "server/index.ts": "export const app = 1;\n",
        "client/src/App.tsx": "export default () => null;\n",
        "drizzle/migrations/0000_init.sql": "create table invoices (id serial);\n",
        "docs/guide.md": "# Guide\n",
        "README.md": "# Shop\n",
        ".do/app.yaml": app_spec("shop", "production", domain="shop.example.com"),
        ".do/app-staging.yaml": app_spec("shop-staging", "staging"),
        ".github/workflows/ci.yml": CI_WORKFLOW,
        ".vscode/settings.json": "{}\n",
    }
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    _git(work, "add", "--all")
    _git(work, "commit", "-q", "-m", "Initial import")
    for n in range(1, pulls + 1):
        branch = f"feature-{n}"
        _git(work, "checkout", "-q", "-b", branch)
        target = ("server/routes", "client/src", "docs")[n % 3]
        (work / target).mkdir(parents=True, exist_ok=True)
        (work / target / f"change{n}.{'md' if target == 'docs' else 'ts'}").write_text(f"{n}\n")
        _git(work, "add", "--all")
        _git(work, "commit", "-q", "-m", f"Change {n}")
        _git(work, "checkout", "-q", "main")
        _git(work, "merge", "-q", "--no-ff", "-m", f"Merge pull request #{n} from acme/{branch}", branch)
    _git(work, "remote", "add", "origin", str(origin))
    _git(work, "push", "-q", "origin", "main", "main:staging", "main:production")
    _git(work, "fetch", "-q", "origin")
    _git(work, "remote", "set-head", "origin", "main")
    return work
