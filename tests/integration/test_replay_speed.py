"""What the faster backfill changed (docs/replay.md, "Throughput"): a prefetched item is part
of a batch only once a use case reads it, and the replay's scratch table has neither
stream nor GSIs, which changes nothing in what a replay decides or writes."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
from gamification.dal.batch_store import BatchStore
from gamification.dal.store import Store, WriteConflict
from gamification.usecases.engine import Engine

from tests.integration.test_replay import RULES, activity, write_jsonl
from tests.integration.test_replay_batched import NOW, snapshot
from tools.local import backend
from tools.ops import replay as rp


def _key(tenant, n):
    return {"pk": f"T#{tenant}#U#p", "sk": f"DAY#2025-01-0{n}"}


def test_a_prefetched_item_no_use_case_read_is_neither_written_nor_checked(dynamo):
    store = Store(dynamo.client, dynamo.table)
    read, unread, new = _key("pf", 1), _key("pf", 2), _key("pf", 3)
    store.put(read, {"xp_gained": 5})
    batch = BatchStore(store)
    batch.prefetch([read, unread])
    assert batch.get(read)["xp_gained"] == 5
    assert batch.put_new(new, {"xp_gained": 1})
    assert batch.size == 2  # the unread one is no part of the batch
    store.put(unread, {"xp_gained": 7})  # another writer, on an item the batch never read
    assert batch.flush() == 2
    assert store.get(new)["xp_gained"] == 1


def test_a_prefetched_item_a_use_case_read_refuses_the_flush_when_it_changed(dynamo):
    store = Store(dynamo.client, dynamo.table)
    read, new = _key("pr", 1), _key("pr", 3)
    batch = BatchStore(store)
    batch.prefetch([read])
    assert batch.get(read) is None  # read as absent: the flush checks it still is
    assert batch.put_new(new, {"xp_gained": 1})
    store.put(read, {"xp_gained": 9})
    with pytest.raises(WriteConflict):
        batch.flush()
    assert store.get(new) is None  # nothing of the batch was written


def test_scratch_table_without_stream_and_indexes_gives_the_same_replay(scratch, tmp_path):
    """Against the template's table (keys and GSIs; its stream left out, as a stream changes
    nothing a replay writes, and the session's poller would add its projections)."""
    bare = scratch.table + "-bare"
    backend.create_table(scratch.client, bare, stream=False, indexes=False, ttl=False)
    described = scratch.client.describe_table(TableName=bare)["Table"]
    assert "GlobalSecondaryIndexes" not in described and "StreamSpecification" not in described
    assert {d["AttributeName"] for d in described["AttributeDefinitions"]} == {"pk", "sk"}
    assert scratch.client.describe_table(TableName=scratch.table)["Table"]["GlobalSecondaryIndexes"]
    events = rp.in_time_order(rp.with_keys(rp.read_activity(write_jsonl(tmp_path / "s.jsonl", activity(n=200)))))
    summaries = {}
    for table in (scratch.table, bare):
        engine = Engine(RULES, Store(scratch.client, table), now=lambda: NOW, backfill=True)
        journal = rp.Journal(tmp_path / f"{table}.journal", {"table": table})
        summaries[table] = rp.replay(engine, "sc", events, journal, progress=False, batch=True, workers=2)
        journal.close()
    assert summaries[bare].outcomes == summaries[scratch.table].outcomes
    assert summaries[bare].applied_now == len(events)
    items = snapshot(scratch, "sc")
    assert len(items) >= len(events)  # ledger entries, idempotency records, profiles, day usage
    assert snapshot(type(scratch)(scratch.endpoint, bare, scratch.client), "sc") == items
    scratch.client.delete_table(TableName=bare)


def test_the_summary_reports_the_local_dynamodbs_cpu_only_when_the_run_started_one():
    here = SimpleNamespace(process=SimpleNamespace(pid=os.getpid()))
    assert rp.process_cpu_seconds(here) > 0
    assert rp.process_cpu_seconds(None) is None and rp.process_cpu_seconds(SimpleNamespace()) is None
    summary = rp.Summary(applied_now=4, backend_cpu_seconds=0.01)
    assert summary.as_dict()["backend_cpu_ms_per_event"] == 2.5
    assert rp.Summary(applied_now=4).as_dict()["backend_cpu_ms_per_event"] is None
