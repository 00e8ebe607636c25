"""The app spec schema (appspec.schema.yaml) agrees with App Platform: every key of the contract's
app_spec is in it at the same place, and every spec the sandbox builds and serves passes it."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
import yaml

from terp_actions.sandbox.contract import DIGITALOCEAN_CONTRACT, load_contract
from terp_actions.sandbox.history import APP_FILES, TERP_PULLS
from terp_actions.spec import shape_problems

from .conftest import CONTRACTS, needs_contracts

SCHEMA = yaml.safe_load(resources.files("terp_actions").joinpath("appspec.schema.yaml").read_text())
# Keys the live API takes that the contract's (upstream) description lacks, as its header says.
DOCUMENTED_GAPS = {"envs", "alerts", "features", "schedule", "timeout"}


def _ours(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = SCHEMA["$defs"][node["$ref"].split("/")[-1]]
    return node


def _theirs(node: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    while True:
        if "$ref" in node:
            node = schemas[node["$ref"].split("/")[-1]]
        elif "allOf" in node:
            merged: dict[str, Any] = {"properties": {}}
            for each in node["allOf"]:
                part = _theirs(each, schemas)
                merged["properties"] |= part.get("properties") or {}
                for key in ("type", "enum", "items"):
                    if key in part:
                        merged[key] = part[key]
            node = merged
        else:
            return node


def _walk(
    theirs: dict[str, Any], ours: dict[str, Any], path: str, schemas: dict[str, Any], seen: set[str]
) -> list[str]:
    theirs, ours = _theirs(theirs, schemas), _ours(ours)
    problems = []
    if "enum" in theirs and "enum" in ours:
        missing = set(theirs["enum"]) - set(ours["enum"])
        problems += [f"{path}: value {v!r} missing" for v in sorted(map(str, missing))]
    if theirs.get("type") == "array" and "items" in theirs and "items" in ours:
        problems += _walk(theirs["items"], ours["items"], f"{path}[]", schemas, seen)
    for key, sub in (theirs.get("properties") or {}).items():
        if sub.get("readOnly"):
            continue
        if key not in (ours.get("properties") or {}):
            problems.append(f"{path}.{key}: missing from our schema")
            continue
        where = f"{path}.{key}"
        if where.count(".") < 8 and where not in seen:
            seen.add(where)
            problems += _walk(sub, ours["properties"][key], where, schemas, seen)
    return problems


@needs_contracts
def test_every_key_of_the_contract_s_app_spec_is_in_our_schema() -> None:
    """Walked together from app_spec down: each property (and each enum value) the contract
    describes is in our schema at the same path; ours may hold more (the documented gaps)."""
    assert CONTRACTS is not None
    contract = load_contract(CONTRACTS / DIGITALOCEAN_CONTRACT)
    schemas = contract.spec["components"]["schemas"]
    problems = _walk(schemas["app_spec"], SCHEMA, "spec", schemas, set())
    assert problems == []
    extra = set(SCHEMA["properties"]) - set(schemas["app_spec"]["properties"])
    assert extra <= DOCUMENTED_GAPS, extra


@pytest.mark.parametrize(
    "text",
    [
        APP_FILES[".do/app.yaml"],
        APP_FILES[".do/app-staging.yaml"],
        str(TERP_PULLS[108][1][".do/app-staging.yaml"]),
    ],
    ids=["production", "staging", "staging-with-envs"],
)
def test_the_sandbox_s_specs_pass_the_schema(text: str) -> None:
    """Every spec the demo's history holds is one App Platform accepts."""
    assert shape_problems(yaml.safe_load(text)) == []
