"""The vendors' OpenAPI contracts, held against every request and response a stand-in handles.

The contract files live outside this project (``shared/contracts/`` beside it in CI); they are
read from disk, never copied. Validation uses openapi-core, imported only when a contract is
loaded. A stand-in answers with the fields it models; :meth:`Contract.complete` then adds every
field the contract marks required but the stand-in does not model, with a placeholder of the
right type (a URL on the stand-in's own host, a timestamp, an empty list, a null where allowed),
so answers have the shape the real service's have.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

if TYPE_CHECKING:
    from terp_actions.sandbox.http import Request, Response

GITHUB_CONTRACT = "github-rest.openapi.json"
DIGITALOCEAN_CONTRACT = "digitalocean-apps.openapi.yaml"
_MAX_DEPTH = 14
_VALIDATION_BASE = "http://stand-in.invalid"


def default_contracts_dir() -> Path | None:
    """``$TERP_CONTRACTS_DIR``, or ``shared/contracts`` beside this checkout, when it exists."""
    configured = os.environ.get("TERP_CONTRACTS_DIR")
    if configured:
        return Path(configured)
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent.parent / "shared" / "contracts"
        if (parent / "pyproject.toml").exists() and candidate.is_dir():
            return candidate
    return None


@functools.cache
def load_contract(path: Path) -> Contract:
    """The contract at ``path``, loaded once per process."""
    return Contract(path)


class Contract:
    """One OpenAPI document: operations by method and path, validation, and completion."""

    def __init__(self, path: Path) -> None:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            self.spec: dict[str, Any] = json.loads(text)
        else:
            import yaml  # noqa: PLC0415 - only the App Platform contract is YAML

            self.spec = yaml.safe_load(text)
        self.path = path
        self._openapi: Any = None
        self.operations: dict[str, tuple[str, str, dict[str, Any]]] = {}
        for template, item in self.spec["paths"].items():
            for method, op in item.items():
                if method in {"get", "put", "post", "patch", "delete"}:
                    self.operations[op["operationId"]] = (method.upper(), template, op)

    @property
    def openapi(self) -> Any:
        """The openapi-core validator, built on first use (it is slow to build and to import)."""
        if self._openapi is None:
            from openapi_core import OpenAPI  # noqa: PLC0415 - heavy; only where contracts are checked

            spec = copy.deepcopy(self.spec)
            # Requests are validated as if sent to one fixed host, so one validator serves every
            # stand-in whatever port it was given.
            spec["servers"] = [{"url": _VALIDATION_BASE}]
            self._openapi = OpenAPI.from_dict(spec)
        return self._openapi

    # --- validation --------------------------------------------------------------------------

    def check_request(self, request: Request) -> Iterator[str]:
        """Problems with ``request`` under the contract (none when it conforms)."""
        from openapi_core.contrib.requests import RequestsOpenAPIRequest  # noqa: PLC0415

        oreq = RequestsOpenAPIRequest(self._requests_request(request))
        for error in self.openapi.iter_request_errors(oreq):
            yield _describe(error)

    def check_response(self, request: Request, response: Response) -> Iterator[str]:
        """Problems with ``response`` to ``request`` under the contract."""
        import requests  # noqa: PLC0415
        from openapi_core.contrib.requests import (  # noqa: PLC0415
            RequestsOpenAPIRequest,
            RequestsOpenAPIResponse,
        )

        raw = requests.Response()
        raw.status_code = response.status
        raw.headers.update({"Content-Type": response.content_type, **response.headers})
        raw._content = response.encoded()
        oreq = RequestsOpenAPIRequest(self._requests_request(request))
        for error in self.openapi.iter_response_errors(oreq, RequestsOpenAPIResponse(raw)):
            yield _describe(error)

    def _requests_request(self, request: Request) -> Any:
        import requests  # noqa: PLC0415

        query = urlencode(request.query, doseq=True)
        path = request.path
        for name in ("ref", "basehead"):  # parameters whose values hold slashes (heads/main)
            value = request.params.get(name)
            if value and path.endswith(value):
                path = path[: -len(value)] + quote(value, safe="")
        url = f"{_VALIDATION_BASE}{path}" + (f"?{query}" if query else "")
        headers = dict(request.headers)
        return requests.Request(request.method, url, headers=headers, data=request.body or None)

    # --- completion ----------------------------------------------------------------------------

    def complete(self, operation: str, status: int, body: Any, base_url: str) -> Any:
        """``body`` with every contract-required field present (placeholders where missing)."""
        if body is None or isinstance(body, bytes) or operation not in self.operations:
            return body
        schema = self._response_schema(operation, status)
        if schema is None:
            return body
        return self._fill(schema, body, base_url, 0)

    def _response_schema(self, operation: str, status: int) -> dict[str, Any] | None:
        _, _, op = self.operations[operation]
        responses = op.get("responses", {})
        entry = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
        if entry is None:
            return None
        entry = self._resolve(entry)
        content = entry.get("content", {})
        media = content.get("application/json") or next(iter(content.values()), None)
        return None if media is None else media.get("schema")

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while isinstance(schema, dict) and "$ref" in schema:
            node: Any = self.spec
            for part in schema["$ref"].lstrip("#/").split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            schema = node
        return schema

    def _fill(self, schema: dict[str, Any], value: Any, base: str, depth: int) -> Any:
        schema = self._resolve(schema)
        if depth > _MAX_DEPTH or value is None:
            return value
        for sub in schema.get("allOf", ()):
            value = self._fill(sub, value, base, depth + 1)
        branches = schema.get("anyOf") or schema.get("oneOf")
        if branches:
            branch = self._branch_for(branches, value)
            return value if branch is None else self._fill(branch, value, base, depth + 1)
        if isinstance(value, dict) and (schema.get("type") == "object" or "properties" in schema):
            props = schema.get("properties", {})
            for name in schema.get("required", ()):
                if name not in value:
                    value[name] = self._placeholder(props.get(name, {}), base, depth + 1)
            for name, sub in props.items():
                if value.get(name) is not None:
                    value[name] = self._fill(sub, value[name], base, depth + 1)
        elif isinstance(value, list) and "items" in schema:
            value = [self._fill(schema["items"], item, base, depth + 1) for item in value]
        return value

    def _branch_for(self, branches: list[dict[str, Any]], value: Any) -> dict[str, Any] | None:
        wanted = {
            dict: "object",
            list: "array",
            str: "string",
            bool: "boolean",
            int: "integer",
            float: "number",
        }
        kind = wanted.get(type(value))
        for branch in branches:
            resolved = self._resolve(branch)
            declared = resolved.get("type") or (
                "object" if "properties" in resolved or "allOf" in resolved else None
            )
            if declared == kind or (kind == "integer" and declared == "number"):
                return resolved
        return None

    def _placeholder(self, schema: dict[str, Any], base: str, depth: int) -> Any:  # noqa: PLR0911
        schema = self._resolve(schema)
        if depth > _MAX_DEPTH or schema.get("nullable"):
            return None
        branches = schema.get("anyOf") or schema.get("oneOf")
        if branches:
            resolved = [self._resolve(b) for b in branches]
            if any(b.get("nullable") or b.get("type") == "null" for b in resolved):
                return None
            return self._placeholder(resolved[0], base, depth + 1)
        if "allOf" in schema:
            return self._fill(schema, {}, base, depth)
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "string":
            return _string_placeholder(schema.get("format", ""), base)
        if kind in ("integer", "number"):
            return max(0, schema.get("minimum", 0))
        if kind == "boolean":
            return False
        if kind == "array":
            return []
        if kind == "object" or "properties" in schema:
            return self._fill(schema, {}, base, depth)
        return None


def _string_placeholder(fmt: str, base: str) -> str:
    if fmt == "date-time":
        return "2026-01-01T00:00:00Z"
    if fmt in ("uri", "url", "uri-template"):
        return f"{base}/placeholder"
    if fmt == "email":
        return "placeholder@example.com"
    return ""


def _describe(error: Exception) -> str:
    """One line naming each schema error by its JSON path, not a dump of the whole value."""
    found: list[str] = []
    seen: set[int] = set()
    node: BaseException | None = error
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        for sub in getattr(node, "schema_errors", ()) or ():
            for leaf in _leaves(sub):
                path = "/".join(str(p) for p in getattr(leaf, "absolute_path", ()))
                found.append(f"{path or '(body)'}: {str(getattr(leaf, 'message', leaf))[:200]}")
        node = node.__cause__ or node.__context__
    if not found:
        found.append(str(error)[:300])
    return re.sub(r"\s+", " ", "; ".join(dict.fromkeys(found)))[:2000]


def _leaves(error: Any) -> Iterator[Any]:
    """The innermost errors of a jsonschema error (anyOf/oneOf keep theirs in ``context``)."""
    context = getattr(error, "context", None)
    if context:
        for sub in context:
            yield from _leaves(sub)
    else:
        yield error
