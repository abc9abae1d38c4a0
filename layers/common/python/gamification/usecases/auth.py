"""API keys: ``Authorization: Bearer <key>``, stored only as SHA-256 hashes, each mapped to
a tenant (a game). Used by the Lambda authorizer and by the key-management CLI."""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

from gamification import clock
from gamification.dal import keys
from gamification.dal.store import Store

TENANT_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_BEARER = re.compile(r"^\s*Bearer\s+(\S{8,512})\s*$", re.IGNORECASE)


def hash_api_key(api_key: str) -> str:
    """Hex SHA-256 of a key: what the table stores (keys are random, so no salt is needed)."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None if malformed."""
    m = _BEARER.match(header or "")
    return m[1] if m else None


def tenant_for_key(store: Store, api_key: str) -> str | None:
    """The tenant an API key belongs to, or None for an unknown, disabled (revoked) or
    expired key (``not_after``, an RFC 3339 UTC stamp set by a rotation's grace period)."""
    item = store.get(keys.api_key_key(hash_api_key(api_key)), consistent=False)
    if not item or item.get("disabled"):
        return None
    if item.get("not_after") and str(item["not_after"]) <= keys.stamp(clock.now()):
        return None
    return str(item["tenant_id"])


def register_api_key(store: Store, tenant: str, api_key: str, name: str = "default") -> None:
    """Store (the hash of) ``api_key`` for ``tenant`` and list the tenant in the registry
    the roll-over reads. Raises ValueError for a bad tenant id."""
    if not TENANT_PATTERN.match(tenant):
        raise ValueError(f"tenant id must match {TENANT_PATTERN.pattern}")
    # Imported here: the authorizer imports this module for authorize() only, and the board
    # store would bring in the leaderboard domain, the rules models and YAML (cold start).
    from gamification.dal.board_store import BoardStore

    now = clock.now()
    key_hash = hash_api_key(api_key)
    entry = {"tenant_id": tenant, "name": name, "key_id": key_id(key_hash), "created_at": keys.stamp(now)}
    # The operator's listing (the hash finds the key item; it cannot authenticate anyone).
    store.put(keys.api_key_index_key(tenant, entry["key_id"]), {**entry, "key_hash": key_hash})
    store.put(keys.api_key_key(key_hash), entry)
    BoardStore(store).register_tenant(tenant, now)  # so the scheduled roll-over finds it


def key_id(key_hash: str) -> str:
    """The public id of a key: the first 12 hex digits of its SHA-256 (listed, never secret)."""
    return key_hash[:12]


def new_api_key() -> str:
    """A fresh random key (256 bits), shown once to the operator."""
    return "gk_" + secrets.token_urlsafe(32)


def authorize(store: Store, headers: dict[str, Any]) -> dict[str, Any]:
    """Decide an HTTP API Lambda-authorizer request (payload 2.0, simple responses).

    A known key yields ``{"isAuthorized": true, "context": {"tenant_id": ...}}``. An unknown
    key is let through with an empty tenant, so that the function answers with the API's own
    401 envelope: HTTP APIs cannot customise the gateway's bare 403 ``{"message": "Forbidden"}``.
    Every handler refuses a request without a tenant (:func:`gamification.api.http.tenant_of`).
    """
    token = bearer_token(headers.get("authorization"))
    tenant = tenant_for_key(store, token) if token else None
    context: dict[str, Any] = {"tenant_id": tenant or ""}
    if tenant:
        context.update(tenant_limits(store, tenant))
    return {"isAuthorized": True, "context": context}


#: The longest a revoked or expired key keeps working in the cloud: the HTTP API caches an
#: authorizer's answer per Authorization header for ``ReauthorizeEvery`` seconds
#: (template.yaml; a test keeps the two equal). The local stack has no cache: at once.
REVOCATION_BOUND_SECONDS = 60


def tenant_limits(store: Store, tenant: str) -> dict[str, int]:
    """The tenant's own request limit from its registry item (``rate_limit`` requests per
    ``rate_window_seconds``), as authorizer context; empty when the operator set none (the
    functions then use their default). One eventually consistent GetItem per authorization."""
    item = store.get(keys.tenant_registry_key(tenant), consistent=False) or {}
    return {name: int(item[name]) for name in ("rate_limit", "rate_window_seconds") if item.get(name) is not None}
