"""The only module that talks to App Platform: pydo for the API, httpx for log files.

pydo is imported only when a client is built. Its automatic retries are off (``retry_total=0``):
reads are retried here, boundedly, on transport errors, 429 and 5xx, honouring ``Retry-After``
and ``ratelimit-reset``; writes are never retried blindly (a create whose answer was lost raises
RequestLost so the caller can look before trying again). pydo answers most unknown-resource
requests with a ``{"id": "not_found"}`` body instead of raising: that becomes our error too.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol, TypedDict
from urllib.parse import urlsplit

from terp_actions.backoff import RetryPolicy, retrying
from terp_actions.errors import AppNotFound, DigitalOceanError, LogUnavailable, RequestLost, TokenRefused
from terp_actions.redact import Redactor

DEFAULT_ENDPOINT: Final = "https://api.digitalocean.com"
LOG_TYPES: Final = ("BUILD", "DEPLOY", "RUN")
MAX_LOG_BYTES: Final = 2 * 1024 * 1024
_UUID_LENGTH: Final = 36
_MAX_PAGES: Final = 50  # 10,000 apps at 200 a page
LIVE_SECONDS: Final = 5.0  # how long a live log stream is read for "what is there now"
ROLLBACK_CAUSES: Final = frozenset({"MANUAL_ROLLBACK", "AUTO_ROLLBACK"})  # godo's cause_details.type
Metric = Literal["cpu_percentage", "memory_percentage", "restart_count"]
_METRIC_CALLS: Final = {
    "cpu_percentage": "get_app_cpu_percentage_metrics",
    "memory_percentage": "get_app_memory_percentage_metrics",
    "restart_count": "get_app_restart_count_metrics_yml",  # upstream's operation id ends in ".yml"
}


@dataclass(frozen=True)
class JobInvocation:
    """One run of an app's job (a PRE_DEPLOY job runs once per deployment)."""

    id: str
    job_name: str
    deployment_id: str
    phase: str  # PENDING, RUNNING, SUCCEEDED, FAILED, CANCELED, SKIPPED, UNKNOWN
    created_at: str
    completed_at: str  # "" while it runs


@dataclass(frozen=True)
class Instance:
    """One running instance of a component."""

    component: str
    component_type: str  # SERVICE, WORKER or JOB
    name: str
    alias: str


@dataclass(frozen=True)
class MetricSeries:
    """One instance's values of an app metric over a window: (unix seconds, value) pairs."""

    component: str
    instance: str
    points: tuple[tuple[float, float], ...]


def is_app_id(app: str) -> bool:
    """True when ``app`` is an app id (a UUID) rather than an app name."""
    return len(app) == _UUID_LENGTH and app.count("-") == 4


def is_loopback(endpoint: str) -> bool:
    """True for an http(s) URL whose host is a loopback address (the sandbox)."""
    host = urlsplit(endpoint).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bearer_policy(token: str) -> Any:
    """Bearer auth without azure-core's https-only rule, for a loopback endpoint only."""
    from azure.core.pipeline.policies import SansIOHTTPPolicy  # noqa: PLC0415 - pydo's own dependency

    class LoopbackBearer(SansIOHTTPPolicy):  # type: ignore[type-arg]
        def on_request(self, request: Any) -> None:
            request.http_request.headers["Authorization"] = f"Bearer {token}"

    return LoopbackBearer()


class _Where(TypedDict):
    """The app and deployment a request was about, for the error it may raise."""

    app: str
    deployment: str


class AppPlatformClient(Protocol):
    """The App Platform operations the flows use (``AppPlatform`` is the real one)."""

    def get_app(self, app: str) -> dict[str, Any]: ...
    def list_apps(self) -> list[dict[str, Any]]: ...
    def create_app(self, spec: Mapping[str, Any]) -> dict[str, Any]: ...
    def delete_app(self, app_id: str) -> bool: ...
    def validate_spec(self, spec: Mapping[str, Any], app_id: str | None = None) -> dict[str, Any]: ...
    def update_app(self, app_id: str, spec: Mapping[str, Any]) -> dict[str, Any]: ...
    def health(self, app_id: str) -> dict[str, Any]: ...
    def alerts(self, app_id: str) -> list[dict[str, Any]]: ...
    def list_deployments(self, app_id: str, *, per_page: int = 20) -> list[dict[str, Any]]: ...
    def create_deployment(self, app_id: str, *, force_build: bool = False) -> dict[str, Any]: ...
    def get_deployment(self, app_id: str, deployment_id: str) -> dict[str, Any]: ...
    def cancel_deployment(self, app_id: str, deployment_id: str) -> dict[str, Any]: ...
    def logs(self, app_id: str, deployment_id: str | None, kind: str, *, max_bytes: int = ...) -> str: ...
    def validate_rollback(self, app_id: str, deployment_id: str) -> dict[str, Any]: ...
    def rollback(self, app_id: str, deployment_id: str) -> dict[str, Any]: ...
    def commit_rollback(self, app_id: str) -> None: ...
    def revert_rollback(self, app_id: str) -> dict[str, Any]: ...
    def job_invocations(
        self, app_id: str, *, deployment_id: str | None = None, job_names: Iterable[str] = ()
    ) -> list[JobInvocation]: ...
    def job_invocation(self, app_id: str, invocation_id: str) -> JobInvocation: ...
    def cancel_job_invocation(self, app_id: str, invocation_id: str) -> JobInvocation: ...
    def job_invocation_log(
        self, app_id: str, job_name: str, invocation_id: str, *, max_bytes: int = ...
    ) -> str: ...
    def instances(self, app_id: str) -> list[Instance]: ...
    def restart(self, app_id: str, components: Iterable[str] = ()) -> dict[str, Any]: ...
    def app_metric(
        self, app_id: str, metric: Metric, start: float, end: float, *, component: str | None = None
    ) -> list[MetricSeries]: ...


class AppPlatform:
    """App Platform operations terp-actions needs, raising only our errors."""

    def __init__(
        self,
        token: str,
        endpoint: str = DEFAULT_ENDPOINT,
        *,
        timeout: float = 30.0,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import pydo  # noqa: PLC0415 - 170+ ms to import: only in commands that call App Platform

        scheme = urlsplit(endpoint).scheme
        if scheme != "https" and not (scheme == "http" and is_loopback(endpoint)):
            raise DigitalOceanError(
                f"endpoint {endpoint!r} must be https (plain http only for a loopback sandbox)"
            )
        extra: dict[str, Any] = {}
        if scheme == "http":
            extra["authentication_policy"] = _bearer_policy(token)
        # Every request has a deadline: connecting and each read (azure-core's defaults are 5 min).
        self._client = pydo.Client(
            token,
            endpoint=endpoint,
            timeout=int(timeout),
            connection_timeout=timeout,
            read_timeout=timeout,
            retry_total=0,
            **extra,
        )
        self._timeout = timeout
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._redact = Redactor([token])

    # --- plumbing ---------------------------------------------------------------------------

    def _call(
        self, what: str, fn: Callable[[], Any], *, app: str = "", deployment: str = "", write: bool = False
    ) -> Any:
        """Run one pydo call, translating its exceptions and error bodies into ours."""
        from azure.core.exceptions import (  # noqa: PLC0415
            HttpResponseError,
            ServiceRequestError,
            ServiceResponseError,
        )

        where = _Where(app=app, deployment=deployment)
        try:
            result = fn()
        except HttpResponseError as exc:
            status = exc.status_code
            response: Any = exc.response
            headers: Mapping[str, str] = response.headers if response is not None else {}
            if status is not None and status < 300:  # a 2xx whose body could not be read: processed
                raise _unanswered(f"{what}: answered but unreadable", write, where) from None
            if status == 401:
                raise _refused(what) from None
            if write and status is not None and status >= 500:
                raise RequestLost(f"{what}: answered {status} and may have been processed", status=status,
                                  **where) from None  # fmt: skip
            raise DigitalOceanError(
                f"{what}: {self._message(exc, status)}",
                status=status,
                # A 429 refuses a request before processing it: even a write is safe to repeat.
                retryable=status == 429 or (not write and status is not None and status >= 500),
                retry_after=_retry_after(headers),
                **where,
            ) from None
        except ServiceResponseError as exc:  # sent, but no (complete) answer: a timeout, a dropped connection
            raise _unanswered(f"{what}: no answer ({type(exc).__name__})", write, where) from None
        except ServiceRequestError as exc:  # never sent: safe to retry even a write
            raise DigitalOceanError(
                f"{what}: could not connect ({self._redact(str(exc))[:200]})", retryable=True, **where
            ) from None
        except ValueError as exc:  # a body that is not JSON
            raise _unanswered(f"{what}: unreadable answer ({exc.__class__.__name__})", write, where) from None
        self._check_body(what, result, where)
        return result

    def _check_body(self, what: str, result: Any, where: _Where) -> None:
        """pydo hands some error answers back as bodies (``{"id": "not_found", ...}``): raise them."""
        if not (isinstance(result, Mapping) and "id" in result and "message" in result and len(result) <= 3):
            return
        if result["id"] == "unauthorized":
            raise _refused(what)
        if result["id"] == "not_found":
            if where["deployment"]:
                raise DigitalOceanError(f"{what}: no such deployment", status=404, **where)
            raise AppNotFound(
                f"{what}: no such app (or the token cannot see it)",
                app=where["app"],
                status=404,
                hint="check environments.<env>.app in the configuration and the token's team",
            )
        raise DigitalOceanError(f"{what}: {self._redact(str(result['message']))[:300]}", **where)

    def _message(self, exc: Any, status: int | None) -> str:
        body: Any = None
        try:
            body = exc.response.json() if exc.response is not None else None
        except ValueError:
            body = None
        text = body.get("message") if isinstance(body, Mapping) else None
        return self._redact(f"{status} {text or exc.reason or 'error'}")[:300]

    def _read(self, what: str, fn: Callable[[], Any], *, app: str = "", deployment: str = "") -> Any:
        return retrying(
            lambda: self._call(what, fn, app=app, deployment=deployment), self._policy, sleep=self._sleep
        )

    def _write(self, what: str, fn: Callable[[], Any], *, app: str = "", deployment: str = "") -> Any:
        """A request that changes something: retried only when refused unprocessed (429, as
        ``Retry-After`` asks); a lost answer raises RequestLost for the caller to reconcile."""
        return retrying(
            lambda: self._call(what, fn, app=app, deployment=deployment, write=True),
            self._policy,
            sleep=self._sleep,
        )

    # --- apps -----------------------------------------------------------------------------------

    def get_app(self, app: str) -> dict[str, Any]:
        """The app by id, or by name: a name is looked up by listing the apps (as doctl does),
        never put in the path, where App Platform takes an id only."""
        if is_app_id(app):
            body = self._read("get app", lambda: self._client.apps.get(app), app=app)
            return dict(body["app"])
        found = [a for a in self.list_apps() if (a.get("spec") or {}).get("name") == app]
        if not found:
            raise AppNotFound(
                f"no app named {app!r} (or the token cannot see it)",
                app=app,
                status=404,
                hint="check environments.<env>.app in the configuration and the token's team",
            )
        return dict(found[0])

    def list_apps(self) -> list[dict[str, Any]]:
        """Every app the token can see, every page."""
        apps: list[dict[str, Any]] = []
        for page in range(1, _MAX_PAGES + 1):
            body = self._read("list apps", functools.partial(self._client.apps.list, page=page, per_page=200))
            apps += list(body.get("apps") or [])
            if not ((body.get("links") or {}).get("pages") or {}).get("next"):
                return apps
        return apps

    def create_app(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Create an app from ``spec`` (App Platform deploys it at once). A lost answer raises
        RequestLost: look the app up by name before creating again."""
        body = self._write("create app", lambda: self._client.apps.create({"spec": dict(spec)}))
        return dict(body["app"])

    def delete_app(self, app_id: str) -> bool:
        """Delete the app; False when it was already gone. Deleting twice is harmless, so retried."""
        try:
            self._read("delete app", lambda: self._client.apps.delete(app_id), app=app_id)
        except AppNotFound:
            return False
        return True

    def validate_spec(self, spec: Mapping[str, Any], app_id: str | None = None) -> dict[str, Any]:
        """App Platform's own check of ``spec`` (as a new app, or as an update of ``app_id``).

        A spec it refuses raises DigitalOceanError naming the first problem, as the API does."""
        body: dict[str, Any] = {"spec": dict(spec)}
        if app_id:
            body["app_id"] = app_id
        propose = self._client.apps.validate_app_spec
        return dict(self._read("validate app spec", lambda: propose(body), app=app_id or ""))

    def update_app(self, app_id: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Apply a new spec (App Platform starts a deployment for it). Never retried."""
        body = self._write(
            "update app",
            # Without update_all_source_versions App Platform keeps building the old commit.
            lambda: self._client.apps.update(
                app_id, {"spec": dict(spec), "update_all_source_versions": True}
            ),
            app=app_id,
        )
        return dict(body["app"])

    def health(self, app_id: str) -> dict[str, Any]:
        """App Platform's view of the components' health."""
        return dict(self._read("get app health", lambda: self._client.apps.get_health(app_id), app=app_id))

    def alerts(self, app_id: str) -> list[dict[str, Any]]:
        """The app's alert policies and their phases."""
        body = self._read("list alerts", lambda: self._client.apps.list_alerts(app_id), app=app_id)
        return list(body.get("alerts") or [])

    # --- deployments ------------------------------------------------------------------------------

    def list_deployments(self, app_id: str, *, per_page: int = 20) -> list[dict[str, Any]]:
        """The newest deployments, newest first."""
        body = self._read(
            "list deployments",
            lambda: self._client.apps.list_deployments(app_id, per_page=per_page),
            app=app_id,
        )
        return list(body.get("deployments") or [])

    def create_deployment(self, app_id: str, *, force_build: bool = False) -> dict[str, Any]:
        """Start a deployment. A lost answer raises RequestLost: list before trying again."""
        body = self._write(
            "create deployment",
            lambda: self._client.apps.create_deployment(app_id, {"force_build": force_build}),
            app=app_id,
        )
        return dict(body["deployment"])

    def get_deployment(self, app_id: str, deployment_id: str) -> dict[str, Any]:
        """One deployment, with its phase and progress."""
        body = self._read(
            "get deployment",
            lambda: self._client.apps.get_deployment(app_id, deployment_id),
            app=app_id,
            deployment=deployment_id,
        )
        return dict(body["deployment"])

    def cancel_deployment(self, app_id: str, deployment_id: str) -> dict[str, Any]:
        """Cancel a deployment (repeating a cancel is harmless, so it is retried)."""
        body = self._read(
            "cancel deployment",
            lambda: self._client.apps.cancel_deployment(app_id, deployment_id),
            app=app_id,
            deployment=deployment_id,
        )
        return dict(body["deployment"])

    def logs(
        self, app_id: str, deployment_id: str | None, kind: str, *, max_bytes: int = MAX_LOG_BYTES
    ) -> str:
        """The text of a deployment's (or, without one, the active deployment's) logs of ``kind``.

        Log files are downloaded from the URLs App Platform hands out; those URLs carry access
        tokens, so they are never printed or put into an error message.
        """
        if kind not in LOG_TYPES:
            raise DigitalOceanError(f"log type must be one of {', '.join(LOG_TYPES)}, not {kind!r}")
        if deployment_id:
            body = self._read(
                "get logs",
                lambda: self._client.apps.get_logs_aggregate(app_id, deployment_id, type=kind),
                app=app_id,
                deployment=deployment_id,
            )
        else:
            body = self._read(
                "get logs",
                lambda: self._client.apps.get_logs_active_deployment_aggregate(app_id, type=kind),
                app=app_id,
            )
        return self._read_log_links(body, kind, max_bytes, app_id, deployment_id or "")

    def _read_log_links(self, body: Any, kind: str, max_bytes: int, app_id: str, deployment_id: str) -> str:
        """The text behind a logs answer's ``historic_urls`` (downloaded) or ``live_url`` (streamed)."""
        if not isinstance(body, Mapping):
            raise LogUnavailable(
                f"{kind.lower()} log: unreadable answer", app=app_id, deployment=deployment_id
            )
        historic = [str(u) for u in body.get("historic_urls") or []]
        live = str(body.get("live_url") or "")
        where = (app_id, deployment_id)
        if not historic and not live:
            raise LogUnavailable(f"{kind.lower()} log: App Platform handed out no log URL", app=app_id,
                                 deployment=deployment_id)  # fmt: skip
        if not historic:
            return self._read_live(live, kind, max_bytes, *where)
        # A log file is a plain GET of a pre-signed URL: a dropped connection is retried.
        chunks = [
            retrying(
                functools.partial(self._download, url, max_bytes, *where),
                self._policy,
                sleep=self._sleep,
            )
            for url in historic
        ]
        return "".join(chunks)[-max_bytes:]

    def _read_live(self, url: str, kind: str, max_bytes: int, app: str, deployment: str) -> str:
        """What a live log stream holds now. Every ``live_url`` is a websocket, whatever its scheme
        says: doctl opens http as ws and anything else as wss (its own tests hand out
        ``https://…?token=…``); plain http/ws only on loopback."""
        scheme = urlsplit(url).scheme
        plain = scheme in ("http", "ws")
        if scheme not in ("https", "wss", "http", "ws") or (plain and not is_loopback(url)):
            raise LogUnavailable(
                f"{kind.lower()} log: unexpected live log address", app=app, deployment=deployment
            )
        socket_url = ("ws" if plain else "wss") + url[len(scheme) :]
        return self._read_websocket(socket_url, kind, max_bytes, app, deployment)

    def _read_websocket(self, url: str, kind: str, max_bytes: int, app: str, deployment: str) -> str:
        """A live log over a websocket, as doctl reads it: each frame a JSON object whose ``data``
        is a log line. Reads what arrives within LIVE_SECONDS (the stream never ends by itself)."""
        from websockets.exceptions import WebSocketException  # noqa: PLC0415 - only for live logs
        from websockets.sync.client import connect  # noqa: PLC0415

        lines: list[str] = []
        size = 0
        began = time.monotonic()
        try:
            with connect(url, open_timeout=self._timeout, close_timeout=1, max_size=max_bytes) as socket:
                while (remaining := LIVE_SECONDS - (time.monotonic() - began)) > 0:
                    try:
                        frame = socket.recv(timeout=remaining)
                    except TimeoutError:
                        break
                    text = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
                    try:
                        line = json.loads(text).get("data", "")
                    except (ValueError, AttributeError):
                        line = text
                    lines.append(str(line).rstrip("\n"))
                    size += len(lines[-1]) + 1
                    while size > max_bytes and lines:  # keep the tail, as for archived logs
                        size -= len(lines.pop(0)) + 1
        except WebSocketException as exc:
            if not lines:
                raise LogUnavailable(
                    f"{kind.lower()} log: the live stream could not be read ({type(exc).__name__})",
                    app=app,
                    deployment=deployment,
                ) from None
        except OSError as exc:
            raise LogUnavailable(
                f"{kind.lower()} log: the live stream could not be reached ({type(exc).__name__})",
                app=app,
                deployment=deployment,
            ) from None
        return "".join(f"{line}\n" for line in lines)

    def _download(self, url: str, max_bytes: int, app: str, deployment: str) -> str:
        import httpx  # noqa: PLC0415

        data = bytearray()
        try:
            with (
                httpx.Client(timeout=self._timeout, follow_redirects=False) as client,
                client.stream("GET", url) as resp,
            ):
                if resp.status_code != 200:
                    raise DigitalOceanError(
                        f"log file answered {resp.status_code}",
                        app=app,
                        deployment=deployment,
                        status=resp.status_code,
                    )
                for chunk in resp.iter_bytes():
                    data += chunk
                    if len(data) > max_bytes:  # keep the tail: errors are usually near the end
                        del data[: len(data) - max_bytes]
        except httpx.HTTPError as exc:
            raise DigitalOceanError(
                f"log file could not be read ({type(exc).__name__})",
                app=app,
                deployment=deployment,
                retryable=True,
            ) from None
        return data.decode("utf-8", "replace")

    # --- rollback -------------------------------------------------------------------------------

    def validate_rollback(self, app_id: str, deployment_id: str) -> dict[str, Any]:
        """Whether rolling back to ``deployment_id`` is possible, and why not."""
        return dict(
            self._read(
                "validate rollback",
                lambda: self._client.apps.validate_rollback(app_id, {"deployment_id": deployment_id}),
                app=app_id,
                deployment=deployment_id,
            )
        )

    def rollback(self, app_id: str, deployment_id: str) -> dict[str, Any]:
        """Roll back to ``deployment_id`` (App Platform pins the app). Never retried."""
        body = self._write(
            "create rollback",
            lambda: self._client.apps.create_rollback(app_id, {"deployment_id": deployment_id}),
            app=app_id,
            deployment=deployment_id,
        )
        return dict(body["deployment"])

    def commit_rollback(self, app_id: str) -> None:
        """Keep the rollback and unpin the app."""
        # Committing is safe to repeat: retried on transport errors, 429 and 5xx like a read.
        self._read("commit rollback", lambda: self._client.apps.commit_rollback(app_id), app=app_id)

    def revert_rollback(self, app_id: str) -> dict[str, Any]:
        """Undo the rollback (a new deployment of the previous state) and unpin."""
        body = self._write("revert rollback", lambda: self._client.apps.revert_rollback(app_id), app=app_id)
        return dict(body["deployment"])

    # --- jobs, instances, restarts, metrics -----------------------------------------------------------

    def job_invocations(
        self, app_id: str, *, deployment_id: str | None = None, job_names: Iterable[str] = ()
    ) -> list[JobInvocation]:
        """The app's job invocations, newest first (of one deployment, of some jobs), every page."""
        names = list(job_names) or None
        found: list[JobInvocation] = []
        for page in range(1, _MAX_PAGES + 1):
            body = self._read(
                "list job invocations",
                functools.partial(
                    self._client.apps.list_job_invocations,
                    app_id,
                    job_names=names,
                    deployment_id=deployment_id,
                    page=page,
                    per_page=200,
                ),
                app=app_id,
                deployment=deployment_id or "",
            )
            items = _field(body, "job_invocations", list, "list job invocations", default=[])
            found += [_invocation(item, "list job invocations") for item in items]
            if not ((body.get("links") or {}).get("pages") or {}).get("next"):
                break
        return found

    def job_invocation(self, app_id: str, invocation_id: str) -> JobInvocation:
        """One job invocation, with its phase."""
        body = self._read(
            "get job invocation",
            lambda: self._client.apps.get_job_invocation(app_id, invocation_id),
            app=app_id,
        )
        return _invocation(_unwrapped(body), "get job invocation")

    def cancel_job_invocation(self, app_id: str, invocation_id: str) -> JobInvocation:
        """Cancel a job invocation (repeating a cancel is harmless, so it is retried)."""
        body = self._read(
            "cancel job invocation",
            lambda: self._client.apps.cancel_job_invocation(app_id, invocation_id),
            app=app_id,
        )
        return _invocation(_unwrapped(body), "cancel job invocation")

    def job_invocation_log(
        self, app_id: str, job_name: str, invocation_id: str, *, max_bytes: int = MAX_LOG_BYTES
    ) -> str:
        """The log of one job invocation (archived, or the live stream while it runs)."""
        body = self._read(
            "get job invocation logs",
            lambda: self._client.apps.get_job_invocation_logs(
                app_id, job_name, invocation_id, type="JOB_INVOCATION"
            ),
            app=app_id,
        )
        return self._read_log_links(body, "JOB_INVOCATION", max_bytes, app_id, "")

    def instances(self, app_id: str) -> list[Instance]:
        """The app's running instances."""
        body = self._read("get instances", lambda: self._client.apps.get_instances(app_id), app=app_id)
        items = _field(body, "instances", list, "get instances", default=[])
        return [
            Instance(
                component=_text(item, "component_name", "get instances"),
                component_type=str(item.get("component_type") or ""),
                name=_text(item, "instance_name", "get instances"),
                alias=str(item.get("instance_alias") or ""),
            )
            for item in (_mapping(i, "get instances") for i in items)
        ]

    def restart(self, app_id: str, components: Iterable[str] = ()) -> dict[str, Any]:
        """Restart the app's components (all when none are named): App Platform starts a
        deployment of what runs, without a build. Never retried blindly."""
        wanted = list(components)
        body = self._write(
            "restart app",
            lambda: self._client.apps.restart(app_id, {"components": wanted} if wanted else {}),
            app=app_id,
        )
        return dict(_field(body, "deployment", Mapping, "restart app"))

    def app_metric(
        self, app_id: str, metric: Metric, start: float, end: float, *, component: str | None = None
    ) -> list[MetricSeries]:
        """One of Monitoring's app metrics between ``start`` and ``end`` (unix seconds), a series
        per instance. No series at all is an empty list (Monitoring's answer for no data)."""
        what = f"get {metric.replace('_', ' ')} metrics"
        call = getattr(self._client.monitoring, _METRIC_CALLS[metric])
        body = self._read(
            what,
            functools.partial(
                call, app_id=app_id, start=str(int(start)), end=str(int(end)), app_component=component
            ),
            app=app_id,
        )
        data = _field(body, "data", Mapping, what)
        series: list[MetricSeries] = []
        for item in _field(data, "result", list, what, default=[]):
            labels = _field(_mapping(item, what), "metric", Mapping, what)
            try:
                points = tuple((float(t), float(v)) for t, v in item.get("values") or [])
            except (TypeError, ValueError):
                raise DigitalOceanError(f"{what}: unreadable answer (values)", app=app_id) from None
            series.append(MetricSeries(str(labels.get("app_component") or ""),
                                       str(labels.get("app_component_instance") or ""), points))  # fmt: skip
        return series


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise DigitalOceanError(f"{what}: unreadable answer (expected an object)")
    return value


def _field(body: Any, key: str, kind: type, what: str, *, default: Any = None) -> Any:
    """``body[key]`` when it is of ``kind``; absent gives ``default`` when one is allowed."""
    value = _mapping(body, what).get(key)
    if value is None and default is not None:
        return default
    if not isinstance(value, kind):
        raise DigitalOceanError(f"{what}: unreadable answer ({key!r} missing or of the wrong type)")
    return value


def _text(item: Mapping[str, Any], key: str, what: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise DigitalOceanError(f"{what}: unreadable answer ({key!r} missing)")
    return value


def _unwrapped(body: Any) -> Any:
    """A job invocation as godo reads it (under ``job_invocation``), or bare as the contract shows it."""
    if isinstance(body, Mapping) and isinstance(body.get("job_invocation"), Mapping):
        return body["job_invocation"]
    return body


def _invocation(item: Any, what: str) -> JobInvocation:
    found = _mapping(item, what)
    return JobInvocation(
        id=_text(found, "id", what),
        job_name=_text(found, "job_name", what),
        deployment_id=str(found.get("deployment_id") or ""),
        phase=str(found.get("phase") or "UNKNOWN"),
        created_at=str(found.get("created_at") or ""),
        completed_at=str(found.get("completed_at") or ""),
    )


def _unanswered(message: str, write: bool, where: _Where) -> DigitalOceanError:
    """No usable answer: a write may have been processed (the caller looks before trying again);
    a read is simply worth another try."""
    if write:
        return RequestLost(message, **where)
    return DigitalOceanError(message, retryable=True, **where)


def _refused(what: str) -> TokenRefused:
    return TokenRefused(
        f"{what}: App Platform refused DIGITALOCEAN_TOKEN (401 unauthorized)",
        status=401,
        hint="it is wrong, expired or revoked, or lacks the app scopes: make a new one and update the secret",
    )


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``Retry-After`` or ``ratelimit-reset`` (an epoch time)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    value = lowered.get("retry-after")
    if value:
        try:
            return float(value)
        except ValueError:
            return None
    reset = lowered.get("ratelimit-reset")
    if reset and lowered.get("ratelimit-remaining") == "0":
        try:
            return max(0.0, float(reset) - time.time())
        except ValueError:
            return None
    return None
