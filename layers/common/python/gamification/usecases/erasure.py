"""``DELETE /v1/users/{id}``: erase every item of a user (privacy requests), resumably.

Steps, each safe to repeat (a crashed or timed-out erasure is finished by calling again):

1. collect, from the user's ledger entries and day usage, the local dates the user was
   active on and the idempotency keys of their requests (also of keyed requests that wrote
   no ledger entry: time zone, badge, notifications read, each leaving a ``REQ#{key}``
   item); saved on an erasure item
   (``T#{t}#ERASE#{user}``) so a resumed run still knows them once the ledger is gone.
   Keyed entries (an award's entry stored as its Idempotency-Key's record, outside the
   user's partition) are found through the GSI ``ledger`` (eventually consistent: one
   written a moment before may be missed; call again);
2. delete the idempotency records of those keys (keyed entries with them), and release the
   user's unlocks: each unlock marker (``ACH#{achievement}``) is deleted in one transaction
   with the ``-1`` of its achievement's count shard, so the catalogue's ``unlocked_count``
   stops counting the user, and a resumed erasure (the marker gone) never subtracts twice;
3. delete every item of the user's partition (profile, usage, ledger, once-markers,
   notifications), 25 per BatchWriteItem;
4. take the user off every board period those dates touch: the period's projection is
   recomputed for the user from the (now empty) ledger and its aggregates from the score
   items left (docs/leaderboards.md, "Rebuild"); final snapshots of ended periods drop
   the user's row (the rows left keep their ranks: prizes were paid by them, and a rank
   renumbered would pay its new holder again when a roll-over re-reads the snapshot).
   A ledger entry of the user still in the stream when this runs can put the user back
   on a board: call again after the boards' lag (2 s);
5. delete the erasure item. Afterwards the user reads as new and appears on no board.

Cost: one Query page per 100 partition items (twice: collect, delete), one BatchWriteItem
per 25 items, one two-item transaction per unlock, and per board period the user touched a
read of its score items (proportional to the period's players: erasure is rare, exactness
matters more). Writes for the user racing the erasure can leave items behind; a second
call removes them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from gamification.api.erasure_models import DeleteUserResponse
from gamification.dal import items, keys
from gamification.dal.ledger_store import delete_keys, keyed_entries, partition_keys, query_page
from gamification.dal.store import Store, WriteConflict
from gamification.domain.leaderboards import shard_of, touched
from gamification.domain.periods import local_date
from gamification.usecases.outcome import Outcome
from gamification.usecases.progression_profile import shard_for
from gamification.usecases.retry import Retry

if TYPE_CHECKING:  # annotations only: the rules load with the engine, on the first request
    from gamification.domain.rules import Rules

PAGE = 100
#: Tries and seconds to release one unlock against racing unlocks of the same count shard.
RELEASE_ATTEMPTS, RELEASE_BUDGET_S = 8, 5.0


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
            days, idem, keyed = self._collect(tenant, user_id)
            state = {"days": sorted(d.isoformat() for d in days), "idempotency_keys": sorted(idem),
                     "keyed_entries": keyed, "started_at": keys.stamp(now)}  # fmt: skip
            self.store.put(k_state, state)
        days = {date.fromisoformat(d) for d in state.get("days", [])}
        delete_keys(self.store, [keys.idempotency_key(tenant, k) for k in state.get("idempotency_keys", [])])
        released = self._release_unlocks(tenant, user_id)
        # Keyed entries count as the user's items: they went with their records.
        deleted = int(state.get("keyed_entries", 0)) + released
        deleted += self._delete_partition(keys.user_pk(tenant, user_id))
        boards = self._leave_boards(tenant, user_id, days)
        delete_keys(self.store, [k_state])
        body = DeleteUserResponse(user_id=user_id, deleted=True, items_deleted=deleted, boards_left=boards)
        return Outcome(body)

    def _collect(self, tenant: str, user_id: str) -> tuple[set[date], set[str], int]:
        """The user's active dates, the idempotency keys of their entries, and how many of
        those entries are keyed entries (deleted with their keys' records)."""
        pk = keys.user_pk(tenant, user_id)
        days: set[date] = set()
        idem: set[str] = set()

        def entry(item: dict[str, Any]) -> None:
            if item.get("day"):
                days.add(date.fromisoformat(item["day"]))
            elif item.get("occurred_at"):
                occurred = datetime.fromisoformat(item["occurred_at"].replace("Z", "+00:00"))
                days.add(local_date(occurred, self.rules.zone))
            if item.get("idempotency_key"):
                idem.add(str(item["idempotency_key"]))

        for prefix in ("XP#", "COIN#", "DAY#", keys.REQUEST_PREFIX):
            start = None
            while True:
                page, start = query_page(self.store, pk, prefix=prefix, limit=PAGE, start=start)
                for item in page:
                    if prefix == "DAY#":
                        days.add(date.fromisoformat(item["sk"][len(prefix):]))
                    else:
                        entry(item)
                if start is None:
                    break
        # Keyed entries are their Idempotency-Key's record, outside the partition: deleting
        # the record (step 2) deletes the entry.
        keyed = keyed_entries(self.store, pk)
        for item in keyed:
            entry(item)
        return days, idem, len(keyed)

    def _release_unlocks(self, tenant: str, user_id: str) -> int:
        """Delete each unlock marker with its count's ``-1`` (step 2); returns how many this
        call released. A marker another erasure released first fails its condition and is
        skipped; contention is retried."""
        pk = keys.user_pk(tenant, user_id)
        start, released = None, 0
        while True:
            markers, start = query_page(self.store, pk, prefix="ACH#", limit=PAGE, start=start)
            for marker in markers:
                achievement = marker["sk"][len("ACH#"):]
                count = keys.achievement_count_key(tenant, shard_for(user_id), achievement)
                retry = Retry(RELEASE_ATTEMPTS, RELEASE_BUDGET_S, lambda: WriteConflict(["UnlockContention"]))
                for _ in retry.attempts():
                    tx = self.store.transaction()
                    tx.delete_existing({"pk": pk, "sk": marker["sk"]}).update(items.counter_add(count, -1))
                    try:
                        self.store.commit(tx)
                        released += 1
                        break
                    except WriteConflict as conflict:
                        if conflict.reasons[0] == "ConditionalCheckFailed":
                            break  # released by another erasure
            if start is None:
                return released

    def _leave_boards(self, tenant: str, user_id: str, days: set[date]) -> int:
        """Take the user off every board period of ``days`` (run after the ledger is gone):
        the user's score item is recomputed from the (now empty) ledger, which deletes it,
        and the period's aggregates (counts, ties, top rows) are recomputed from the score
        items left (:class:`gamification.usecases.board_rebuild.BoardRebuild`). Final
        snapshots of ended periods drop the user's row. Returns how many periods held them."""
        from gamification.usecases.board_rebuild import BoardRebuild

        rebuild = BoardRebuild(self.rules, self.store)
        periods = {(bp.board, bp.period, bp.period_key): bp for day in days for bp in touched(self.rules, day)}
        left = 0
        for bp in periods.values():
            score_key = keys.board_score_key(tenant, bp.board, bp.period, bp.period_key, shard_of(user_id, bp.shards), user_id)
            if self.store.get(score_key):
                left += 1
            rebuild.remove_player(tenant, bp.board, bp.period, bp.period_key, user_id)
            snap = self.store.get(keys.board_snapshot_key(tenant, bp.board, bp.period, bp.period_key))
            if snap and any(e.get("user_id") == user_id for e in snap.get("entries", [])):
                attrs = {k: v for k, v in snap.items() if k not in ("pk", "sk")}
                attrs["entries"] = [e for e in snap["entries"] if e.get("user_id") != user_id]
                self.store.put({"pk": snap["pk"], "sk": snap["sk"]}, attrs)
        return left

    def _delete_partition(self, pk: str) -> int:
        deleted = 0
        while True:
            page, _ = partition_keys(self.store, pk, None, PAGE)
            if not page:
                return deleted
            delete_keys(self.store, page)
            deleted += len(page)
