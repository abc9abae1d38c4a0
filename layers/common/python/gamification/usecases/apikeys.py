"""API-key lifecycle for operators: create, list, rotate, revoke, and per-tenant request
limits (docs/security.md "API keys"). The authorizer side is :mod:`gamification.usecases.auth`.

Keys are shown once at creation and stored only as SHA-256 hashes. Each key has a public
``key_id`` (first 12 hex digits of its hash) under which the operator lists, rotates and
revokes it; a listing entry per key (``APIKEYS`` partition) makes listing one Query.

A revoked or expired key is refused by the next authorization; in the cloud the HTTP API
caches authorizations for :data:`gamification.usecases.auth.REVOCATION_BOUND_SECONDS`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gamification import clock
from gamification.dal import keys
from gamification.dal.store import Store, marshal, query_items
from gamification.usecases import auth
from gamification.usecases.throttle import MAX_LIMIT, MAX_WINDOW_SECONDS

#: Fields an operator may see of a key (never the key, never its full hash).
LISTED = ("key_id", "tenant_id", "name", "created_at", "disabled", "revoked_at", "not_after", "replaced_by")


class KeyNotFound(LookupError):
    """No key with that id (or key text) in the table."""


def create(store: Store, tenant: str, name: str = "default") -> tuple[str, str]:
    """A new key for ``tenant``: returns ``(api_key, key_id)``; the key cannot be shown again.
    Raises ValueError for a bad tenant id."""
    api_key = auth.new_api_key()
    auth.register_api_key(store, tenant, api_key, name)
    return api_key, auth.key_id(auth.hash_api_key(api_key))


def _entries(store: Store, tenant: str | None = None) -> list[dict[str, Any]]:
    """Listing entries (with ``key_hash``), of one tenant or all: one paginated Query."""
    expr, values = "pk = :p", {":p": keys.APIKEYS}
    if tenant:
        expr += " AND begins_with(sk, :t)"
        values[":t"] = f"{tenant}#"
    kwargs: dict[str, Any] = {
        "TableName": store.table,
        "KeyConditionExpression": expr,
        "ExpressionAttributeValues": marshal(values),
        "ConsistentRead": True,
    }
    return query_items(store.client, **kwargs)


def list_keys(store: Store, tenant: str | None = None) -> list[dict[str, Any]]:
    """Every key's listing entry (``LISTED`` fields only), of one tenant or all, by tenant."""
    return [{k: v for k, v in e.items() if k in LISTED} for e in _entries(store, tenant)]


def _find(store: Store, ref: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(listing entry, key item)`` for a key id or the key itself. Raises KeyNotFound."""
    if len(ref) == 12 and all(c in "0123456789abcdef" for c in ref):
        matches = [e for e in _entries(store) if e["key_id"] == ref]
        if not matches:
            raise KeyNotFound(f"no key with id {ref}")
        if len(matches) > 1:
            raise KeyNotFound(f"key id {ref} is ambiguous: give the key itself")
        entry = matches[0]
        key_hash = str(entry["key_hash"])
    else:
        key_hash = auth.hash_api_key(ref)
        entry = None
    item = store.get(keys.api_key_key(key_hash))
    if not item:
        raise KeyNotFound("no such key")
    if entry is None:
        entry = store.get(keys.api_key_index_key(item["tenant_id"], auth.key_id(key_hash))) or {}
    return {**item, **entry, "key_id": auth.key_id(key_hash)}, item


def _update(store: Store, item_key: keys.Key, entry_key: keys.Key, changes: dict[str, Any]) -> None:
    """SET ``changes`` on a key item and its listing entry. Raises KeyNotFound if either is gone."""
    names = {f"#a{i}": k for i, k in enumerate(changes)}
    values = marshal({f":v{i}": v for i, v in enumerate(changes.values())})
    expr = "SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(changes)))
    for k in (item_key, entry_key):
        if not store.write_if(
            "update_item", Key=marshal(k), UpdateExpression=expr, ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames=names, ExpressionAttributeValues=values,
        ):
            raise KeyNotFound(f"no item {k['pk']} / {k['sk']}")


def revoke(store: Store, ref: str) -> dict[str, Any]:
    """Disable a key (by id or by the key) at once. Returns its listing entry after."""
    entry, item = _find(store, ref)
    stamp = keys.stamp(clock.now())
    _update(store, {"pk": item["pk"], "sk": item["sk"]}, keys.api_key_index_key(entry["tenant_id"], entry["key_id"]),
            {"disabled": True, "revoked_at": stamp})
    return {**{k: v for k, v in entry.items() if k in LISTED}, "disabled": True, "revoked_at": stamp}


def rotate(store: Store, ref: str, grace_seconds: int = 0) -> tuple[str, str]:
    """Replace a key: a new key for the same tenant and name, and the old one refused after
    ``grace_seconds`` (0: at once), time for the app backend to switch. Returns
    ``(new api_key, new key_id)``."""
    if not 0 <= grace_seconds <= 7 * 86400:
        raise ValueError("grace must be 0 to 604800 seconds")
    entry, item = _find(store, ref)
    if item.get("disabled"):
        raise ValueError(f"key {entry['key_id']} is revoked; create a new key instead")
    api_key, new_id = create(store, entry["tenant_id"], entry.get("name", "default"))
    k_item, k_entry = {"pk": item["pk"], "sk": item["sk"]}, keys.api_key_index_key(entry["tenant_id"], entry["key_id"])
    if grace_seconds:
        _update(store, k_item, k_entry,
                {"not_after": keys.stamp(clock.now() + timedelta(seconds=grace_seconds)), "replaced_by": new_id})
    else:
        _update(store, k_item, k_entry,
                {"disabled": True, "revoked_at": keys.stamp(clock.now()), "replaced_by": new_id})
    return api_key, new_id


def set_limit(store: Store, tenant: str, limit: int | None, window_seconds: int | None) -> dict[str, Any]:
    """Set (or with None, clear) ``tenant``'s own request limit on its registry item: ``limit``
    requests per ``window_seconds``; 0 = unlimited. Effective within the authorizer cache
    (:data:`gamification.usecases.auth.REVOCATION_BOUND_SECONDS`). Raises ValueError for
    bounds, KeyNotFound for an unknown tenant."""
    if limit is not None and not 0 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be 0 to {MAX_LIMIT}")
    if window_seconds is not None and not 1 <= window_seconds <= MAX_WINDOW_SECONDS:
        raise ValueError(f"window must be 1 to {MAX_WINDOW_SECONDS} seconds")
    k = keys.tenant_registry_key(tenant)
    names = {"#l": "rate_limit", "#w": "rate_window_seconds"}
    if limit is None:
        change: dict[str, Any] = {"UpdateExpression": "REMOVE #l, #w"}
    else:
        change = {"UpdateExpression": "SET #l = :l, #w = :w",
                  "ExpressionAttributeValues": marshal({":l": limit, ":w": window_seconds or 1})}
    if not store.write_if(
        "update_item", Key=marshal(k), ConditionExpression="attribute_exists(pk)", ExpressionAttributeNames=names,
        **change,
    ):
        raise KeyNotFound(f"no tenant {tenant} (create a key for it first)")
    return store.get(k) or {}
