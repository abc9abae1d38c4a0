"""Import existing balances and ledgers from CSV exports of the source systems' SQL tables
(docs/replay.md, "Importing balances and ledgers").

Every imported change becomes a ledger entry (reason and time preserved) written in the
same ``TransactWriteItems`` as the profile total it moves, with a key derived from the
source row (``import-<table>-<row id>``): re-running an import writes nothing twice.

Expected columns (a header row; extra columns are ignored; aliases in brackets):

| kind              | from | columns                                                              | becomes |
|-------------------|------|----------------------------------------------------------------------|---------|
| ``coin_log``      | the coin-log service | ``user_id, amount, reason, created_at`` (+ ``id``)                   | coin ledger entries, ``coins_balance`` |
| ``xp_transactions``| Progressive Flow | ``user_id, amount`` [``xp``, ``xp_amount``], ``reason`` [``source``, ``action``], ``created_at`` (+ ``id``) | XP ledger entries, ``total_xp`` |
| ``users``         | Mikoshi | ``id``, ``exp`` [``xp``] (``level`` is ignored: derived from the rules); optional ``daily_exp_gained, last_exp_reset_date, daily_action_counts`` (JSON) | an ``imported_balance`` XP entry bringing ``total_xp`` to ``exp``; that day's usage (see :func:`parse_day_usage`) |
| ``user_gamification`` | the achievements app | ``user_id``, ``total_xp`` [``xp``] (level, streak columns ignored)  | as ``users`` |

Times: ``created_at`` as ISO 8601; without an offset it is read as UTC (SQL ``timestamp``).
Balance snapshots are dated ``as_of`` (default: now). Imported entries do not count toward
any day's cap or limits and earn no ``xp_bonus`` coins (import ``coin_log`` for coins).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from gamification.api.models import ID_PATTERN
from gamification.dal import items, keys
from gamification.dal.store import Store, WriteConflict, version_of
from gamification.usecases.retry import Retry

_USER = re.compile(ID_PATTERN)
IMPORTED_BALANCE_REASON = "imported_balance"
#: Entries per transaction (plus the profile: DynamoDB allows 100 items).
CHUNK = 50
#: Optimistic attempts per chunk (the profile moved: read again), within this many seconds.
MAX_ATTEMPTS = 20
RETRY_BUDGET_S = 60.0

KINDS = ("coin_log", "xp_transactions", "users", "user_gamification")


class ImportRowError(ValueError):
    """A row that cannot be imported; the message names the row and column."""


@dataclass(frozen=True)
class Entry:
    """One change to import: ``metric`` ``xp``/``coins``, signed ``amount``; ``balance``
    rows carry the target total instead (``amount`` is computed at write time)."""

    row: int
    user_id: str
    metric: str
    amount: int
    reason: str
    occurred_at: datetime
    source_id: str
    balance: bool = False


def _col(row: dict[str, str], n: int, *names: str, required: bool = True) -> str | None:
    for name in names:
        v = row.get(name)
        if v is not None and v.strip() != "":
            return v.strip()
    if required:
        raise ImportRowError(f"row {n}: missing column {' / '.join(names)}")
    return None


def _int(value: str, n: int, name: str) -> int:
    try:
        return int(float(value)) if "." in value else int(value)
    except ValueError:
        raise ImportRowError(f"row {n}: {name} {value!r} is not a number") from None


def _time(value: str, n: int) -> datetime:
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        raise ImportRowError(f"row {n}: created_at {value!r} is not ISO 8601") from None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _user(value: str, n: int) -> str:
    if not _USER.match(value):
        raise ImportRowError(f"row {n}: user id {value!r} is not 1-128 of A-Z a-z 0-9 _ . : @ -")
    return value


def parse_rows(kind: str, rows: Iterable[dict[str, str]], as_of: datetime) -> list[Entry]:
    """Entries from CSV rows (dicts) of a ``kind`` of table. Row numbers count the header
    as row 1. Raises :class:`ImportRowError` naming the first bad row."""
    if kind not in KINDS:
        raise ImportRowError(f"unknown table kind {kind!r}; one of {', '.join(KINDS)}")
    out = []
    for n, row in enumerate(rows, start=2):
        if kind in ("coin_log", "xp_transactions"):
            user = _user(_col(row, n, "user_id"), n)  # type: ignore[arg-type]
            names = ("amount",) if kind == "coin_log" else ("amount", "xp", "xp_amount")
            amount = _int(_col(row, n, *names), n, "amount")  # type: ignore[arg-type]
            reason = _col(row, n, "reason", "source", "action", required=kind == "coin_log") or kind
            when = _time(_col(row, n, "created_at"), n)  # type: ignore[arg-type]
            rid = _col(row, n, "id", required=False) or hashlib.sha256(
                f"{user}|{amount}|{reason}|{when.isoformat()}|{n}".encode()
            ).hexdigest()[:24]
            out.append(Entry(n, user, "coins" if kind == "coin_log" else "xp", amount, reason, when, rid))
        else:
            user = _user(_col(row, n, "id") if kind == "users" else _col(row, n, "user_id"), n)  # type: ignore[arg-type]
            names = ("exp", "xp") if kind == "users" else ("total_xp", "xp")
            total = _int(_col(row, n, *names), n, names[0])  # type: ignore[arg-type]
            out.append(Entry(n, user, "xp", total, IMPORTED_BALANCE_REASON, as_of, user, balance=True))
    return out


@dataclass
class ImportSummary:
    """``written``: entries created; ``skipped``: already imported (same source row);
    ``unchanged``: balance rows equal to the current total; ``users``: users touched."""

    written: int = 0
    skipped: int = 0
    unchanged: int = 0
    users: set[str] = field(default_factory=set)


def _entry_item(tenant: str, kind: str, e: Entry, amount: int, after: int, now: datetime) -> items.Item:
    """The ledger entry of one imported change (``after``: the total or balance after it)."""
    common: dict[str, Any] = {
        "event_id": f"import-{kind}-{e.source_id}", "occurred": e.occurred_at, "recorded": now, "reason": e.reason,
        "imported_from": kind, "source_id": e.source_id,
    }  # fmt: skip
    if e.metric == "coins":
        return items.coin_entry(tenant, e.user_id, amount=amount, balance=after, **common)
    return items.xp_entry(tenant, e.user_id, xp=amount, total_xp=after, **common)


def apply(store: Store, tenant: str, kind: str, entries: list[Entry], now: datetime, start_xp: int = 0) -> ImportSummary:
    """Write ``entries`` user by user, oldest first, up to :data:`CHUNK` per transaction
    with the profile update (optimistic version check). A chunk refused because one of its
    entries exists already is retried row by row, skipping the imported ones.
    A profile created by an import starts at ``start_xp`` (the rules' ``xp.start``)."""
    summary = ImportSummary()
    by_user: dict[str, list[Entry]] = {}
    for e in sorted(entries, key=lambda e: (e.occurred_at, e.row)):
        by_user.setdefault(e.user_id, []).append(e)
    for user, rows in by_user.items():
        summary.users.add(user)
        for i in range(0, len(rows), CHUNK):
            chunk = rows[i : i + CHUNK]
            if not _write(store, tenant, kind, user, chunk, now, start_xp, summary):
                for e in chunk:
                    if not _write(store, tenant, kind, user, [e], now, start_xp, summary):
                        summary.skipped += 1
    return summary


def _write(
    store: Store, tenant: str, kind: str, user: str, chunk: list[Entry], now: datetime, start_xp: int,
    summary: ImportSummary,
) -> bool:
    """One transaction for ``chunk``; False when an entry of it was imported before."""
    k_profile = keys.profile_key(tenant, user)
    retry = Retry(MAX_ATTEMPTS, RETRY_BUDGET_S, lambda: RuntimeError(f"too much contention importing {user}"))
    for _ in retry.attempts():
        profile = store.get(k_profile)
        xp = int(profile["total_xp"]) if profile and "total_xp" in profile else (0 if profile else start_xp)
        coins = int(profile.get("coins_balance", 0)) if profile else 0
        tx = store.transaction()
        d_xp = d_coins = written = unchanged = 0
        for e in chunk:
            if e.balance:
                amount = e.amount - (xp + d_xp)
                if amount == 0:
                    unchanged += 1
                    continue
            else:
                amount = e.amount
            if e.metric == "coins":
                d_coins += amount
                after = coins + d_coins
            else:
                d_xp += amount
                after = xp + d_xp
            tx.put_new(*_entry_item(tenant, kind, e, amount, after, now))
            written += 1
        if not written:
            summary.unchanged += unchanged
            return True
        opening = 0 if profile else start_xp
        tx.bump_profile(k_profile, version_of(profile), user_id=user, now=now, xp=opening + d_xp, coins=d_coins)
        try:
            store.commit(tx)
        except WriteConflict as exc:
            if "ConditionalCheckFailed" in exc.reasons[:-1]:
                return False  # an entry exists: imported before
            continue  # the profile moved: read again
        summary.written += written
        summary.unchanged += unchanged
        return True
    raise AssertionError("unreachable: Retry.attempts raises when exhausted")


@dataclass(frozen=True)
class DayUsageRow:
    """Mikoshi's per-user usage of one day: XP toward the cap and awards per action."""

    user_id: str
    day: date
    xp_gained: int
    action_counts: dict[str, int]


def parse_day_usage(rows: Iterable[dict[str, str]]) -> list[DayUsageRow]:
    """Mikoshi ``users`` rows with ``daily_exp_gained`` and ``last_exp_reset_date`` (and
    optionally ``daily_action_counts``, a JSON object): the usage of that day, so limits and
    caps keep holding on the day of the switch. Rows without them are skipped."""
    out = []
    for n, row in enumerate(rows, start=2):
        gained = _col(row, n, "daily_exp_gained", required=False)
        when = _col(row, n, "last_exp_reset_date", required=False)
        if gained is None or when is None:
            continue
        raw = _col(row, n, "daily_action_counts", required=False) or "{}"
        try:
            counts = {str(k): int(v) for k, v in json.loads(raw).items()}
        except (ValueError, AttributeError):
            raise ImportRowError(f"row {n}: daily_action_counts {raw!r} is not a JSON object of counts") from None
        user = _user(_col(row, n, "id"), n)  # type: ignore[arg-type]
        out.append(DayUsageRow(user, _time(when, n).date(), _int(gained, n, "daily_exp_gained"), counts))
    return out


def apply_day_usage(store: Store, tenant: str, rows: list[DayUsageRow], now: datetime, keep: timedelta) -> int:
    """Create each row's ``DAY#`` usage item unless the engine already has one for that user
    and day (then the engine's own count wins). Returns the number created. ``keep``: how
    long after ``now`` the item may expire (TTL)."""
    created = 0
    for r in rows:
        created += store.put_new(*items.imported_day_usage(
            tenant, r.user_id, day=r.day.isoformat(), xp_gained=r.xp_gained, counts=r.action_counts,
            expires_at=now + keep,
        ))  # fmt: skip
    return created
