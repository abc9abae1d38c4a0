"""Pure leaderboard logic: score encodings, tie order, shards, merging shard results, ranks,
which periods have ended, and period keys across week, month, year and DST boundaries."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.local import lambdas

lambdas.use_layer()

from gamification.dal.keys import stamp  # noqa: E402
from gamification.dal.store import Store  # noqa: E402
from gamification.domain.errors import UnknownLeaderboard, UnknownPeriod  # noqa: E402
from gamification.domain.leaderboards import (  # noqa: E402
    COUNT_LEVELS,
    Row,
    ScoreChange,
    above_ranges,
    bucket,
    count_deltas,
    count_sk,
    ended_periods,
    merge_above,
    merge_top,
    period_end,
    period_key,
    period_start,
    rank_of,
    rank_sort_key,
    ranked,
    score_asc,
    score_desc,
    score_from_desc,
    shard_of,
)
from gamification.domain.periods import local_date, local_midnight  # noqa: E402
from gamification.domain.rules import RulesError, load_rules, parse_rules  # noqa: E402
from gamification.usecases.boards import LeaderboardReader  # noqa: E402

scores = st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1)
ZONES = [ZoneInfo("America/New_York"), ZoneInfo("Australia/Lord_Howe"), ZoneInfo("UTC"), ZoneInfo("Asia/Kolkata")]
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2060, 12, 31), timezones=st.just(timezone.utc)
)


@given(scores, scores)
def test_encodings_sort_like_the_scores(a, b):
    assert (score_asc(a) < score_asc(b)) == (a < b)
    assert (score_desc(a) < score_desc(b)) == (a > b)
    assert score_from_desc(score_desc(a)) == a


def test_the_sort_key_puts_higher_scores_first_then_who_reached_them_first():
    early, late = "2026-11-21T10:00:00.000000Z", "2026-11-21T11:00:00.000000Z"
    keys = [rank_sort_key(10, late, "a"), rank_sort_key(10, early, "z"), rank_sort_key(11, late, "m"), rank_sort_key(9, early, "b")]
    assert [k.split("#")[-1] for k in sorted(keys)] == ["m", "z", "a", "b"]


def test_shards_are_stable_in_range_and_spread_users():
    assert shard_of("alice", 16) == shard_of("alice", 16)
    counts = [0] * 16
    for i in range(16000):
        s = shard_of(f"user-{i}", 16)
        assert 0 <= s < 16
        counts[s] += 1
    assert min(counts) > 800 and max(counts) < 1200  # ~1000 each


rows = st.lists(
    st.tuples(st.integers(0, 50), st.integers(0, 10**6)), min_size=0, max_size=60, unique_by=lambda t: t
)


def _board(data):
    return [Row(f"u{i}", score, stamp(datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=t))) for i, (score, t) in enumerate(data)]


@given(rows, st.integers(1, 8), st.integers(1, 30))
def test_merging_shards_gives_the_global_order(data, shards, limit):
    board = _board(data)
    split = [sorted((r for r in board if shard_of(r.user_id, shards) == s), key=lambda r: r.sort_key) for s in range(shards)]
    expected = sorted(board, key=lambda r: r.sort_key)
    assert merge_top(split, limit) == expected[:limit]
    # rank of each player from counts above (per shard) and ties ahead (per shard)
    for pos, row in enumerate(expected):
        above = [sum(1 for r in part if r.score > row.score) for part in split]
        ties = [sum(1 for r in part if r.score == row.score and r.sort_key < row.sort_key) for part in split]
        assert rank_of(above, ties) == pos + 1
        n = 3
        before = [[r for r in reversed(part) if r.sort_key < row.sort_key][:n] for part in split]
        assert merge_above(before, n) == expected[max(pos - n, 0):pos]


def test_ranked_numbers_consecutive_entries():
    assert ranked([Row("a", 5, "t"), Row("b", 4, "t")], 7) == [
        {"rank": 7, "user_id": "a", "score": 5},
        {"rank": 8, "user_id": "b", "score": 4},
    ]


def test_a_score_change_moves_one_player_between_buckets_only_where_they_differ():
    assert [(lv, d) for lv, _, d in ScoreChange(None, 10).count_deltas] == [(lv, 1) for lv in range(COUNT_LEVELS)]
    change = ScoreChange(10, 11).count_deltas  # same level-1 bucket (offset is a multiple of 16)
    assert change == [(0, bucket(10, 0), -1), (0, bucket(11, 0), 1)]
    assert len(ScoreChange(0, 10**9).count_deltas) == 2 * COUNT_LEVELS


@settings(max_examples=200, deadline=None)  # no wall-clock assertion on a shared machine
@given(
    st.lists(st.integers(-300, 200_000), min_size=1, max_size=80),
    st.lists(st.integers(-300, 5_000), max_size=40),
    st.integers(1, 4),
)
def test_the_count_hierarchy_counts_exactly_the_players_above(start, moves, shards):
    """Players start at ``start`` scores, then some move by ``moves``; the counts maintained
    with count_deltas, summed over above_ranges, equal the players strictly above anyone."""
    scores = dict(enumerate(start))
    counts: dict[tuple[int, str], int] = Counter()

    def apply(user, old, new):
        for level, b, d in count_deltas(old, new):
            counts[(user % shards, count_sk(level, b))] += d

    for user, sc in scores.items():
        apply(user, None, sc)
    for i, delta in enumerate(moves):
        user = i % len(scores)
        apply(user, scores[user], scores[user] + delta)
        scores[user] += delta
    best = max(scores.values())
    for sc in set(scores.values()) | {best + 1, min(scores.values()) - 1}:
        expected = sum(1 for v in scores.values() if v > sc)
        for hint in (None, best):
            total = sum(
                n for (shard, sk), n in counts.items() for lo, hi in above_ranges(sc, hint) if lo <= sk <= hi
            )
            assert total == expected


@settings(max_examples=300)
@given(instants, st.sampled_from(ZONES), st.sampled_from(["daily", "weekly", "monthly"]))
def test_every_instant_lies_in_its_period_and_keys_round_trip(instant, zone, period):
    day = local_date(instant, zone)
    key = period_key(period, day)
    start = period_start(period, key)
    assert start is not None and period_key(period, start) == key
    begins, ends = local_midnight(start, zone), period_end(period, day, zone)
    assert begins <= instant < ends
    assert period_key(period, local_date(ends, zone)) != key  # the next period starts at the end
    assert period_key(period, local_date(begins - timedelta(microseconds=1), zone)) != key
    if period == "weekly":
        iso = day.isocalendar()
        assert key == f"{iso[0]}-W{iso[1]:02d}" and start.isoweekday() == 1
    if period == "monthly":
        assert key == f"{day.year:04d}-{day.month:02d}" and start.day == 1
    if period == "daily":
        assert key == day.isoformat()


def test_iso_week_and_dst_edges_in_non_utc_zones():
    ny, lh = ZoneInfo("America/New_York"), ZoneInfo("Australia/Lord_Howe")
    # 2026-12-31 is a Thursday in ISO week 2026-W53; Jan 1 2027 (Fri) is in 2026-W53 too.
    assert period_key("weekly", date(2027, 1, 1)) == "2026-W53"
    assert period_key("weekly", date(2027, 1, 4)) == "2027-W01"
    # 23:30 New York on Dec 31 is already next year in UTC: the local year/month/week hold.
    instant = datetime(2027, 1, 1, 4, 30, tzinfo=timezone.utc)
    assert period_key("monthly", local_date(instant, ny)) == "2026-12"
    # The DST day (Mar 8 2026 in New York) is 23 hours long; Lord Howe shifts by 30 minutes.
    assert period_end("daily", date(2026, 3, 8), ny) - local_midnight(date(2026, 3, 8), ny) == timedelta(hours=23)
    assert period_end("daily", date(2026, 4, 5), lh) - local_midnight(date(2026, 4, 5), lh) == timedelta(hours=24, minutes=30)


def test_ended_periods_wait_for_the_grace_and_respect_the_limit():
    utc = ZoneInfo("UTC")
    grace = timedelta(hours=48)
    now = datetime(2026, 11, 24, 0, 0, tzinfo=timezone.utc)
    assert ended_periods("daily", date(2026, 11, 20), now, utc, grace, 100) == ["2026-11-20", "2026-11-21"]
    assert ended_periods("daily", date(2026, 11, 20), now, utc, grace, 1) == ["2026-11-20"]
    assert ended_periods("all_time", date(2026, 1, 1), now, utc, grace, 100) == []
    assert ended_periods("weekly", date(2026, 11, 11), now, utc, grace, 100) == ["2026-W46"]
    assert ended_periods("monthly", date(2026, 10, 15), now, utc, grace, 100) == ["2026-10"]


def _rules(**board):
    data = {
        "version": 1,
        "levels": [{"level": 1, "name": "A", "xp": 0}],
        "actions": {"a": {"xp": 1}},
        "leaderboards": {"coins": {"metric": "coins", "periods": ["weekly"], **board}},
    }
    return parse_rules(data)


def test_unknown_boards_and_periods_are_refused_before_any_read():
    reader = LeaderboardReader(_rules(), Store(None, "unused"))
    with pytest.raises(UnknownLeaderboard):
        reader.ref("t", "xp", "weekly", date(2026, 11, 21))
    with pytest.raises(UnknownPeriod):
        reader.ref("t", "coins", "daily", date(2026, 11, 21))
    assert reader.ref("t", "coins", "weekly", date(2026, 11, 21)).period_key == "2026-W47"


def test_board_rules_are_validated():
    assert load_rules().leaderboards["xp"].periods == ("daily", "weekly", "monthly", "all_time")
    with pytest.raises(RulesError, match="prizes"):
        _rules(snapshot_size=1, prizes=[10, 5])
    with pytest.raises(RulesError, match="shards"):
        _rules(shards=0)
    data = {"version": 1, "levels": [{"level": 1, "name": "A", "xp": 0}], "actions": {"a": {"xp": 1}},
            "leaderboards": {f"b{n}": {} for n in range(9)}}  # 36 board periods
    with pytest.raises(RulesError, match="board periods"):
        parse_rules(data)
    data["leaderboards"] = {f"b{n}": {} for n in range(8)}  # 32 board periods: off the award path now
    assert sum(len(b.periods) for b in parse_rules(data).leaderboards.values()) == 32


def test_a_ledger_entry_moves_xp_boards_by_xp_and_coins_boards_by_coins_earned():
    from gamification.domain.board_projection import Entry, contributions

    rules = parse_rules(
        {
            "version": 1,
            "levels": [{"level": 1, "name": "A", "xp": 0}],
            "actions": {"a": {"xp": 1}},
            "leaderboards": {
                "xp": {"metric": "xp", "periods": ["daily", "all_time"]},
                "rich": {"metric": "coins", "periods": ["weekly"], "shards": 4},
            },
        }
    )
    at = datetime(2026, 11, 21, 12, tzinfo=timezone.utc)

    def moved(kind, reason, amount):
        entry = Entry("t", "ann", kind, reason, amount, at, stamp(at))
        return [(bp.board, bp.period, bp.period_key, d) for bp, d in contributions(rules, entry)]

    assert moved("xp", "a", 12) == [("xp", "daily", "2026-11-21", 12), ("xp", "all_time", "all", 12)]
    assert moved("xp", "a", -3) == [("xp", "daily", "2026-11-21", -3), ("xp", "all_time", "all", -3)]
    assert moved("coins", "xp_bonus", 1) == [("rich", "weekly", "2026-W47", 1)]
    assert moved("coins", "leaderboard_prize", 100) == []  # prizes never feed the boards
    assert moved("xp", "starting_balance", 50) == []  # not earned
    assert moved("xp", "a", 0) == []


@settings(max_examples=300)
@given(rows, st.integers(1, 12), st.integers(1, 40))
def test_gathering_the_top_reads_few_rows_and_is_exact(data, shards, limit):
    from gamification.domain.leaderboards import gather_top

    board = _board(data)
    split = [sorted((r for r in board if shard_of(r.user_id, shards) == s), key=lambda r: r.sort_key) for s in range(shards)]
    read = [0]

    def first(s, n):
        read[0] += len(split[s][:n])
        return split[s][:n]

    def after(s, last, n):
        rest = [r for r in split[s] if r.sort_key > last.sort_key][:n]
        read[0] += len(rest)
        return rest

    got = gather_top(first, after, lambda fn, k: [fn(i) for i in range(k)], shards, limit)
    assert got == sorted(board, key=lambda r: r.sort_key)[:limit]
    assert read[0] <= limit * shards + limit


def test_the_bonus_coins_an_xp_entry_carries_move_coins_boards_as_a_coin_entry():
    from gamification.domain.board_projection import contributions, entries_of

    rules = parse_rules({"version": 1, "levels": [{"level": 1, "name": "A", "xp": 0}], "actions": {"a": {"xp": 1}},
                         "leaderboards": {"xp": {"metric": "xp", "periods": ["daily"]},
                                          "rich": {"metric": "coins", "periods": ["daily"]}}})  # fmt: skip
    award = {"pk": "T#t#U#ann", "sk": "XP#2026-11-21T12:00:00.000000Z#e1", "type": "xp", "xp": 30, "reason": "a",
             "occurred_at": "2026-11-21T12:00:00.000000Z", "recorded_at": "2026-11-21T12:00:00.000000Z"}  # fmt: skip
    moved = [(e.kind, e.reason, bp.board, d) for e in entries_of({**award, "bonus_amount": 3, "bonus_balance": 3}, "7")
             for bp, d in contributions(rules, e)]  # fmt: skip
    assert moved == [("xp", "a", "xp", 30), ("coins", "xp_bonus", "rich", 3)]
    reversal = {**award, "sk": "XP#2026-11-21T13:00:00.000000Z#r1", "xp": -30, "kind": "reversal", "board_delta": -30,
                "board_occurred_at": award["occurred_at"], "bonus_amount": -3, "bonus_board_delta": -3}  # fmt: skip
    assert [(e.kind, e.amount) for e in entries_of(reversal)] == [("xp", -30), ("coins", -3)]
    assert [e.kind for e in entries_of(award)] == ["xp"]
