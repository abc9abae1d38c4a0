"""Leaderboard domain: which board periods an award touches, write shards, sortable score
encodings, merging shard results into ranks, and which periods have ended. Pure, no I/O.

Source: docs/api.md (boards daily / weekly / monthly / all-time, "the earlier to reach the
score ranks first"), Progressive Flow (history snapshots, a user's rank); design in
docs/leaderboards.md.

Encodings (strings, so DynamoDB sorts them as numbers):

- ``score_asc(s)``: 16 digits of ``s + 10**15``; ascending string order = ascending score.
- ``score_desc(s)``: 16 digits of ``(10**16 - 1) - (s + 10**15)``; ascending = best first.
- ``rank_sort_key(s, reached_at, user)``: ``{score_desc}#{reached_at}#{user}``, the GSI sort
  key; ascending = best score first, then earliest ``reached_at`` (UTC stamp), then user id.

Scores are integers with ``|s| < 10**15`` (XP or coins earned in one period).
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from gamification.domain.periods import PERIOD_WINDOW, next_window_start, window_end, window_key, window_start

if TYPE_CHECKING:  # annotations only: the maths take a Rules instance, not the rules module's classes
    from gamification.domain.rules import Leaderboard, Rules

SCORE_OFFSET = 10**15
SCORE_DIGITS = 16
_DESC_TOP = 10**SCORE_DIGITS - 1
#: Period names whose boards end (and are finalised by the roll-over).
ENDING_PERIODS = ("daily", "weekly", "monthly")


def _check(score: int) -> int:
    if not -SCORE_OFFSET < score < SCORE_OFFSET:
        raise ValueError(f"score out of range: {score}")
    return score + SCORE_OFFSET


def score_asc(score: int) -> str:
    """Sort key of a score, ascending string order = ascending score."""
    return f"{_check(score):0{SCORE_DIGITS}d}"


def score_desc(score: int) -> str:
    """Sort key of a score, ascending string order = descending score."""
    return f"{_DESC_TOP - _check(score):0{SCORE_DIGITS}d}"


def score_from_desc(encoded: str) -> int:
    """Inverse of :func:`score_desc` (accepts a whole rank sort key too)."""
    return _DESC_TOP - int(encoded[:SCORE_DIGITS]) - SCORE_OFFSET


def rank_sort_key(score: int, reached_at: str, user_id: str) -> str:
    """The GSI sort key: best score first, then earlier ``reached_at``, then user id."""
    return f"{score_desc(score)}#{reached_at}#{user_id}"


def shard_of(user_id: str, shards: int) -> int:
    """Stable write shard of a user, ``0 <= shard < shards`` (BLAKE2b, not Python's salted hash)."""
    digest = hashlib.blake2b(user_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


# ---- periods -------------------------------------------------------------------------


def period_key(period: str, day: date) -> str:
    """Key of the board ``period`` (daily/weekly/monthly/all_time) containing local ``day``."""
    return window_key(PERIOD_WINDOW[period], day)


def period_start(period: str, key: str) -> date | None:
    """First local date of the period named by ``key`` (None for all_time).

    Raises ValueError for a key that does not parse for that period.
    """
    if period == "daily":
        return date.fromisoformat(key)
    if period == "weekly":
        year, week = key.split("-W")
        return date.fromisocalendar(int(year), int(week), 1)
    if period == "monthly":
        year, month = key.split("-")
        return date(int(year), int(month), 1)
    if period == "all_time":
        return None
    raise ValueError(f"unknown period {period!r}")


def period_end(period: str, day: date, zone: ZoneInfo) -> datetime | None:
    """UTC instant the ``period`` containing ``day`` ends; None for all_time."""
    return window_end(PERIOD_WINDOW[period], day, zone)


#: How long a board period's live items outlive the period (after the late-event grace),
#: so ``date=`` reads of past periods and late roll-overs still find them. all_time: forever.
RETENTION = {"daily": timedelta(days=35), "weekly": timedelta(days=120), "monthly": timedelta(days=800)}
def live_expiry(rules: Rules, period: str, day: date) -> datetime | None:
    """TTL instant of a board period's live items (None for all_time)."""
    end = period_end(period, day, rules.zone)
    return None if end is None else end + rules.max_event_age + RETENTION[period]


def ended_periods(
    period: str, first_day: date, now: datetime, zone: ZoneInfo, grace: timedelta, limit: int
) -> list[str]:
    """Keys of the ``period``s from the one containing ``first_day`` on, oldest first, that
    ended at least ``grace`` before ``now`` (no award can touch them any more), at most
    ``limit`` of them. all_time never ends: always ``[]``."""
    if period not in ENDING_PERIODS:
        return []
    window = PERIOD_WINDOW[period]
    day = window_start(window, first_day)
    assert day is not None
    out: list[str] = []
    while len(out) < limit:
        end = window_end(window, day, zone)
        assert end is not None
        if end + grace > now:
            break
        out.append(window_key(window, day))
        nxt = next_window_start(window, day)
        assert nxt is not None
        day = nxt
    return out


def next_period_day(period: str, key: str) -> date:
    """First local date of the period after the one named by ``key`` (not all_time)."""
    start = period_start(period, key)
    assert start is not None
    nxt = next_window_start(PERIOD_WINDOW[period], start)
    assert nxt is not None
    return nxt


# ---- what an award touches ------------------------------------------------------------


@dataclass(frozen=True)
class BoardPeriod:
    """One period of one board, e.g. (``xp``, ``weekly``, ``2026-W47``)."""

    board: str
    period: str
    period_key: str
    metric: str
    shards: int


def touched(rules: Rules, day: date) -> list[BoardPeriod]:
    """Every board period an event on local ``day`` can touch (all boards, all periods)."""
    return [
        BoardPeriod(name, period, period_key(period, day), board.metric, board.shards)
        for name, board in rules.leaderboards.items()
        for period in board.periods
    ]


def delta_for(metric: str, xp: int, coins: int) -> int:
    """What an award adds to a board of ``metric``: XP gained or coins earned."""
    return xp if metric == "xp" else coins


# ---- the count hierarchy ---------------------------------------------------------------
#
# Players per score range, per write shard, at COUNT_LEVELS levels: level k counts the players
# whose ``score + SCORE_OFFSET`` falls in one bucket of width 16**k (level 0: one exact score).
# Buckets of level k are grouped 16 to a parent (their bucket of level k+1). The players above
# score s are counted exactly once: a higher score s' first shares a bucket with s at some
# level j, so at level j-1 it sits in a *sibling* bucket above s's (same parent, higher
# bucket); a score sharing no bucket with s even at the top level sits in a higher top-level
# bucket. So rank reads at most 15 sibling items per level below the top, plus the top-level
# buckets above (one per 16**(COUNT_LEVELS-1) = 65,536 points of score), per shard.

COUNT_BITS = 4
COUNT_FANOUT = 1 << COUNT_BITS
COUNT_LEVELS = 5
_HEX = 13  # 16**13 > 2 * SCORE_OFFSET


def bucket(score: int, level: int) -> int:
    """The level-``level`` bucket of ``score`` (level 0: the exact score, offset)."""
    return _check(score) >> (COUNT_BITS * level)


def count_sk(level: int, bucket_id: int) -> str:
    """Sort key of a count item: ``{level}#{bucket:013x}`` (ascending = ascending scores)."""
    return f"{level}#{bucket_id:0{_HEX}x}"


def count_deltas(old: int | None, new: int) -> list[tuple[int, int, int]]:
    """``(level, bucket, +1/-1)`` count updates for a score moving from ``old`` (None: new
    player) to ``new``. Levels whose bucket does not change are left out (the -1 and +1
    would cancel), so an award usually touches 1-2 levels: at most 2*COUNT_LEVELS items."""
    out: list[tuple[int, int, int]] = []
    for level in range(COUNT_LEVELS):
        b_new = bucket(new, level)
        if old is None:
            out.append((level, b_new, 1))
            continue
        b_old = bucket(old, level)
        if b_old == b_new:
            break  # same bucket here means the same bucket at every higher level
        out += [(level, b_old, -1), (level, b_new, 1)]
    return out


def above_ranges(score: int, best: int | None = None) -> list[tuple[str, str]]:
    """Inclusive count-item sort-key ranges whose counts sum to the players with a higher
    score than ``score`` (in one shard; the same ranges apply to every shard).

    ``best``: the board's best score if known; levels where it already shares a bucket with
    ``score`` cannot hold anyone above and are skipped (fewer requests, same result).
    """
    ranges = []
    for level in range(COUNT_LEVELS):
        mine = bucket(score, level)
        if best is not None and bucket(best, level) <= mine:
            break
        if level == COUNT_LEVELS - 1:
            ranges.append((count_sk(level, mine + 1), count_sk(level, (1 << (4 * _HEX)) - 1)))
        else:
            last_sibling = (mine | (COUNT_FANOUT - 1))
            if last_sibling > mine:
                ranges.append((count_sk(level, mine + 1), count_sk(level, last_sibling)))
    return ranges


@dataclass(frozen=True)
class ScoreChange:
    """A user's score moving on one board period: ``old`` None when the user was not on it.

    ``count_deltas``: ``(level, bucket, +1/-1)`` updates of the count hierarchy.
    """

    old: int | None
    new: int

    @property
    def count_deltas(self) -> list[tuple[int, int, int]]:
        return count_deltas(self.old, self.new)


# ---- reading -------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One player's row on a board period as read from a shard (``sort_key``: GSI order)."""

    user_id: str
    score: int
    reached_at: str

    @property
    def sort_key(self) -> str:
        return rank_sort_key(self.score, self.reached_at, self.user_id)


def merge_top(shards: Iterable[Iterable[Row]], limit: int) -> list[Row]:
    """The best ``limit`` rows of shard lists that are each already best first."""
    merged: Iterator[Row] = heapq.merge(*shards, key=lambda r: r.sort_key)
    out = []
    for row in merged:
        if len(out) == limit:
            break
        out.append(row)
    return out


def gather_top(
    first: Callable[[int, int], list[Row]],
    after: Callable[[int, Row, int], list[Row]],
    gather: Callable[[Callable[[int], list[Row]], int], list[list[Row]]],
    shards: int,
    limit: int,
) -> list[Row]:
    """The best ``limit`` rows over ``shards`` without reading ``limit`` rows from each.

    Reads ``ceil(limit / shards) + 2`` rows per shard (``first(shard, n)``: a shard's best
    n), then, while some shard may still hold a row inside the top ``limit`` (it returned
    all it was asked and its last row ranks above the current cut-off), reads up to
    ``limit`` more from just those shards (``after(shard, last_row, n)``). ``gather(fn, k)``
    runs ``fn(0..k-1)`` (in parallel). Exact; reads about ``limit + 3 * shards`` rows
    instead of ``limit * shards``.
    """
    if limit <= 0:
        return []
    step = min(limit, -(-limit // shards) + 2)
    parts = gather(lambda s: first(s, step), shards)
    complete = [len(p) < step for p in parts]
    while True:
        best = merge_top(parts, limit)
        cutoff = best[-1].sort_key if len(best) == limit else None
        need = [
            s for s in range(shards)
            if not complete[s] and parts[s] and (cutoff is None or parts[s][-1].sort_key < cutoff)
        ]
        if not need:
            return best
        more = gather(lambda i: after(need[i], parts[need[i]][-1], limit), len(need))
        for s, rows in zip(need, more):
            parts[s] = parts[s] + rows
            complete[s] = len(rows) < limit


def merge_above(shards: Iterable[Iterable[Row]], limit: int) -> list[Row]:
    """The ``limit`` rows just above a player, from shard lists each nearest first (worst
    first); returned best first."""
    merged = heapq.merge(*shards, key=lambda r: r.sort_key, reverse=True)
    out = []
    for row in merged:
        if len(out) == limit:
            break
        out.append(row)
    return out[::-1]


def rank_of(counts_above: Iterable[int], ties_ahead: Iterable[int]) -> int:
    """1-based rank: 1 + players with a higher score (count items of :func:`above_ranges`,
    summed over shards) + players with the same score who reached it earlier (over shards)."""
    return 1 + sum(counts_above) + sum(ties_ahead)


def ranked(rows: list[Row], first_rank: int = 1) -> list[dict[str, object]]:
    """``[{rank, user_id, score}]`` for consecutive rows starting at ``first_rank``."""
    return [{"rank": first_rank + i, "user_id": r.user_id, "score": r.score} for i, r in enumerate(rows)]


def board_of(rules: Rules, name: str) -> Leaderboard | None:
    """The board named ``name`` in the rules, or None."""
    return rules.leaderboards.get(name)
