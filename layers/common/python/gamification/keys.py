"""Every DynamoDB key of the one table, built in one place.

``#`` is the delimiter; user ids, scopes, tenant ids and rule names cannot contain it (their
patterns exclude it). Every partition key starts with the tenant, except the API-key
lookup, which is what resolves a tenant in the first place.

| item              | pk                          | sk                                  |
|-------------------|-----------------------------|-------------------------------------|
| profile           | ``T#{t}#U#{user}``          | ``PROFILE``                         |
| day usage         | ``T#{t}#U#{user}``          | ``DAY#{YYYY-MM-DD}``                |
| XP ledger entry   | ``T#{t}#U#{user}``          | ``XP#{occurred_at}#{event_id}``     |
| coin ledger entry | ``T#{t}#U#{user}``          | ``COIN#{occurred_at}#{event_id}``   |
| once marker       | ``T#{t}#U#{user}``          | ``ONCE#{reason}#{scope}#{window}``  |
| idempotency key   | ``T#{t}#IDEM#{key}``        | ``IDEM``                            |
| API key           | ``APIKEY#{sha256(key)}``    | ``APIKEY``                          |
"""

from __future__ import annotations

from datetime import datetime, timezone

Key = dict[str, str]

PROFILE = "PROFILE"
UNSCOPED = "-"


def user_pk(tenant: str, user_id: str) -> str:
    """Partition of everything that belongs to one user of one tenant."""
    return f"T#{tenant}#U#{user_id}"


def profile_key(tenant: str, user_id: str) -> Key:
    """The user's running totals: ``total_xp``, ``coins_balance``, ``version``."""
    return {"pk": user_pk(tenant, user_id), "sk": PROFILE}


def usage_key(tenant: str, user_id: str, day: str) -> Key:
    """One local day's usage (``day`` is ``YYYY-MM-DD``): XP toward the cap, action counts."""
    return {"pk": user_pk(tenant, user_id), "sk": f"DAY#{day}"}


def stamp(instant: datetime) -> str:
    """Sortable RFC 3339 UTC timestamp with microseconds: ``2026-11-21T09:30:00.000000Z``."""
    return instant.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def xp_entry_key(tenant: str, user_id: str, occurred_at: datetime, event_id: str) -> Key:
    """An XP ledger entry, ordered by event time."""
    return {"pk": user_pk(tenant, user_id), "sk": f"XP#{stamp(occurred_at)}#{event_id}"}


def coin_entry_key(tenant: str, user_id: str, occurred_at: datetime, event_id: str) -> Key:
    """A coin ledger entry, ordered by event time."""
    return {"pk": user_pk(tenant, user_id), "sk": f"COIN#{stamp(occurred_at)}#{event_id}"}


def once_key(tenant: str, user_id: str, reason: str, scope: str | None, window_key: str) -> Key:
    """The marker of a once-reward paid in a window (tiers share it: once per window)."""
    return {"pk": user_pk(tenant, user_id), "sk": f"ONCE#{reason}#{scope or UNSCOPED}#{window_key}"}


def idempotency_key(tenant: str, key: str) -> Key:
    """The record of a request's Idempotency-Key (scoped to the tenant)."""
    return {"pk": f"T#{tenant}#IDEM#{key}", "sk": "IDEM"}


def api_key_key(key_hash: str) -> Key:
    """An API key, by the hex SHA-256 of the key."""
    return {"pk": f"APIKEY#{key_hash}", "sk": "APIKEY"}
