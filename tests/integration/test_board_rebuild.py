"""``make rebuild-boards`` (gamification/usecases/board_rebuild.py): a board period
recomputed from the ledger equals the live projection, item for item, also when the run is
stopped and resumed, and it repairs a board that lost a batch (a dead-lettered incident) or
whose ``shards`` changed."""

from __future__ import annotations

from datetime import datetime, timezone

from gamification import runtime
from gamification.dal.keys import board_pk
from gamification.domain.board_projection import WATERMARK_PREFIX
from gamification.domain.rules import parse_rules
from gamification.usecases.board_rebuild import BoardRebuild
from gamification.usecases.boards import LeaderboardReader

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
PERIODS = {"daily": "2026-11-21", "weekly": "2026-W47", "monthly": "2026-11", "all_time": "all"}


def board_items(dynamo, tenant):
    """Every projection item of the tenant's xp boards, watermarks, versions and counters
    that went back to 0 left out (an emptied count item counts nothing either way)."""
    out = {}
    for i in dynamo.items(tenant):
        if "#LB#xp#" in i["pk"]:
            kept = {k: v for k, v in i.items()
                    if not k.startswith(WATERMARK_PREFIX) and k != "v" and not (k[:1] in "ch" and v == 0)}
            if set(kept) - {"pk", "sk", "expires_at"}:
                out[(i["pk"], i["sk"])] = kept
    return out


def awards(api, clock):
    clock.set(NOON)
    for i, action in enumerate(["forked", "create_character", "forked", "daily_chat", "forked", "paid_char_sold"] * 3):
        assert api.xp(f"u{i % 7}", action).status_code in (200, 429)
    assert api.coins("u1", "daily_login").status_code == 200


def test_a_rebuild_equals_the_live_projection_and_resumes(api, clock, tenant, dynamo, streams):
    awards(api, clock)
    streams.wait_until_drained()
    live = board_items(dynamo, tenant.id)
    assert live
    engine = runtime.engine()
    rebuild = BoardRebuild(engine.rules, engine.store, page=2)
    for period, key in PERIODS.items():
        first = rebuild.run(tenant.id, "xp", period, key, now=NOON, max_pages=1)
        assert not first.done  # stopped after one page of players ...
        rest = rebuild.run(tenant.id, "xp", period, key, now=NOON)  # ... and continued
        assert rest.done and first.players + rest.players == 7
    assert board_items(dynamo, tenant.id) == live


def test_a_rebuild_repairs_a_lost_batch_and_a_shard_change(api, clock, tenant, dynamo, streams):
    awards(api, clock)
    streams.wait_until_drained()
    live = board_items(dynamo, tenant.id)
    # a lost batch: u3's daily score item and the top item are gone (as if dead-lettered)
    prefix = board_pk(tenant.id, "xp", "daily", "2026-11-21")
    for (pk, sk) in list(live):
        if pk.startswith(prefix) and (sk == "U#u3" or pk.endswith("#TOP")):
            dynamo.client.delete_item(TableName=dynamo.table, Key={"pk": {"S": pk}, "sk": {"S": sk}})
    engine = runtime.engine()
    assert BoardRebuild(engine.rules, engine.store).run(tenant.id, "xp", "daily", "2026-11-21", now=NOON).done
    assert board_items(dynamo, tenant.id) == live
    # shards 16 -> 5 mid-period: the rebuild moves the period to the new layout; reads follow
    data = engine.rules.model_dump(mode="json")
    data["max_event_age"] = "48h"
    data["leaderboards"]["xp"]["shards"] = 5
    rules5 = parse_rules(data)
    before = LeaderboardReader(engine.rules, engine.store).read(tenant.id, "xp", "daily", NOON.date(), now=NOON, user_id="u3", limit=100)
    assert BoardRebuild(rules5, engine.store).run(tenant.id, "xp", "daily", "2026-11-21", now=NOON).done
    after = LeaderboardReader(rules5, engine.store).read(tenant.id, "xp", "daily", NOON.date(), now=NOON, user_id="u3", limit=100)
    assert after == before
    assert any(pk.endswith("#S4") for pk, _ in board_items(dynamo, tenant.id)) or len(before["entries"]) < 7
