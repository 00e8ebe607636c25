"""`terp-actions init` in a fresh web-app repository: the files, doctor over them, the checklist,
and never a file overwritten without --force."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from terp_actions.config import load

from ..conftest import Repo
from ..testing.webapp import build_webapp
from .conftest import invoke

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
WRITTEN = (
    ".github/terp-actions.yml",
    ".github/workflows/terp-staging.yml",
    ".github/workflows/terp-promote.yml",
)


def spec(name: str, branch: str, *, deploy_on_push: bool = False, domain: str = "") -> str:
    domains = f"domains:\n  - {{domain: {domain}, type: PRIMARY}}\n" if domain else ""
    return (
        f"name: {name}\nregion: nyc\n{domains}services:\n  - name: web\n"
        f"    github: {{repo: acme/shop, branch: {branch}, deploy_on_push: {str(deploy_on_push).lower()}}}\n"
        "    health_check: {http_path: /health}\n    run_command: npm start\n"
    )


@pytest.fixture
def webapp(tmp_path: Path) -> Repo:
    """A web app with main/staging/production on its remote, two specs and a CI workflow."""
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "--initial-branch=main", str(origin)], check=True)
    repo = Repo(tmp_path / "shop")
    repo.path.mkdir()
    repo.git("init", "-q", "--initial-branch=main")
    repo.commit(
        "Initial import",
        {
            "src/server.js": "listen()\n",
            "docs/guide.md": "# Guide\n",
            ".do/app.yaml": spec("shop", "production", domain="shop.example.com"),
            ".do/app-staging.yaml": spec("shop-staging", "staging"),
            ".github/workflows/ci.yml": (
                "name: ci\non:\n  push:\n    paths-ignore: ['docs/**', 'storybook/**']\n"
                "jobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm test\n"
            ),
        },
    )
    repo.git("remote", "add", "origin", str(origin))
    repo.git("push", "-q", "origin", "main", "main:staging", "main:production")
    repo.git("fetch", "-q", "origin")
    return repo


def head_of_this_checkout() -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_init_writes_files_that_doctor_zizmor_and_the_schemas_accept(webapp: Repo) -> None:
    """Configuration from the specs and the workflows' paths-ignore; callers pinned to a full SHA
    with its version; doctor finds no error; zizmor and GitHub's schema accept the workflows."""
    result = invoke(["init", "--repo", str(webapp.path)])
    assert result.exit_code == 0, result.stdout + result.stderr
    for path in WRITTEN:
        assert (webapp.path / path).exists(), path
    config = load(webapp.path / ".github/terp-actions.yml", required=True)
    assert config.environments["staging"].app == "shop-staging"
    assert config.environments["staging"].spec == ".do/app-staging.yaml"
    assert config.environments["production"].url == "https://shop.example.com"  # the primary domain
    assert "storybook/**" in config.ignore and "docs/**" in config.ignore
    text = (webapp.path / ".github/terp-actions.yml").read_text()
    assert "  # smoke:\n" in text and "${SMOKE_API_TOKEN}" in text  # the commented example
    staging = yaml.safe_load((webapp.path / WRITTEN[1]).read_text())
    sha = head_of_this_checkout()
    assert staging["jobs"]["staging"]["uses"] == f"terp/terp-actions/.github/workflows/staging.yml@{sha}"
    assert f"@{sha} # v" in (webapp.path / WRITTEN[2]).read_text()
    assert "development checkout" in result.stdout and "not a release" in result.stdout
    assert "doctor: 0 errors" in result.stdout
    assert "Set environments.staging.url" in result.stdout  # its URL was a guess
    # the specs already build with deploy_on_push: false: the checklist does not ask for it
    assert "deploy_on_push" not in result.stdout and "app:read and app:update" in result.stdout
    workflows = [str(webapp.path / p) for p in WRITTEN[1:]]
    zizmor = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--persona=pedantic", "--format=json", *workflows],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert zizmor.returncode == 0 and json.loads(zizmor.stdout) == [], zizmor.stdout + zizmor.stderr
    schema = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *workflows],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert schema.returncode == 0, schema.stdout + schema.stderr
    doctor = invoke(["doctor", "--repo", str(webapp.path)])
    assert doctor.exit_code == 0, doctor.stdout


def test_init_never_overwrites_without_force(webapp: Repo) -> None:
    """A rerun leaves identical files alone; a file changed by hand stops init before it writes
    anything (exit 2); --dry-run shows what would change; --force overwrites."""
    assert invoke(["init", "--repo", str(webapp.path)]).exit_code == 0
    again = invoke(["init", "--repo", str(webapp.path), "--json"])
    assert again.exit_code == 0
    assert {f["action"] for f in json.loads(again.stdout)["files"]} == {"unchanged"}
    config = webapp.path / ".github/terp-actions.yml"
    config.write_text(config.read_text() + "secrets: [MY_TOKEN]\n")
    staging = webapp.path / WRITTEN[1]
    staging.unlink()
    refused = invoke(["init", "--repo", str(webapp.path)])
    assert refused.exit_code == 2
    assert ".github/terp-actions.yml already exists and differs" in refused.stderr
    assert "MY_TOKEN" in config.read_text() and not staging.exists()  # nothing written
    shown = invoke(["init", "--repo", str(webapp.path), "--dry-run", "--json"])
    assert shown.exit_code == 0
    actions = {f["path"]: f["action"] for f in json.loads(shown.stdout)["files"]}
    assert actions[".github/terp-actions.yml"] == "would overwrite" and actions[WRITTEN[1]] == "would write"
    assert "name: terp-actions staging" in shown.stderr and not staging.exists()
    # the files as they will be written: keys and expressions are never masked
    assert "      DIGITALOCEAN_TOKEN: ${{ secrets.DIGITALOCEAN_TOKEN }}" in shown.stderr
    forced = invoke(["init", "--repo", str(webapp.path), "--force"])
    assert forced.exit_code == 0 and "MY_TOKEN" not in config.read_text() and staging.exists()


def test_init_reports_what_doctor_finds_and_exits_1(webapp: Repo) -> None:
    """A staging spec that deploys every push defeats the ignore rules: doctor's error, exit 1."""
    (webapp.path / ".do/app-staging.yaml").write_text(spec("shop-staging", "staging", deploy_on_push=True))
    result = invoke(["init", "--repo", str(webapp.path)])
    assert result.exit_code == 1
    assert "deploys every push to staging" in result.stdout and "doctor found 1 error" in result.stderr
    assert "In .do/app-staging.yaml, set deploy_on_push: false" in result.stdout  # only that spec


def test_init_without_specs_or_branches_says_what_to_create(tmp_path: Path) -> None:
    """Nothing to read: placeholders, and the checklist names the branches and apps to create."""
    repo = Repo(tmp_path / "bare-app")
    repo.path.mkdir()
    repo.git("init", "-q", "--initial-branch=main")
    repo.commit("Initial", {"index.js": "x\n"})
    result = invoke(["init", "--repo", str(repo.path), "--json"])
    data = json.loads(result.stdout)
    steps = "\n".join(data["checklist"])
    assert "Create the branches staging and production from main" in steps
    assert "Create the staging app on App Platform" in steps and "Create the production app" in steps
    assert data["pin"] == head_of_this_checkout() and data["release"] is False


def test_init_on_a_realistic_web_app_writes_what_doctor_accepts(tmp_path: Path) -> None:
    """A web app whose CI workflow skips '.vscode/' (matches nothing) and '*.md' beside '**.md':
    init writes what the team meant ('.vscode/**', said in a comment), drops the covered '*.md',
    and doctor over the result has no error — the CI workflow's own mistake is a warning naming
    its file, line and fix."""
    app = build_webapp(tmp_path)
    result = invoke(["init", "--repo", str(app)])
    assert result.exit_code == 0, result.stdout + result.stderr
    config = load(app / ".github/terp-actions.yml", required=True)
    assert ".vscode/**" in config.ignore and ".vscode/" not in config.ignore and "*.md" not in config.ignore
    assert len(config.ignore) == len(set(config.ignore))
    text = (app / ".github/terp-actions.yml").read_text()
    assert (
        "# '.vscode/' in a workflow's paths-ignore matches nothing on GitHub; written as '.vscode/**'" in text
    )
    doctor = invoke(["doctor", "--repo", str(app)])
    assert doctor.exit_code == 0, doctor.stdout
    assert "WARNING .github/workflows/ci.yml:9  paths-ignore: '.vscode/' can never match" in doctor.stdout
    assert "ERROR" not in doctor.stdout
