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
| keyed request     | ``T#{t}#U#{user}``          | ``REQ#{key}`` (no ledger entry)     |
| idempotency key   | ``T#{t}#IDEM#{key}``        | ``IDEM``                            |
| keyed ledger entry| ``T#{t}#IDEM#{key}``        | ``IDEM`` (GSI ``ledger``: see below) |
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

Security posture (docs/security.md):

| item                 | pk                               | sk                          |
|----------------------|----------------------------------|-----------------------------|
| rate-limit window    | ``RATE#{t}#{window_start}``      | ``RATE``                    |
| API-key index entry  | ``APIKEYS``                      | ``{t}#{key_id}``            |

A rate window counts one tenant's requests in one fixed window (epoch seconds of its start;
TTL ``expires_at``). It has a partition prefix of its own, not ``T#``, so the read-only
functions may be granted ``UpdateItem`` on counters (``RATE#*``) without any write access to
tenant data. The API-key index lists keys by tenant for the operator CLI (``key_id``: first 12
hex digits of the key's SHA-256; never the key), without scanning the table.

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
from typing import Any

Key = dict[str, str]

PROFILE = "PROFILE"
#: Sort key of an idempotency record, and so of a keyed ledger entry.
IDEM = "IDEM"
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
    return {"pk": f"T#{tenant}#IDEM#{key}", "sk": IDEM}


#: Sort-key prefix of a user's keyed request that wrote no ledger entry.
REQUEST_PREFIX = "REQ#"


def request_key(tenant: str, user_id: str, key: str) -> Key:
    """In the user's partition, the Idempotency-Key of a keyed request of the user that
    writes no ledger entry (time zone, active badge, notifications read): an erasure finds
    the key's record, which names the user, by it (a ledger entry carries its own key)."""
    return {"pk": user_pk(tenant, user_id), "sk": REQUEST_PREFIX + key}


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


# ---- security posture: per-tenant rate windows and the API-key index ----------------------

RATE_PREFIX = "RATE#"
APIKEYS = "APIKEYS"


def rate_window_key(tenant: str, window_start: int) -> Key:
    """The request counter of ``tenant`` for the fixed window starting at epoch ``window_start``."""
    return {"pk": f"{RATE_PREFIX}{tenant}#{window_start}", "sk": "RATE"}


def api_key_index_key(tenant: str, key_id: str) -> Key:
    """The operator's listing entry of one API key (``key_id``: see the module docstring)."""
    return {"pk": APIKEYS, "sk": f"{tenant}#{key_id}"}


# ---- leaderboard projection (boards projected from the ledger's stream) ---------------------
# | board count (level k)  | ``T#{t}#LB#{b}#{p}#{pk}#C``   | ``{k:02d}#{parent:013x}`` (``c0``..``cf``) |
# | board tie (one score)  | ``T#{t}#LB#{b}#{p}#{pk}#T``   | ``{score asc16}`` (``h{epoch hour}``)     |
# | board top + layout     | ``T#{t}#LB#{b}#{p}#{pk}#TOP`` | ``TOP`` (``rows``, ``complete``, ``shards``) |
# | rebuild checkpoint     | ``T#{t}#LBREBUILD``           | ``{b}#{p}#{pk}``                          |


def board_counts_key(tenant: str, board: str, period: str, period_key: str, sk: str) -> Key:
    """One count item of a board period's count hierarchy (unsharded; see
    :mod:`gamification.domain.board_projection`)."""
    return {"pk": f"{board_pk(tenant, board, period, period_key)}#C", "sk": sk}


def board_tie_key(tenant: str, board: str, period: str, period_key: str, score_sk: str) -> Key:
    """Players of one exact score per hour they reached it."""
    return {"pk": f"{board_pk(tenant, board, period, period_key)}#T", "sk": score_sk}


def board_top_key(tenant: str, board: str, period: str, period_key: str) -> Key:
    """The board period's top rows and its write-shard count."""
    return {"pk": f"{board_pk(tenant, board, period, period_key)}#TOP", "sk": "TOP"}


def board_rebuild_key(tenant: str, board: str, period: str, period_key: str) -> Key:
    """Progress of a resumable board rebuild."""
    return {"pk": f"T#{tenant}#LBREBUILD", "sk": f"{board}#{period}#{period_key}"}


# ---- streaks, achievements and badges ----------------------------------------------------
# | unlock marker     | ``T#{t}#U#{user}``          | ``ACH#{achievement}``               |
# | unlock count      | ``T#{t}#ACHN#{n}``          | ``{achievement}`` (write shard n)   |
# | retroactive cursor| ``T#{t}#ACHRETRO``          | ``{hash of the achievement ids}``   |
# Streak state, lifetime action counts, coins earned, unlocked achievements, active badge
# and time zone are attributes of the profile item.

#: Write shards of the per-achievement unlock counts (read by the catalogue, written on unlock).
ACHIEVEMENT_COUNT_SHARDS = 8


def achievement_key(tenant: str, user_id: str, achievement: str) -> Key:
    """The marker of one unlock: created with ``attribute_not_exists``, so once per user."""
    return {"pk": user_pk(tenant, user_id), "sk": f"ACH#{achievement}"}


def achievement_count_pk(tenant: str, shard: int) -> str:
    """One write shard of the catalogue's unlock counts (one item per achievement)."""
    return f"T#{tenant}#ACHN#{shard}"


def achievement_count_key(tenant: str, shard: int, achievement: str) -> Key:
    """Unlocks of ``achievement`` counted in write shard ``shard``."""
    return {"pk": achievement_count_pk(tenant, shard), "sk": achievement}


def retroactive_cursor_key(tenant: str, selection: str) -> Key:
    """Where the retroactive grant of one selection of achievements (a hash of their ids) stopped."""
    return {"pk": f"T#{tenant}#ACHRETRO", "sk": selection}

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
#
# A keyed ledger entry is the ledger entry of an XP or coin award sent with an
# Idempotency-Key: it is stored as the key's record (``T#{t}#IDEM#{key}`` / ``IDEM``, the item
# every request with that key conditions on), carrying the entry's attributes, the GSI
# ``ledger`` keys the entry would have had in the user's partition, and the record's
# fingerprint and response. So a keyed award writes 3 items, not 4 (docs/benchmarks.md,
# "Award items: a keyed award's ledger entry is its idempotency record"). Its public id is
# :func:`keyed_entry_id`; :func:`entry_key` resolves either kind of id.

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


#: What a keyed entry's id encodes before its Idempotency-Key (a sort key never starts so).
KEYED_ID_PREFIX = "K#"


def entry_id(sk: str) -> str:
    """The public, opaque id of a ledger entry of the user's partition: its sort key in
    URL-safe base64 (no padding)."""
    return _base64.urlsafe_b64encode(sk.encode()).decode().rstrip("=")


def keyed_entry_id(idempotency_key_: str) -> str:
    """The public, opaque id of a keyed ledger entry: ``K#{key}`` in URL-safe base64 (at
    most 343 characters for a 255-character key)."""
    return entry_id(KEYED_ID_PREFIX + idempotency_key_)


def _decoded(entry_id_: str) -> str | None:
    try:
        raw = _base64.urlsafe_b64decode(entry_id_ + "=" * (-len(entry_id_) % 4)).decode()
    except (ValueError, UnicodeError):
        return None
    return raw if entry_id(raw) == entry_id_ else None


def entry_sk(entry_id_: str) -> str | None:
    """The sort key an :func:`entry_id` of the user's partition stands for, or None when it
    is not one (a keyed entry's id included: see :func:`entry_key`)."""
    sk = _decoded(entry_id_)
    return sk if sk is not None and sk.startswith(LEDGER_PREFIXES) else None


def entry_key(tenant: str, user_id: str, entry_id_: str) -> Key | None:
    """The item an entry id names: an entry of the user's partition (:func:`entry_id`) or a
    keyed entry (:func:`keyed_entry_id`, the record of its Idempotency-Key; the caller checks
    that the item found is a ledger entry of ``user_id``). None when it is neither."""
    raw = _decoded(entry_id_)
    if raw is None:
        return None
    if raw.startswith(LEDGER_PREFIXES):
        return {"pk": user_pk(tenant, user_id), "sk": raw}
    key = raw[len(KEYED_ID_PREFIX):]
    if raw.startswith(KEYED_ID_PREFIX) and 0 < len(key) <= 255 and all("!" <= c <= "~" for c in key):
        return idempotency_key(tenant, key)
    return None


def stored_entry_id(item: dict[str, Any]) -> str | None:
    """The public id of a stored ledger item (plain values): by its sort key in the user's
    partition, by its Idempotency-Key for a keyed entry; None for any other item (a plain
    idempotency record carries no GSI ``ledger`` keys)."""
    sk, pk = str(item.get("sk", "")), str(item.get("pk", ""))
    if sk.startswith(LEDGER_PREFIXES):
        return entry_id(sk)
    if sk == IDEM and item.get("ledger_sk") and "#IDEM#" in pk:
        return keyed_entry_id(pk.split("#IDEM#", 1)[1])
    return None


def notification_key(tenant: str, user_id: str, created_at: str, note_id: str) -> Key:
    """One notification in a user's inbox (expires by TTL)."""
    return {"pk": user_pk(tenant, user_id), "sk": f"NOTE#{created_at}#{note_id}"}


def webhooks_pk(tenant: str) -> str:
    """Partition of a tenant's webhook endpoints."""
    return f"T#{tenant}#WEBHOOKS"


def webhook_key(tenant: str, webhook_id: str) -> Key:
    return {"pk": webhooks_pk(tenant), "sk": f"WH#{webhook_id}"}


def webhook_count_key(tenant: str) -> Key:
    """The count of a tenant's live webhook endpoints (its cap is a condition on it)."""
    return {"pk": webhooks_pk(tenant), "sk": "COUNT"}


def delivery_key(tenant: str, webhook_id: str, created_at: str, event_id: str) -> Key:
    """One delivery (attempt log) of one event to one endpoint."""
    return {"pk": f"T#{tenant}#WH#{webhook_id}", "sk": f"D#{created_at}#{event_id}"}


def erasure_key(tenant: str, user_id: str) -> Key:
    """Progress of a user's erasure (boards found, done), so a crashed erasure resumes."""
    return {"pk": f"T#{tenant}#ERASE#{user_id}", "sk": "ERASE"}
