"""The scheduled roll-over: ended periods are frozen once (final=true reads them), prizes
are paid once per period and rank, a late run or missed runs catch up, and the scheduled
function runs from a real EventBridge Scheduler event."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml
from gamification import runtime
from gamification.dal.board_store import BoardStore
from gamification.domain.rules import DEFAULT_RULES_FILE, parse_rules
from gamification.usecases.rollover import Rollover

from tools.local import lambdas, template

import pytest

from ..conftest import drain_before_board_reads, load_event

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)  # Saturday of ISO week 2026-W47
LONG_AGO = datetime(2026, 11, 1, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _boards_follow_the_ledger(api, streams, monkeypatch):
    """Boards are projected from the stream: reads and roll-overs wait until it is drained."""
    drain_before_board_reads(api, streams, monkeypatch)
    for name in ("run",):
        original = getattr(Rollover, name)

        def drained(self, *args, _original=original, **kwargs):
            streams.wait_until_drained()
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(Rollover, name, drained)


def prize_rules(**board):
    data = yaml.safe_load(Path(DEFAULT_RULES_FILE).read_text())
    data["leaderboards"]["xp"].update({"snapshot_size": 3, "prizes": [100, 50], **board})
    return parse_rules(data)


def rollover(tenant, rules=None):
    store = runtime.engine().store
    BoardStore(store).register_tenant(tenant.id, LONG_AGO)  # its boards start before the test's days
    return Rollover(rules or prize_rules(), store)


def seed(api, clock):
    clock.set(NOON)
    for user, n in [("ann", 3), ("bob", 1), ("cid", 2), ("dee", 2)]:
        for _ in range(n):
            assert api.xp(user, "forked").status_code == 200


def coins(api, user):
    return api.get(f"/v1/users/{user}").json()["coins_balance"]


def test_an_ended_day_is_frozen_once_and_prizes_are_paid_once(api, clock, tenant, dynamo):
    seed(api, clock)
    ro = rollover(tenant)
    before = {u: coins(api, u) for u in ("ann", "cid")}
    # The day ends at midnight but late events are accepted for 48h: not final before that.
    early = ro.run(datetime(2026, 11, 23, 12, tzinfo=timezone.utc), [tenant.id])
    assert "2026-11-21" not in [f["period_key"] for f in early.finalised]
    assert api.get("/v1/leaderboards/xp", period="daily", date="2026-11-21", final="true").status_code == 404

    now = datetime(2026, 11, 24, 0, 5, tzinfo=timezone.utc)
    first = ro.run(now, [tenant.id])
    daily = [f["period_key"] for f in first.finalised if f["period"] == "daily"]
    assert "2026-11-21" in daily and "2026-11-22" not in daily
    assert first.prizes_paid == 2
    r = api.get("/v1/leaderboards/xp", period="daily", date="2026-11-21", final="true", user_id="dee")
    body = r.json()
    assert r.status_code == 200 and body["final"] is True and body["finalised_at"]
    assert body["entries"] == [
        {"rank": 1, "user_id": "ann", "score": 30},
        {"rank": 2, "user_id": "cid", "score": 20},
        {"rank": 3, "user_id": "dee", "score": 20},
    ]  # snapshot_size 3
    assert body["user"] == {"user_id": "dee", "rank": 3, "score": 20}
    assert coins(api, "ann") == before["ann"] + 100 and coins(api, "cid") == before["cid"] + 50

    again = ro.run(now, [tenant.id])
    assert again.finalised == [] and again.prizes_paid == 0
    assert coins(api, "ann") == before["ann"] + 100
    prizes = [c for c in dynamo.ledger(tenant.id, "COIN") if c["reason"] == "leaderboard_prize"]
    assert sorted((c["user_id"], c["amount"]) for c in prizes) == [("ann", 100), ("cid", 50)]


def test_a_final_read_answers_the_user_and_around_from_the_snapshot(api, clock, tenant):
    # After the freeze ann is erased: the live board moves cid up to rank 1, the snapshot
    # keeps the ranks its prizes were paid by, and user/around must agree with its entries.
    seed(api, clock)
    rollover(tenant).run(datetime(2026, 11, 24, 0, 5, tzinfo=timezone.utc), [tenant.id])
    assert api.session.delete(f"{api.base}/v1/users/ann", timeout=30).status_code == 200
    assert api.get("/v1/leaderboards/xp", period="daily", date="2026-11-21", user_id="cid").json()["user"]["rank"] == 1
    body = api.get("/v1/leaderboards/xp", period="daily", date="2026-11-21", final="true", user_id="cid", around=1).json()
    assert body["entries"] == [{"rank": 2, "user_id": "cid", "score": 20}, {"rank": 3, "user_id": "dee", "score": 20}]
    assert body["user"] == {"user_id": "cid", "rank": 2, "score": 20}
    assert body["around"] == body["entries"]
    # bob is below the snapshot (snapshot_size 3): his rank is the period's board.
    below = api.get("/v1/leaderboards/xp", period="daily", date="2026-11-21", final="true", user_id="bob").json()
    assert below["user"] == {"user_id": "bob", "rank": 3, "score": 10}


def test_a_repeated_finalise_after_a_crash_pays_nothing_twice(api, clock, tenant, streams):
    seed(api, clock)
    streams.wait_until_drained()
    ro = rollover(tenant)
    now = datetime(2026, 11, 24, 0, 5, tzinfo=timezone.utc)
    # As if a run died after the snapshot and prizes, before moving the cursor.
    assert ro.finalise(tenant.id, "xp", "daily", "2026-11-21", now) == 2
    assert ro.finalise(tenant.id, "xp", "daily", "2026-11-21", now) == 0
    report = ro.run(now, [tenant.id])
    assert report.prizes_paid == 0
    assert "2026-11-21" in [f["period_key"] for f in report.finalised]


def test_missed_runs_catch_up_every_ended_period_in_order(api, clock, tenant):
    seed(api, clock)
    clock.set(NOON + timedelta(days=2))  # Monday 23rd: ISO week 2026-W48
    api.xp("bob", "create_character")
    ro = rollover(tenant)
    late = datetime(2027, 1, 10, tzinfo=timezone.utc)  # weeks of missed runs
    report = ro.run(late, [tenant.id])
    by_period: dict[str, list[str]] = {}
    for f in report.finalised:
        by_period.setdefault(f["period"], []).append(f["period_key"])
    assert by_period["daily"] == sorted(by_period["daily"]) and by_period["daily"][-1] == "2027-01-06"
    # Jan 7 ends Jan 8 00:00; with the 48h late-event grace it is final only after Jan 10 00:00.
    assert {"2026-W47", "2026-W48"} <= set(by_period["weekly"])
    assert by_period["monthly"] == ["2026-10", "2026-11", "2026-12"]
    # Nov 21 and W47: ann, cid; Nov 23 and W48: bob alone; November: bob (40), ann (30).
    assert report.prizes_paid == 8
    w48 = api.get("/v1/leaderboards/xp", period="weekly", date="2026-11-23", final="true").json()
    assert w48["entries"] == [{"rank": 1, "user_id": "bob", "score": 30}]
    assert ro.run(late, [tenant.id]).finalised == []


def test_the_scheduled_function_finds_tenants_in_the_registry(api, clock, tenant):
    seed(api, clock)
    BoardStore(runtime.engine().store).register_tenant(tenant.id, LONG_AGO)
    fn = template.functions(runtime.engine().store.table)["RolloverFunction"]
    event = load_event("rollover.json")
    event["time"] = "2026-11-24T00:05:00Z"
    event["detail"] = {"tenants": [tenant.id]}  # keep the shared test table's other tenants out
    result = lambdas.invoke(fn, lambdas.load_handler(fn), event)
    assert {"tenant": tenant.id, "board": "xp", "period": "daily", "period_key": "2026-11-21"} in result["finalised"]
    listed = [t["tenant_id"] for t in BoardStore(runtime.engine().store).tenants()]
    assert tenant.id in listed
    final = api.get("/v1/leaderboards/xp", period="daily", date="2026-11-21", final="true").json()
    assert [e["user_id"] for e in final["entries"]] == ["ann", "cid", "dee", "bob"]


def test_a_scheduled_event_time_ahead_of_the_clock_is_refused_and_writes_nothing(api, clock, dynamo, tenant, monkeypatch):
    """An event time days ahead of the clock would take the running day, week and month
    for ended: their snapshots frozen incomplete, their prizes paid early, the cursor past
    them. More than 5 minutes ahead, the run is skipped with an error and writes nothing;
    a few minutes ahead (clock skew) it runs."""
    seed(api, clock)
    BoardStore(runtime.engine().store).register_tenant(tenant.id, LONG_AGO)
    fn = template.functions(runtime.engine().store.table)["RolloverFunction"]
    handler = lambdas.load_handler(fn)
    module = lambdas.load_module(fn)
    said = []
    monkeypatch.setattr(module.logger, "error", lambda message, **kw: said.append((message, kw)))
    monkeypatch.setattr(module.metrics, "add_metric", lambda **kw: said.append((kw["name"], kw["value"])))
    event = load_event("rollover.json")
    event["detail"] = {"tenants": [tenant.id]}
    before = dynamo.snapshot(tenant.id)
    real = datetime.now(timezone.utc)
    event["time"] = (real + timedelta(days=7)).isoformat().replace("+00:00", "Z")
    result = lambdas.invoke(fn, handler, event)
    assert result["finalised"] == [] and result["prizes_paid"] == 0 and result["tenants"] == 0
    assert result["skipped"].startswith(f"event time {event['time'][:16]}") and "300 s ahead of the clock" in result["skipped"]
    assert said == [("roll-over skipped", {"extra": {"error": result["skipped"]}}), ("RolloverSkipped", 1)]
    assert dynamo.snapshot(tenant.id) == before
    # Within the allowed skew the run goes ahead (the seeded November periods are over).
    event["time"] = (real + timedelta(minutes=4)).isoformat().replace("+00:00", "Z")
    ran = lambdas.invoke(fn, handler, event)
    assert ran["skipped"] is None and ran["tenants"] == 1
    assert {"tenant": tenant.id, "board": "xp", "period": "daily", "period_key": "2026-11-21"} in ran["finalised"]
