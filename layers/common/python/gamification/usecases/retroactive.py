"""Retroactive grants: achievements added to the rules later, granted to every user who
already qualifies (docs/achievements.md "Retroactive grants").

Silent: the ledger entries and unlock markers carry ``retroactive: true`` and nothing is
announced. Exactly once: each grant is the same transaction as an award's unlock (the
``ACH#<id>`` marker created with ``attribute_not_exists``, the profile's ``version``
condition), so a re-run, a resumed run or a racing award never grants twice. Resumable: the
scan position is saved after every page in a cursor item; a finished run is remembered.
Reward XP counts in the total and the level (not on the leaderboards of the grant's day:
it was not earned that day).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gamification.dal import keys
from gamification.dal.store import Store, WriteConflict, scan_page, version_of
from gamification.domain.errors import Contention
from gamification.usecases.progression import after_award

if TYPE_CHECKING:  # annotations only: the rules load with the engine, on the first request
    from gamification.domain.rules import Rules

MAX_ATTEMPTS = 10


@dataclass
class GrantReport:
    """``users`` profiles looked at, ``granted`` {achievement id: users granted}."""

    users: int = 0
    granted: dict[str, int] = field(default_factory=dict)
    already_done: bool = False


def grant_user(rules: Rules, store: Store, tenant: str, user_id: str, now: datetime, only: Collection[str] | None) -> list[str]:
    """Grant the achievements (of ``only``, default all) that ``user_id`` qualifies for and
    lacks. Returns the ids granted. Raises Contention after repeated conflicts."""
    k_profile = keys.profile_key(tenant, user_id)
    for _ in range(MAX_ATTEMPTS):
        profile = store.get(k_profile)
        if not profile or "total_xp" not in profile:
            return []
        total, balance = int(profile["total_xp"]), int(profile.get("coins_balance", 0))
        extras = after_award(
            rules, profile, action=None, occurred=now, now=now, total_xp=total, balance=balance, coins_gained=0,
            room=99, only=only,
        )  # fmt: skip
        if not extras.unlocked:
            return []
        event_id = uuid.uuid4().hex
        tx = store.transaction(token=event_id)
        tx.bump_profile(
            k_profile, version_of(profile), user_id=user_id, now=now, xp=extras.xp, coins=extras.coins,
            set_attrs=extras.profile_attrs,
        )  # fmt: skip
        extras.write(tx, tenant=tenant, user_id=user_id, occurred=now, now=now, event_id=event_id, rules=rules,
                     retroactive=True)  # fmt: skip
        try:
            store.commit(tx)
        except WriteConflict:
            continue
        return [u["id"] for u in extras.unlocked]
    raise Contention(f"user {user_id}: too many concurrent updates; run again to resume")


def grant_retroactive(
    rules: Rules,
    store: Store,
    tenant: str,
    now: datetime,
    only: Collection[str] | None = None,
    page_size: int = 200,
    log: Callable[[str], Any] = lambda line: None,
) -> GrantReport:
    """Grant to every user of ``tenant``; resumes where a previous run of the same
    selection (the achievement ids, default all of the rules) stopped (cursor item), and does
    nothing for a finished one. A rules file with more achievements is a new selection."""
    selection = sorted(only if only is not None else rules.achievements)
    name = hashlib.sha256(",".join(selection).encode()).hexdigest()[:16]
    k_cursor = keys.retroactive_cursor_key(tenant, name)
    cursor = store.get(k_cursor) or {}
    report = GrantReport()
    if cursor.get("done"):
        report.already_done = True
        return report
    start = cursor.get("last_key")
    prefix = keys.user_pk(tenant, "")
    while True:
        items, start = scan_page(
            store, start, page_size, "#sk = :profile AND begins_with(#pk, :prefix)",
            {"#sk": "sk", "#pk": "pk"}, {":profile": keys.PROFILE, ":prefix": prefix},
        )  # fmt: skip
        for item in items:
            report.users += 1
            for aid in grant_user(rules, store, tenant, item["user_id"], now, only):
                report.granted[aid] = report.granted.get(aid, 0) + 1
                log(f"granted {aid} to {item['user_id']}")
        store.put(
            k_cursor, {"achievements": selection, "last_key": start, "done": start is None, "updated_at": keys.stamp(now)}
        )
        if start is None:
            return report
