"""A stand-in for the GitHub REST API (2022-11-28) over one repository backed by a real bare git
repository: refs, branches, compare and merges are real git; pull requests, issue comments and
deployments with statuses are kept in memory. URLs in answers point at the stand-in itself.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from terp_actions.git import Git
from terp_actions.sandbox.http import Fault, Request, Response, StandIn

API_VERSION = "2022-11-28"
# A later API version whose pull requests no longer carry merge_commit_sha: served so a client
# that still relies on the field fails here (the contract describes 2022-11-28 only).
NEXT_API_VERSION = "2026-03-10"
BOT_LOGIN = "github-actions[bot]"


def primary_rate_limit(operation: str, calls: frozenset[int] = frozenset()) -> Fault:
    """GitHub's answer when the hourly limit is spent: 403, remaining 0, a reset time."""
    reset = str(int(time.time()) + 60)
    return Fault(operation, "status", calls, 403, message="API rate limit exceeded for installation.",
                 headers=(("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", reset)))  # fmt: skip


SECONDARY_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)


def secondary_rate_limit(
    operation: str, retry_after: float | None = 1, calls: frozenset[int] = frozenset(), status: int = 403
) -> Fault:
    """GitHub's answer to a burst of requests: 403 or 429, with or without ``retry-after``
    (GitHub's REST documentation on secondary rate limits)."""
    return Fault(operation, "status", calls, status, retry_after=retry_after, message=SECONDARY_LIMIT_MESSAGE)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class PullRequest:
    """A pull request as the stand-in keeps it."""

    number: int
    title: str
    head: str
    base: str
    user: str
    body: str = ""
    state: str = "open"
    head_sha: str = ""
    merge_commit_sha: str | None = None
    merged: bool = False
    created: float = 0.0
    updated: float = 0.0
    # A rebase merge's commits: GitHub links them to the PR only through commits/{sha}/pulls.
    commits: tuple[str, ...] = ()


@dataclass
class Comment:
    """An issue comment."""

    id: int
    issue: int
    body: str
    user: str
    created: float
    updated: float


@dataclass
class Deployment:
    """A GitHub Deployment and its statuses (oldest first)."""

    id: int
    sha: str
    ref: str
    environment: str
    task: str
    description: str
    creator: str
    payload: Any
    created: float
    transient: bool = False
    production: bool = False
    statuses: list[dict[str, Any]] = field(default_factory=list)


class GitHubStandIn(StandIn):
    """The GitHub REST API on 127.0.0.1 for ``owner/name``, following ``github-rest.openapi.json``."""

    name = "github-stand-in"

    def __init__(
        self,
        repo_path: Path,
        full_name: str = "terp/terp",
        tokens: dict[str, str] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__()
        self.git = Git(repo_path)
        self.full_name = full_name
        self.tokens = tokens if tokens is not None else {"ghs_sandbox": BOT_LOGIN}
        self.clock = clock or time.time
        self.pulls: dict[int, PullRequest] = {}
        self.comments: dict[int, Comment] = {}
        self.deployments: dict[int, Deployment] = {}
        self.numbers = itertools.count(1)
        self.ids = itertools.count(1001)
        self.remaining = 1000
        self.pulls_visible_after = 0  # calls of commits/{sha}/pulls that see nothing (indexing lag)
        r = self.add_route
        base = "/repos/{owner}/{repo}"
        r("GET", base, "repos/get", self._repo)
        r("GET", base + "/branches/{branch}", "repos/get-branch", self._branch)
        r(
            "GET",
            base + "/commits/{commit_sha}/pulls",
            "repos/list-pull-requests-associated-with-commit",
            self._commit_pulls,
        )
        r("GET", base + "/compare/{basehead}", "repos/compare-commits", self._compare)
        r("GET", base + "/deployments", "repos/list-deployments", self._list_deployments)
        r("POST", base + "/deployments", "repos/create-deployment", self._create_deployment)
        r(
            "GET",
            base + "/deployments/{deployment_id}/statuses",
            "repos/list-deployment-statuses",
            self._list_statuses,
        )
        r(
            "POST",
            base + "/deployments/{deployment_id}/statuses",
            "repos/create-deployment-status",
            self._create_status,
        )
        r("GET", base + "/git/ref/{ref}", "git/get-ref", self._get_ref)
        r("POST", base + "/git/refs", "git/create-ref", self._create_ref)
        r("PATCH", base + "/git/refs/{ref}", "git/update-ref", self._update_ref)
        r("GET", base + "/issues/comments/{comment_id}", "issues/get-comment", self._get_comment)
        r("PATCH", base + "/issues/comments/{comment_id}", "issues/update-comment", self._update_comment)
        r("GET", base + "/issues/{issue_number}/comments", "issues/list-comments", self._list_comments)
        r("POST", base + "/issues/{issue_number}/comments", "issues/create-comment", self._create_comment)
        r("POST", base + "/merges", "repos/merge", self._merge)
        r("GET", base + "/pulls", "pulls/list", self._list_pulls)
        r("POST", base + "/pulls", "pulls/create", self._create_pull)
        r("GET", base + "/pulls/{pull_number}", "pulls/get", self._get_pull)
        r("PATCH", base + "/pulls/{pull_number}", "pulls/update", self._update_pull)

    # --- setup helpers ------------------------------------------------------------------------

    def add_pull(self, title: str, head: str, base: str = "main", *, user: str = "octocat", merged_sha: str | None = None,
                 head_sha: str = "", number: int | None = None, commits: tuple[str, ...] = ()) -> PullRequest:  # fmt: skip
        """Record a pull request (merged when ``merged_sha`` is given; a rebase merge's
        ``commits`` are its commits as they landed on the base branch)."""
        with self.lock:
            now = self.clock()
            n = number if number is not None else next(self.numbers)
            pr = PullRequest(n, title, head, base, user, head_sha=head_sha, created=now, updated=now,
                             commits=commits)  # fmt: skip
            if merged_sha:
                pr.state, pr.merged, pr.merge_commit_sha = "closed", True, merged_sha
            self.pulls[n] = pr
            return pr

    # --- plumbing -----------------------------------------------------------------------------

    @property
    def api(self) -> str:
        return f"{self.url}/repos/{self.full_name}"

    def _user(self, login: str) -> dict[str, Any]:
        user_id = 41898282 if login == BOT_LOGIN else 1000 + sum(map(ord, login))
        api = f"{self.url}/users/{login}"
        return {"login": login, "id": user_id, "node_id": f"U_{user_id}", "type": "Bot" if login.endswith("[bot]") else "User",
                "site_admin": False, "url": api, "html_url": f"{self.url}/{login}",
                "avatar_url": f"{self.url}/avatars/{user_id}", "gravatar_id": "",
                "followers_url": f"{api}/followers", "following_url": f"{api}/following{{/other_user}}",
                "gists_url": f"{api}/gists{{/gist_id}}", "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
                "subscriptions_url": f"{api}/subscriptions", "organizations_url": f"{api}/orgs",
                "repos_url": f"{api}/repos", "events_url": f"{api}/events{{/privacy}}",
                "received_events_url": f"{api}/received_events"}  # fmt: skip

    def authenticate(self, request: Request) -> Response | None:
        auth = request.headers.get("authorization", "")
        token = auth.split(" ", 1)[1] if " " in auth else ""
        if token not in self.tokens:
            return Response(
                401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
            )
        version = request.headers.get("x-github-api-version")
        if version is not None and version not in (API_VERSION, NEXT_API_VERSION):
            return Response(400, {"message": f"API version '{version}' is not supported.",
                                  "documentation_url": "https://docs.github.com/rest/overview/api-versions"})  # fmt: skip
        if request.params.get("owner", "") + "/" + request.params.get("repo", "") != self.full_name:
            return Response(404, {"message": "Not Found"})
        return None

    def login_of(self, request: Request) -> str:
        auth = request.headers.get("authorization", "")
        return self.tokens.get(auth.split(" ", 1)[1] if " " in auth else "", "ghost")

    def decorate(self, request: Request, response: Response) -> None:
        with self.lock:
            self.remaining = max(0, self.remaining - 1)
            remaining = self.remaining
        response.headers.setdefault("x-ratelimit-limit", "1000")
        response.headers.setdefault("x-ratelimit-remaining", str(remaining))
        response.headers.setdefault("x-ratelimit-used", str(1000 - remaining))
        response.headers.setdefault("x-ratelimit-reset", str(int(time.time()) + 3600))
        response.headers.setdefault("x-ratelimit-resource", "core")
        response.headers.setdefault("x-github-api-version-selected", API_VERSION)

    def error_body(self, status: int, message: str) -> Any:
        if status == 403 and message == "injected failure":
            # What a fork's token (or a missing permission) gets; rate limits carry their own words.
            message = "Resource not accessible by integration"
        return {"message": message, "documentation_url": "https://docs.github.com/rest"}

    def _sha(self, rev: str) -> str | None:
        proc = self.git.run(
            ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"], check=False
        )
        return proc.stdout.decode().strip() if proc.returncode == 0 else None

    def _commit(self, sha: str) -> dict[str, Any]:
        fmt = "%H%x00%P%x00%T%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B"
        fields = (
            self.git.run(["show", "-s", f"--format={fmt}", sha, "--"])
            .stdout.decode("utf-8", "replace")
            .split("\0")
        )
        full, parents, tree, an, ae, ad, cn, ce, cd, message = fields[:10]
        return {
            "sha": full, "node_id": f"C_{full[:12]}", "url": f"{self.api}/commits/{full}",
            "html_url": f"{self.url}/{self.full_name}/commit/{full}", "comments_url": f"{self.api}/commits/{full}/comments",
            "commit": {"url": f"{self.api}/git/commits/{full}", "message": message.rstrip("\n"),
                       "author": {"name": an, "email": ae, "date": ad}, "committer": {"name": cn, "email": ce, "date": cd},
                       "tree": {"sha": tree, "url": f"{self.api}/git/trees/{tree}"}, "comment_count": 0},
            "author": {}, "committer": {},
            "parents": [{"sha": p, "url": f"{self.api}/commits/{p}", "html_url": f"{self.url}/{self.full_name}/commit/{p}"}
                        for p in parents.split()],
        }  # fmt: skip

    # --- repository, branches, refs -------------------------------------------------------------

    def _repo_core(self) -> dict[str, Any]:
        owner, name = self.full_name.split("/")
        return {
            "id": 4242, "node_id": "R_4242", "name": name, "full_name": self.full_name, "private": True,
            "owner": self._user(owner), "html_url": f"{self.url}/{self.full_name}", "url": self.api,
            "default_branch": "main", "clone_url": f"{self.url}/{self.full_name}.git",
            "deployments_url": f"{self.api}/deployments", "pulls_url": f"{self.api}/pulls{{/number}}",
        }  # fmt: skip

    def _repo(self, request: Request) -> Response:
        return Response(200, self._repo_core())

    def _branch(self, request: Request) -> Response:
        name = request.params["branch"]
        sha = self._sha(f"refs/heads/{name}")
        if sha is None:
            return Response(404, {"message": "Branch not found"})
        return Response(200, {"name": name, "commit": self._commit(sha), "protected": False,
                              "protection_url": f"{self.api}/branches/{name}/protection",
                              "_links": {"self": f"{self.api}/branches/{name}", "html": f"{self.url}/{self.full_name}/tree/{name}"},
                              "protection": {"enabled": False, "required_status_checks": {"enforcement_level": "off", "contexts": []}}})  # fmt: skip

    def _ref_json(self, ref: str, sha: str) -> dict[str, Any]:
        return {"ref": ref, "node_id": f"REF_{sha[:8]}", "url": f"{self.api}/git/{ref}",
                "object": {"type": "commit", "sha": sha, "url": f"{self.api}/git/commits/{sha}"}}  # fmt: skip

    def _get_ref(self, request: Request) -> Response:
        ref = "refs/" + request.params["ref"]
        sha = self._sha(ref)
        if sha is None:
            return Response(404, {"message": "Not Found"})
        return Response(200, self._ref_json(ref, sha))

    def _create_ref(self, request: Request) -> Response:
        body = request.json() or {}
        ref, sha = body.get("ref", ""), body.get("sha", "")
        if not ref.startswith("refs/") or ref.count("/") < 2:
            return Response(
                422, {"message": "Reference name must start with 'refs/' and have at least two slashes"}
            )
        if self._sha(sha) is None:
            return Response(422, {"message": "Object does not exist"})
        with self.lock:
            if self._sha(ref) is not None:
                return Response(422, {"message": "Reference already exists"})
            self.git.run(["update-ref", ref, sha, "0" * 40])
        return Response(201, self._ref_json(ref, sha), {"Location": f"{self.api}/git/{ref}"})

    def _update_ref(self, request: Request) -> Response:
        ref = "refs/" + request.params["ref"]
        body = request.json() or {}
        new = self._sha(body.get("sha", ""))
        if new is None:
            return Response(422, {"message": "Object does not exist"})
        with self.lock:
            old = self._sha(ref)
            if old is None:
                return Response(422, {"message": "Reference does not exist"})
            is_ff = self.git.run(["merge-base", "--is-ancestor", old, new], check=False).returncode == 0
            if not is_ff and not body.get("force"):
                return Response(422, {"message": "Update is not a fast forward"})
            self.git.run(["update-ref", ref, new, old])
        return Response(200, self._ref_json(ref, new))

    def _compare(self, request: Request) -> Response:
        base_rev, sep, head_rev = request.params["basehead"].partition("...")
        base, head = self._sha(base_rev), self._sha(head_rev) if sep else None
        if base is None or head is None:
            return Response(404, {"message": "Not Found"})
        merge_base = self.git.text(["merge-base", base, head])
        ahead = int(self.git.text(["rev-list", "--count", f"{base}..{head}"]))
        behind = int(self.git.text(["rev-list", "--count", f"{head}..{base}"]))
        status = (
            "identical"
            if ahead == behind == 0
            else "ahead"
            if behind == 0
            else "behind"
            if ahead == 0
            else "diverged"
        )
        shas = self.git.text(["rev-list", "--reverse", "--max-count=250", f"{base}..{head}"]).split()
        names = self.git.run(
            ["diff", "--name-status", "-z", "--no-renames", merge_base, head, "--"]
        ).stdout.split(b"\0")
        files = []
        for status_code, path in zip(names[0::2], names[1::2], strict=False):
            if not path:
                continue
            kind = {"A": "added", "D": "removed", "M": "modified"}.get(status_code.decode()[:1], "changed")
            name = path.decode("utf-8", "replace")
            files.append({"filename": name, "status": kind, "sha": head, "additions": 0, "deletions": 0, "changes": 0,
                          "blob_url": f"{self.url}/{self.full_name}/blob/{head}/{name}",
                          "raw_url": f"{self.url}/{self.full_name}/raw/{head}/{name}",
                          "contents_url": f"{self.api}/contents/{name}?ref={head}"})  # fmt: skip
        spec = request.params["basehead"]
        return Response(200, {
            "url": f"{self.api}/compare/{spec}", "html_url": f"{self.url}/{self.full_name}/compare/{spec}",
            "permalink_url": f"{self.url}/{self.full_name}/compare/{base}...{head}",
            "diff_url": f"{self.url}/{self.full_name}/compare/{spec}.diff",
            "patch_url": f"{self.url}/{self.full_name}/compare/{spec}.patch",
            "base_commit": self._commit(base), "merge_base_commit": self._commit(merge_base),
            "status": status, "ahead_by": ahead, "behind_by": behind, "total_commits": ahead,
            "commits": [self._commit(s) for s in shas], "files": files[:300],
        })  # fmt: skip

    def _merge(self, request: Request) -> Response:
        body = request.json() or {}
        base_name, head_rev = body.get("base", ""), body.get("head", "")
        message = body.get("commit_message") or f"Merge {head_rev} into {base_name}"
        with self.lock:
            base = self._sha(f"refs/heads/{base_name}")
            head = self._sha(f"refs/heads/{head_rev}") or self._sha(head_rev)
            if base is None or head is None:
                return Response(404, {"message": "Base or head does not exist"})
            if self.git.run(["merge-base", "--is-ancestor", head, base], check=False).returncode == 0:
                return Response(204, None)
            tree = self.git.run(["merge-tree", "--write-tree", base, head], check=False)
            if tree.returncode != 0:
                return Response(409, {"message": "Merge conflict"})
            tree_sha = tree.stdout.decode().split()[0]
            user = self.login_of(request)
            env = {"GIT_AUTHOR_NAME": user, "GIT_AUTHOR_EMAIL": f"{user}@users.noreply.github.com",
                   "GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com"}  # fmt: skip
            commit = Git(self.git.repo, env).text(
                ["commit-tree", tree_sha, "-p", base, "-p", head, "-m", message]
            )
            self.git.run(["update-ref", f"refs/heads/{base_name}", commit, base])
        return Response(201, self._commit(commit))

    # --- pull requests ------------------------------------------------------------------------------

    def contract_applies(self, request: Request) -> bool:
        return request.headers.get("x-github-api-version") != NEXT_API_VERSION

    def _pull_json(self, pr: PullRequest, request: Request | None = None) -> dict[str, Any]:
        url = f"{self.api}/pulls/{pr.number}"
        html = f"{self.url}/{self.full_name}/pull/{pr.number}"

        def side(ref: str, sha: str) -> dict[str, Any]:
            return {"label": f"{self.full_name.split('/')[0]}:{ref}", "ref": ref, "sha": sha or (self._sha(f"refs/heads/{ref}") or ""),
                    "user": self._user(self.full_name.split("/")[0]), "repo": self._repo_core()}  # fmt: skip

        return {
            "url": url, "id": 500000 + pr.number, "node_id": f"PR_{pr.number}", "html_url": html, "number": pr.number,
            "state": pr.state, "locked": False, "title": pr.title, "body": pr.body, "user": self._user(pr.user),
            "created_at": _iso(pr.created), "updated_at": _iso(pr.updated),
            "closed_at": _iso(pr.updated) if pr.state == "closed" else None,
            "merged_at": _iso(pr.updated) if pr.merged else None,
            **({} if request is not None and not self.contract_applies(request) else {"merge_commit_sha": pr.merge_commit_sha}),
            "merged": pr.merged, "head": side(pr.head, pr.head_sha), "base": side(pr.base, ""),
            "issue_url": f"{self.api}/issues/{pr.number}", "comments_url": f"{self.api}/issues/{pr.number}/comments",
            "commits_url": f"{url}/commits", "statuses_url": f"{self.api}/statuses/{pr.head_sha or 'x'}",
            "review_comments_url": f"{url}/comments", "review_comment_url": f"{self.api}/pulls/comments{{/number}}",
            "diff_url": f"{html}.diff", "patch_url": f"{html}.patch", "labels": [], "assignee": None, "milestone": None,
            "author_association": "MEMBER", "auto_merge": None, "draft": False,
            "_links": {k: {"href": v} for k, v in {"self": url, "html": html, "issue": f"{self.api}/issues/{pr.number}",
                       "comments": f"{self.api}/issues/{pr.number}/comments", "review_comments": f"{url}/comments",
                       "review_comment": f"{self.api}/pulls/comments{{/number}}", "commits": f"{url}/commits",
                       "statuses": f"{self.api}/statuses/{pr.head_sha or 'x'}"}.items()},
        }  # fmt: skip

    def _full_pull(self, pr: PullRequest, request: Request | None = None) -> dict[str, Any]:
        body = self._pull_json(pr, request)
        body.update({"mergeable": None, "mergeable_state": "unknown", "merged_by": None, "comments": 0,
                     "review_comments": 0, "maintainer_can_modify": False, "commits": 1, "additions": 0,
                     "deletions": 0, "changed_files": 0})  # fmt: skip
        return body

    def _list_pulls(self, request: Request) -> Response:
        state = request.arg("state", "open")
        base, head = request.arg("base"), request.arg("head")
        with self.lock:
            found = [p for p in sorted(self.pulls.values(), key=lambda p: -p.number)
                     if (state in ("all", p.state)) and (base is None or p.base == base)
                     and (head is None or head.split(":")[-1] == p.head)]  # fmt: skip
            return self._paged(request, [self._pull_json(p, request) for p in found])

    def _create_pull(self, request: Request) -> Response:
        body = request.json() or {}
        title, head, base = body.get("title"), body.get("head", ""), body.get("base", "")
        if (
            not title
            or self._sha(f"refs/heads/{head.split(':')[-1]}") is None
            or self._sha(f"refs/heads/{base}") is None
        ):
            return Response(
                422,
                {"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "invalid"}]},
            )
        with self.lock:
            if any(
                p.state == "open" and p.head == head.split(":")[-1] and p.base == base
                for p in self.pulls.values()
            ):
                return Response(422, {"message": "Validation Failed",
                                      "errors": [{"resource": "PullRequest", "code": "custom", "message": "A pull request already exists"}]})  # fmt: skip
            pr = self.add_pull(title, head.split(":")[-1], base, user=self.login_of(request))
            pr.body = body.get("body") or ""
            return Response(201, self._full_pull(pr, request), {"Location": f"{self.api}/pulls/{pr.number}"})

    def _get_pull(self, request: Request) -> Response:
        pr = self.pulls.get(int(request.params["pull_number"]))
        if pr is None:
            return Response(404, {"message": "Not Found"})
        return Response(200, self._full_pull(pr, request))

    def _update_pull(self, request: Request) -> Response:
        body = request.json() or {}
        with self.lock:
            pr = self.pulls.get(int(request.params["pull_number"]))
            if pr is None:
                return Response(404, {"message": "Not Found"})
            pr.title = body.get("title", pr.title)
            pr.body = body.get("body", pr.body)
            if body.get("state") in ("open", "closed"):
                pr.state = body["state"]
            pr.updated = self.clock()
            return Response(200, self._full_pull(pr, request))

    def _commit_pulls(self, request: Request) -> Response:
        sha = self._sha(request.params["commit_sha"])
        if sha is None:
            return Response(422, {"message": "No commit found for SHA"})
        with self.lock:
            if self.calls["repos/list-pull-requests-associated-with-commit"] <= self.pulls_visible_after:
                return self._paged(request, [])
            found = [p for p in self.pulls.values() if sha in (p.merge_commit_sha, p.head_sha, *p.commits)]
            return self._paged(
                request, [self._pull_json(p, request) for p in sorted(found, key=lambda p: p.number)]
            )

    # --- comments --------------------------------------------------------------------------------------

    def _comment_json(self, c: Comment) -> dict[str, Any]:
        return {"id": c.id, "node_id": f"IC_{c.id}", "url": f"{self.api}/issues/comments/{c.id}",
                "html_url": f"{self.url}/{self.full_name}/pull/{c.issue}#issuecomment-{c.id}", "body": c.body,
                "user": self._user(c.user), "created_at": _iso(c.created), "updated_at": _iso(c.updated),
                "issue_url": f"{self.api}/issues/{c.issue}", "author_association": "NONE"}  # fmt: skip

    def _list_comments(self, request: Request) -> Response:
        issue = int(request.params["issue_number"])
        with self.lock:
            found = [
                self._comment_json(c)
                for c in sorted(self.comments.values(), key=lambda c: c.id)
                if c.issue == issue
            ]
        return self._paged(request, found)

    def _create_comment(self, request: Request) -> Response:
        issue = int(request.params["issue_number"])
        body = (request.json() or {}).get("body")
        if not isinstance(body, str) or not body:
            return Response(422, {"message": "Validation Failed"})
        if len(body) > 65536:
            return Response(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"message": "Body is too long (maximum is 65536 characters)"}],
                },
            )
        with self.lock:
            if issue not in self.pulls:
                return Response(404, {"message": "Not Found"})
            now = self.clock()
            comment = Comment(next(self.ids), issue, body, self.login_of(request), now, now)
            self.comments[comment.id] = comment
            return Response(
                201, self._comment_json(comment), {"Location": f"{self.api}/issues/comments/{comment.id}"}
            )

    def _get_comment(self, request: Request) -> Response:
        comment = self.comments.get(int(request.params["comment_id"]))
        if comment is None:
            return Response(404, {"message": "Not Found"})
        return Response(200, self._comment_json(comment))

    def _update_comment(self, request: Request) -> Response:
        body = (request.json() or {}).get("body")
        with self.lock:
            comment = self.comments.get(int(request.params["comment_id"]))
            if comment is None:
                return Response(404, {"message": "Not Found"})
            if not isinstance(body, str) or not body or len(body) > 65536:
                return Response(422, {"message": "Validation Failed"})
            comment.body, comment.updated = body, self.clock()
            return Response(200, self._comment_json(comment))

    # --- deployments --------------------------------------------------------------------------------

    def _deployment_json(self, d: Deployment) -> dict[str, Any]:
        url = f"{self.api}/deployments/{d.id}"
        return {"url": url, "id": d.id, "node_id": f"DE_{d.id}", "sha": d.sha, "ref": d.ref, "task": d.task,
                "payload": d.payload, "original_environment": d.environment, "environment": d.environment,
                "description": d.description, "creator": self._user(d.creator), "created_at": _iso(d.created),
                "updated_at": _iso(d.created), "statuses_url": f"{url}/statuses", "repository_url": self.api,
                "transient_environment": d.transient, "production_environment": d.production}  # fmt: skip

    def _list_deployments(self, request: Request) -> Response:
        sha, ref, env = request.arg("sha"), request.arg("ref"), request.arg("environment")
        with self.lock:
            found = [self._deployment_json(d) for d in sorted(self.deployments.values(), key=lambda d: -d.id)
                     if (sha is None or d.sha == sha) and (ref is None or d.ref == ref) and (env is None or d.environment == env)]  # fmt: skip
        return self._paged(request, found)

    def _create_deployment(self, request: Request) -> Response:
        body = request.json() or {}
        ref = body.get("ref", "")
        sha = self._sha(ref) or self._sha(f"refs/heads/{ref}")
        if sha is None:
            return Response(422, {"message": f"No ref found for: {ref}"})
        payload = body.get("payload", {})
        with self.lock:
            d = Deployment(next(self.ids), sha, ref, body.get("environment", "production"), body.get("task", "deploy"),
                           body.get("description") or "", self.login_of(request), payload, self.clock(),
                           bool(body.get("transient_environment", False)),
                           bool(body.get("production_environment", body.get("environment", "production") == "production")))  # fmt: skip
            self.deployments[d.id] = d
            return Response(201, self._deployment_json(d))

    def _status_json(self, d: Deployment, s: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.api}/deployments/{d.id}/statuses/{s['id']}"
        return {"url": url, "id": s["id"], "node_id": f"DES_{s['id']}", "state": s["state"], "creator": self._user(s["creator"]),
                "description": s["description"], "environment": d.environment, "target_url": s["log_url"],
                "log_url": s["log_url"], "environment_url": s["environment_url"], "created_at": _iso(s["created"]),
                "updated_at": _iso(s["created"]), "deployment_url": f"{self.api}/deployments/{d.id}",
                "repository_url": self.api}  # fmt: skip

    def _list_statuses(self, request: Request) -> Response:
        d = self.deployments.get(int(request.params["deployment_id"]))
        if d is None:
            return Response(404, {"message": "Not Found"})
        with self.lock:
            return self._paged(request, [self._status_json(d, s) for s in reversed(d.statuses)])

    def _create_status(self, request: Request) -> Response:
        body = request.json() or {}
        state = body.get("state")
        allowed = {"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}
        with self.lock:
            d = self.deployments.get(int(request.params["deployment_id"]))
            if d is None:
                return Response(404, {"message": "Not Found"})
            if state not in allowed:
                return Response(422, {"message": "Validation Failed"})
            now = self.clock()
            status = {"id": next(self.ids), "state": state, "creator": self.login_of(request),
                      "description": (body.get("description") or "")[:140], "created": now,
                      "log_url": body.get("log_url") or body.get("target_url") or "",
                      "environment_url": body.get("environment_url") or ""}  # fmt: skip
            d.statuses.append(status)
            # As documented: auto_inactive marks inactive the prior non-transient, non-production
            # deployments of the same environment (production ones stay as they are).
            if state == "success" and body.get("auto_inactive", True):
                for other in self.deployments.values():
                    if other.id != d.id and other.environment == d.environment and not other.transient \
                            and not other.production and other.statuses and other.statuses[-1]["state"] == "success":  # fmt: skip
                        other.statuses.append(
                            {**other.statuses[-1], "id": next(self.ids), "state": "inactive", "created": now}
                        )
            return Response(201, self._status_json(d, status))

    # --- pagination -------------------------------------------------------------------------------------

    def _paged(self, request: Request, items: list[dict[str, Any]]) -> Response:
        per_page = max(1, min(100, int(request.arg("per_page", "30") or 30)))
        page = max(1, int(request.arg("page", "1") or 1))
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []
        url = f"{self.url}{request.path}"
        others = "&".join(f"{k}={v[0]}" for k, v in request.query.items() if k not in ("page", "per_page"))
        prefix = f"{url}?{others + '&' if others else ''}per_page={per_page}&page="
        if page < last:
            links += [f'<{prefix}{page + 1}>; rel="next"', f'<{prefix}{last}>; rel="last"']
        if page > 1:
            links += [f'<{prefix}{page - 1}>; rel="prev"', f'<{prefix}1>; rel="first"']
        return Response(200, chunk, {"Link": ", ".join(links)} if links else {})
