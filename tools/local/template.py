"""Read template.yaml as the local stack needs it: functions, their HTTP routes and
environment, the authorizer, and the table definition. One source of truth for the local
server, the invoker and the tests (so they cannot drift from what is deployed)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that turns CloudFormation short tags (!Ref, !GetAtt, !Sub...) into their
    long form ({"Ref": ...}, {"Fn::GetAtt": [...]})."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {suffix if suffix == "Ref" else f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@lru_cache(maxsize=4)
def load(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as plain data."""
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


#: The route of an HttpApi event without Path and Method: what no other route matches.
DEFAULT_ROUTE = "$default"


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as in the template: /v1/users/{user_id}/xp, or $default

    @property
    def is_default(self) -> bool:
        return self.path == DEFAULT_ROUTE

    @property
    def route_key(self) -> str:
        return DEFAULT_ROUTE if self.is_default else f"{self.method} {self.path}"

    def match(self, method: str, raw_path: str) -> dict[str, str] | None:
        """Path parameters if this route serves ``method raw_path``, else None (the
        ``$default`` route serves everything; the gateway tries it last). One trailing slash
        is ignored, as API Gateway routes ``/v1/levels/`` to ``GET /v1/levels`` (``rawPath``
        keeps the slash)."""
        if self.is_default:
            return {}
        if method != self.method and self.method != "ANY":
            return None
        pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path)) + "/?$"
        m = re.match(pattern, raw_path)
        return m.groupdict() if m else None


@dataclass(frozen=True)
class Function:
    logical_id: str
    code_dir: Path
    handler: str  # module.function
    routes: tuple[Route, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)
    memory_mb: int = 128
    timeout_s: int = 3


def _resolve(value: Any, refs: dict[str, str]) -> str:
    if isinstance(value, dict) and "Ref" in value:
        return refs.get(value["Ref"], value["Ref"])
    return "" if value is None else str(value)


def functions(table_name: str, template: dict[str, Any] | None = None) -> dict[str, Function]:
    """Every ``AWS::Serverless::Function`` with Globals applied; ``!Ref Table`` resolves to
    ``table_name`` and parameters to their defaults."""
    template = template or load()
    globals_ = template.get("Globals", {}).get("Function", {})
    refs = {name: str(p.get("Default", "")) for name, p in template.get("Parameters", {}).items()}
    refs["Table"] = table_name
    out = {}
    for logical_id, res in template["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        props = {**globals_, **res["Properties"]}
        env_vars = {
            **globals_.get("Environment", {}).get("Variables", {}),
            **res["Properties"].get("Environment", {}).get("Variables", {}),
        }
        routes = tuple(
            Route(ev["Properties"].get("Method", "ANY").upper(), ev["Properties"].get("Path", DEFAULT_ROUTE))
            for ev in res["Properties"].get("Events", {}).values()
            if ev["Type"] == "HttpApi"
        )
        out[logical_id] = Function(
            logical_id=logical_id,
            code_dir=ROOT / props["CodeUri"],
            handler=props["Handler"],
            routes=routes,
            environment={k: _resolve(v, refs) for k, v in env_vars.items()},
            memory_mb=int(props.get("MemorySize", 128)),
            timeout_s=int(props.get("Timeout", 3)),
        )
    return out


def authorizer_function(template: dict[str, Any] | None = None) -> str | None:
    """Logical id of the HTTP API's default Lambda authorizer, if any."""
    template = template or load()
    for res in template["Resources"].values():
        if res["Type"] != "AWS::Serverless::HttpApi":
            continue
        auth = res["Properties"].get("Auth", {})
        default = auth.get("DefaultAuthorizer")
        if default:
            arn = auth["Authorizers"][default]["FunctionArn"]
            return arn["Fn::GetAtt"][0]
    return None


def table_definition(template: dict[str, Any] | None = None) -> dict[str, Any]:
    """Properties of the one ``AWS::DynamoDB::Table``."""
    template = template or load()
    tables = [r for r in template["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table"]
    if len(tables) != 1:
        raise ValueError(f"expected one DynamoDB table in template.yaml, found {len(tables)}")
    return tables[0]["Properties"]


def apply_environment(env: dict[str, str]) -> None:
    """Set a function's variables in this process, keeping any the user set already
    (like ``sam local --env-vars``)."""
    for key, value in env.items():
        os.environ.setdefault(key, value)


# ---- stream event sources (the table's DynamoDB stream -> functions) ----------------------


@dataclass(frozen=True)
class StreamSource:
    """One ``Events`` entry of ``Type: DynamoDB`` (an event source mapping on the table's
    stream), with the service's defaults for what the template leaves out."""

    function: str  # logical id
    batch_size: int = 100
    batching_window_s: float = 0.0
    starting_position: str = "TRIM_HORIZON"
    filters: tuple[dict[str, Any], ...] = ()  # FilterCriteria patterns, parsed
    report_batch_item_failures: bool = False
    bisect_on_error: bool = False
    maximum_retry_attempts: int = -1  # -1: until the record expires (24 h)
    on_failure: str | None = None  # destination ARN


def stream_sources(template: dict[str, Any] | None = None) -> list[StreamSource]:
    """Every function event of ``Type: DynamoDB`` whose stream is the table's."""
    import json

    template = template or load()
    out = []
    for logical_id, res in template["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        for ev in res["Properties"].get("Events", {}).values():
            if ev["Type"] != "DynamoDB":
                continue
            p = ev["Properties"]
            patterns = tuple(
                json.loads(f["Pattern"]) if isinstance(f["Pattern"], str) else f["Pattern"]
                for f in (p.get("FilterCriteria") or {}).get("Filters", [])
            )
            out.append(
                StreamSource(
                    function=logical_id,
                    batch_size=int(p.get("BatchSize", 100)),
                    batching_window_s=float(p.get("MaximumBatchingWindowInSeconds", 0)),
                    starting_position=str(p.get("StartingPosition", "TRIM_HORIZON")),
                    filters=patterns,
                    report_batch_item_failures="ReportBatchItemFailures" in p.get("FunctionResponseTypes", []),
                    bisect_on_error=bool(p.get("BisectBatchOnFunctionError", False)),
                    maximum_retry_attempts=int(p.get("MaximumRetryAttempts", -1)),
                    on_failure=_destination(p.get("DestinationConfig")),
                )
            )
    return out


def _destination(config: dict[str, Any] | None) -> str | None:
    dest = ((config or {}).get("OnFailure") or {}).get("Destination")
    if isinstance(dest, dict) and "Fn::GetAtt" in dest:
        return f"local:{dest['Fn::GetAtt'][0]}"
    if isinstance(dest, dict) and "Ref" in dest:
        return f"local:{dest['Ref']}"
    return dest
