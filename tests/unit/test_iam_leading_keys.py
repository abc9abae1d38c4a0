"""Every function's DynamoDB permissions in template.yaml against the key design of
gamification.dal.keys: each statement is limited by ``dynamodb:LeadingKeys`` to partition
namespaces that keys.py really builds, and each function only to the namespaces its kind
needs (API functions: tenant data ``T#`` and request counters ``RATE#``; the authorizer:
API keys and the tenant registry; scheduled functions: tenant data and the registry; the
``$default`` route: nothing)."""

from __future__ import annotations

import fnmatch
import inspect
from typing import Any

import pytest

from tools.local import lambdas, template

lambdas.use_layer()

from gamification.dal import keys  # noqa: E402

#: Actions that read or write more than the partitions a request names: never granted.
UNBOUNDED = {"dynamodb:Scan", "dynamodb:*", "dynamodb:DeleteTable", "dynamodb:UpdateTable", "dynamodb:PartiQLSelect"}


def sample_partitions() -> dict[str, str]:
    """One partition key from every key builder of keys.py, by builder name."""
    samples = {"tenant": "game-1", "user_id": "u1", "day": "2026-11-21", "key": "k1", "key_hash": "ab" * 32,
               "reason": "r", "scope": None, "window_key": "w", "board": "xp", "period": "daily",
               "period_key": "2026-11-21", "shard": 0, "score_sk": "s", "number": 1, "window_start": 60,
               "key_id": "abcdef012345", "event_id": "e1"}
    from datetime import datetime, timezone

    out = {}
    for name, fn in inspect.getmembers(keys, inspect.isfunction):
        if fn.__module__ != keys.__name__ or name == "stamp":
            continue
        params = inspect.signature(fn).parameters
        when = datetime(2026, 11, 21, tzinfo=timezone.utc)
        args = {p: samples.get(p, when if "datetime" in str(params[p].annotation) else f"{p}-1") for p in params}
        try:
            built = fn(**args)
        except (TypeError, KeyError, AttributeError, ValueError):
            continue  # a helper over keys (ledger_index, entry_id...), not a key builder
        if isinstance(built, dict) and "pk" in built:
            out[name] = built["pk"]
        elif name.endswith("_pk"):
            out[name] = built  # a partition key builder (sort key builders are left out)
    return out


PARTITIONS = sample_partitions()
#: The namespaces of the key design: which builders' partitions each pattern may reach.
NAMESPACES = {
    "T#*": lambda pk: pk.startswith("T#"),
    "RATE#*": lambda pk: pk.startswith(keys.RATE_PREFIX),
    "APIKEY#*": lambda pk: pk.startswith("APIKEY#"),
    keys.TENANTS: lambda pk: pk == keys.TENANTS,
}
ALLOWED = {
    "api": {"T#*", "RATE#*"},
    "authorizer": {"APIKEY#*", keys.TENANTS},
    "scheduled": {"T#*", keys.TENANTS},
    # The $default route answers 404/405 from the route table: no table access at all.
    "default_route": set(),
}


STREAM_ACTIONS = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}


def dynamodb_statements(props: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for policy in props.get("Policies", []) or []:
        if not isinstance(policy, dict) or "Statement" not in policy:
            pytest.fail(f"policy {policy!r}: only inline statements can be checked (no managed/SAM templates)")
        for st in policy["Statement"]:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            # Stream actions (DescribeStream, GetRecords...) name a stream, not items: leading
            # keys do not apply to them, the statement's Resource (the table's stream) bounds them.
            if any(a.startswith("dynamodb:") and a not in STREAM_ACTIONS for a in actions):
                out.append({**st, "Action": actions})
    return out


def kind_of(logical_id: str, res: dict[str, Any]) -> str:
    events = res["Properties"].get("Events", {}) or {}
    if logical_id == template.authorizer_function():
        return "authorizer"
    http = [e for e in events.values() if e["Type"] == "HttpApi"]
    if http and all("Path" not in (e.get("Properties") or {}) for e in http):
        return "default_route"
    if http:
        return "api"
    return "scheduled"


FUNCTIONS = {
    lid: res for lid, res in template.load()["Resources"].items() if res["Type"] == "AWS::Serverless::Function"
}


def test_the_key_design_has_the_namespaces_the_policies_use():
    # Every partition keys.py builds falls in exactly one namespace (or is the migrations').
    for name, pk in PARTITIONS.items():
        hits = [ns for ns, match in NAMESPACES.items() if match(pk)]
        assert len(hits) == 1 or pk in (keys.MIGRATIONS, keys.APIKEYS), (name, pk, hits)
    # A rate counter can never be mistaken for tenant data, nor the reverse.
    assert not fnmatch.fnmatchcase(keys.rate_window_key("t", 0)["pk"], "T#*")
    assert not fnmatch.fnmatchcase(keys.user_pk("t", "u"), "RATE#*")


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_dynamodb_statement_is_bounded_by_leading_keys_of_the_key_design(logical_id):
    res = FUNCTIONS[logical_id]
    kind = kind_of(logical_id, res)
    for st in dynamodb_statements(res["Properties"]):
        assert st["Effect"] == "Allow"
        assert not set(st["Action"]) & UNBOUNDED, (logical_id, st["Action"])
        condition = st.get("Condition", {}).get("ForAllValues:StringLike", {})
        patterns = condition.get("dynamodb:LeadingKeys")
        assert patterns, f"{logical_id}: a DynamoDB statement without dynamodb:LeadingKeys"
        for pattern in patterns:
            assert pattern in ALLOWED[kind], f"{logical_id} ({kind}) may not reach {pattern!r}"
            reached = [name for name, pk in PARTITIONS.items() if fnmatch.fnmatchcase(pk, pattern)]
            assert reached, f"{logical_id}: {pattern!r} matches no key of keys.py"
            assert all(NAMESPACES[pattern](PARTITIONS[name]) for name in reached), (pattern, reached)
        # Writes to tenant data only from statements that name the tenant namespace, counters
        # only from their own statement: a read function's UpdateItem reaches RATE# alone.
        writes = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
        if kind == "api" and set(st["Action"]) & writes and "T#*" not in patterns:
            assert patterns == ["RATE#*"] and set(st["Action"]) == {"dynamodb:UpdateItem"}, (logical_id, st)


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_api_functions_can_count_requests_and_read_functions_cannot_write_tenant_data(logical_id):
    res = FUNCTIONS[logical_id]
    if kind_of(logical_id, res) != "api":
        return
    statements = dynamodb_statements(res["Properties"])
    assert any(st["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == ["RATE#*"]
               and "dynamodb:UpdateItem" in st["Action"] for st in statements), f"{logical_id}: no rate counter grant"
    if res["Properties"].get("Events") and all(
        e["Properties"].get("Method", "").upper() == "GET" for e in res["Properties"]["Events"].values()
    ):
        for st in statements:
            if "T#*" in st["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]:
                assert not {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} & set(st["Action"]), (
                    f"{logical_id}: a GET route may not write tenant data"
                )


def test_the_default_route_function_has_no_table_access():
    """The ``$default`` route (no Path: what no other route matches) reads and writes nothing."""
    defaults = [lid for lid, res in FUNCTIONS.items() if kind_of(lid, res) == "default_route"]
    assert defaults, "template.yaml has no $default route function"
    for lid in defaults:
        props = FUNCTIONS[lid]["Properties"]
        assert not dynamodb_statements(props), lid
        assert not props.get("Policies"), f"{lid}: the $default route needs no permissions"
