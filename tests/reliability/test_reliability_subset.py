"""A fast subset of ``make reliability`` (bench/reliability.py, bench/properties.py) with small
counts, so the suite keeps the storms, faults, fuzzing and properties honest."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bench import properties, reliability
from bench.instruments import target

NOON = datetime.now(timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0)


@pytest.fixture
def stack(dynamo, local_api, base_url, tenant, clock, monkeypatch, streams):
    from gamification.dal.store import dynamodb_client

    monkeypatch.setattr(reliability, "SCALE", 0.1)
    clock.set(NOON)
    tgt = target.Target("test backend", dynamo.endpoint, dynamo.table, dynamo.client)
    # the session's stream poller feeds the board projector; boards are checked against the ledger
    return reliability.Stack(tgt, local_api, base_url, tenant.id, tenant.api_key, dynamodb_client(), poller=streams)


@pytest.mark.parametrize("prop", properties.PROPERTIES, ids=lambda p: p.name)
def test_property_holds(prop):
    result = properties.run(prop, 40)
    assert result["failures"] == 0, result.get("counterexample")
    assert result["examples"] > 0


@pytest.mark.race
def test_a_small_storm_loses_and_doubles_nothing(stack):
    result = reliability.run_storms(stack)
    assert result["requests"] >= 100
    assert (result["lost"], result["doubled"], result["invariant_violations"]) == (0, 0, 0), result["examples"]


@pytest.mark.race
@pytest.mark.parametrize("fault", sorted(reliability.FAULTS))
def test_retries_after_a_fault_lose_and_double_nothing(stack, fault):
    _, make = reliability.FAULTS[fault]
    result = reliability.run_fault(stack, fault, make)
    assert result["faults_injected"] > 0
    assert (result["lost"], result["doubled"], result["invariant_violations"]) == (0, 0, 0), result["examples"]


def test_fuzzing_finds_no_server_error_or_schema_violation(stack):
    result = reliability.run_fuzz(stack, 60)
    assert result["cases"] >= 50
    assert (result["server_errors"], result["schema_violations"]) == (0, 0), result["examples"]


@pytest.mark.race
def test_the_projector_fed_twice_with_crashes_mid_batch_keeps_every_board_equal_to_the_ledger(stack, dynamo):
    """A second event source mapping on the same stream, whose invocations crash mid-batch
    30% of the time, races the session's: every entry is delivered at least twice, parts
    of batches are applied before a crash, and the boards still equal the ledger. (It starts
    at LATEST, once it reads the stream: from TRIM_HORIZON it would first replay the whole
    session's stream.)"""
    import random

    from tools.local import streams as local_streams

    rules = reliability.raw_rules()
    crashing = reliability._crash_mid_batch(stack, 0.3, random.Random(5))
    second = local_streams.start(dynamo.client, dynamo.table, crashing, only=("BoardProjectorFunction",),
                                 starting_position="LATEST")  # fmt: skip
    try:
        second.wait_until_drained(timeout=60)  # its iterators are open: it sees every award below
        tenant, api_key = stack.new_tenant()
        reqs, _ = reliability.fault_plan(rules)
        results = reliability.fire(stack, api_key, reqs)
        second.wait_until_drained(timeout=300)
        t = reliability.Tally(requests=len(results))
        assert reliability.check_boards(stack, t, tenant, {r.req.user for r in results}) == 4
    finally:
        second.stop()
    assert crashing.stats["crashed"] > 0
    assert (t.lost, t.doubled, t.violations) == (0, 0, [])
    replay = reliability.run_projector_replay(stack, tenant, {r.req.user for r in results}, random.Random(6))
    assert (replay["lost"], replay["doubled"], replay["invariant_violations"]) == (0, 0, 0), replay["examples"]
