"""The HTTP machinery every stand-in shares: a loopback server, routing, faults, contract checks.

A stand-in subclasses :class:`StandIn` and registers routes by OpenAPI operation id. Each request
is counted per operation; a fault planned for that operation and call number replaces or follows
the handler (429 with ``Retry-After``, a 5xx, a slow answer, truncated JSON, or a request that is
processed and then answered with an error). When a :class:`~terp_actions.sandbox.contract.Contract`
is attached, every request and response is validated against it and any violation is recorded;
tests assert that none happened.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Literal, Self
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from terp_actions.sandbox.contract import Contract

FaultKind = Literal["status", "slow", "truncate", "invalid_json", "after", "close"]


@dataclass(frozen=True)
class Fault:
    """A failure to inject: on ``operation`` (an operation id, or "*"), at the given call numbers.

    ``calls`` are 1-based per-operation call numbers; empty means every call. ``kind``:
    ``status`` answers ``status`` without processing (with ``retry_after`` seconds when set);
    ``after`` processes the request, then answers ``status`` (a lost answer);
    ``slow`` waits ``delay`` seconds before answering normally; ``truncate`` cuts the JSON body
    in half; ``invalid_json`` answers a body that is not JSON; ``close`` drops the connection.
    """

    operation: str
    kind: FaultKind = "status"
    calls: frozenset[int] = frozenset()
    status: int = 500
    retry_after: float | None = None
    delay: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()
    message: str = ""  # the error body's message (the service's own words), when it matters

    def applies(self, operation: str, call: int) -> bool:
        """True when this fault hits ``operation``'s ``call``-th call."""
        return self.operation in ("*", operation) and (not self.calls or call in self.calls)


@dataclass
class Request:
    """What a handler sees of a request."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    operation: str = ""

    def json(self) -> Any:
        """The body parsed as JSON (None when empty)."""
        return json.loads(self.body) if self.body else None

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    """What a handler returns."""

    status: int = 200
    body: Any = None  # JSON-serialisable, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return b"" if self.body is None else json.dumps(self.body).encode()


Handler = Callable[[Request], Response]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    operation: str
    handler: Handler
    in_contract: bool = True


def _route_pattern(template: str) -> re.Pattern[str]:
    """``/v2/apps/{app_id}`` to a regex with a named group per parameter."""
    out = re.sub(r"\{(\w+)\}", lambda m: f"(?P<{m[1]}>[^/]+)", template)
    # GitHub's ref parameters contain slashes (heads/main): they take the rest of the path.
    out = out.replace("(?P<ref>[^/]+)", "(?P<ref>.+)").replace("(?P<basehead>[^/]+)", "(?P<basehead>.+)")
    return re.compile(f"^{out}$")


class StandIn:
    """A stateful HTTP server on 127.0.0.1 with an OS-chosen port, thread-safe, start/stop."""

    name = "stand-in"

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.routes: list[Route] = []
        self.faults: list[Fault] = []
        self.calls: Counter[str] = Counter()
        self.violations: list[str] = []
        self.history: list[tuple[str, float]] = []  # (operation, the stand-in's clock) per request
        self.contract: Contract | None = None
        # Something another client does just before an operation is handled (a concurrent run's
        # request, say): run once, with the request about to be handled.
        self.before: dict[str, Callable[[Request], None]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- routing -------------------------------------------------------------------------

    def route(
        self, method: str, template: str, operation: str, *, in_contract: bool = True
    ) -> Callable[[Handler], Handler]:
        """Register a handler for ``method template`` under ``operation``."""

        def register(handler: Handler) -> Handler:
            self.routes.append(Route(method, _route_pattern(template), operation, handler, in_contract))
            return handler

        return register

    def add_route(
        self, method: str, template: str, operation: str, handler: Handler, *, in_contract: bool = True
    ) -> None:
        """Register ``handler`` (the non-decorator form of :meth:`route`)."""
        self.routes.append(Route(method, _route_pattern(template), operation, handler, in_contract))

    # --- lifecycle -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:40123``."""
        if self._server is None:
            raise RuntimeError(f"{self.name} is not running")
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> Self:
        """Listen on 127.0.0.1 (port chosen by the OS) in a background thread."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name=self.name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @contextmanager
    def running(self) -> Iterator[Self]:
        """``with stand_in.running():`` start, and stop afterwards."""
        self.start()
        try:
            yield self
        finally:
            self.stop()

    # --- faults ----------------------------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        """Plan a failure (see :class:`Fault`)."""
        with self.lock:
            self.faults.append(fault)

    def _fault_for(self, operation: str, call: int) -> Fault | None:
        with self.lock:
            return next((f for f in self.faults if f.applies(operation, call)), None)

    # --- hooks for subclasses ------------------------------------------------------------------

    def now(self) -> float:
        """The stand-in's clock (wall time unless a subclass injects one)."""
        return time.time()

    def authenticate(self, request: Request) -> Response | None:
        """Return an error response when the request is not authorised (default: all are)."""
        return None

    def decorate(self, request: Request, response: Response) -> None:
        """Add headers every response carries (rate limits and the like)."""

    def contract_applies(self, request: Request) -> bool:
        """Whether the contract describes this request (an API version it covers)."""
        return True

    def not_found(self, request: Request) -> Response:
        """The answer for a path no route knows."""
        return Response(404, {"message": "Not Found"})

    def error_body(self, status: int, message: str) -> Any:
        """The JSON error body this service sends."""
        return {"message": message}

    # --- dispatch --------------------------------------------------------------------------------

    def dispatch(self, request: Request) -> tuple[Response, Fault | None]:
        """Route, count, apply faults and contracts; return the response and any delivery fault."""
        route = self._match(request)
        if route is None:
            self.violations.append(f"{request.method} {request.path}: no such operation in {self.name}")
            return self.not_found(request), None
        request.operation = route.operation
        with self.lock:
            self.calls[route.operation] += 1
            call = self.calls[route.operation]
            self.history.append((route.operation, self.now()))
        problems: list[str] = []
        checked = route.in_contract and self.contract is not None and self.contract_applies(request)
        if checked and self.contract is not None:
            problems = list(self.contract.check_request(request))
            self.violations += [f"request {route.operation}: {p}" for p in problems]
        fault = self._fault_for(route.operation, call)
        denied = self.authenticate(request) if route.in_contract else None
        if denied is not None:
            response = denied
        elif problems:  # the real service refuses a malformed request; so does the stand-in
            response = Response(
                400, self.error_body(400, "request does not match the API: " + problems[0][:300])
            )
        elif fault is not None and fault.kind == "status":
            response = self._fault_response(fault)
        else:
            with self.lock:
                hook = self.before.pop(route.operation, None)
            if hook is not None:
                hook(request)
            try:
                response = route.handler(request)
            except Exception as exc:  # noqa: BLE001 - a bug in a stand-in must show, not hang a test
                self.violations.append(f"{route.operation}: handler raised {exc!r}")
                response = Response(500, self.error_body(500, f"stand-in error: {exc}"))
            if fault is not None and fault.kind == "after":
                response = self._fault_response(fault)
        self.decorate(request, response)
        # An injected failure is the service misbehaving on purpose (a 502 the contract does not
        # list): only the answers the stand-in gives of its own accord are held to the contract.
        injected = fault is not None and fault.kind in ("status", "after")
        if checked and self.contract is not None and not injected:
            response.body = self.contract.complete(route.operation, response.status, response.body, self.url)
            for problem in self.contract.check_response(request, response):
                self.violations.append(f"response {route.operation} {response.status}: {problem}")
        return response, fault

    def _fault_response(self, fault: Fault) -> Response:
        headers = dict(fault.headers)
        if fault.retry_after is not None:
            seconds = float(fault.retry_after)
            headers["Retry-After"] = str(int(seconds) if seconds.is_integer() else seconds)
        reason = fault.message or ("rate limited" if fault.status == 429 else "injected failure")
        return Response(fault.status, self.error_body(fault.status, reason), headers)

    def _match(self, request: Request) -> Route | None:
        for route in self.routes:
            if route.method != request.method:
                continue
            found = route.pattern.match(request.path)
            if found:
                request.params = {k: v for k, v in found.groupdict().items() if v is not None}
                return route
        return None


def _make_handler(stand_in: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and
        # the client's delayed ACK add ~40 ms to every answer.
        disable_nagle_algorithm = True
        server_version = stand_in.name

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: tests and `sandbox serve` report what matters themselves

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            try:
                response, fault = stand_in.dispatch(request)
            except Exception as exc:  # noqa: BLE001 - a crashed stand-in must fail the test loudly
                stand_in.violations.append(f"{request.method} {request.path}: stand-in crashed: {exc!r}")
                response, fault = Response(500, {"message": "stand-in crashed"}), None
            payload = response.encoded()
            if fault is not None and fault.kind == "slow":
                time.sleep(fault.delay)
            if fault is not None and fault.kind == "close":
                self.close_connection = True
                self.wfile.flush()
                self.connection.shutdown(2)
                return
            if fault is not None and fault.kind == "truncate":
                payload = payload[: max(1, len(payload) // 2)]
            if fault is not None and fault.kind == "invalid_json":
                payload = b"<html>upstream error</html>"
            self.send_response(response.status)
            if payload or response.status not in (204, 304):
                self.send_header("Content-Type", response.content_type)
            for key, value in response.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815 - the stdlib's names

    return Handler
