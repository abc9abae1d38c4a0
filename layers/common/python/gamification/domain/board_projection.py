"""Leaderboards as a projection of the ledger: what a ledger entry adds to which board
period, the aggregate items a score change moves, how a rank is summed from them, the
top-K list, and the per-stream-shard watermarks that make every projector write exactly
once. Pure, no I/O. Design and proofs: docs/leaderboards.md ("The projection").

Per board period ``P`` the projector keeps:

- **score items** (one per player, write-sharded; GSI ``lb_rank`` as before): ``score``,
  ``reached_at`` = the latest ``recorded_at`` of the entries that moved the score (so a
  rebuild from the ledger, which sees entries in any order, gives the same value);
- **count items**, one per (level, parent bucket), *unsharded*: level ``k`` (0..12) splits
  ``score + SCORE_OFFSET`` into buckets of width ``16**k``; the item of level ``k`` and
  parent ``p`` (a level ``k+1`` bucket) holds one counter per child bucket (attributes
  ``c0`` .. ``cf``). The players above score ``s`` are, per level, the counters of the
  children above ``s``'s child in ``s``'s parent item: 13 items with known keys, one
  BatchGetItem. A higher score ``s'`` first shares a bucket with ``s`` at some level ``j+1``;
  at level ``j`` it is a higher child of that same parent, counted there and nowhere else
  (level 13 has one bucket: every score meets ``s`` by then).
- **tie items**, per exact score: one with a counter per UTC hour of ``reached_at``
  (``h{hours since the epoch}``), and one per (score, hour) with an attribute per member
  (``e{reached_at}#{user}``). Ties ahead of a player = the counters of earlier hours + the
  members of the same hour that sort before it: two more known keys, no query.
- **the top item**: the exact best ``TOP_K`` rows (or every row while the board is smaller:
  ``complete``), the board period's write-shard count (fixed at its first write, so a
  changed ``shards`` in the rules only applies to new periods) and a version for
  compare-and-set.

Every such item carries one watermark attribute per stream shard that wrote it
(:func:`watermark_attr`): the last sequence number applied from that shard and when.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, NamedTuple

from gamification.domain.entries import ledger_entries, ledger_kind, ledger_owner
from gamification.domain.leaderboards import SCORE_OFFSET, BoardPeriod, Row, score_asc, touched
from gamification.domain.periods import local_date

if TYPE_CHECKING:  # annotations only: the rules load with the engine, on the first request
    from gamification.domain.rules import Rules

#: Ledger reasons that never count on a board: starting XP (not earned) and roll-over prizes
#: (prizes would feed the boards that pay them).
EXCLUDED_REASONS = frozenset({"starting_balance", "leaderboard_prize"})
#: Ledger entry kinds that never move a board (coin spends, operator adjustments).
NOT_ON_BOARDS = frozenset({"spend", "adjustment"})
#: Levels of the count hierarchy: 16**13 > 2 * SCORE_OFFSET, so level 12 has one parent.
COUNT_LEVELS = 13
BITS = 4
#: Rows kept in the top item (reads of more fall back to the GSI).
TOP_K = 32
#: Sequence numbers are decimal strings of 21 to 40 digits; padded they compare as strings.
SEQ_DIGITS = 40
WATERMARK_PREFIX = "w_"
#: Stream records live 24 h: a shard's watermark older than that can never be needed again.
WATERMARK_RETENTION_S = 24 * 3600


# ---- ledger entries -> contributions ------------------------------------------------------


class Entry(NamedTuple):
    """One ledger entry as the projector sees it (from a stream record's NewImage or a
    ledger query). ``seq``: the stream sequence number, padded (empty for a rebuild)."""

    tenant: str
    user_id: str
    kind: str  # "xp" or "coins"
    reason: str
    amount: int
    occurred_at: datetime
    recorded_at: str
    seq: str = ""


def entry_of(item: dict[str, object], seq: str = "") -> Entry | None:
    """The :class:`Entry` of a ledger item (plain values), or None for anything that is not
    an XP or coin ledger entry of a user."""
    # A keyed entry (stored as its Idempotency-Key's record) names its user in ``ledger_pk``.
    owner, kind = ledger_owner(item), ledger_kind(item)
    if owner is None or kind is None:
        return None
    # Spends and operator adjustments move balances, not boards; a reversal moves the boards
    # its entry moved (``board_delta``), on the day of the reversed entry (``board_occurred_at``).
    if item.get("kind") in NOT_ON_BOARDS:
        return None
    amount = item.get("xp", 0) if kind == "xp" else item.get("amount", 0)
    if item.get("kind") == "reversal":
        amount = item.get("board_delta", 0)
    occurred = datetime.fromisoformat(str(item.get("board_occurred_at") or item["occurred_at"]).replace("Z", "+00:00"))
    return Entry(owner[0], owner[1], kind, str(item.get("reason", "")), int(amount),  # type: ignore[call-overload]
                 occurred, str(item.get("recorded_at") or item["occurred_at"]), pad_seq(seq) if seq else "")


def entries_of(item: dict[str, object], seq: str = "") -> list[Entry]:
    """The :class:`Entry` s of a stored item: its own and, for an XP entry that carries its
    award's ``xp_bonus`` coins, theirs (:func:`gamification.domain.entries.ledger_entries`).
    They move boards of different metrics, so sharing ``seq`` never hides one."""
    return [e for i in ledger_entries(dict(item)) if (e := entry_of(i, seq)) is not None]


def contributions(rules: Rules, entry: Entry) -> list[tuple[BoardPeriod, int]]:
    """``(board period, delta)`` for every board period the entry moves (delta != 0): XP
    boards count XP entries, coin boards coin entries, never :data:`EXCLUDED_REASONS`;
    periods from ``occurred_at``'s local day in the rules' zone."""
    if entry.reason in EXCLUDED_REASONS or not entry.amount:
        return []
    day: date = local_date(entry.occurred_at, rules.zone)
    return [(bp, entry.amount) for bp in touched(rules, day) if bp.metric == entry.kind]


# ---- count hierarchy ----------------------------------------------------------------------


def _offset(score: int) -> int:
    if not -SCORE_OFFSET < score < SCORE_OFFSET:
        raise ValueError(f"score out of range: {score}")
    return score + SCORE_OFFSET


def count_slot(score: int, level: int) -> tuple[str, str]:
    """(count item sort key, counter attribute) of ``score`` at ``level``."""
    b = _offset(score) >> (BITS * level)
    return f"{level:02d}#{b >> BITS:013x}", f"c{b & 15:x}"


def count_moves(old: int | None, new: int | None) -> list[tuple[str, str, int]]:
    """``(item sk, attribute, +1/-1)`` for a player moving from ``old`` to ``new`` (None: not
    on the board). Levels where both fall in the same bucket are left out (from there up
    they share every bucket)."""
    out: list[tuple[str, str, int]] = []
    for level in range(COUNT_LEVELS):
        a = count_slot(old, level) if old is not None else None
        b = count_slot(new, level) if new is not None else None
        if a == b:
            break
        if a:
            out.append((*a, -1))
        if b:
            out.append((*b, 1))
    return out


def rank_keys(score: int) -> list[str]:
    """Sort keys of the count items a rank of ``score`` reads (one per level)."""
    return [count_slot(score, level)[0] for level in range(COUNT_LEVELS)]


def players_above(score: int, items: dict[str, dict[str, object]]) -> int:
    """Players with a higher score, from the count items of :func:`rank_keys` (by sort key;
    missing items count 0)."""
    total = 0
    for level in range(COUNT_LEVELS):
        sk, attr = count_slot(score, level)
        mine = int(attr[1:], 16)
        item = items.get(sk) or {}
        total += sum(int(item.get(f"c{c:x}", 0)) for c in range(mine + 1, 16))  # type: ignore[call-overload]
    return total


# ---- ties ---------------------------------------------------------------------------------


def hour_of(stamp: str) -> int:
    """Hours since the epoch of an RFC 3339 UTC stamp."""
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()) // 3600


def hour_start(hour: int) -> str:
    """The stamp (keys.stamp format) of the start of epoch hour ``hour``."""
    return datetime.fromtimestamp(hour * 3600, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def tie_attr(reached_at: str) -> str:
    return f"h{hour_of(reached_at)}"


def tie_member(row: Row) -> str:
    """A player's attribute on the (score, hour) tie item: ``e{reached_at}#{user}``, so
    attribute names sort like the GSI's tie order."""
    return f"e{row.reached_at}#{row.user_id}"


def tie_keys(row: Row) -> tuple[str, str]:
    """Sort keys of the tie items of ``row``: (per-hour counters of its score, the members
    of its score and hour)."""
    return score_asc(row.score), f"{score_asc(row.score)}#{hour_of(row.reached_at)}"


def ties_ahead(row: Row, counters: dict[str, object] | None, members: dict[str, object] | None) -> int:
    """Players with ``row``'s score who reached it earlier: hours before its hour (counter
    item) plus members of its hour that sort before it (member item)."""
    mine = tie_member(row)
    return ties_before_hour(counters, row.reached_at) + sum(
        1 for k in (members or {}) if k.startswith("e") and k < mine
    )


def ties_before_hour(item: dict[str, object] | None, reached_at: str) -> int:
    """Players of a tie counter item who reached its score in an hour before ``reached_at``'s."""
    mine = hour_of(reached_at)
    return sum(int(v) for k, v in (item or {}).items()  # type: ignore[call-overload]
               if k.startswith("h") and k[1:].isdigit() and int(k[1:]) < mine)


def tie_moves(old: Row | None, new: Row | None) -> list[tuple[str, str, int]]:
    """``(tie item sk, attribute, +1/-1)`` for a row change: the hour counter of the score
    (``h...``: added) and the player's member attribute (``e...``: set or removed)."""
    out = []
    for row, d in ((old, -1), (new, 1)):
        if row is not None:
            counter_sk, member_sk = tie_keys(row)
            out += [(counter_sk, tie_attr(row.reached_at), d), (member_sk, tie_member(row), d)]
    return out


# ---- top item -----------------------------------------------------------------------------


@dataclass
class Top:
    """The top item's list: ``rows`` best first are the exact best ``len(rows)`` players;
    ``complete`` when they are every player of the board period."""

    rows: list[Row] = field(default_factory=list)
    complete: bool = True

    def apply(self, changed: Iterable[Row], k: int = TOP_K) -> Top:
        """The list after the players of ``changed`` moved to those rows (absolute, so
        applying the same rows twice changes nothing). A changed player who falls below the
        last known row of an incomplete list leaves it (its true place is unknown): the list
        then shrinks to what is still exact."""
        new = {r.user_id: r for r in changed}
        boundary = None if self.complete or not self.rows else self.rows[-1].sort_key
        if not self.complete and not self.rows:
            return Top([], False)
        keep = [r for r in self.rows if r.user_id not in new]
        keep += [r for r in new.values() if boundary is None or r.sort_key <= boundary]
        keep.sort(key=lambda r: r.sort_key)
        complete = self.complete and len(keep) <= k
        return Top(keep[:k], complete)

    def dump(self) -> list[dict[str, object]]:
        return [{"u": r.user_id, "s": r.score, "r": r.reached_at} for r in self.rows]

    @classmethod
    def load(cls, item: dict[str, object] | None) -> Top:
        if not item:
            return cls()
        rows = [Row(str(e["u"]), int(e["s"]), str(e["r"])) for e in item.get("rows", [])]  # type: ignore[union-attr, index]
        return cls(rows, bool(item.get("complete", True)))


# ---- watermarks ---------------------------------------------------------------------------


def pad_seq(seq: str) -> str:
    return seq.rjust(SEQ_DIGITS, "0")


def watermark_attr(shard_id: str) -> str:
    """The attribute holding one stream shard's watermark (short: it is on every item)."""
    return WATERMARK_PREFIX + hashlib.blake2b(shard_id.encode(), digest_size=6).hexdigest()


def watermark_value(seq: str, epoch_s: int) -> str:
    """``{padded seq}@{epoch seconds}``: string order = sequence order."""
    return f"{pad_seq(seq)}@{epoch_s}"


def applied_seq(item: dict[str, object] | None, attr: str) -> str:
    """The padded sequence number last applied from the shard of ``attr`` ("" for none)."""
    raw = (item or {}).get(attr)
    return str(raw).split("@", 1)[0] if raw else ""


def stale_watermarks(item: dict[str, object] | None, now_s: int, keep: str) -> list[str]:
    """Watermark attributes of ``item`` older than the stream's retention (never ``keep``)."""
    out = []
    for k, v in (item or {}).items():
        if k.startswith(WATERMARK_PREFIX) and k != keep:
            try:
                at = int(str(v).rsplit("@", 1)[1])
            except (IndexError, ValueError):
                continue
            if at < now_s - WATERMARK_RETENTION_S:
                out.append(k)
    return out
