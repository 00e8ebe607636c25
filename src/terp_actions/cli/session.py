"""One command run: the environment, the runner, ONE redactor (the error path uses it too) and the
GitHub and App Platform clients, each built once and only when a command asks for it."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Final

import click

from terp_actions.errors import BadInput, TerpError
from terp_actions.gha import Runner
from terp_actions.redact import Redactor

if TYPE_CHECKING:
    from terp_actions.config import Config, Environment
    from terp_actions.digitalocean import AppPlatform
    from terp_actions.flows import Outcome
    from terp_actions.freeze import Freeze
    from terp_actions.git import Git
    from terp_actions.github import GitHubApi
    from terp_actions.paths import IgnoreRules
    from terp_actions.spec import FilledSpec

_META_KEY: Final = "terp_actions.session"
_AUTH_PREFIX: Final = "AUTHORIZATION: basic "


class Session:
    """What one command run has; the commands reach the outside world only through it."""

    def __init__(self, environ: Mapping[str, str], *, as_json: bool = False) -> None:
        self.environ = dict(environ)
        self.as_json = as_json
        self.redact = Redactor.from_environ(self.environ)
        # With --json, stdout holds the JSON document alone: headings, log groups and masks go to
        # stderr, where the Actions runner reads workflow commands as well.
        self.runner = Runner.from_environ(self.environ, sys.stderr if as_json else sys.stdout, sys.stderr)
        self.runner.redact = self.redact
        self._github: GitHubApi | None = None
        self._platform: AppPlatform | None = None
        self._rate_limit_budget = 300.0  # github.rate_limit_budget, once the configuration is read
        self._named_repository = False

    @classmethod
    def start(cls, *, as_json: bool = False) -> Session:
        """The session of the running command, registered where the error path finds it."""
        import os  # the real environment is read here and nowhere else

        session = cls(os.environ, as_json=as_json)
        context = click.get_current_context(silent=True)
        if context is not None:
            context.meta[_META_KEY] = session
        return session

    @staticmethod
    def of(context: click.Context) -> Session | None:
        """The session a command registered, if it got that far."""
        found = context.meta.get(_META_KEY)
        return found if isinstance(found, Session) else None

    # --- output --------------------------------------------------------------------------------

    def say(self, text: str = "") -> None:
        """One line (or block) of human output, redacted; on stderr with ``--json``."""
        click.echo(self.redact(text), err=self.as_json)

    def warn(self, message: str, title: str) -> None:
        """A problem that does not change the outcome: an annotation (a stderr line elsewhere)."""
        self.runner.annotate("warning", message, title=title)

    def hide(self, secret: str) -> None:
        """Treat ``secret`` like a token from now on: redacted here, masked by the runner."""
        self.redact.add(secret)
        self.runner.mask(secret)

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A collapsible log group in Actions, a heading line elsewhere."""
        with self.runner.group(title):
            yield

    def emit_json(self, data: object) -> None:
        """The ``--json`` document on stdout, redacted (compact: the C encoder does the work)."""
        click.echo(self.redact(json.dumps(data)))

    def finish(self, outcome: Outcome, *, summary: str = "", lines: Iterable[str] = ()) -> None:
        """Render an outcome: its action outputs, the job summary, then ``--json`` or the human
        lines; a failed outcome then raises its error (printed once, by the error path)."""
        lost: BadInput | None = None
        try:
            self.runner.set_outputs(outcome.outputs())
        except BadInput as exc:  # said after the outcome: a failed deploy's own error comes first
            lost = exc
        if summary:
            self.runner.add_summary(summary)
        if self.as_json:
            self.emit_json(outcome.data())
        else:
            with self.runner.untrusted():
                for line in lines:
                    self.say(line)
        if outcome.failure is not None:
            if lost is not None:
                self.runner.annotate("warning", str(lost), title="Step outputs")
            raise outcome.failure
        if lost is not None:
            raise lost

    def report_error(self, exc: TerpError) -> None:
        """The one line (and hint) an error gets, through the redactor that saw every secret."""
        message = _readable(self.redact(str(exc)))
        if exc.hint:
            message += f"\nhint: {_readable(self.redact(exc.hint))}"
        self.runner.annotate("error", message, title=exc.title)

    # --- configuration ------------------------------------------------------------------------------

    def config(self, config_path: Path | None, repo: Path) -> Config:
        """The configuration: ``--config`` (which must exist), else the repository's file or defaults."""
        from terp_actions import config as configmod

        if config_path is not None:
            config = configmod.load(config_path, required=True)
        else:
            config = configmod.load(repo / configmod.DEFAULT_PATH)
        for name in config.secrets:  # the team's own secret names, hidden from here on
            if self.environ.get(name, "").strip():
                self.hide(self.environ[name])
        self._rate_limit_budget = config.github.rate_limit_budget
        if self._github is not None:
            self._github.rate_limit_budget = self._rate_limit_budget
        return config

    def rules(
        self, config_path: Path | None, repo: Path, ignore: Sequence[str], config: Config | None = None
    ) -> IgnoreRules:
        """``--ignore`` when given, else the configured ignore rules. A pattern GitHub accepts but
        that can never match a changed file is a warning naming it and the fix."""
        from terp_actions.paths import IgnoreRules

        if ignore:
            rules, where = IgnoreRules(ignore, where="--ignore"), "--ignore"
        else:
            config = config or self.config(config_path, repo)
            rules, where = config.rules(), f"{config.source}: ignore"
        for pattern in rules.patterns:
            if pattern.never:
                self.warn(
                    f"{where}: {pattern.source!r} can never match a changed file: {pattern.never}",
                    "Ignore pattern matches nothing",
                )
        return rules

    def with_smoke_headers(self, config: Config) -> Config:
        """The configuration with ``verify.smoke`` headers' ``${NAME}`` placeholders filled from
        the environment; each filled value is a secret from here on (redacted and masked). A
        missing variable is bad input naming the check and the variable."""
        import dataclasses

        from terp_actions.spec import fill_placeholders

        filled = []
        for index, check in enumerate(config.verify.smoke):
            where = f"{config.source}: verify.smoke[{index}].headers"
            result = fill_placeholders(dict(check.headers), self.environ, where=where)
            for secret in result.secrets:
                self.hide(secret)
            filled.append(dataclasses.replace(check, headers=result.spec))
        return dataclasses.replace(config, verify=dataclasses.replace(config.verify, smoke=tuple(filled)))

    def freeze(self, *, override: bool, reason: str) -> Freeze:
        """The deploy freeze for this run: ``TERP_FREEZE`` (the workflows pass the repository
        variable), and ``--override-freeze --reason``."""
        from terp_actions.freeze import freeze_from

        return freeze_from(self.environ.get("TERP_FREEZE", ""), override=override, reason=reason)

    @staticmethod
    def environment(config: Config, env: str) -> Environment:
        """The configured environment ``env``, or bad input naming the ones there are."""
        environment = config.environments.get(env)
        if environment is None:
            known = ", ".join(sorted(config.environments)) or "none"
            raise BadInput(
                f"{config.source}: environment {env!r} is not configured (environments: {known}); "
                f"add environments.{env}.app and .url"
            )
        return environment

    def expected_commit(self, git: Git, sha: str | None, remote: str, config: Config, env: str) -> str:
        """The commit that must be live: ``--sha``, else the tip of the environment's branch."""
        from terp_actions import git as gitmod

        wanted = sha or f"{remote}/{config.branch_for(env)}"
        head = gitmod.resolve_commit(git, wanted, what="--sha")
        if head is None:
            raise BadInput(f"--sha {wanted!r} does not name a commit in {git.repo} (fetch it first)")
        return head

    def prepare_spec(
        self, config: Config, env: str, file: Path | None, repo: Path, *, require_values: bool = True
    ) -> FilledSpec:
        """Read, fill and check the spec for ``env``; its filled values are secrets from now on."""
        from terp_actions.digitalocean import is_app_id
        from terp_actions.spec import prepare_spec

        environment = config.environments.get(env) if env else None
        if file is None:
            if environment is None or not environment.spec:
                raise BadInput(f"no spec file: give FILE, or set environments.{env or '<env>'}.spec")
            file = repo / environment.spec
        app_name = environment.app if environment and not is_app_id(environment.app) else ""
        branch = config.branch_for(env) if env else ""
        return prepare_spec(
            file, self.environ, app_name=app_name, branch=branch, on_secret=self.hide,
            require_values=require_values,
        )  # fmt: skip

    # --- the outside world ---------------------------------------------------------------------------

    @property
    def repository(self) -> str:
        """``owner/name`` as the runner sets it (empty outside Actions unless set by hand)."""
        return self.environ.get("GITHUB_REPOSITORY", "")

    @property
    def repo_url(self) -> str:
        """The repository's web address, for links in comments."""
        server = self.environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        return f"{server}/{self.repository}" if self.repository else ""

    @property
    def log_url(self) -> str:
        """The Actions run's address (a Deployment's log link), when running in Actions."""
        run_id = self.environ.get("GITHUB_RUN_ID", "")
        return f"{self.repo_url}/actions/runs/{run_id}" if self.repo_url and run_id else ""

    @property
    def has_github(self) -> bool:
        """True when GITHUB_TOKEN and GITHUB_REPOSITORY are both set."""
        return bool(self.environ.get("GITHUB_TOKEN") and self.repository)

    def github(self) -> GitHubApi:
        """The GitHub client (built once). Write throttling, GitHub's advice against secondary rate
        limits, stays on unless TERP_GITHUB_THROTTLE is 0 (the sandbox)."""
        if self._github is None:
            from terp_actions.github import GitHubApi  # 200+ ms: only when used

            if not self.has_github:
                raise BadInput("GITHUB_TOKEN and GITHUB_REPOSITORY must be set to reach GitHub")
            api_url = self.environ.get("GITHUB_API_URL") or "https://api.github.com"
            _check_api_url("GITHUB_API_URL", api_url)
            if "/" not in self.repository.strip("/") or len(self.repository) > 200:
                raise BadInput(f"GITHUB_REPOSITORY {self.repository[:200]!r} is not owner/name")
            self._github = GitHubApi(
                self.environ["GITHUB_TOKEN"],
                self.repository,
                api_url,
                throttle=self.environ.get("TERP_GITHUB_THROTTLE", "1") != "0",
                rate_limit_budget=self._rate_limit_budget,
            )
        return self._github

    def github_or_none(self) -> GitHubApi | None:
        """The GitHub client when the environment allows one, else None."""
        return self.github() if self.has_github else None

    def platform(self) -> AppPlatform:
        """The App Platform client (built once); the token comes from DIGITALOCEAN_TOKEN."""
        if self._platform is None:
            from terp_actions.digitalocean import DEFAULT_ENDPOINT, AppPlatform

            token = self.environ.get("DIGITALOCEAN_TOKEN", "").strip()
            if not token:
                raise BadInput(
                    "DIGITALOCEAN_TOKEN is not set (or empty): App Platform cannot be reached without it"
                )
            # Redacted from all our output. Not echoed in ::add-mask::: a token from a secret is
            # masked by the runner already, and the command would put it on stdout.
            self.redact.add(token)
            endpoint = self.environ.get("TERP_DO_ENDPOINT") or DEFAULT_ENDPOINT
            _check_api_url("TERP_DO_ENDPOINT", endpoint)
            self._platform = AppPlatform(token, endpoint)
        return self._platform

    def git(self, repo: Path, *, remote: str | None = None) -> Git:
        """The repository at ``repo``; with ``remote``, git sends GITHUB_TOKEN to that remote's
        server (through the environment only), and the encoded header is hidden like the token."""
        from terp_actions import git as gitmod

        git = gitmod.open_repo(repo)
        if not self._named_repository and not self.as_json:
            # The first line of people's output: which repository a command read is never a
            # guess, wherever it was run from (errors stay one line on stderr; --json is the document).
            self._named_repository = True
            self.say(f"repository: {Path(git.repo).resolve()}")
        if remote is None:
            return git
        url = gitmod.remote_url(git, remote)
        auth = gitmod.auth_env(
            url,
            self.environ.get("GITHUB_TOKEN", ""),
            self.environ.get("GITHUB_SERVER_URL", "https://github.com"),
            self.environ,
        )
        for value in auth.values():
            if value.startswith(_AUTH_PREFIX):
                self.hide(value.removeprefix(_AUTH_PREFIX))
        return gitmod.Git(git.repo, auth)


_LONG_RUN: Final = re.compile(r"\S{201,}")


def _readable(text: str) -> str:
    """An error line people can read: a value echoed in it that runs past 200 characters without a
    space (a 100 KB branch name) is cut, after redaction, to its start and its length."""
    return _LONG_RUN.sub(lambda m: f"{m[0][:80]}…({len(m[0])} characters)", text)


def _check_api_url(name: str, url: str) -> None:
    """An API base URL must be https (plain http only on loopback, for the sandbox)."""
    from urllib.parse import urlsplit

    from terp_actions.digitalocean import is_loopback

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        parts = None
    if (
        parts is None
        or not parts.hostname
        or not (parts.scheme == "https" or (parts.scheme == "http" and is_loopback(url)))
    ):
        raise BadInput(f"{name} {url[:200]!r} is not an https URL (plain http only on a loopback address)")
