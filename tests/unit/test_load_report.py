"""The load test's per-route summary (bench/load/report.py): 429s are expected answers counted
by code, never failures; 5xx, connection errors and other statuses are failures."""

from __future__ import annotations

from collections import Counter

from bench.load.report import percentile, summary


def test_429s_are_counted_apart_and_everything_else_but_2xx_fails():
    status = Counter({200: 5, 201: 1, 429: 3, 500: 1, 503: 1, 0: 2, 400: 1, 404: 1, 302: 1})
    limited = Counter({"action_limit_reached": 2, "rate_limited": 1})
    s = summary([10.0] * 14, status, limited, seconds=2.0)
    assert s["requests"] == 16 and s["requests_per_s"] == 8.0
    assert s["ok"] == 6
    assert s["limited"] == {"action_limit_reached": 2, "rate_limited": 1}
    assert s["server_errors"] == 2 and s["connection_errors"] == 2
    assert s["unexpected"] == {"302": 1, "400": 1, "404": 1}
    assert s["failures"] == 7
    assert s["requests"] == s["ok"] + sum(s["limited"].values()) + s["failures"]


def test_a_run_of_only_2xx_and_429_has_no_failures():
    s = summary([5.0, 7.0], Counter({200: 1, 429: 1}), Counter({"daily_xp_cap_reached": 1}), seconds=1.0)
    assert s["failures"] == 0 and s["ok"] == 1 and s["limited"] == {"daily_xp_cap_reached": 1}


def test_percentiles_are_nearest_rank_over_the_answered_requests():
    ms = [float(i) for i in range(1, 101)]  # 1..100 ms
    s = summary(list(reversed(ms)), Counter({200: 100}), Counter(), seconds=10.0)
    assert (s["p50_ms"], s["p95_ms"], s["p99_ms"], s["max_ms"]) == (50.0, 95.0, 99.0, 100.0)
    assert percentile([3.0], 99) == 3.0 and percentile([], 50) is None
    assert percentile([1.0, 2.0], 50) == 1.0 and percentile([1.0, 2.0], 51) == 2.0


def test_an_empty_route_has_no_latencies_and_no_rate():
    s = summary([], Counter(), Counter(), seconds=0.0)
    assert s["requests"] == 0 and s["p50_ms"] is None and s["max_ms"] is None and s["requests_per_s"] is None
