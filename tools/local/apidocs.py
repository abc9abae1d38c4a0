"""What the loaded rules make of the OpenAPI document: the names a request may use (actions,
coin rewards and their tiers, leaderboards and their periods) as enums, the per-name body
shapes (a variable action needs ``amount``, a tiered reward needs ``tier``, a scoped one
``scope``), examples, descriptions and the error responses every route shares.

Applied by tools/local/openapi.py to the document merged from the functions, so a new route
gets the same treatment: its description is its module's docstring unless the decorator
gives one; a model field marks the rules' list it draws from with
``json_schema_extra={"x-rules": "<list>"}`` (a list of :data:`NAME_LISTS`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

#: Lists of names a request may use, drawn from the rules (gamification.domain.rules.Rules).
NAME_LISTS: dict[str, Callable[[Any], list[str]]] = {
    "actions": lambda r: sorted(r.actions),
    "rewards": lambda r: sorted(r.coins.rewards),
    "tiers": lambda r: sorted({t for w in r.coins.rewards.values() for t in (w.tiers or {})}),
    "boards": lambda r: sorted(r.leaderboards),
    "periods": lambda r: sorted({p for b in r.leaderboards.values() for p in b.periods}),
    "topics": lambda r: sorted(r.topics),
    # Not from the rules, but lists all the same: what the engine accepts, exactly.
    "timezones": lambda r: _timezones(),
    "event_types": lambda r: ["*", *_event_types()],
}


def _timezones() -> list[str]:
    from gamification.domain.periods import iana_zones

    return sorted(iana_zones())


def _event_types() -> list[str]:
    from gamification.domain.events import EVENT_TYPES

    return list(EVENT_TYPES)

#: Which named path/query parameter draws from which list (Powertools parameters).
PARAMETER_LISTS = {("path", "board"): "boards", ("query", "period"): "periods", ("path", "topic"): "topics"}

ENVELOPE = {"$ref": "#/components/schemas/ErrorResponse"}

#: Error responses by status (every one in the envelope ``{"error": {"code", "message"}}``).
SHARED_ERRORS = {
    "404": "Unknown leaderboard period snapshot (`period_not_final`), or no such route (`not_found`)",
    "405": "Method not allowed on this path (`method_not_allowed`, with an `Allow` header)",
    "503": "Contention or a throttled table (`contention`): retry, with the same Idempotency-Key for writes",
}
BODY_ERRORS = {
    "413": "Request body over 16 KB (`payload_too_large`)",
    "422": "Idempotency-Key reused for a different request (`idempotency_key_reused`)",
}


def _walk(node: Any, visit: Callable[[dict[str, Any]], None]) -> None:
    if isinstance(node, dict):
        visit(node)
        for value in node.values():
            _walk(value, visit)
    elif isinstance(node, list):
        for value in node:
            _walk(value, visit)


def _names(rules: Any, name: str) -> list[str]:
    return NAME_LISTS[name](rules)


def _enum(schema: dict[str, Any], names: list[str]) -> None:
    """Restrict a string schema (or the string branch of ``anyOf [string, null]``) to ``names``."""
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "string" or branch is schema:
            for k in ("minLength", "maxLength", "pattern"):
                branch.pop(k, None)
            branch["enum"] = names
            branch["type"] = "string"
            if not names:  # no such names in these rules: nothing is accepted
                branch["enum"] = ["(none in these rules)"]


def _xp_body(schema: dict[str, Any], rules: Any) -> None:
    """AwardXpRequest: fixed actions without ``amount``; variable ones with ``amount`` in
    their ``min``..``max`` (XP)."""
    fixed = sorted(n for n, a in rules.actions.items() if not a.variable)
    variable = {n: a for n, a in sorted(rules.actions.items()) if a.variable}
    base = {k: v for k, v in schema["properties"].items() if k not in ("action", "amount")}
    branches = []
    if fixed:
        branches.append({"properties": {"action": {"type": "string", "enum": fixed}, **base}})
    for name, action in variable.items():
        amount = {"type": "integer", "minimum": action.min, "maximum": action.max}
        branches.append({"properties": {"action": {"const": name}, "amount": amount, **base}, "required": ["action", "amount"]})
    for b in branches:
        b.update(type="object", additionalProperties=False, required=b.get("required", ["action"]))
    _replace(schema, branches)
    schema["example"] = {"action": (fixed or list(variable))[0]} if rules.actions else {}


def _coins_body(schema: dict[str, Any], rules: Any) -> None:
    """AwardCoinsRequest: per reward, ``tier`` required (one of its tiers) or absent, and
    ``scope`` required for scoped rewards, absent otherwise."""
    base = {k: v for k, v in schema["properties"].items() if k not in ("reason", "tier", "scope")}
    scope = copy.deepcopy(schema["properties"]["scope"]["anyOf"][0])
    branches = []
    for name, reward in sorted(rules.coins.rewards.items()):
        props: dict[str, Any] = {"reason": {"const": name}, **base}
        required = ["reason"]
        if reward.tiers:
            props["tier"], required = {"type": "string", "enum": sorted(reward.tiers)}, [*required, "tier"]
        if reward.scoped:
            props["scope"], required = scope, [*required, "scope"]
        branches.append({"type": "object", "additionalProperties": False, "properties": props, "required": required})
    _replace(schema, branches)
    first = next(iter(sorted(rules.coins.rewards.items())), None)
    if first:
        name, reward = first
        schema["example"] = {"reason": name, **({"tier": sorted(reward.tiers)[0]} if reward.tiers else {}),
                             **({"scope": "variant-42"} if reward.scoped else {})}


def _replace(schema: dict[str, Any], branches: list[dict[str, Any]]) -> None:
    keep = {k: schema[k] for k in ("title", "description") if k in schema}
    schema.clear()
    schema.update(keep)
    if not branches:
        schema["not"] = {}  # no names in these rules: no body is accepted
    elif len(branches) == 1:
        schema.update(branches[0])
    else:
        schema["oneOf"] = branches


#: Request bodies whose valid shape depends on the name they carry.
BODY_SHAPES: dict[str, Callable[[dict[str, Any], Any], None]] = {
    "AwardXpRequest": _xp_body,
    "AwardCoinsRequest": _coins_body,
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ENVELOPE}}}


def apply(doc: dict[str, Any], rules: Any, descriptions: dict[tuple[str, str], str]) -> dict[str, Any]:
    """Specialise the merged document ``doc`` (in place) to ``rules``; ``descriptions``:
    ``(method, path) -> text`` for operations whose decorator gives none. Returns ``doc``."""
    from gamification.api.models import RFC3339_PATTERN

    schemas = doc["components"]["schemas"]
    for name, shape in BODY_SHAPES.items():
        if name in schemas:
            shape(schemas[name], rules)

    def visit(node: dict[str, Any]) -> None:
        listed = node.pop("x-rules", None)
        if listed:
            _enum(node, _names(rules, listed))
        if node.get("format") == "date-time" and node.get("type") == "string" and "pattern" not in node:
            node["pattern"] = RFC3339_PATTERN  # the engine takes RFC 3339 with an offset only

    _walk(doc, visit)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if not op.get("description") and (method, path) in descriptions:
                op["description"] = descriptions[(method, path)]
            for param in op.get("parameters", []):
                listed = PARAMETER_LISTS.get((param["in"], param["name"]))
                if listed:
                    _enum(param["schema"], _names(rules, listed))
            errors = {**SHARED_ERRORS, **(BODY_ERRORS if "requestBody" in op else {})}
            for code, text in errors.items():
                op["responses"].setdefault(code, _error(text))
    return doc
