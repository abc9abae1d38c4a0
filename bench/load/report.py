"""The load test's per-route summary (bench/load/locustfile.py builds it from every answer; kept
apart from locust, which monkey-patches the standard library on import, so that the suite can
test it in process).

A summary: ``requests``, ``requests_per_s``, ``p50_ms``, ``p95_ms``, ``p99_ms``, ``max_ms``
(nearest-rank, over every answered request, milliseconds), ``ok`` (2xx), ``limited``
({error code: count} of the 429s: expected answers, not failures), ``server_errors`` (5xx),
``connection_errors`` (no answer: status 0), ``unexpected`` ({status: count} of any other
status, e.g. a 4xx other than 429), ``failures`` (the sum of the last three).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any


def percentile(ordered: list[float], q: float) -> float | None:
    """Nearest-rank percentile ``q`` (0..100) of sorted ``ordered``, rounded to 0.1; None when
    empty."""
    if not ordered:
        return None
    return round(ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)], 1)


def summary(ms: list[float], status: Counter, limited: Counter, seconds: float) -> dict[str, Any]:
    """The summary of one route (or of all): ``ms`` the answered requests' times, ``status``
    {HTTP status (0: no answer): count}, ``limited`` {error code: count} of the 429s,
    ``seconds`` the run's length."""
    ordered = sorted(ms)
    requests = sum(status.values())
    server = sum(n for s, n in status.items() if s >= 500)
    unexpected = {str(s): n for s, n in sorted(status.items()) if 0 < s < 500 and s != 429 and not 200 <= s < 300}
    return {
        "requests": requests,
        "requests_per_s": round(requests / seconds, 2) if seconds else None,
        "p50_ms": percentile(ordered, 50),
        "p95_ms": percentile(ordered, 95),
        "p99_ms": percentile(ordered, 99),
        "max_ms": round(ordered[-1], 1) if ordered else None,
        "ok": sum(n for s, n in status.items() if 200 <= s < 300),
        "limited": dict(sorted(limited.items())),
        "server_errors": server,
        "connection_errors": status.get(0, 0),
        "unexpected": unexpected,
        "failures": server + status.get(0, 0) + sum(unexpected.values()),
    }
