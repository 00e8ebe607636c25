"""A stand-in for the DigitalOcean App Platform API: apps, deployments moving through phases on
an injectable clock, logs served as files, rollback with its pin, app health, rate-limit headers.

Each app builds a branch of a real git repository: a deployment records that branch's tip when
it is created, as App Platform does (a specific commit cannot be asked for).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from terp_actions.git import Git
from terp_actions.sandbox.fake_appplatform_model import (
    CAUSE_TYPES,
    DEFAULT_TIMINGS,
    METRICS,
    PHASES,
    TERMINAL,
    App,
    Deployment,
    Failure,
    ManualClock,
    ScaledClock,
    instances,
    invocations,
    iso,
    live_spans,
    metric_series,
    progress,
)
from terp_actions.sandbox.http import Request, Response, StandIn

__all__ = [
    "DEFAULT_TIMINGS",
    "App",
    "AppPlatformStandIn",
    "Deployment",
    "Failure",
    "ManualClock",
    "ScaledClock",
]
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_PINNED_MESSAGE = "The app is pinned to a rollback deployment; commit or revert the rollback first."


def _encrypt_secrets(value: Any) -> Any:
    """App Platform never returns a ``type: SECRET`` value in the clear, only its ``EV[...]`` form."""
    if isinstance(value, dict):
        shown = {k: _encrypt_secrets(v) for k, v in value.items()}
        if shown.get("type") == "SECRET" and isinstance(shown.get("value"), str):
            shown["value"] = f"EV[1:{hashlib.sha256(shown['value'].encode()).hexdigest()[:24]}]"
        return shown
    if isinstance(value, list):
        return [_encrypt_secrets(v) for v in value]
    return value


_COMPONENT_KINDS = ("services", "static_sites", "workers", "jobs", "functions")


def _components(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for kind in _COMPONENT_KINDS for c in spec.get(kind) or [] if isinstance(c, dict)]


def _spec_problem(spec: dict[str, Any]) -> str | None:
    """The first thing App Platform would refuse in ``spec`` beyond its schema (it names only one)."""
    components = _components(spec)
    if not components:
        return 'error validating app spec field "services": an app needs at least one component'
    seen: set[str] = set()
    for component in components:
        name = str(component.get("name") or "")
        if not name:
            return 'error validating app spec field "name": a component needs a name'
        if name in seen:
            return f'error validating app spec field "name": component name {name!r} is used twice'
        seen.add(name)
    return None


def _paging(request: Request) -> tuple[int, int]:
    """The page asked for and its size (App Platform: 20 by default, 200 at most)."""
    page = max(1, int(request.arg("page", "1") or 1))
    return page, max(1, min(200, int(request.arg("per_page", "20") or 20)))


def _rollback_warnings(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The warning conditions App Platform's rollback validation documents, from the spec: image
    components without a digest, and static sites (which are rebuilt)."""
    found = []
    undigested = [str(c.get("name")) for c in _components(spec)
                  if isinstance(c.get("image"), dict) and not c["image"].get("digest")]  # fmt: skip
    if undigested:
        found.append({"code": "image_source_missing_digest", "components": undigested, "message": (
            "one or more components are missing an image digest and are not guaranteed rollback to the old version.")})  # fmt: skip
    static = [str(c.get("name")) for c in spec.get("static_sites") or [] if isinstance(c, dict)]
    if static:
        found.append({"code": "static_site_requires_rebuild", "components": static,
                      "message": "static sites will be rebuilt from their source."})  # fmt: skip
    return found


def _invalid_spec(message: str) -> Response:
    # The propose and create operations answer a spec they cannot accept with a 400 naming its
    # first problem (only the first: godo issue 415).
    return Response(400, {"id": "invalid_argument", "message": message, "request_id": str(uuid.uuid4())})


class AppPlatformStandIn(StandIn):
    """The App Platform API on 127.0.0.1, following ``digitalocean-apps.openapi.yaml``."""

    name = "app-platform-stand-in"

    def __init__(self, tokens: set[str] | None = None, clock: Callable[[], float] | None = None) -> None:
        super().__init__()
        self.tokens = tokens if tokens is not None else {"dop_v1_sandbox"}
        self.clock = clock or time.time
        self.apps: dict[str, App] = {}
        self.remaining = 5000
        # How log links are answered: "normal" (as App Platform: a live deployment's run log only
        # as live_url), "none" (no link at all), "wss" (only a websocket live_url).
        self.log_links = "normal"
        self._websocket: Any = None
        # A server-side TLS context (a test's throwaway certificate authority): with it, live logs
        # are served over wss:// and https:// as App Platform serves them.
        self.tls: Any = None
        r = self.add_route
        self.repos: dict[str, Path] = {}  # GitHub "owner/name" -> a local repository apps build from
        self.new_app_url = ""  # where apps created through the API answer once live (an app stand-in)
        self.new_app_timings = dict(DEFAULT_TIMINGS)  # and how long their phases take
        # A new app gets its URL a while after its first deployment is ACTIVE (app_action polls
        # for live_url after ACTIVE for that reason).
        self.new_app_url_delay = 20.0
        r("GET", "/v2/apps", "apps_list", self._list_apps)
        r("POST", "/v2/apps", "apps_create", self._create_app)
        r("POST", "/v2/apps/propose", "apps_validate_appSpec", self._propose)
        r("GET", "/v2/apps/{id}", "apps_get", self._get_app)
        r("PUT", "/v2/apps/{id}", "apps_update", self._update_app)
        r("DELETE", "/v2/apps/{id}", "apps_delete", self._delete_app)
        r("GET", "/v2/apps/{app_id}/deployments", "apps_list_deployments", self._list_deployments)
        r("POST", "/v2/apps/{app_id}/deployments", "apps_create_deployment", self._create_deployment)
        r("GET", "/v2/apps/{app_id}/deployments/{deployment_id}", "apps_get_deployment", self._get_deployment)
        r(
            "POST",
            "/v2/apps/{app_id}/deployments/{deployment_id}/cancel",
            "apps_cancel_deployment",
            self._cancel,
        )
        r("GET", "/v2/apps/{app_id}/deployments/{deployment_id}/logs", "apps_get_logs_aggregate", self._logs)
        r("GET", "/v2/apps/{app_id}/deployments/{deployment_id}/components/{component_name}/logs",
          "apps_get_logs", self._logs)  # fmt: skip
        r("GET", "/v2/apps/{app_id}/logs", "apps_get_logs_active_deployment_aggregate", self._logs)
        r(
            "GET",
            "/v2/apps/{app_id}/components/{component_name}/logs",
            "apps_get_logs_active_deployment",
            self._logs,
        )
        r("POST", "/v2/apps/{app_id}/rollback", "apps_create_rollback", self._rollback)
        r("POST", "/v2/apps/{app_id}/rollback/validate", "apps_validate_rollback", self._validate_rollback)
        r("POST", "/v2/apps/{app_id}/rollback/commit", "apps_commit_rollback", self._commit_rollback)
        r("POST", "/v2/apps/{app_id}/rollback/revert", "apps_revert_rollback", self._revert_rollback)
        r("GET", "/v2/apps/{app_id}/health", "apps_get_health", self._health)
        r("GET", "/v2/apps/{app_id}/alerts", "apps_list_alerts", self._alerts)
        r("GET", "/v2/apps/{app_id}/job-invocations", "apps_list_job_invocations", self._list_invocations)
        r("GET", "/v2/apps/{app_id}/job-invocations/{job_invocation_id}", "apps_get_job_invocation",
          self._get_invocation)  # fmt: skip
        r("POST", "/v2/apps/{app_id}/job-invocations/{job_invocation_id}/cancel", "apps_cancel_job_invocation",
          self._cancel_invocation)  # fmt: skip
        r("GET", "/v2/apps/{app_id}/jobs/{job_name}/invocations/{job_invocation_id}/logs",
          "apps_get_job_invocation_logs", self._invocation_logs)  # fmt: skip
        r("GET", "/v2/apps/{app_id}/instances", "apps_get_instances", self._instances)
        r("POST", "/v2/apps/{app_id}/restart", "apps_restart", self._restart)
        for metric in METRICS:
            operation = {"cpu_percentage": "monitoring_get_appCPUPercentageMetrics",
                         "memory_percentage": "monitoring_get_appMemoryPercentageMetrics",
                         # upstream's operation id, verbatim
                         "restart_count": "monitoring_get_appRestartCountMetrics.yml"}[metric]  # fmt: skip
            r("GET", f"/v2/monitoring/metrics/apps/{metric}", operation, self._metrics)
        r("GET", "/_logs/{deployment_id}/{log_type}", "log_file", self._log_file, in_contract=False)

    def now(self) -> float:
        return self.clock()

    # --- setup -------------------------------------------------------------------------------

    def add_app(self, name: str, branch: str, repo: Path | None = None, **kwargs: Any) -> App:
        """Create an app (no deployment yet) and return it."""
        with self.lock:
            app = App(
                id=str(uuid.uuid4()), name=name, branch=branch, repo=repo, created=self.clock(), **kwargs
            )
            self.apps[app.id] = app
            return app

    def fail_next_deployment(self, app: App, failure: Failure) -> None:
        """Make the next deployment created for ``app`` end in ERROR as ``failure`` says."""
        with self.lock:
            app.next_failures.append(failure)

    def deploy(self, app: App, cause: str = "manual", **extra: Any) -> Deployment:
        """Start a deployment of the app's branch tip, superseding one in progress."""
        kind = (extra.get("cause_details") or {}).get("type", "MANUAL")
        if kind not in CAUSE_TYPES:
            raise ValueError(f"cause_details.type {kind!r} is not one App Platform sends")
        with self.lock:
            now = self.clock()
            for older in app.deployments:
                if older.own_phase(now)[0] not in TERMINAL:
                    older.superseded_at = now
            commit = self._branch_tip(app)
            dep = Deployment(
                id=str(uuid.uuid4()),
                created=now,
                commit=commit,
                cause=cause,
                timings=dict(app.timings),
                **extra,
            )
            if app.next_failures:
                dep.failure = app.next_failures.pop(0)
            app.deployments.insert(0, dep)
            return dep

    def _branch_tip(self, app: App) -> str:
        if app.repo is None:
            return "0" * 40
        return Git(app.repo).text(
            ["rev-parse", "--verify", "--end-of-options", f"refs/heads/{app.branch}^{{commit}}"]
        )

    # --- phases ---------------------------------------------------------------------------------

    def phase(self, app: App, dep: Deployment) -> tuple[str, float]:
        """A deployment's phase now, including being superseded by a newer active one."""
        now = self.clock()
        phase, since = dep.own_phase(now)
        if phase == "ACTIVE":
            for newer in app.deployments:
                if newer is dep:
                    break
                newer_phase, newer_since = newer.own_phase(now)
                if newer_phase == "ACTIVE" and newer_since >= since:
                    return "SUPERSEDED", newer_since
        return phase, since

    def _deployment_json(self, app: App, dep: Deployment) -> dict[str, Any]:
        phase, since = self.phase(app, dep)
        steps, leaves = progress(app, dep, phase, since, self.clock())
        counts = {
            s: sum(1 for leaf in leaves if leaf["status"] == s)
            for s in ("PENDING", "RUNNING", "SUCCESS", "ERROR")
        }
        return {
            "id": dep.id,
            "cause": dep.cause,
            "cause_details": dep.cause_details or {"type": "MANUAL"},
            "cloned_from": dep.cloned_from,
            "created_at": iso(dep.created),
            "updated_at": iso(max(since, dep.created)),
            "phase": phase,
            "phase_last_updated_at": iso(since),
            "progress": {
                "pending_steps": counts["PENDING"],
                "running_steps": counts["RUNNING"],
                "success_steps": counts["SUCCESS"],
                "error_steps": counts["ERROR"],
                "total_steps": len(leaves),
                "steps": steps,
            },
            "services": [{"name": c, "source_commit_hash": dep.commit} for c in app.components],
            "spec": self._spec(app),
            "tier_slug": "basic",
        }

    def _spec(self, app: App) -> dict[str, Any]:
        if app.applied_spec is not None:
            shown: dict[str, Any] = _encrypt_secrets(app.applied_spec)
            return shown
        return {
            "name": app.name,
            "region": app.region,
            "services": [
                {
                    "name": c,
                    "github": {"repo": app.github_repo, "branch": app.branch, "deploy_on_push": False},
                }
                for c in app.components
            ],
        }

    def _app_json(self, app: App) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": app.id,
            "spec": self._spec(app),
            "created_at": iso(app.created),
            "updated_at": iso(self.clock()),
            "region": {"slug": app.region, "label": "New York", "flag": "usa", "data_centers": ["nyc1"]},
            "tier_slug": "basic",
        }
        active = self._newest(app, {"ACTIVE"})
        first_live = next((start for _, start, _ in live_spans(app, self.clock())), None)
        if app.url and (
            not app.url_when_live or (first_live is not None and self.clock() >= first_live + app.url_delay)
        ):
            body["live_url"] = app.url
            body["default_ingress"] = app.url
        in_progress = self._newest(app, set(PHASES))
        if active is not None:
            body["active_deployment"] = self._deployment_json(app, active)
        if in_progress is not None:
            body["in_progress_deployment"] = self._deployment_json(app, in_progress)
        if app.deployments:
            body["last_deployment_created_at"] = iso(app.deployments[0].created)
        if app.pinned:
            dep = self._find_deployment(app, app.pinned)
            if dep is not None:
                body["pinned_deployment"] = self._deployment_json(app, dep)
        return body

    def _newest(self, app: App, phases: set[str]) -> Deployment | None:
        return next((d for d in app.deployments if self.phase(app, d)[0] in phases), None)

    # --- auth, errors, headers ---------------------------------------------------------------

    def authenticate(self, request: Request) -> Response | None:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return Response(401, {"id": "unauthorized", "message": "Unable to authenticate you"})
        return None

    def error_body(self, status: int, message: str) -> Any:
        ids = {
            400: "bad_request",
            401: "unauthorized",
            404: "not_found",
            409: "conflict",
            429: "too_many_requests",
        }
        return {"id": ids.get(status, "server_error"), "message": message, "request_id": str(uuid.uuid4())}

    def not_found(self, request: Request) -> Response:
        return Response(404, self.error_body(404, "The resource you were accessing could not be found."))

    def decorate(self, request: Request, response: Response) -> None:
        if request.path.startswith("/_logs/"):
            return
        with self.lock:
            self.remaining = max(0, self.remaining - 1)
            remaining = self.remaining
        response.headers.setdefault("ratelimit-limit", "5000")
        response.headers.setdefault("ratelimit-remaining", str(remaining))
        response.headers.setdefault("ratelimit-reset", str(int(self.clock()) + 3600))

    def _missing(self, what: str = "app") -> Response:
        return Response(404, self.error_body(404, f"The {what} you were accessing could not be found."))

    def _app(self, request: Request) -> App | None:
        # The path takes an app id only: App Platform answers 404 for a name there (doctl looks a
        # name up by listing the apps), so a client that puts a name in the path fails here too.
        key = request.params.get("app_id") or request.params.get("id") or ""
        with self.lock:
            return self.apps.get(key) if _UUID.fullmatch(key) else None

    @staticmethod
    def _find_deployment(app: App, deployment_id: str) -> Deployment | None:
        return next((d for d in app.deployments if d.id == deployment_id), None)

    # --- handlers ------------------------------------------------------------------------------

    def _list_apps(self, request: Request) -> Response:
        page, per_page = _paging(request)
        with self.lock:
            every = list(self.apps.values())
            apps = [self._app_json(a) for a in every[(page - 1) * per_page : page * per_page]]
        links: dict[str, Any] = {}
        if page * per_page < len(every):
            links = {"pages": {"next": f"{self.url}/v2/apps?page={page + 1}&per_page={per_page}"}}
        return Response(200, {"apps": apps, "links": links, "meta": {"total": len(every)}})

    def _get_app(self, request: Request) -> Response:
        app = self._app(request)
        if app is None:
            return self._missing()
        with self.lock:
            return Response(200, {"app": self._app_json(app)})

    def _create_app(self, request: Request) -> Response:
        spec = (request.json() or {}).get("spec") or {}
        with self.lock:
            problem = _spec_problem(spec)
            if problem is not None:
                return _invalid_spec(problem)
            if any(a.name == spec["name"] for a in self.apps.values()):
                return Response(409, self.error_body(409, f"an app named {spec['name']!r} already exists"))
            sources = [c.get("github") or {} for c in _components(spec)]
            github = next((g for g in sources if g.get("repo")), {})
            app = self.add_app(
                spec["name"],
                github.get("branch") or "main",
                repo=self.repos.get(github.get("repo", "")),
                github_repo=github.get("repo") or "terp/terp",
                components=tuple(str(c["name"]) for c in _components(spec)),
                region=spec.get("region") or "nyc",
                url=self.new_app_url,
                url_when_live=True,
                url_delay=self.new_app_url_delay,
                timings=dict(self.new_app_timings),
            )
            app.applied_spec = spec
            # App Platform deploys a new app straight away; the answer names that deployment.
            dep = self.deploy(app, cause="app created", cause_details={"type": "MANUAL"})
            return Response(
                200, {"app": {**self._app_json(app), "pending_deployment": self._deployment_json(app, dep)}}
            )

    def _delete_app(self, request: Request) -> Response:
        with self.lock:
            app = self.apps.pop(request.params["id"], None)  # by id only: the API takes no name here
        if app is None:
            return self._missing()
        return Response(200, {"id": app.id})

    def _propose(self, request: Request) -> Response:
        body = request.json() or {}
        spec = body.get("spec") or {}
        with self.lock:
            existing = None
            if body.get("app_id"):
                existing = self.apps.get(body["app_id"])
                if existing is None:
                    return self._missing()
            problem = _spec_problem(spec)
            if problem is not None:
                return _invalid_spec(problem)
            taken = any(a.name == spec["name"] and a is not existing for a in self.apps.values())
        answer: dict[str, Any] = {
            "app_name_available": not taken,
            "app_is_static": not (spec.get("services") or spec.get("workers") or spec.get("jobs")),
            "existing_static_apps": "0",
            "spec": spec,
            "app_cost": 5 * max(1, len(_components(spec))),
        }
        if taken:
            answer["app_name_suggestion"] = f"{spec['name'][:29]}-2"
        return Response(200, answer)

    def _update_app(self, request: Request) -> Response:
        app = self._app(request)
        if app is None:
            return self._missing()
        body = request.json() or {}
        spec = body.get("spec") or {}
        with self.lock:
            if app.pinned:
                return Response(400, self.error_body(400, _PINNED_MESSAGE))
            if spec.get("name") and spec["name"] != app.name:
                return Response(400, {"id": "bad_request", "message": "the app name cannot be changed"})
            services = spec.get("services") or []
            branch = next((s.get("github", {}).get("branch") for s in services if s.get("github")), None)
            if branch:
                app.branch = branch
            app.applied_spec = spec
            # Without update_all_source_versions App Platform "only updates newly added sources":
            # the deployment builds the commit the app already runs, not the branch's new tip.
            live = self._newest(app, {"ACTIVE"})
            keep = None if body.get("update_all_source_versions") or live is None else live.commit
            dep = self.deploy(app, cause="app spec updated", cause_details={"type": "MANUAL"})
            if keep is not None:
                dep.commit = keep
            # "For CreateApp and UpdateApp transactions [pending_deployment] is guaranteed to
            # reflect the associated deployment" (the API reference).
            return Response(
                200, {"app": {**self._app_json(app), "pending_deployment": self._deployment_json(app, dep)}}
            )

    def _list_deployments(self, request: Request) -> Response:
        app = self._app(request)
        if app is None:
            return self._missing()
        page, per_page = _paging(request)
        with self.lock:
            chosen = app.deployments[(page - 1) * per_page : page * per_page]
            items = [self._deployment_json(app, d) for d in chosen]
            total = len(app.deployments)
        links: dict[str, Any] = {}
        if page * per_page < total:
            links = {
                "pages": {
                    "next": f"{self.url}/v2/apps/{app.id}/deployments?page={page + 1}&per_page={per_page}"
                }
            }
        return Response(200, {"deployments": items, "links": links, "meta": {"total": total}})

    def _create_deployment(self, request: Request) -> Response:
        app = self._app(request)
        if app is None:
            return self._missing()
        force_build = bool((request.json() or {}).get("force_build", False))
        with self.lock:
            if app.pinned:
                return Response(400, self.error_body(400, _PINNED_MESSAGE))
            dep = self.deploy(app, cause="manual", force_build=force_build, cause_details={"type": "MANUAL"})
            return Response(200, {"deployment": self._deployment_json(app, dep)})

    def _get_deployment(self, request: Request) -> Response:
        app = self._app(request)
        dep = None if app is None else self._find_deployment(app, request.params["deployment_id"])
        if app is None or dep is None:
            return self._missing("deployment")
        with self.lock:
            return Response(200, {"deployment": self._deployment_json(app, dep)})

    def _cancel(self, request: Request) -> Response:
        app = self._app(request)
        dep = None if app is None else self._find_deployment(app, request.params["deployment_id"])
        if app is None or dep is None:
            return self._missing("deployment")
        with self.lock:
            if self.phase(app, dep)[0] not in TERMINAL:
                dep.canceled_at = self.clock()
            return Response(200, {"deployment": self._deployment_json(app, dep)})

    def _logs(self, request: Request) -> Response:
        app = self._app(request)
        if app is None:
            return self._missing()
        kind = (request.arg("type") or "").upper()
        if kind not in ("BUILD", "DEPLOY", "RUN", "RUN_RESTARTED"):
            return Response(400, {"id": "bad_request", "message": "type must be BUILD, DEPLOY or RUN"})
        with self.lock:
            if "deployment_id" in request.params:
                dep = self._find_deployment(app, request.params["deployment_id"])
            else:
                dep = self._newest(app, {"ACTIVE"})
            if dep is None:
                return self._missing("deployment")
            path = f"/_logs/{dep.id}/{kind}?token={dep.log_token}"
            live_now = kind.startswith("RUN") and self.phase(app, dep)[0] == "ACTIVE"
        return Response(200, self._log_links(path, live_now=live_now))

    def _log_links(self, path: str, *, live_now: bool) -> dict[str, Any]:
        """A logs answer for the log at ``path``: archived files (``historic_urls``) and the live
        stream (``live_url``). The live stream is a websocket even where its address says http(s),
        as doctl reads it (http -> ws, anything else -> wss); a plain GET of it is 426."""
        if self.log_links == "none":
            return {}
        if self.log_links == "wss":
            return {"live_url": self.serve_websocket_logs() + path}
        live = self.serve_websocket_logs().replace("ws", "http", 1) + path
        if self.log_links == "https" or live_now:
            # The run log of a live deployment is a stream: App Platform hands out only live_url.
            return {"live_url": live}
        return {"historic_urls": [f"{self.url}{path}"], "live_url": live}

    def serve_websocket_logs(self) -> str:
        """Serve live logs over a websocket on loopback (started once), as App Platform's
        ``live_url`` does: each log line one JSON frame ``{"data": line}``. Returns its ws:// base
        (wss:// with ``self.tls``)."""
        from websockets.sync.server import serve  # noqa: PLC0415 - only when live logs are asked for

        with self.lock:
            if self._websocket is None:
                self._websocket = serve(self._stream_log, "127.0.0.1", 0, ssl=self.tls)
                threading.Thread(target=self._websocket.serve_forever, name="live-logs", daemon=True).start()
            port = self._websocket.socket.getsockname()[1]
        return f"{'wss' if self.tls else 'ws'}://{'localhost' if self.tls else '127.0.0.1'}:{port}"

    def _stream_log(self, connection: Any) -> None:
        parts = urlsplit(connection.request.path)
        _, _, deployment_id, kind = ([*parts.path.split("/"), "", "", "", ""])[:4]
        token = parse_qs(parts.query).get("token", [""])[0]
        with self.lock:
            found = next(
                ((a, d) for a in self.apps.values() for d in a.deployments if d.id == deployment_id), None
            )
            if found is None or not secrets.compare_digest(token, found[1].log_token):
                connection.close(1008, "forbidden")
                return
            text = self._log_text(found[0], found[1], kind)
        for line in text.splitlines():
            connection.send(json.dumps({"data": line}))
        connection.close()

    def stop(self) -> None:
        if self._websocket is not None:
            self._websocket.shutdown()
            self._websocket = None
        super().stop()

    def _log_file(self, request: Request) -> Response:
        with self.lock:
            for app in self.apps.values():
                dep = self._find_deployment(app, request.params["deployment_id"])
                if dep is not None:
                    break
            else:
                return Response(404, b"no such log", content_type="text/plain")
            if not secrets.compare_digest(request.arg("token", "") or "", dep.log_token):
                return Response(403, b"forbidden", content_type="text/plain")
            text = self._log_text(app, dep, request.params["log_type"])
        return Response(200, text.encode(), content_type="text/plain; charset=utf-8")

    def _log_text(self, app: App, dep: Deployment, kind: str) -> str:
        if kind in dep.logs:
            return dep.logs[kind]
        if kind.startswith("JOB_INVOCATION."):
            return self._job_log(app, dep, kind.partition(".")[2])
        phase, _ = self.phase(app, dep)
        stamp = iso(dep.created)
        failure = dep.failure if phase == "ERROR" else None
        if failure is not None and failure.job and kind == "DEPLOY":
            return f"{stamp} pre-deploy job {failure.job} failed\n"
        if failure is not None and failure.log_type == kind and not failure.job:
            return failure.log
        if kind == "DEPLOY" and failure is not None and failure.phase in ("PENDING_BUILD", "BUILDING"):
            return ""  # the build failed: nothing was deployed
        texts = {
            "BUILD": f"{stamp} web building commit {dep.commit[:12]}\n{stamp} web build complete\n",
            "DEPLOY": "".join(f"{stamp} {line}\n" for line in app.deploy_log.splitlines()),
        }
        return texts.get(kind, app.run_log)

    def _job_log(self, app: App, dep: Deployment, job: str) -> str:
        ran = next((i for i in invocations(app, dep, self.clock()) if i.job_name == job), None)
        return ran.log if ran is not None else ""

    def _validate_rollback(self, request: Request) -> Response:
        app = self._app(request)
        if app is None:
            return self._missing()
        target = (request.json() or {}).get("deployment_id", "")
        with self.lock:
            dep = self._find_deployment(app, target)
            if dep is None:
                return self._missing("deployment")
            phase = self.phase(app, dep)[0]
            problem = None
            if app.pinned:
                problem = ("app_pinned", "a rollback is in progress and the app is pinned")
            elif phase not in ("ACTIVE", "SUPERSEDED") or dep.superseded_before_live(self.clock()):
                reason = "failed" if phase == "ERROR" else phase.lower()
                code = (
                    "incompatible_result"
                    if phase in ("ERROR", "CANCELED", "SUPERSEDED")
                    else "incompatible_phase"
                )
                problem = (code, f'deployment result "{reason}" is unsuitable for rollback')
            if problem is not None:
                return Response(200, {"valid": False, "error": {"code": problem[0], "message": problem[1]}})
            warnings = _rollback_warnings(self._spec(app))
            return Response(200, {"valid": True, **({"warnings": warnings} if warnings else {})})

    def _rollback(self, request: Request) -> Response:
        app = self._app(request)
        if app is None:
            return self._missing()
        body = request.json() or {}
        with self.lock:
            target = self._find_deployment(app, body.get("deployment_id", ""))
            if target is None:
                return self._missing("deployment")
            dep = self.deploy(
                app, cause="rollback", cloned_from=target.id, cause_details={"type": "MANUAL_ROLLBACK"}
            )
            dep.commit = target.commit
            if not body.get("skip_pin"):
                app.pinned = dep.id
            return Response(200, {"deployment": self._deployment_json(app, dep)})

    def _commit_rollback(self, request: Request) -> Response:
        app = self._app(request)
        if app is None:
            return self._missing()
        with self.lock:
            app.pinned = None
        return Response(200, None)

    def _revert_rollback(self, request: Request) -> Response:
        app = self._app(request)
        if app is None:
            return self._missing()
        with self.lock:
            if not app.pinned:
                return Response(400, {"id": "bad_request", "message": "the app has no rollback to revert"})
            app.pinned = None
            dep = self.deploy(app, cause="rollback reverted", cause_details={"type": "MANUAL"})
            return Response(200, {"deployment": self._deployment_json(app, dep)})

    def _health(self, request: Request) -> Response:
        app = self._app(request)
        if app is None:
            return self._missing()
        with self.lock:
            running = self._newest(app, {"ACTIVE"}) is not None
            components = []
            for c in app.components:
                ready = app.ready.get(c, app.replicas if app.health_state == "HEALTHY" else 0)
                state = app.health_state if running else "UNKNOWN"
                if running and ready < app.replicas and app.health_state == "HEALTHY":
                    state = "UNHEALTHY"
                components.append({"name": c, "state": state, "cpu_usage_percent": app.cpu,
                                   "memory_usage_percent": app.memory, "replicas_desired": app.replicas,
                                   "replicas_ready": ready if running else 0})  # fmt: skip
        return Response(200, {"app_health": {"components": components}})

    def _alerts(self, request: Request) -> Response:
        app = self._app(request)
        if app is None:
            return self._missing()
        return Response(200, {"alerts": []})

    # --- jobs, instances, restarts, metrics ------------------------------------------------------

    def _all_invocations(self, app: App) -> list[Any]:
        now = self.clock()
        return [i for dep in app.deployments for i in invocations(app, dep, now)]  # newest first

    def _find_invocation(self, request: Request) -> tuple[App, Any] | Response:
        app = self._app(request)
        if app is None:
            return self._missing()
        with self.lock:
            wanted = request.params["job_invocation_id"]
            name = request.arg("job_name") or request.params.get("job_name")
            found = next(
                (
                    i
                    for i in self._all_invocations(app)
                    if i.id == wanted and (not name or i.job_name == name)
                ),
                None,
            )
        if found is None:
            return self._missing("job invocation")
        return app, found

    def _list_invocations(self, request: Request) -> Response:
        app = self._app(request)
        if app is None:
            return self._missing()
        page, per_page = _paging(request)
        # job_names is an array parameter: repeated (job_names=a&job_names=b) or comma-separated
        names = {n for v in request.query.get("job_names", []) for n in v.split(",") if n}
        deployment = request.arg("deployment_id")
        with self.lock:
            every = [
                i for i in self._all_invocations(app)
                if (not names or i.job_name in names) and (not deployment or i.deployment_id == deployment)
            ]  # fmt: skip
            chosen = [i.json() for i in every[(page - 1) * per_page : page * per_page]]
        links: dict[str, Any] = {}
        if page * per_page < len(every):
            links = {"pages": {"next": f"{self.url}/v2/apps/{app.id}/job-invocations?page={page + 1}"
                                       f"&per_page={per_page}"}}  # fmt: skip
        return Response(200, {"job_invocations": chosen, "links": links})

    def _get_invocation(self, request: Request) -> Response:
        found = self._find_invocation(request)
        if isinstance(found, Response):
            return found
        # godo reads the invocation under a "job_invocation" key (the contract's response
        # description says so too; its schema shows the bare object).
        return Response(200, {"job_invocation": found[1].json()})

    def _cancel_invocation(self, request: Request) -> Response:
        found = self._find_invocation(request)
        if isinstance(found, Response):
            return found
        app, invocation = found
        with self.lock:
            if invocation.phase in ("PENDING", "RUNNING"):
                dep = self._find_deployment(app, invocation.deployment_id)
                if dep is not None:
                    dep.canceled_jobs[invocation.job_name] = self.clock()
                    # a deployment whose PRE_DEPLOY job was cancelled does not go on
                    dep.canceled_at = self.clock()
            again = next(i for i in self._all_invocations(app) if i.id == invocation.id)
        return Response(200, {"job_invocation": again.json()})

    def _invocation_logs(self, request: Request) -> Response:
        found = self._find_invocation(request)
        if isinstance(found, Response):
            return found
        app, invocation = found
        if request.arg("type") != "JOB_INVOCATION":
            return Response(400, {"id": "bad_request", "message": "type must be JOB_INVOCATION"})
        with self.lock:
            dep = self._find_deployment(app, invocation.deployment_id)
            token = dep.log_token if dep is not None else ""
        url = (
            f"{self.url}/_logs/{invocation.deployment_id}/JOB_INVOCATION.{invocation.job_name}?token={token}"
        )
        if invocation.phase == "RUNNING":  # a running job's log is a stream, as a live run log is
            return Response(200, {"live_url": f"{url}&live=1"})
        return Response(200, {"historic_urls": [url]})

    def _instances(self, request: Request) -> Response:
        app = self._app(request)
        if app is None:
            return self._missing()
        with self.lock:
            running = self._newest(app, {"ACTIVE"}) is not None
            return Response(200, {"instances": instances(app) if running else []})

    def _restart(self, request: Request) -> Response:
        app = self._app(request)
        if app is None:
            return self._missing()
        wanted = list((request.json() or {}).get("components") or app.components)
        unknown = [c for c in wanted if c not in app.components]
        with self.lock:
            if unknown:
                return Response(400, {"id": "invalid_argument", "request_id": str(uuid.uuid4()),
                                      "message": f"unknown component {unknown[0]!r}"})  # fmt: skip
            if app.pinned:
                return Response(400, self.error_body(400, _PINNED_MESSAGE))
            live = self._newest(app, {"ACTIVE"})
            if live is None:
                return Response(
                    400, {"id": "bad_request", "message": "the app has no active deployment to restart"}
                )
            now = self.clock()
            app.restarts += [(now, c) for c in wanted]
            # A restart redeploys what runs: no build, the same commit.
            timings = {**app.timings, "PENDING_BUILD": 0.0, "BUILDING": 0.0}
            dep = self.deploy(app, cause="app restart", cause_details={"type": "MANUAL"})
            dep.timings, dep.commit = timings, live.commit
            return Response(200, {"deployment": self._deployment_json(app, dep)})

    def _metrics(self, request: Request) -> Response:
        metric = request.path.rsplit("/", 1)[-1]
        try:
            start, end = int(request.arg("start") or ""), int(request.arg("end") or "")
        except ValueError:
            return Response(400, {"id": "bad_request", "message": "start and end must be unix timestamps"})
        if end < start:
            return Response(400, {"id": "bad_request", "message": "end must not be before start"})
        key = request.arg("app_id") or ""
        component = request.arg("app_component")
        result: list[dict[str, Any]] = []
        with self.lock:
            # Monitoring answers an app it does not know with no series, never a 404.
            app = self.apps.get(key)
            names = [n for n in app.components if not component or n == component] if app is not None else []
            for name in names:
                assert app is not None  # noqa: S101 - names is empty without an app
                for alias in range(app.replicas):
                    values = metric_series(app, metric, name, float(start), float(end), self.clock())
                    if values:
                        result.append({"metric": {"app_component": name, "app_component_instance": f"{name}-{alias}",
                                                  "app_uuid": app.id}, "values": values})  # fmt: skip
        return Response(200, {"status": "success", "data": {"resultType": "matrix", "result": result}})
