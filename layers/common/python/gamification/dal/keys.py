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
| tenant registry   | ``TENANTS``                 | ``{t}``                             |
| board score       | ``T#{t}#LB#{b}#{p}#{pk}#S{n}`` | ``U#{user}`` (GSI ``lb_rank``: see below) |
| board count       | ``T#{t}#LB#{b}#{p}#{pk}#N{n}`` | ``{level}#{bucket:013x}``       |
| board snapshot    | ``T#{t}#LB#{b}#{p}#{pk}#FINAL`` | ``FINAL``                       |
| roll-over cursor  | ``T#{t}#LBCURSOR``          | ``{b}#{p}``                         |

Boards: ``b`` board name, ``p`` period (daily/weekly/monthly/all_time), ``pk`` period key
(``2026-11-21``, ``2026-W47``, ``2026-11``, ``all``), ``n`` the write shard of the user
(:func:`gamification.domain.leaderboards.shard_of`). A board score item also carries the GSI ``lb_rank``
keys: ``lb_pk`` = its own pk, ``lb_sk`` = ``{score:desc16}#{reached_at}#{user}`` so one
ascending query per shard lists best first, earlier-to-reach first on ties. Board count
items hold ``n``, the shard's players in one score bucket of one level (see
:mod:`gamification.domain.leaderboards`, "the count hierarchy").
The tenant registry is the only item outside a tenant's partitions besides API keys: the
scheduled roll-over lists tenants from it.
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


def tenant_registry_key(tenant: str) -> Key:
    """The registry entry of one tenant (listed by the roll-over with one Query)."""
    return {"pk": TENANTS, "sk": tenant}


TENANTS = "TENANTS"


def board_pk(tenant: str, board: str, period: str, period_key: str) -> str:
    """Prefix shared by every partition of one board period."""
    return f"T#{tenant}#LB#{board}#{period}#{period_key}"


def board_score_pk(tenant: str, board: str, period: str, period_key: str, shard: int) -> str:
    """Partition of one write shard's score items (and GSI ``lb_rank`` partition)."""
    return f"{board_pk(tenant, board, period, period_key)}#S{shard}"


def board_score_key(tenant: str, board: str, period: str, period_key: str, shard: int, user_id: str) -> Key:
    """One user's score on one board period."""
    return {"pk": board_score_pk(tenant, board, period, period_key, shard), "sk": f"U#{user_id}"}


def board_count_pk(tenant: str, board: str, period: str, period_key: str, shard: int) -> str:
    """Partition of one write shard's per-score player counts."""
    return f"{board_pk(tenant, board, period, period_key)}#N{shard}"


def board_count_key(tenant: str, board: str, period: str, period_key: str, shard: int, score_sk: str) -> Key:
    """Players of one shard in one bucket of the count hierarchy (``score_sk``:
    :func:`gamification.domain.leaderboards.count_sk`)."""
    return {"pk": board_count_pk(tenant, board, period, period_key, shard), "sk": score_sk}


def board_snapshot_key(tenant: str, board: str, period: str, period_key: str) -> Key:
    """The immutable final top-N of one ended board period."""
    return {"pk": f"{board_pk(tenant, board, period, period_key)}#FINAL", "sk": "FINAL"}


def rollover_cursor_key(tenant: str, board: str, period: str) -> Key:
    """Last period key the roll-over finalised for one board and period."""
    return {"pk": f"T#{tenant}#LBCURSOR", "sk": f"{board}#{period}"}


MIGRATIONS = "MIGRATIONS"


def migration_key(number: int) -> Key:
    """Tracking item of data migration ``number`` (``M#002``)."""
    return {"pk": MIGRATIONS, "sk": f"M#{number:03d}"}


def migration_lock_key() -> Key:
    return {"pk": MIGRATIONS, "sk": "LOCK"}


# ---- Ledger history, spending, reversals, deletion, notifications, webhooks ------------------
#
# | item                | pk                        | sk                                  |
# |---------------------|---------------------------|-------------------------------------|
# | notification        | ``T#{t}#U#{user}``        | ``NOTE#{created_at}#{id}``          |
# | webhook             | ``T#{t}#WEBHOOKS``        | ``WH#{id}``                         |
# | webhook delivery    | ``T#{t}#WH#{id}``         | ``D#{created_at}#{event_id}``       |
# | erasure progress    | ``T#{t}#ERASE#{user}``    | ``ERASE``                           |
#
# Ledger entries (``XP#`` and ``COIN#``) also carry the sparse GSI ``ledger`` keys:
# ``ledger_pk`` = the user's partition, ``ledger_sk`` = ``{occurred_at}#{event_id}#{XP|COIN}``,
# so one Query lists both kinds merged newest first (:func:`ledger_index`).

import base64 as _base64  # noqa: E402

LEDGER_INDEX = "ledger"
LEDGER_PREFIXES = ("XP#", "COIN#")


def ledger_index(key: Key) -> dict[str, str]:
    """The GSI ``ledger`` attributes of an item with ``key`` ({} unless it is a ledger entry)."""
    sk = key["sk"]
    for prefix in LEDGER_PREFIXES:
        if sk.startswith(prefix):
            return {"ledger_pk": key["pk"], "ledger_sk": f"{sk[len(prefix):]}#{prefix[:-1]}"}
    return {}


def entry_id(sk: str) -> str:
    """The public, opaque id of a ledger entry: its sort key in URL-safe base64 (no padding)."""
    return _base64.urlsafe_b64encode(sk.encode()).decode().rstrip("=")


def entry_sk(entry_id_: str) -> str | None:
    """The sort key an :func:`entry_id` stands for, or None when it is not one."""
    try:
        sk = _base64.urlsafe_b64decode(entry_id_ + "=" * (-len(entry_id_) % 4)).decode()
    except (ValueError, UnicodeError):
        return None
    return sk if sk.startswith(LEDGER_PREFIXES) and entry_id(sk) == entry_id_ else None


def notification_key(tenant: str, user_id: str, created_at: str, note_id: str) -> Key:
    """One notification in a user's inbox (expires by TTL)."""
    return {"pk": user_pk(tenant, user_id), "sk": f"NOTE#{created_at}#{note_id}"}


def webhooks_pk(tenant: str) -> str:
    """Partition of a tenant's webhook endpoints."""
    return f"T#{tenant}#WEBHOOKS"


def webhook_key(tenant: str, webhook_id: str) -> Key:
    return {"pk": webhooks_pk(tenant), "sk": f"WH#{webhook_id}"}


def delivery_key(tenant: str, webhook_id: str, created_at: str, event_id: str) -> Key:
    """One delivery (attempt log) of one event to one endpoint."""
    return {"pk": f"T#{tenant}#WH#{webhook_id}", "sk": f"D#{created_at}#{event_id}"}


def erasure_key(tenant: str, user_id: str) -> Key:
    """Progress of a user's erasure (boards found, done), so a crashed erasure resumes."""
    return {"pk": f"T#{tenant}#ERASE#{user_id}", "sk": "ERASE"}
