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
        ``$default`` route serves everything; the gateway tries it last)."""
        if self.is_default:
            return {}
        if method != self.method and self.method != "ANY":
            return None
        pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path)) + "$"
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
