"""``make reliability``: evidence that limits, caps, once-rules and idempotency hold under
concurrency and faults, that the API answers any input within its schema, and that period
and level arithmetic hold for any input. Prints a summary and writes
``bench/reliability.json``.

- storms: over a thousand concurrent HTTP requests through the local API (the template's
  functions, authorizer included) against the serialised backend; expected outcomes come
  from the rules file alone, and the ledger, day usage and profile items in the table are
  checked against them;
- faults: throttling, a connection reset after a write committed, and an invocation that
  dies after its write, injected at the botocore layer (bench/instruments/faults.py); clients retry 5xx
  with the same Idempotency-Key;
- fuzz: schemathesis cases generated from the merged OpenAPI document (tools/local/openapi.py),
  checked for server errors and responses that break the documented schema;
- properties: hypothesis properties of periods, windows and levels (bench/properties.py).

Backend: ``TEST_DYNAMODB_ENDPOINT`` as in the test suite (bench/instruments/target.py). Sizes (env):
``RELIABILITY_SCALE`` (1.0 multiplies storm and fault sizes), ``RELIABILITY_FUZZ_CASES``
(1200), ``RELIABILITY_PROPERTY_EXAMPLES`` (1000 per property), ``RELIABILITY_OUT``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import random
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Before the functions' modules are imported (Powertools reads these once).
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")  # no X-Ray daemon here
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # no EMF lines in the report
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
# One tenant fires faster than its default request limit here; the limit and its cost are
# measured on their own (docs/security.md, tests/integration/test_rate_limits.py).
os.environ.setdefault("GAMIFICATION_RATE_LIMIT", "0")

from bench.instruments import (
    faults,
    target,  # noqa: E402
)
from tools.local import apigw, aws_services

SCALE = float(os.environ.get("RELIABILITY_SCALE", "1"))
FUZZ_CASES = int(os.environ.get("RELIABILITY_FUZZ_CASES", "1200"))
PROPERTY_EXAMPLES = int(os.environ.get("RELIABILITY_PROPERTY_EXAMPLES", "1000"))
OUT = Path(os.environ.get("RELIABILITY_OUT", ROOT / "bench" / "reliability.json"))
WORKERS = 32  # concurrent clients (the local server runs each request on a thread of its own)
CLIENT_ATTEMPTS = 12  # a client retries a 5xx or a dropped connection with the same key


def scaled(n: int) -> int:
    return max(1, round(n * SCALE))


# ---- the stack under test -----------------------------------------------------------------


@dataclass
class Stack:
    tgt: target.Target
    api: apigw.LocalHttpApi
    base: str
    tenant: str
    api_key: str
    client: Any  # this process's DynamoDB client (faults go into the environments, see FAULTS)
    extra_tables: list[str] = field(default_factory=list)
    poller: Any = None  # the stream poller feeding the board projector (tools/local/streams.py)
    deliver: Callable[[str, dict[str, Any]], Any] | None = None  # how the poller invokes (faults wrap it)

    def start_poller(self) -> None:
        from tools.local import streams as local_streams

        self.stop_poller()
        # Only the projector: boards are what is checked, and this stack has no event bus
        # for the domain-events consumer to publish to.
        self.poller = local_streams.start(self.tgt.client, self.tgt.table, lambda fid, ev: (self.deliver or self.api.invoke)(fid, ev),
                                          only=("BoardProjectorFunction",))  # fmt: skip

    def stop_poller(self) -> None:
        if self.poller is not None:
            self.poller.stop()
            self.poller = None

    def new_tenant(self) -> tuple[str, str]:
        from gamification.dal.store import Store
        from gamification.usecases import auth

        tenant, key = f"r-{uuid.uuid4().hex[:10]}", auth.new_api_key()
        auth.register_api_key(Store(self.tgt.client, self.tgt.table), tenant, key)
        return tenant, key

    def fresh_table(self) -> None:
        """Point every function at a new, empty table (and a new tenant in it).

        The embedded moto copies a whole table for every item of every transaction, so time
        and memory per request grow with the table; each phase therefore gets its own.
        """
        import gc

        from gamification import runtime
        from gamification.dal.store import dynamodb_client

        from tools.local import backend

        name = f"{self.tgt.table.rsplit('-p', 1)[0]}-p{uuid.uuid4().hex[:4]}"
        backend.create_table(self.tgt.client, name)
        self.extra_tables.append(name)
        os.environ["TABLE_NAME"] = name
        self.tgt.table = name
        now = runtime.engine().now
        runtime.reset()
        runtime.engine().now = now
        self.api.control("reset_runtime", dict(os.environ))  # every environment: the new table
        self.client = dynamodb_client()
        self.tenant, self.api_key = self.new_tenant()
        self.start_poller()
        gc.collect()

    def drop_extra_tables(self) -> None:
        for name in self.extra_tables:
            try:
                self.tgt.client.delete_table(TableName=name)
            except Exception as exc:  # noqa: BLE001 - report, do not mask the run's result
                print(f"warning: could not delete table {name}: {exc}")

    def user_items(self, tenant: str, users: set[str]) -> dict[str, list[dict[str, Any]]]:
        """Every item of each user of ``tenant`` (strongly consistent queries, one partition
        each: a scan of the whole table is slow on an emulator once it holds many items)."""
        from bench.instruments.ledger_view import as_entries, keyed_entries
        from gamification.dal import keys
        from gamification.dal.store import unmarshal

        out: dict[str, list[dict[str, Any]]] = {}
        for user in sorted(users):
            items: list[dict[str, Any]] = []
            kwargs: dict[str, Any] = {
                "TableName": self.tgt.table,
                "KeyConditionExpression": "pk = :p",
                "ExpressionAttributeValues": {":p": {"S": keys.user_pk(tenant, user)}},
                "ConsistentRead": True,
            }
            while True:
                resp = self.tgt.client.query(**kwargs)
                items += [e for i in resp["Items"] for e in as_entries(unmarshal(i))]
                if "LastEvaluatedKey" not in resp:
                    break
                kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
            # Keyed awards' entries live on their Idempotency-Key's record, shown as entries.
            items += keyed_entries(self.tgt.client, self.tgt.table, keys.user_pk(tenant, user))
            out[user] = items
        return out


@contextlib.contextmanager
def stack() -> Iterator[Stack]:
    with target.dynamodb("gamification-reliability") as tgt:
        from gamification import runtime
        from gamification.dal.store import dynamodb_client

        runtime.reset()
        # The template's bus, queues and key (moto stand-ins, as make run has them): the
        # webhook routes encrypt each endpoint's secret under the key, and are fuzzed too.
        services = aws_services.provision(aws_services.start())
        api = apigw.LocalHttpApi(tgt.table)
        server = apigw.make_server(api, port=0, quiet=True)
        server.request_queue_size = 256
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        noon = datetime.now(timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0)
        runtime.engine().now = lambda: noon  # one fixed day: a run may not straddle midnight
        api.control("set_now", noon, sticky="now")  # in every execution environment too
        s = Stack(tgt, api, f"http://127.0.0.1:{server.server_address[1]}", "", "", dynamodb_client())
        try:
            s.tenant, s.api_key = s.new_tenant()
            yield s
        finally:
            s.stop_poller()
            if not tgt.embedded:
                s.drop_extra_tables()
            server.shutdown()
            server.server_close()
            api.close()
            services.stop()


# ---- clients ------------------------------------------------------------------------------


@dataclass
class Req:
    group: str
    user: str
    method: str
    path: str
    body: dict[str, Any] | None = None
    key: str | None = None
    tag: str = ""  # what the expectation of this request is about (action, reason#scope)


@dataclass
class Res:
    req: Req
    status: int
    body: dict[str, Any]
    attempts: int
    replayed: bool = False


_local = threading.local()


def _session(api_key: str) -> requests.Session:
    sessions = getattr(_local, "sessions", None)
    if sessions is None:
        sessions = _local.sessions = {}
    if api_key not in sessions:
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {api_key}"
        sessions[api_key] = s
    return sessions[api_key]


def send(base: str, api_key: str, req: Req) -> Res:
    """One logical request; 5xx answers, dropped connections and timeouts are retried with
    the same Idempotency-Key (what the API tells clients to do)."""
    headers = {"Content-Type": "application/json"}
    if req.key:
        headers["Idempotency-Key"] = req.key
    status, body, replayed = 0, {}, False
    for attempt in range(1, CLIENT_ATTEMPTS + 1):
        try:
            r = _session(api_key).request(
                req.method, base + req.path, data=json.dumps(req.body) if req.body is not None else None,
                headers=headers, timeout=60,
            )
        except (requests.ConnectionError, requests.Timeout):  # the request may have been applied
            time.sleep(random.uniform(0, 0.05 * attempt))
            continue
        status, replayed = r.status_code, r.headers.get("Idempotent-Replayed") == "true"
        try:
            body = r.json()
        except ValueError:
            body = {"raw": r.text}
        if status < 500:
            return Res(req, status, body, attempt, replayed)
        time.sleep(random.uniform(0, 0.02 * attempt))
    return Res(req, status, body, CLIENT_ATTEMPTS, replayed)


def fire(s: Stack, api_key: str, reqs: list[Req]) -> list[Res]:
    # The local gateway prints a traceback for every 500 (the client retries those), and
    # Powertools prints EMF lines even when metrics are disabled once 100 values pile up.
    with ThreadPoolExecutor(max_workers=WORKERS) as pool, \
            contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return list(pool.map(lambda r: send(s.base, api_key, r), reqs))


# ---- expectations from the rules file alone ------------------------------------------------


def raw_rules() -> dict[str, Any]:
    path = os.environ.get("GAMIFICATION_RULES_FILE") or (
        ROOT / "layers" / "common" / "python" / "gamification" / "default_rules.yaml"
    )
    return yaml.safe_load(Path(path).read_text())


def cap_for(rules: dict[str, Any], total_xp: int) -> int | None:
    level = max(lv["level"] for lv in rules["levels"] if lv["xp"] <= total_xp)
    for c in rules.get("daily_xp_caps", []):
        if c["levels"][0] <= level <= c["levels"][1]:
            return c["cap"]
    return None


@dataclass
class Tally:
    requests: int = 0
    attempts: int = 0
    lost: int = 0
    doubled: int = 0
    violations: list[str] = field(default_factory=list)

    def violation(self, text: str) -> None:
        self.violations.append(text)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "client_attempts": self.attempts,
            "lost": self.lost,
            "doubled": self.doubled,
            "invariant_violations": len(self.violations),
            "examples": self.violations[:10],
        }


def count(t: Tally, expected: int, actual: int, what: str) -> None:
    if actual < expected:
        t.lost += expected - actual
        t.violation(f"lost: {what}: {actual} of {expected}")
    elif actual > expected:
        t.doubled += actual - expected
        t.violation(f"doubled: {what}: {actual} instead of {expected}")


def check_user_books(t: Tally, rules: dict[str, Any], user: str, items: list[dict[str, Any]]) -> None:
    """Ledger, day usage and profile of one user agree with each other and with the rules."""
    xp = [i for i in items if i["sk"].startswith("XP#")]
    coin = [i for i in items if i["sk"].startswith("COIN#")]
    profile = next((i for i in items if i["sk"] == "PROFILE"), {})
    days = [i for i in items if i["sk"].startswith("DAY#")]
    total = sum(i["xp"] for i in xp)
    if profile.get("total_xp", 0) != total:
        t.violation(f"{user}: profile total_xp {profile.get('total_xp')} != ledger sum {total}")
    balance = sum(i["amount"] for i in coin)
    if profile.get("coins_balance", 0) != balance:
        t.violation(f"{user}: profile coins_balance {profile.get('coins_balance')} != coin ledger sum {balance}")
    ratio = rules.get("coins", {}).get("xp_ratio", 0)
    bonus = sum(i["amount"] for i in coin if i["reason"] == "xp_bonus")
    if ratio and bonus != total // ratio:
        t.violation(f"{user}: xp_bonus coins {bonus} != floor({total}/{ratio})")
    for day in days:
        on_day = [i for i in xp if i["day"] == day["day"]]
        gained = sum(i["xp"] for i in on_day if not rules["actions"][i["action"]].get("cap_exempt"))
        if day.get("xp_gained", 0) != gained:
            t.violation(f"{user} {day['day']}: day xp_gained {day.get('xp_gained')} != ledger {gained}")
        per_action = Counter(i["action"] for i in on_day)
        for action, n in per_action.items():
            if day.get(f"n_{action}", 0) != n:
                t.violation(f"{user}: day count of {action} {day.get(f'n_{action}')} != ledger {n}")
            limit = rules["actions"][action].get("daily_limit")
            if limit is not None and n > limit:
                t.violation(f"{user}: {action} awarded {n} times, limit {limit}")
        cap = cap_for(rules, max((i["total_xp"] - i["xp"] for i in on_day), default=0))
        if cap is not None and gained > cap:
            t.violation(f"{user}: {gained} XP gained on {day['day']}, cap {cap}")


def check_responses(t: Tally, results: list[Res], items_by_user: dict[str, list[dict[str, Any]]]) -> None:
    """Every 200 that says it awarded something points at a ledger entry, and no two
    different requests were answered with the same award."""
    ids = {i.get("sk", "").rsplit("#", 1)[-1] for items in items_by_user.values() for i in items}
    for r in results:
        if r.status >= 500:
            t.violation(f"{r.req.group} {r.req.path}: still {r.status} after {r.attempts} attempts")
        event_id = r.body.get("event_id") if r.status == 200 else None
        awarded = r.body.get("xp_awarded", 0) > 0 if "xp_awarded" in r.body else r.body.get("awarded")
        if event_id and awarded and event_id not in ids:
            t.violation(f"{r.req.group} {r.req.path}: answered award {event_id} is not in the ledger")
    by_event: dict[str, set[str | None]] = defaultdict(set)
    for r in results:
        if r.status == 200 and r.body.get("event_id"):
            by_event[r.body["event_id"]].add(r.req.key)
    for event_id, keys in by_event.items():
        if len(keys) > 1:
            t.violation(f"award {event_id} was the answer to {len(keys)} different requests")


# ---- storms -------------------------------------------------------------------------------


def storm_plan(rules: dict[str, Any], leaderboard: bool) -> tuple[list[Req], dict[str, Any]]:
    """The requests of one storm and what each user must end up with."""
    reqs: list[Req] = []
    expect: dict[str, Any] = {}
    run = uuid.uuid4().hex[:6]

    def key() -> str:
        return f"{run}-{uuid.uuid4().hex[:12]}"

    # per-action daily limit: create_character (limit 2) raced 10 times per user
    limited = max((a for a, r in rules["actions"].items() if r.get("daily_limit") and r["daily_limit"] < 5),
                  key=lambda a: rules["actions"][a]["daily_limit"])
    limit, xp_each = rules["actions"][limited]["daily_limit"], rules["actions"][limited]["xp"]
    for u in range(scaled(25)):
        user = f"limit-{u}"
        reqs += [Req("limits", user, "POST", f"/v1/users/{user}/xp", {"action": limited}, key(), limited) for _ in range(10)]
        expect[user] = {"group": "limits", "xp_entries": {limited: limit}, "total_xp": limit * xp_each}

    # the daily XP cap: two unlimited actions asking for far more than the cap
    unlimited = sorted((a for a, r in rules["actions"].items() if not r.get("daily_limit")), key=lambda a: rules["actions"][a]["xp"])
    small, big = unlimited[0], unlimited[-1]
    asked = 10 * rules["actions"][small]["xp"] + 5 * rules["actions"][big]["xp"]
    cap = cap_for(rules, 0)
    assert cap is not None and asked > cap and cap_for(rules, cap) == cap, "rules unsuited to the cap storm"
    for u in range(scaled(20)):
        user = f"cap-{u}"
        reqs += [Req("caps", user, "POST", f"/v1/users/{user}/xp", {"action": small}, key(), small) for _ in range(10)]
        reqs += [Req("caps", user, "POST", f"/v1/users/{user}/xp", {"action": big}, key(), big) for _ in range(5)]
        expect[user] = {"group": "caps", "total_xp": min(asked, cap)}

    # once-rules: a daily reward, a tiered daily reward (once whatever the tier), a scoped one
    rewards = rules["coins"]["rewards"]
    plain = next(r for r, v in rewards.items() if "amount" in v and not v.get("scoped"))
    tiered = next(r for r, v in rewards.items() if "tiers" in v)
    scoped = next(r for r, v in rewards.items() if v.get("scoped"))
    tiers = sorted(rewards[tiered]["tiers"])
    for u in range(scaled(25)):
        user = f"once-{u}"
        path = f"/v1/users/{user}/coins"
        reqs += [Req("once", user, "POST", path, {"reason": plain}, key(), plain) for _ in range(8)]
        reqs += [Req("once", user, "POST", path, {"reason": tiered, "tier": tiers[i % len(tiers)]}, key(), tiered) for i in range(8)]
        for scope in ("v1", "v2"):
            reqs += [Req("once", user, "POST", path, {"reason": scoped, "scope": scope}, key(), f"{scoped}#{scope}") for _ in range(4)]
        expect[user] = {"group": "once", "coin_entries": {plain: 1, tiered: 1, f"{scoped}#v1": 1, f"{scoped}#v2": 1}}

    # idempotency: the same request with the same key, ten times at once
    for u in range(scaled(20)):
        user = f"idem-{u}"
        k = key()
        reqs += [Req("idempotency", user, "POST", f"/v1/users/{user}/xp", {"action": small}, k, small) for _ in range(10)]
        expect[user] = {"group": "idempotency", "xp_entries": {small: 1}, "total_xp": rules["actions"][small]["xp"]}

    if leaderboard:
        board = next(iter(rules.get("leaderboards", {"xp": {}})))
        reqs += [Req("leaderboard", "-", "GET", f"/v1/leaderboards/{board}?period=daily&limit=10") for _ in range(10)]
    random.Random(7).shuffle(reqs)
    return reqs, expect


def run_storms(s: Stack) -> dict[str, Any]:
    rules = raw_rules()
    has_board = "GetLeaderboardFunction" in s.api.functions
    tenant, api_key = s.new_tenant()
    reqs, expect = storm_plan(rules, has_board)
    started = time.perf_counter()
    results = fire(s, api_key, reqs)
    elapsed = time.perf_counter() - started
    t = Tally(requests=len(results), attempts=sum(r.attempts for r in results))
    by_user = s.user_items(tenant, set(expect))
    for user, e in expect.items():
        mine = by_user.get(user, [])
        check_user_books(t, rules, user, mine)
        xp = [i for i in mine if i["sk"].startswith("XP#")]
        coin = [i for i in mine if i["sk"].startswith("COIN#") and i["reason"] != "xp_bonus"]
        for action, n in e.get("xp_entries", {}).items():
            count(t, n, sum(i["action"] == action for i in xp), f"{user} {action} awards")
        for tag, n in e.get("coin_entries", {}).items():
            reason, _, scope = tag.partition("#")
            got = sum(i["reason"] == reason and (i.get("scope") or "") == scope for i in coin)
            count(t, n, got, f"{user} {tag} coin awards")
        if "total_xp" in e:
            total = sum(i["xp"] for i in xp)
            if total < e["total_xp"]:
                t.lost += 1
                t.violation(f"lost: {user} ended with {total} XP, expected {e['total_xp']}")
            elif total > e["total_xp"]:
                t.doubled += 1
                t.violation(f"doubled: {user} ended with {total} XP, expected {e['total_xp']}")
    check_responses(t, results, by_user)
    boards_checked = check_boards(s, t, tenant, set(expect))
    codes: dict[str, Counter] = defaultdict(Counter)
    for r in results:
        codes[r.req.group][r.status] += 1
        if r.status == 429:
            code = r.body.get("error", {}).get("code")
            wanted = {"limits": "action_limit_reached", "caps": "daily_xp_cap_reached"}.get(r.req.group)
            if code != wanted:
                t.violation(f"{r.req.group}: 429 with code {code}, expected {wanted}")
        elif r.status not in (200,):
            t.violation(f"{r.req.group} {r.req.path}: unexpected {r.status} {r.body}")
    # idempotency: every answer to one key is the same award
    for user, e in expect.items():
        if e["group"] == "idempotency":
            ids = {r.body.get("event_id") for r in results if r.req.user == user and r.status == 200}
            if len(ids) != 1:
                t.violation(f"{user}: one key answered with {len(ids)} different awards")
    out = t.as_dict()
    out.update({
        "seconds": round(elapsed, 1),
        "concurrency": WORKERS,
        "status_codes": {g: dict(sorted(c.items())) for g, c in sorted(codes.items())},
        "replayed_answers": sum(r.replayed for r in results),
        "leaderboard": "included" if has_board else "pending: no GetLeaderboardFunction in template.yaml",
        "board_periods_checked": boards_checked,
    })
    return out


# ---- faults -------------------------------------------------------------------------------


def fault_plan(rules: dict[str, Any]) -> tuple[list[Req], dict[str, int]]:
    """Awards that must each happen exactly once: three small XP awards per user (far from any
    limit or cap), a daily reward and a scoped reward; each with its own key."""
    run = uuid.uuid4().hex[:6]
    small = min((a for a, r in rules["actions"].items() if not r.get("daily_limit")), key=lambda a: rules["actions"][a]["xp"])
    rewards = rules["coins"]["rewards"]
    plain = next(r for r, v in rewards.items() if "amount" in v and not v.get("scoped"))
    scoped = next(r for r, v in rewards.items() if v.get("scoped"))
    reqs: list[Req] = []
    for u in range(scaled(40)):
        user = f"fault-{u}"
        reqs += [Req("fault", user, "POST", f"/v1/users/{user}/xp", {"action": small}, f"{run}-{u}-xp{i}") for i in range(3)]
        reqs.append(Req("fault", user, "POST", f"/v1/users/{user}/coins", {"reason": plain}, f"{run}-{u}-c"))
        reqs.append(Req("fault", user, "POST", f"/v1/users/{user}/coins", {"reason": scoped, "scope": "lvl1"}, f"{run}-{u}-s"))
    random.Random(11).shuffle(reqs)
    return reqs, {"xp_each": rules["actions"][small]["xp"]}


def run_fault(s: Stack, name: str, make: Callable[[Any], Any]) -> dict[str, Any]:
    rules = raw_rules()
    tenant, api_key = s.new_tenant()
    reqs, _ = fault_plan(rules)
    started = time.perf_counter()
    with make(s.api) as fault:  # in every execution environment of the local stack
        results = fire(s, api_key, reqs)
    elapsed = time.perf_counter() - started
    t = Tally(requests=len(results), attempts=sum(r.attempts for r in results))
    by_user = s.user_items(tenant, {r.req.user for r in results})
    items = [i for mine in by_user.values() for i in mine]
    entries_by_key = Counter(i.get("idempotency_key") for i in items if i["sk"].startswith(("XP#", "COIN#")) and i.get("reason") != "xp_bonus")
    for r in results:
        count(t, 1, entries_by_key.get(r.req.key, 0), f"key {r.req.key}")
        if r.status != 200:
            t.violation(f"{r.req.path}: ended {r.status} after {r.attempts} attempts")
    for user, mine in by_user.items():
        check_user_books(t, rules, user, mine)
    board_periods = check_boards(s, t, tenant, set(by_user))
    # a retried request must get the original answer: its event id is the ledger entry's
    ledger_ids = {i.get("idempotency_key"): i["sk"].rsplit("#", 1)[-1] for i in items if i["sk"].startswith(("XP#", "COIN#")) and i.get("idempotency_key")}
    for r in results:
        if r.status == 200 and r.body.get("event_id") and ledger_ids.get(r.req.key) != r.body["event_id"]:
            t.violation(f"{r.req.key}: answered {r.body['event_id']}, ledger has {ledger_ids.get(r.req.key)}")
    out = t.as_dict()
    out.update({
        "faults_injected": fault.injected,
        "board_periods_checked": board_periods,
        "retried_requests": sum(r.attempts > 1 for r in results),
        "replayed_answers": sum(r.replayed for r in results),
        "seconds": round(elapsed, 1),
    })
    return out


FAULTS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "throttling": (
        "20% of DynamoDB requests refused with ProvisionedThroughputExceeded/ThrottlingException, and 3% of "
        "calls refused on every attempt (botocore gives up: the client gets 500 and retries)",
        lambda api: faults.InEnvironments(api, "Throttle", 0.2, (), burst=0.03),
    ),
    "connection_reset_after_commit": (
        "30% of writes applied, then the connection dropped before the answer (botocore retries the write)",
        lambda api: faults.InEnvironments(api, "ResetAfterCommit", 0.3),
    ),
    "timeout_after_commit": (
        "30% of invocations die right after a write committed (timeout/crash: the client sees 500 and retries)",
        lambda api: faults.InEnvironments(api, "CrashAfterCommit", 0.3),
    ),
}


def run_faults(s: Stack, fresh: bool = False) -> dict[str, Any]:
    out = {}
    for name, (what, make) in FAULTS.items():
        print(f"  fault: {name} ...", flush=True)
        if fresh:
            s.fresh_table()
        out[name] = {"what": what, **run_fault(s, name, make)}
    return out


# ---- the board projector ------------------------------------------------------------------


def check_boards(s: Stack, t: Tally, tenant: str, users: set[str], items: list[dict[str, Any]] | None = None) -> int:
    """Every board period of ``tenant`` equals an independent computation from its ledger
    (tests/board_model.py: brute force, no projection code): the same players, scores, order
    and exact rank of each. A score above the ledger's counts as doubled, below as lost.
    ``items``: the ledger to compare with when it is not the tenant's own in the table (read
    after the stream poller drained). Returns the number of board periods checked."""
    from gamification import runtime
    from gamification.domain.leaderboards import period_key
    from gamification.usecases.boards import LeaderboardReader

    from tests.board_model import board_of

    if items is None:
        if s.poller is not None:
            s.poller.wait_until_drained(timeout=600)
        items = [i for mine in s.user_items(tenant, users).values() for i in mine]
    engine = runtime.engine()
    rules, day = engine.rules, engine.now().date()
    reader = LeaderboardReader(rules, engine.store)
    checked = 0
    for name, rule in rules.leaderboards.items():
        for period in rule.periods:
            key = period_key(period, day)
            model = board_of(items, rule.metric, lambda occurred, p=period: period_key(p, datetime.fromisoformat(occurred[:10]).date())).get(key, [])
            ref, top = reader.layout(reader.ref(tenant, name, period, day))
            got = {r.user_id: r for r in reader.top(ref, max(len(model), 1) + 5, top)}
            for rank, (user, score, _) in enumerate(model, start=1):
                row = got.pop(user, None)
                have = row.score if row else 0
                if have != score:
                    count(t, score, have, f"{name} {period} score of {user}")
                _, found = reader.position(ref, user, top)
                if found != rank:
                    t.violation(f"{name} {period}: {user} ranked {found}, ledger says {rank}")
            for user, row in got.items():
                count(t, 0, row.score or 1, f"{name} {period}: {user} on the board without ledger entries")
            checked += 1
    return checked


def _twice(s: Stack) -> Callable[[str, dict[str, Any]], Any]:
    """Every batch delivered twice (the second copy as a retry would be)."""
    def deliver(fid: str, event: dict[str, Any]) -> Any:
        s.api.invoke(fid, copy.deepcopy(event))
        return s.api.invoke(fid, event)
    return deliver


def _crash_mid_batch(s: Stack, rate: float, rnd: random.Random) -> Callable[[str, dict[str, Any]], Any]:
    """A share of invocations apply a prefix of their batch, then die (timeout, out of
    memory): the poller retries the batch (bisected). The first invocation with records
    always crashes, so a run with few batches still has one."""
    lock = threading.Lock()
    stats = {"crashed": 0}

    def deliver(fid: str, event: dict[str, Any]) -> Any:
        records = event.get("Records", [])
        with lock:
            crash = len(records) > 0 and (stats["crashed"] == 0 or rnd.random() < rate)
            cut = rnd.randrange(len(records)) if crash else 0
        if crash:
            if cut:
                s.api.invoke(fid, {"Records": copy.deepcopy(records[:cut])})
            stats["crashed"] += 1
            raise RuntimeError("projector crashed mid-batch")
        return s.api.invoke(fid, event)

    deliver.stats = stats  # type: ignore[attr-defined]
    return deliver


def run_projector_faults(s: Stack) -> dict[str, Any]:
    """Awards while the projector's batches are delivered twice, crash mid-batch, or the
    projector is stopped and started again (re-reading the stream from its start); and the
    storm's ledger replayed over reordered shards. Afterwards every board equals the ledger."""
    rules = raw_rules()
    out: dict[str, Any] = {}
    rnd = random.Random(13)
    for name, what in (
        ("batch_delivered_twice", "every projector batch delivered twice"),
        ("crash_mid_batch", "30% of projector invocations apply part of their batch, then die"),
        ("projector_restarted", "the projector stopped mid-run and started again from the stream's start"),
    ):
        print(f"  projector: {name} ...", flush=True)
        s.fresh_table()
        s.deliver = {"batch_delivered_twice": _twice(s), "crash_mid_batch": _crash_mid_batch(s, 0.3, rnd)}.get(name)
        tenant, api_key = s.new_tenant()
        reqs, _ = fault_plan(rules)
        started = time.perf_counter()
        if name == "projector_restarted":
            half = len(reqs) // 2
            results = fire(s, api_key, reqs[:half])
            s.stop_poller()
            results += fire(s, api_key, reqs[half:])
            s.start_poller()
        else:
            results = fire(s, api_key, reqs)
        t = Tally(requests=len(results), attempts=sum(r.attempts for r in results))
        users = {r.req.user for r in results}
        periods = check_boards(s, t, tenant, users)
        s.deliver = None
        out[name] = {"what": what, **t.as_dict(), "board_periods_checked": periods, "seconds": round(time.perf_counter() - started, 1)}

    print("  projector: shards_reordered ...", flush=True)
    out["shards_reordered"] = run_projector_replay(s, tenant, {r.req.user for r in results}, rnd)
    return out


def run_projector_replay(s: Stack, tenant: str, users: set[str], rnd: random.Random) -> dict[str, Any]:
    """``tenant``'s ledger copied to a new tenant and fed straight to the projector over four
    stream shards in a random interleaving (each shard in order), each batch followed by an
    older batch delivered again; the boards must equal the copied ledger."""
    from gamification import runtime
    from gamification.usecases.board_projector import Projector

    from tests.board_model import stream_record

    items = sorted((i for mine in s.user_items(tenant, users).values() for i in mine if i["sk"].startswith(("XP#", "COIN#"))),
                   key=lambda i: i["recorded_at"])
    copy_tenant, _ = s.new_tenant()
    items = [{**i, "pk": i["pk"].replace(f"T#{tenant}#", f"T#{copy_tenant}#", 1)} for i in items]
    shards: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for seq, item in enumerate(items, start=10**20):
        shards[f"shardId-r{hash(item['user_id']) % 4}"].append(stream_record(item, seq))
    batches = [(sh, recs[i : i + 17]) for sh, recs in shards.items() for i in range(0, len(recs), 17)]
    order = list(range(len(batches)))
    rnd.shuffle(order)
    # keep each shard's batches in their order (a shard is read in order), interleave shards
    per_shard: dict[str, list[int]] = defaultdict(list)
    for i, (sh, _) in enumerate(batches):
        per_shard[sh].append(i)
    cursor = {sh: 0 for sh in per_shard}
    projector = Projector(runtime.engine().rules, runtime.engine().store)
    t = Tally(requests=len(items))
    delivered: list[tuple[str, list[dict[str, Any]]]] = []

    def feed(shard: str, batch: list[dict[str, Any]]) -> None:
        report = projector.project_records(batch, shard)
        if report.failed_from is not None:
            t.violation(f"replay batch failed: {report.errors}")

    for i in order:
        sh = batches[i][0]
        b = per_shard[sh][cursor[sh]]
        cursor[sh] += 1
        feed(sh, batches[b][1])
        if delivered:
            feed(*delivered[rnd.randrange(len(delivered))])  # an older batch again, late
        delivered.append((sh, batches[b][1]))
    periods = check_boards(s, t, copy_tenant, set(), items=items)
    return {"what": "a ledger replayed over 4 stream shards in a random interleaving, each batch also re-delivered late",
            **t.as_dict(), "board_periods_checked": periods}


# ---- fuzz ---------------------------------------------------------------------------------


def run_fuzz(s: Stack, cases: int) -> dict[str, Any]:
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.checks import not_a_server_error, response_schema_conformance
    from schemathesis.generation import GenerationMode

    from tools.local import openapi

    doc = openapi.merged_document(s.tgt.table)
    schema = schemathesis.openapi.from_dict(doc)
    operations = [result.ok() for result in schema.get_all_operations()]
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    per_run = max(1, cases // (len(operations) * len(modes)))
    session = requests.Session()
    auth = {"Authorization": f"Bearer {s.api_key}"}
    tally: dict[str, Any] = {"cases": 0, "server_errors": 0, "schema_violations": 0, "other_failures": 0}
    statuses: Counter = Counter()
    examples: list[str] = []
    per_operation: dict[str, int] = Counter()

    for op in operations:
        for mode in modes:
            @settings(max_examples=per_run, deadline=None, database=None, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=op.as_strategy(generation_mode=mode))
            def one(case: Any) -> None:
                # 60 s: the longest API function timeout (DeleteUserFunction); schemathesis' own default
                # of 10 s failed a first, cold DELETE on a machine at a load average of 15
                response = case.call(base_url=s.base, session=session, headers=auth, timeout=60)
                tally["cases"] += 1
                per_operation[op.label] += 1
                statuses[response.status_code] += 1
                try:
                    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
                except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - counted, the run goes on
                    failures = getattr(exc, "exceptions", [exc])
                    for f in failures:
                        kind = type(f).__name__
                        if "ServerError" in kind:
                            tally["server_errors"] += 1
                        elif "JsonSchema" in kind or "Schema" in kind or "Malformed" in kind:
                            tally["schema_violations"] += 1
                        else:
                            tally["other_failures"] += 1
                        if len(examples) < 10:
                            sent = response.request
                            body = sent.body.decode(errors="replace") if isinstance(sent.body, bytes) else sent.body
                            headers = {k: v for k, v in sent.headers.items() if k.lower() != "authorization"}
                            examples.append(
                                f"{op.label} [{mode.value}] -> {response.status_code} {kind}: {sent.method} {sent.url} "
                                f"headers={headers} body={str(body)[:300]}"
                            )

            with contextlib.redirect_stderr(io.StringIO()):
                one()
    return {
        **tally,
        "operations": dict(per_operation),
        "status_codes": dict(sorted(statuses.items())),
        "modes": [m.value for m in modes],
        "checks": ["not_a_server_error", "response_schema_conformance"],
        "examples": examples,
    }


# ---- main ---------------------------------------------------------------------------------


def main() -> int:
    from bench import properties

    started = time.perf_counter()
    report: dict[str, Any] = {"generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    with stack() as s:
        report["backend"] = s.tgt.kind
        print(f"backend: {s.tgt.kind}", flush=True)
        print("storms ...", flush=True)
        s.fresh_table()
        report["storms"] = run_storms(s)
        print("faults ...", flush=True)
        report["faults"] = run_faults(s, fresh=True)
        print("board projector ...", flush=True)
        report["projector"] = run_projector_faults(s)
        print("fuzz ...", flush=True)
        s.fresh_table()
        report["fuzz"] = run_fuzz(s, FUZZ_CASES)
    print("properties ...", flush=True)
    report["properties"] = properties.run_all(PROPERTY_EXAMPLES)
    report["elapsed_s"] = round(time.perf_counter() - started, 1)
    report["ok"] = passed(report)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print_summary(report)
    print(f"\nwrote {OUT.relative_to(ROOT) if OUT.is_relative_to(ROOT) else OUT}")
    return 0 if report["ok"] else 1


def passed(r: dict[str, Any]) -> bool:
    st = r["storms"]
    ok = st["lost"] == st["doubled"] == st["invariant_violations"] == 0
    ok &= all(f["lost"] == f["doubled"] == f["invariant_violations"] == 0 for f in r["faults"].values())
    ok &= all(f["lost"] == f["doubled"] == f["invariant_violations"] == 0 for f in r.get("projector", {}).values())
    ok &= r["fuzz"]["server_errors"] == r["fuzz"]["schema_violations"] == 0
    ok &= r["properties"]["failures"] == 0
    return bool(ok)


def print_summary(r: dict[str, Any]) -> None:
    st = r["storms"]
    print(f"\nbackend: {r['backend']}")
    print(f"{'check':<34}{'requests':>9}{'lost':>6}{'doubled':>8}{'violations':>11}")
    print(f"{'storms (' + str(st['concurrency']) + ' concurrent)':<34}{st['requests']:>9}{st['lost']:>6}{st['doubled']:>8}{st['invariant_violations']:>11}")
    for name, f in r["faults"].items():
        print(f"{'fault: ' + name:<34}{f['requests']:>9}{f['lost']:>6}{f['doubled']:>8}{f['invariant_violations']:>11}"
              f"   ({f['faults_injected']} injected, {f['retried_requests']} retried)")
    for name, f in r.get("projector", {}).items():
        print(f"{'projector: ' + name:<34}{f['requests']:>9}{f['lost']:>6}{f['doubled']:>8}{f['invariant_violations']:>11}"
              f"   ({f['board_periods_checked']} board periods = ledger)")
    fz = r["fuzz"]
    print(f"fuzz: {fz['cases']} cases, {fz['server_errors']} server errors, {fz['schema_violations']} schema violations")
    p = r["properties"]
    print(f"properties: {p['examples']} examples over {len(p['properties'])} properties, {p['failures']} failures")
    for text in st["examples"] + [e for f in [*r["faults"].values(), *r.get("projector", {}).values()] for e in f["examples"]] + fz["examples"]:
        print(f"  ! {text}")
    print("PASS" if r["ok"] else "FAIL", f"in {r['elapsed_s']} s")


if __name__ == "__main__":
    sys.exit(main())
