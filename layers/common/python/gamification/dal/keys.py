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

Topics and spaced repetition (docs/topics.md), all in the user's partition:

| item              | pk                          | sk                                  |
|-------------------|-----------------------------|-------------------------------------|
| topic progress    | ``T#{t}#U#{user}``          | ``TOPIC#{topic}``                   |
| task progress     | ``T#{t}#U#{user}``          | ``TASK#{topic}#{task_id}`` (GSI ``reviews``: ``review_sk``) |
| topic day counts  | ``T#{t}#U#{user}``          | ``TOPICDAY#{YYYY-MM-DD}`` (user's local date) |

A task item's ``review_sk`` = ``{next_review_date}#{topic}#{task_id}``: GSI ``reviews``
(hash ``pk``, range ``review_sk``) lists one user's tasks by review date, most overdue first.
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


# ---- topics and spaced repetition ------------------------------------------------------------


def topic_key(tenant: str, user_id: str, topic: str) -> Key:
    """One user's progress in one topic: XP, level, attempts, review-date histogram."""
    return {"pk": user_pk(tenant, user_id), "sk": f"TOPIC#{topic}"}


def task_key(tenant: str, user_id: str, topic: str, task_id: str) -> Key:
    """One user's spaced-repetition state of one task of a topic."""
    return {"pk": user_pk(tenant, user_id), "sk": f"TASK#{topic}#{task_id}"}


def topic_day_key(tenant: str, user_id: str, day: str) -> Key:
    """Correct attempts per topic on one of the user's local dates (``YYYY-MM-DD``)."""
    return {"pk": user_pk(tenant, user_id), "sk": f"TOPICDAY#{day}"}


def review_sort_key(next_review_date: str, topic: str, task_id: str) -> str:
    """GSI ``reviews`` range key of a task: ISO dates sort by time, overdue first."""
    return f"{next_review_date}#{topic}#{task_id}"
