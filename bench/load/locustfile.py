"""Locust users of the load test (``make load``, docs/benchmarks.md "Load"): a game backend
calling API v1 for many players of one tenant, back to back (no think time), so that N users
are N requests in flight.

The mix, by task weight (of 20):

- 6 ``POST /v1/users/{id}/xp``: an action of the bundled rules (``forked`` and
  ``character_liked`` mostly, some ``create_character`` and ``daily_chat``, whose daily limits
  of 2 and 1 a random player rarely reaches), each with a fresh ``Idempotency-Key``;
- 1 the same award retried with the key of this user's previous award (a replay: 200 with the
  first response, nothing written);
- 3 ``POST /v1/users/{id}/coins``: ``daily_login`` (once a day), ``daily_goal`` with a tier
  (once a day), ``variant_clear`` with one of 50 scopes (once per scope, forever); a repeat in
  the window is a 200 with ``awarded: false``;
- 2 ``GET /v1/users/{id}/limits``, 3 ``GET /v1/users/{id}`` (profile);
- 2 ``GET /v1/leaderboards/xp?period=daily`` (top 10), 2 the same with ``user_id`` and
  ``around=5`` for a player this user has awarded (rank and neighbours).

Players are ``p00000`` .. of ``--players`` (2,000), chosen at random.

Answers: 2xx is a success; 429 is an expected answer (a daily limit or cap, or the tenant's
request limit), counted apart by its error code, not a failure; any other status (5xx, an
unexpected 4xx) or a connection error (status 0) is a failure. ``--report`` names a JSON file
written when locust quits: ``users``, ``players``, ``seconds``, ``max_requests``, per route
the summary of bench/load/report.py, and the same over all routes as ``total``.

Bounds: ``--run-time`` (locust's own) and ``--max-requests`` (locust quits once that many
requests were answered). The API key comes from ``LOAD_API_KEY`` (never a command-line
argument). Run it only against a loopback host: the load test refuses any other.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import gevent
from locust import HttpUser, constant, events, task
from locust.exception import StopUser

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository, for bench.load.report
from bench.load.report import summary  # noqa: E402

XP = "POST /v1/users/{user_id}/xp"
XP_REPLAY = "POST /v1/users/{user_id}/xp (replay)"
COINS = "POST /v1/users/{user_id}/coins"
LIMITS = "GET /v1/users/{user_id}/limits"
PROFILE = "GET /v1/users/{user_id}"
BOARD_TOP = "GET /v1/leaderboards/xp (top 10)"
BOARD_AROUND = "GET /v1/leaderboards/xp (around me)"
ROUTES = (XP, XP_REPLAY, COINS, LIMITS, PROFILE, BOARD_TOP, BOARD_AROUND)

#: (action, weight): mostly uncapped or high-limit actions, so most awards are 200s.
ACTIONS = (("forked", 5), ("character_liked", 3), ("create_character", 1), ("daily_chat", 1))
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--report", default="", help="JSON file for the per-route report")
    parser.add_argument("--players", type=int, default=2000, help="Players to spread requests over")
    parser.add_argument("--max-requests", type=int, default=0, help="Quit after this many requests (0: no bound)")


class _Tally:
    """Every answer of this locust process, per route."""

    def __init__(self) -> None:
        self.ms: dict[str, list[float]] = defaultdict(list)
        self.status: dict[str, Counter] = defaultdict(Counter)
        self.limited: dict[str, Counter] = defaultdict(Counter)
        self.started: float | None = None
        self.stopped: float | None = None
        self.count = 0
        self.quitting = False


TALLY = _Tally()
_ENV: Any = None  # the locust Environment, set at init


def report(environment: Any) -> dict[str, Any]:
    """The per-route report of this run (see the module docstring)."""
    end = TALLY.stopped or time.monotonic()
    seconds = end - TALLY.started if TALLY.started else 0.0
    routes = {
        name: summary(TALLY.ms[name], TALLY.status[name], TALLY.limited[name], seconds)
        for name in ROUTES if TALLY.status[name]
    }
    total_status: Counter = sum(TALLY.status.values(), Counter())
    total_limited: Counter = sum(TALLY.limited.values(), Counter())
    all_ms = [m for name in ROUTES for m in TALLY.ms[name]]
    return {
        "users": environment.parsed_options.num_users,
        "players": environment.parsed_options.players,
        "seconds": round(seconds, 2),
        "max_requests": environment.parsed_options.max_requests or None,
        "routes": routes,
        "total": summary(all_ms, total_status, total_limited, seconds),
    }


def _loopback(host: str | None) -> bool:
    return urlsplit(host or "").hostname in LOOPBACK


@events.test_start.add_listener
def _started(environment: Any, **_: Any) -> None:
    TALLY.started = time.monotonic()


@events.test_stop.add_listener
def _stopped(environment: Any, **_: Any) -> None:
    TALLY.stopped = time.monotonic()


@events.quitting.add_listener
def _write(environment: Any, **_: Any) -> None:
    path = environment.parsed_options.report
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(report(environment), f, indent=2)
            f.write("\n")


@events.request.add_listener
def _answered(name: str, response_time: float, response: Any = None, exception: Any = None, **_: Any) -> None:
    if TALLY.stopped is not None:
        return  # answers after the stop (users being killed) are not part of the run
    status = getattr(response, "status_code", 0) or 0
    TALLY.status[name][status] += 1
    if status:
        TALLY.ms[name].append(response_time)
    if status == 429:
        try:
            code = response.json()["error"]["code"]
        except Exception:  # noqa: BLE001 - e.g. a gateway's own 429 body
            code = "other"
        TALLY.limited[name][code] += 1
    TALLY.count += 1
    limit = _ENV.parsed_options.max_requests if _ENV else 0
    if limit and TALLY.count >= limit and not TALLY.quitting:
        TALLY.quitting = True
        gevent.spawn(_ENV.runner.quit)


@events.init.add_listener
def _init(environment: Any, **_: Any) -> None:
    global _ENV
    _ENV = environment
    if not _loopback(environment.host):
        sys.exit(f"the load test runs against loopback only, not {environment.host!r}")


class GameBackend(HttpUser):
    """One caller of the API with the tenant's key, firing requests back to back."""

    wait_time = constant(0)

    def on_start(self) -> None:
        if not _loopback(self.host):  # never a request elsewhere, even if the exit above did not stop locust
            raise StopUser()
        options = self.environment.parsed_options
        key = os.environ.get("LOAD_API_KEY", "")
        if not key:
            raise SystemExit("set LOAD_API_KEY to the tenant's API key")
        self.client.headers["Authorization"] = f"Bearer {key}"
        self.players = max(1, options.players)
        self.awarded: list[str] = []
        self.last_award: tuple[str, dict[str, str], str] | None = None

    def _player(self) -> str:
        return f"p{random.randrange(self.players):05d}"

    def _call(self, method: str, path: str, name: str, body: Any = None, key: str | None = None, **params: Any) -> Any:
        headers = {"Idempotency-Key": key} if key else {}
        with self.client.request(
            method, path, name=name, json=body, headers=headers, params=params or None, catch_response=True
        ) as r:
            if 200 <= r.status_code < 300 or r.status_code == 429:
                r.success()
            else:
                r.failure(f"HTTP {r.status_code}: {(r.text or '')[:200]}")
            return r

    @task(6)
    def award_xp(self) -> None:
        user = self._player()
        body = {"action": random.choices([a for a, _ in ACTIONS], [w for _, w in ACTIONS])[0]}
        key = uuid.uuid4().hex
        r = self._call("POST", f"/v1/users/{user}/xp", XP, body, key)
        if r.status_code == 200:
            self.awarded = [*self.awarded[-99:], user]
            self.last_award = (user, body, key)

    @task(1)
    def replay_xp(self) -> None:
        if self.last_award is None:
            return self.award_xp()
        user, body, key = self.last_award
        self._call("POST", f"/v1/users/{user}/xp", XP_REPLAY, body, key)
        return None

    @task(3)
    def award_coins(self) -> None:
        reason = random.choice(("daily_login", "daily_goal", "variant_clear"))
        body: dict[str, str] = {"reason": reason}
        if reason == "daily_goal":
            body["tier"] = random.choice(("easy", "medium", "hard"))
        elif reason == "variant_clear":
            body["scope"] = f"v{random.randrange(50)}"
        self._call("POST", f"/v1/users/{self._player()}/coins", COINS, body, uuid.uuid4().hex)

    @task(2)
    def limits(self) -> None:
        self._call("GET", f"/v1/users/{self._player()}/limits", LIMITS)

    @task(3)
    def profile(self) -> None:
        self._call("GET", f"/v1/users/{self._player()}", PROFILE)

    @task(2)
    def board_top(self) -> None:
        self._call("GET", "/v1/leaderboards/xp", BOARD_TOP, period="daily", limit=10)

    @task(2)
    def board_around(self) -> None:
        user = random.choice(self.awarded) if self.awarded else self._player()
        self._call("GET", "/v1/leaderboards/xp", BOARD_AROUND, period="daily", user_id=user, around=5)
