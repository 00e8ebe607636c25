"""The only module that talks to the GitHub API (PyGithub), pinned to API version 2022-11-28.

PyGithub is imported only when a client is built. Its own retries are off (``retry=None``): reads
are retried here on transport errors, 429 and 5xx and on rate-limit answers, honouring
``Retry-After`` and ``x-ratelimit-reset``; writes are not retried. Write throttling (GitHub's
advice against secondary rate limits) stays on unless the caller turns it off (tests do).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol, TypeVar

from terp_actions.backoff import RetryPolicy, retrying
from terp_actions.errors import GitHubError, RateLimited
from terp_actions.redact import Redactor

API_VERSION: Final = "2022-11-28"
DEFAULT_API_URL: Final = "https://api.github.com"
DEFAULT_RATE_LIMIT_BUDGET: Final = 300.0
DEPLOYMENTS_LIMIT: Final = 30  # Deployments read at most per question (the newest are the ones asked about)
SECONDARY_WAIT: Final = 60.0  # GitHub: without retry-after, wait at least one minute
T = TypeVar("T")


@dataclass(frozen=True)
class PullInfo:
    """What we use of a pull request."""

    number: int
    title: str
    state: str
    head: str
    base: str
    url: str
    # Merged or not, from `merged_at`: API version 2026-03-10 drops `merge_commit_sha`, so nothing
    # here relies on it (merge commits come from the synced range's subjects).
    merged: bool


@dataclass(frozen=True)
class CommentInfo:
    """An issue comment: its id, body and author login."""

    id: int
    body: str
    author: str


@dataclass(frozen=True)
class DeploymentInfo:
    """A GitHub Deployment."""

    id: int
    sha: str
    ref: str
    environment: str
    payload: Any


@dataclass(frozen=True)
class StatusInfo:
    """A deployment status."""

    id: int
    state: str
    description: str
    environment_url: str
    log_url: str
    created_at: str = ""
    creator: str = ""


class GitHubClient(Protocol):
    """The GitHub operations the flows use (``GitHubApi`` is the real one; tests may wire others)."""

    def pulls_for_commit(self, sha: str) -> list[PullInfo]: ...
    def open_pulls(self, *, head: str, base: str) -> list[PullInfo]: ...
    def get_pull(self, number: int) -> PullInfo: ...
    def create_pull(self, *, title: str, head: str, base: str, body: str) -> PullInfo: ...
    def update_pull(self, number: int, *, title: str, body: str) -> PullInfo: ...
    def comments(self, number: int) -> list[CommentInfo]: ...
    def create_comment(self, number: int, body: str) -> CommentInfo: ...
    def update_comment(self, comment_id: int, body: str) -> CommentInfo: ...
    def get_comment(self, comment_id: int) -> CommentInfo: ...
    def create_deployment(
        self,
        *,
        ref: str,
        environment: str,
        description: str,
        payload: Mapping[str, Any] | None = None,
        production: bool = False,
    ) -> DeploymentInfo: ...
    def create_status(
        self,
        deployment_id: int,
        state: str,
        *,
        description: str = "",
        log_url: str = "",
        environment_url: str = "",
        auto_inactive: bool = True,
    ) -> StatusInfo: ...
    def deployments(
        self, environment: str, *, sha: str | None = None, limit: int = DEPLOYMENTS_LIMIT
    ) -> list[DeploymentInfo]: ...
    def statuses(self, deployment_id: int) -> list[StatusInfo]: ...
    def compare(self, base: str, head: str) -> dict[str, Any]: ...


class GitHubApi:
    """GitHub operations on one repository, raising only our errors."""

    def __init__(
        self,
        token: str,
        repository: str,
        api_url: str = DEFAULT_API_URL,
        *,
        timeout: float = 30.0,
        throttle: bool = True,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rate_limit_budget: float = DEFAULT_RATE_LIMIT_BUDGET,
    ) -> None:
        from github import Auth, Github  # noqa: PLC0415 - 200+ ms to import: only where GitHub is called

        if repository.count("/") != 1 or not all(repository.split("/")):
            raise GitHubError(f"repository {repository!r} must be owner/name")
        self._github = Github(
            base_url=api_url.rstrip("/"),
            auth=Auth.Token(token),
            timeout=int(timeout),
            retry=None,
            lazy=True,
            api_version=API_VERSION,
            seconds_between_requests=0.0 if not throttle else 0.25,
            seconds_between_writes=0.0 if not throttle else 1.0,
            per_page=100,
        )
        self.repository = repository
        self._repo = self._github.get_repo(repository)
        self._api = f"{api_url.rstrip('/')}/repos/{repository}"
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._redact = Redactor([token])
        # One run's patience with GitHub's rate limits: every wait they ask for comes out of it.
        self.rate_limit_budget = rate_limit_budget
        self.rate_limit_waited = 0.0

    # --- plumbing ---------------------------------------------------------------------------

    def _call(self, what: str, fn: Callable[[], T], *, write: bool = False) -> T:
        from github import GithubException  # noqa: PLC0415
        from requests.exceptions import RequestException  # noqa: PLC0415

        try:
            return fn()
        except GithubException as exc:
            status = exc.status
            headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
            message = exc.data.get("message") if isinstance(exc.data, Mapping) else None
            text = self._redact(f"{what}: {status} {message or 'error'}")[:300]
            wait = _rate_limit_wait(status, headers, str(message or ""))
            if wait is not None:
                # A request refused by a rate limit was not processed: even a write may be repeated.
                raise _Limited(text, status=status, retry_after=wait) from None
            retryable = not write and (status == 429 or status >= 500)
            raise GitHubError(
                text, status=status, retryable=retryable, retry_after=_github_retry_after(headers)
            ) from None
        except RequestException as exc:
            raise GitHubError(f"{what}: no answer ({type(exc).__name__})", retryable=not write) from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # A body that is not the JSON GitHub sends (truncated, an HTML error page): PyGithub
            # fails while parsing it. For a write, the change may have happened (status unknown).
            raise GitHubError(
                f"{what}: unreadable answer ({type(exc).__name__})", retryable=not write
            ) from None

    def _limited(self, what: str, fn: Callable[[], T], *, write: bool = False) -> T:
        """``_call``, waiting out rate limits exactly as long as GitHub asks, out of the run's
        budget; a wait the budget cannot cover raises RateLimited naming when to rerun."""
        while True:
            try:
                return self._call(what, fn, write=write)
            except _Limited as exc:
                wait = exc.retry_after or SECONDARY_WAIT
                left = self.rate_limit_budget - self.rate_limit_waited
                if wait > left:
                    when = time.strftime("%H:%M:%S UTC", time.gmtime(time.time() + wait))
                    raise RateLimited(
                        f"{exc}: GitHub's rate limit asks for {wait:.0f} s, more than this run has left "
                        f"({max(left, 0):.0f} of github.rate_limit_budget {self.rate_limit_budget:.0f} s)",
                        status=exc.status,
                        hint=f"rerun the job after {when}; nothing after this request was written",
                    ) from None
                self.rate_limit_waited += wait
                self._sleep(wait)

    def _read(self, what: str, fn: Callable[[], T]) -> T:
        return retrying(lambda: self._limited(what, fn), self._policy, sleep=self._sleep)

    def _write(self, what: str, fn: Callable[[], T]) -> T:
        """A write: repeated only after a rate limit refused it (then it was not processed)."""
        return self._limited(what, fn, write=True)

    def _raw(self, verb: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """A request PyGithub has no method for (or would send to a lazy, wrong URL)."""
        requester = self._github.requester
        _, data = requester.requestJsonAndCheck(
            verb, f"{self._api}{path}", input=dict(body) if body else None
        )
        return data

    # --- pull requests and comments ------------------------------------------------------------

    def pulls_for_commit(self, sha: str) -> list[PullInfo]:
        """Pull requests associated with a commit (merged through it, or whose head it is)."""
        return self._read(
            "list pull requests of commit", lambda: [_pull(p) for p in self._repo.get_commit(sha).get_pulls()]
        )

    def open_pulls(self, *, head: str, base: str) -> list[PullInfo]:
        """Open pull requests from ``head`` (a branch) into ``base``."""
        owner = self.repository.split("/")[0]
        return self._read(
            "list pull requests",
            lambda: [_pull(p) for p in self._repo.get_pulls(state="open", head=f"{owner}:{head}", base=base)],
        )

    def get_pull(self, number: int) -> PullInfo:
        """One pull request."""
        return self._read("get pull request", lambda: _pull(self._repo.get_pull(number)))

    def create_pull(self, *, title: str, head: str, base: str, body: str) -> PullInfo:
        """Open a pull request."""
        return self._write(
            "create pull request",
            lambda: _pull(self._repo.create_pull(title=title, head=head, base=base, body=body)),
        )

    def update_pull(self, number: int, *, title: str, body: str) -> PullInfo:
        """Change a pull request's title and body."""
        return self._write(
            "update pull request",
            lambda: _pull_from_json(self._raw("PATCH", f"/pulls/{number}", {"title": title, "body": body})),
        )

    def comments(self, number: int) -> list[CommentInfo]:
        """Every comment on issue or pull request ``number`` (all pages)."""
        return self._read(
            "list comments",
            lambda: [
                CommentInfo(c.id, c.body, c.user.login) for c in self._repo.get_issue(number).get_comments()
            ],
        )

    def create_comment(self, number: int, body: str) -> CommentInfo:
        """Post a comment. A lost answer is not retried here: the caller looks first."""

        def create() -> CommentInfo:
            c = self._repo.get_issue(number).create_comment(body)
            return CommentInfo(c.id, c.body, c.user.login)

        return self._write("create comment", create)

    def update_comment(self, comment_id: int, body: str) -> CommentInfo:
        """Edit a comment in place (repeating the same edit is harmless)."""

        def update() -> CommentInfo:
            data = self._raw("PATCH", f"/issues/comments/{comment_id}", {"body": body})
            return CommentInfo(int(data["id"]), data.get("body") or "", data["user"]["login"])

        return self._read("update comment", update)

    def get_comment(self, comment_id: int) -> CommentInfo:
        """One comment, as it is now."""

        def get() -> CommentInfo:
            data = self._raw("GET", f"/issues/comments/{comment_id}")
            return CommentInfo(int(data["id"]), data.get("body") or "", data["user"]["login"])

        return self._read("get comment", get)

    # --- deployments -------------------------------------------------------------------------------

    def create_deployment(
        self,
        *,
        ref: str,
        environment: str,
        description: str,
        payload: Mapping[str, Any] | None = None,
        production: bool = False,
    ) -> DeploymentInfo:
        """A Deployment for ``ref`` in ``environment`` (no auto-merge, no required contexts)."""

        def create() -> DeploymentInfo:
            d = self._repo.create_deployment(
                ref=ref,
                environment=environment,
                description=description[:140],
                auto_merge=False,
                required_contexts=[],
                payload=dict(payload or {}),
                production_environment=production,
                transient_environment=False,
            )
            return DeploymentInfo(d.id, d.sha, d.ref, d.environment, d.payload)

        return self._write("create deployment", create)

    def create_status(
        self,
        deployment_id: int,
        state: str,
        *,
        description: str = "",
        log_url: str = "",
        environment_url: str = "",
        auto_inactive: bool = True,
    ) -> StatusInfo:
        """Add a status (``in_progress``, ``success``, ``failure``, ``inactive`` …) to a deployment."""
        body = {"state": state, "description": description[:140], "auto_inactive": auto_inactive}
        if log_url:
            body["log_url"] = log_url
        if environment_url:
            body["environment_url"] = environment_url
        return self._write(
            "create deployment status",
            lambda: _status(self._raw("POST", f"/deployments/{deployment_id}/statuses", body)),
        )

    def deployments(
        self, environment: str, *, sha: str | None = None, limit: int = DEPLOYMENTS_LIMIT
    ) -> list[DeploymentInfo]:
        """The newest ``limit`` Deployments of ``environment`` (optionally only those of ``sha``),
        newest first. Pages are read only until ``limit`` are in hand: a long history costs no
        more requests than a short one."""
        kwargs: dict[str, Any] = {"environment": environment}
        if sha:
            kwargs["sha"] = sha

        def first() -> list[DeploymentInfo]:
            found = []
            for d in self._repo.get_deployments(**kwargs):  # a lazy list: one page per 100
                found.append(DeploymentInfo(d.id, d.sha, d.ref, d.environment, d.payload))
                if len(found) >= limit:
                    break
            return found

        return self._read("list deployments", first)

    def statuses(self, deployment_id: int) -> list[StatusInfo]:
        """A deployment's statuses, newest first."""
        return self._read(
            "list deployment statuses",
            lambda: [
                _status(s) for s in self._raw("GET", f"/deployments/{deployment_id}/statuses?per_page=100")
            ],
        )

    # --- refs ----------------------------------------------------------------------------------------

    def branch_sha(self, branch: str) -> str:
        """The commit a branch points at."""
        return str(
            self._read("get branch", lambda: self._raw("GET", f"/git/ref/heads/{branch}")["object"]["sha"])
        )

    def compare(self, base: str, head: str) -> dict[str, Any]:
        """GitHub's comparison of two commits: status, ahead_by, behind_by, files (≤ 300)."""
        return dict(self._read("compare", lambda: self._raw("GET", f"/compare/{base}...{head}")))


def _pull(p: Any) -> PullInfo:
    return PullInfo(p.number, p.title, p.state, p.head.ref, p.base.ref, p.html_url, p.merged_at is not None)


def _pull_from_json(data: Mapping[str, Any]) -> PullInfo:
    return PullInfo(
        int(data["number"]),
        data["title"],
        data["state"],
        data["head"]["ref"],
        data["base"]["ref"],
        data["html_url"],
        data.get("merged_at") is not None,
    )


def _status(data: Mapping[str, Any]) -> StatusInfo:
    return StatusInfo(
        int(data["id"]),
        data["state"],
        data.get("description") or "",
        data.get("environment_url") or "",
        data.get("log_url") or data.get("target_url") or "",
        str(data.get("created_at") or ""),
        str((data.get("creator") or {}).get("login") or ""),
    )


class _Limited(GitHubError):
    """A request a rate limit refused (unprocessed); ``retry_after`` is how long GitHub asks."""


def _rate_limit_wait(status: int, headers: Mapping[str, str], message: str) -> float | None:
    """How long a rate-limit answer asks us to wait, or None when the answer is not one. GitHub's
    REST documentation: a primary limit is 403/429 with x-ratelimit-remaining 0 (wait until
    x-ratelimit-reset); a secondary limit is 403/429 with a message and maybe retry-after (honour
    it; without it, at least a minute)."""
    if status not in (403, 429):
        return None
    if "retry-after" in headers:
        try:
            return max(0.0, float(headers["retry-after"]))
        except ValueError:
            return SECONDARY_WAIT
    if headers.get("x-ratelimit-remaining") == "0":
        reset = _github_retry_after(headers)
        return reset if reset is not None else SECONDARY_WAIT
    if status == 429 or "rate limit" in message.lower():
        return SECONDARY_WAIT
    return None


def _github_retry_after(headers: Mapping[str, str]) -> float | None:
    if "retry-after" in headers:
        try:
            return float(headers["retry-after"])
        except ValueError:
            return None
    if headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
        try:
            return max(0.0, float(headers["x-ratelimit-reset"]) - time.time())
        except ValueError:
            return None
    return None
