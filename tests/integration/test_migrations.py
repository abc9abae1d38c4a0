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
    backend.create_table(dynamo.client, name)
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
    assert [r["status"] for r in migrations.status(store)] == ["pending"] * len(migrations.discover())
    old_entries(store, 7)
    assert migrations.migrate(store) == [m.number for m in migrations.discover()]
    assert all(reason is not None for _, reason in reasons(store))
    rows = migrations.status(store)
    assert [r["status"] for r in rows] == ["applied"] * len(migrations.discover())
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
    assert migrations.migrate(store)[0] == 2
    assert all(reason is not None for _, reason in reasons(store))
    # Items changed in the page that crashed are not counted again (the data is what counts).
    assert 12 - 3 <= migrations.status(store)[1]["changed"] <= 12


def test_one_runner_at_a_time(store):
    assert store_mod.take_lease(store, keys.migration_lock_key(), "other", 2_000_000_000, 900)
    with pytest.raises(migrations.Locked):
        migrations.migrate(store)
    assert [r["status"] for r in migrations.status(store)] == ["pending"] * len(migrations.discover())
