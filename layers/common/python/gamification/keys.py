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
| data migration    | ``MIGRATIONS``              | ``M#{NNN}`` (one per migration)     |
| migration lock    | ``MIGRATIONS``              | ``LOCK``                            |

Migrations belong to the table, not to a tenant: they are the one other partition without one.
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
    return {"pk": user_pk(tenant, user_id), "sk": PROFILE}


def day_key(tenant: str, user_id: str, day: str) -> Key:
    return {"pk": user_pk(tenant, user_id), "sk": f"DAY#{day}"}


def stamp(instant: datetime) -> str:
    """Sortable UTC timestamp with microseconds: ``2026-11-21T09:30:00.000000Z``."""
    return instant.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def xp_entry_key(tenant: str, user_id: str, occurred_at: datetime, event_id: str) -> Key:
    return {"pk": user_pk(tenant, user_id), "sk": f"XP#{stamp(occurred_at)}#{event_id}"}


def coin_entry_key(tenant: str, user_id: str, occurred_at: datetime, event_id: str) -> Key:
    return {"pk": user_pk(tenant, user_id), "sk": f"COIN#{stamp(occurred_at)}#{event_id}"}


def once_key(tenant: str, user_id: str, reason: str, scope: str | None, window_key: str) -> Key:
    return {"pk": user_pk(tenant, user_id), "sk": f"ONCE#{reason}#{scope or UNSCOPED}#{window_key}"}


def idempotency_key(tenant: str, key: str) -> Key:
    return {"pk": f"T#{tenant}#IDEM#{key}", "sk": "IDEM"}


def api_key_key(key_hash: str) -> Key:
    return {"pk": f"APIKEY#{key_hash}", "sk": "APIKEY"}


MIGRATIONS = "MIGRATIONS"


def migration_key(number: int) -> Key:
    """Tracking item of data migration ``number`` (``M#002``)."""
    return {"pk": MIGRATIONS, "sk": f"M#{number:03d}"}


def migration_lock_key() -> Key:
    return {"pk": MIGRATIONS, "sk": "LOCK"}
