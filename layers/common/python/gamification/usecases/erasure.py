"""``DELETE /v1/users/{id}``: erase every item of a user (privacy requests), resumably.

Steps, each safe to repeat (a crashed or timed-out erasure is finished by calling again):

1. collect, from the user's ledger entries and day usage, the local dates the user was
   active on and the idempotency keys of their requests; saved on an erasure item
   (``T#{t}#ERASE#{user}``) so a resumed run still knows them once the ledger is gone;
2. take the user off every board period those dates touch: per board period one
   transaction deletes the score item (conditioned on the score read) and takes the user
   out of the shard's count hierarchy; final snapshots of ended periods drop the user's row;
3. delete the idempotency records of those keys;
4. delete every item of the user's partition (profile, usage, ledger, once-markers,
   notifications), 25 per BatchWriteItem;
5. delete the erasure item. Afterwards the user reads as new and appears on no board.

Cost: one Query page per 100 partition items (twice: collect, delete), one BatchGetItem per
100 board periods, one small transaction per board the user was on, one BatchWriteItem per
25 items. Writes for the user racing the erasure can leave items behind; a second call
removes them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from gamification.api.ledger_models import DeleteUserResponse
from gamification.dal import keys
from gamification.dal.ledger_store import delete_keys, partition_keys, query_page, remove_board_score
from gamification.dal.store import Store, WriteConflict
from gamification.domain.leaderboards import count_sk, shard_of, touched
from gamification.domain.ledger import removal_deltas
from gamification.domain.periods import local_date
from gamification.domain.rules import Rules
from gamification.usecases.outcome import Outcome

PAGE = 100
MAX_BOARD_ATTEMPTS = 10


class Erasure:
    """Erases one user of one tenant."""

    def __init__(self, rules: Rules, store: Store) -> None:
        self.rules = rules
        self.store = store

    def erase(self, tenant: str, user_id: str, now: datetime) -> Outcome:
        """Run (or finish) the erasure; returns :class:`DeleteUserResponse`'s body."""
        k_state = keys.erasure_key(tenant, user_id)
        state = self.store.get(k_state)
        if not state:
            days, idem = self._collect(tenant, user_id)
            state = {"days": sorted(d.isoformat() for d in days), "idempotency_keys": sorted(idem), "started_at": keys.stamp(now)}
            self.store.put(k_state, state)
        days = {date.fromisoformat(d) for d in state.get("days", [])}
        boards = self._leave_boards(tenant, user_id, days)
        delete_keys(self.store, [keys.idempotency_key(tenant, k) for k in state.get("idempotency_keys", [])])
        deleted = self._delete_partition(keys.user_pk(tenant, user_id))
        delete_keys(self.store, [k_state])
        body = DeleteUserResponse(user_id=user_id, deleted=True, items_deleted=deleted, boards_left=boards)
        return Outcome(body)

    def _collect(self, tenant: str, user_id: str) -> tuple[set[date], set[str]]:
        pk = keys.user_pk(tenant, user_id)
        days: set[date] = set()
        idem: set[str] = set()
        for prefix in ("XP#", "COIN#", "DAY#"):
            start = None
            while True:
                items, start = query_page(self.store, pk, prefix=prefix, limit=PAGE, start=start)
                for item in items:
                    if prefix == "DAY#":
                        days.add(date.fromisoformat(item["sk"][len(prefix):]))
                        continue
                    if item.get("day"):
                        days.add(date.fromisoformat(item["day"]))
                    elif item.get("occurred_at"):
                        occurred = datetime.fromisoformat(item["occurred_at"].replace("Z", "+00:00"))
                        days.add(local_date(occurred, self.rules.zone))
                    if item.get("idempotency_key"):
                        idem.add(str(item["idempotency_key"]))
                if start is None:
                    break
        return days, idem

    def _leave_boards(self, tenant: str, user_id: str, days: set[date]) -> int:
        """Take the user off every board period of ``days``; returns how many held them."""
        periods = {(bp.board, bp.period, bp.period_key): bp for day in days for bp in touched(self.rules, day)}
        refs = list(periods.values())
        left = 0
        for i in range(0, len(refs), PAGE):
            chunk = refs[i : i + PAGE]
            score_keys = [
                keys.board_score_key(tenant, bp.board, bp.period, bp.period_key, shard_of(user_id, bp.shards), user_id)
                for bp in chunk
            ]
            snaps = [keys.board_snapshot_key(tenant, bp.board, bp.period, bp.period_key) for bp in chunk]
            found = self.store.get_many(score_keys + snaps)
            for bp, key, item, snap in zip(chunk, score_keys, found[: len(chunk)], found[len(chunk) :]):
                if item:
                    left += self._leave_board(tenant, bp, key, item)
                if snap and any(e.get("user_id") == user_id for e in snap.get("entries", [])):
                    attrs = {k: v for k, v in snap.items() if k not in ("pk", "sk")}
                    attrs["entries"] = [e for e in snap["entries"] if e.get("user_id") != user_id]
                    self.store.put({"pk": snap["pk"], "sk": snap["sk"]}, attrs)
        return left

    def _leave_board(self, tenant: str, bp: Any, key: keys.Key, item: dict[str, Any] | None) -> int:
        shard = shard_of(item["user_id"], bp.shards) if item else 0
        for _ in range(MAX_BOARD_ATTEMPTS):
            if item is None:
                return 0
            score = int(item["score"])
            tx = self.store.transaction()
            remove_board_score(tx, key, score)
            for level, bucket_id, delta in removal_deltas(score):
                tx.add_board_count(
                    keys.board_count_key(tenant, bp.board, bp.period, bp.period_key, shard, count_sk(level, bucket_id)),
                    delta=delta,
                    expires_at=None,
                )
            try:
                self.store.commit(tx)
                return 1
            except WriteConflict:
                item = self.store.get(key)
        raise WriteConflict(["BoardContention"])

    def _delete_partition(self, pk: str) -> int:
        deleted = 0
        while True:
            page, _ = partition_keys(self.store, pk, None, PAGE)
            if not page:
                return deleted
            delete_keys(self.store, page)
            deleted += len(page)
