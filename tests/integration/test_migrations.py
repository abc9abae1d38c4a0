"""Versioned data migrations: in order, tracked in the table, idempotent, resumable, locked."""

from __future__ import annotations

import uuid

import pytest
from gamification.dal import keys
from gamification.dal import store as store_mod
from gamification.dal.store import Store
from gamification.ops import migrations

from tools.local import backend


@pytest.fixture
def store(dynamo):
    name = f"mig-{uuid.uuid4().hex[:8]}"
    backend.create_table(dynamo.client, name, ttl=False)
    yield Store(dynamo.client, name)
    dynamo.client.delete_table(TableName=name)


def old_entries(store, n):
    for i in range(n):
        store.put({"pk": f"T#g#U#u{i % 3}", "sk": f"XP#2026-01-01T00:00:0{i % 10}.000000Z#e{i}"},
                  {"type": "xp", "action": "forked", "xp": 10})
    store.put({"pk": "T#g#U#u0", "sk": "XP#2026-02-01T00:00:00.000000Z#new"},
              {"type": "xp", "action": "daily_chat", "reason": "daily_chat", "xp": 20})


def reasons(store):
    items, start = [], None
    while True:
        page, start = store_mod.scan_page(store, start, 100, "begins_with(sk, :x)", values={":x": "XP#"})
        items += page
        if start is None:
            return sorted((i["sk"], i.get("reason")) for i in items)


def test_applies_in_order_tracks_and_is_idempotent(store):
    numbers = [m.number for m in migrations.discover()]
    assert numbers[:2] == [1, 2]
    assert [r["status"] for r in migrations.status(store)] == ["pending"] * len(numbers)
    old_entries(store, 7)
    assert migrations.migrate(store) == numbers
    assert all(reason is not None for _, reason in reasons(store))
    rows = migrations.status(store)
    assert [(r["number"], r["status"]) for r in rows] == [(n, "applied") for n in numbers]
    assert rows[1]["changed"] == 7 and rows[1]["applied_at"]
    assert migrations.migrate(store) == []


def test_a_crashed_migration_resumes_from_its_cursor(store, monkeypatch):
    old_entries(store, 12)
    monkeypatch.setattr(migrations, "PAGE", 3)
    real = store_mod.set_if_absent
    calls = {"n": 0}

    def flaky(*args):
        calls["n"] += 1
        if calls["n"] == 5:
            raise ConnectionError("lost the network mid-migration")
        return real(*args)

    monkeypatch.setattr(store_mod, "set_if_absent", flaky)
    with pytest.raises(ConnectionError):
        migrations.migrate(store)
    item = store.get(keys.migration_key(2))
    assert item["status"] == "running" and item["cursor"]
    monkeypatch.setattr(store_mod, "set_if_absent", real)
    assert migrations.migrate(store) == [m.number for m in migrations.discover() if m.number >= 2]
    assert all(reason is not None for _, reason in reasons(store))
    # Items changed in the page that crashed are not counted again (the data is what counts).
    assert 12 - 3 <= migrations.status(store)[1]["changed"] <= 12


def test_one_runner_at_a_time(store):
    assert store_mod.take_lease(store, keys.migration_lock_key(), "other", 2_000_000_000, 900)
    with pytest.raises(migrations.Locked):
        migrations.migrate(store)
    assert [r["status"] for r in migrations.status(store)] == ["pending"] * len(migrations.discover())


def test_a_filtered_scan_pages_by_matches_and_resumes_exactly(store, monkeypatch):
    """``scan_page`` counts matching items, not items read: paging 3 matches at a time over
    400 items of which every 8th matches returns each match once, in few requests."""
    monkeypatch.setattr(store_mod, "SCAN_READ_LIMIT", 100)  # a Scan request reads 100 items
    rows = [{"PutRequest": {"Item": {"pk": {"S": f"P#{i:05d}"}, "sk": {"S": "M" if i % 8 == 0 else "x"}}}}
            for i in range(400)]  # fmt: skip
    for i in range(0, len(rows), 25):
        store.client.batch_write_item(RequestItems={store.table: rows[i : i + 25]})
    calls = {"scan": 0}
    real = store.client.scan

    def counted(**kwargs):
        calls["scan"] += 1
        return real(**kwargs)

    monkeypatch.setattr(store.client, "scan", counted)
    seen, start, pages = [], None, 0
    while True:
        page, start = store_mod.scan_page(store, start, 3, "sk = :m", values={":m": "M"})
        assert len(page) <= 3
        seen += [i["pk"] for i in page]
        pages += 1
        if start is None:
            break
    assert sorted(seen) == [f"P#{i:05d}" for i in range(0, 400, 8)] and len(seen) == len(set(seen))
    # With Limit counting items read, 3 at a time: 134 requests. Now about one per page.
    assert pages == 17 and calls["scan"] <= pages + 4
