"""Versioned data migrations of the engine's own table, in the source systems'
spirit (the coin-log service: numbered files applied in order, tracked in a table; Mikoshi:
run in sequence, safe to re-run). Operator guide: docs/replay.md, "Data migrations of the table".

- A migration is a module ``mNNN_short_name.py`` here with ``DESCRIPTION`` and
  ``run(ctx)``; numbers are unique and never reused; a committed migration is never edited
  (write a new one to undo it).
- Each is tracked by an item ``MIGRATIONS / M#NNN`` (status ``running`` then ``applied``,
  times, items changed, and a scan ``cursor``). The runner applies pending ones in number
  order, under a lease item (``MIGRATIONS / LOCK``) so two runners never interleave.
- Idempotent and resumable: a migration writes with conditions (re-applying a change is a
  no-op) and saves its scan cursor after each page, so a crashed run continues where it
  stopped.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from gamification import clock
from gamification.dal import keys
from gamification.dal.store import Store, drop, scan_page, take_lease

_NAME = re.compile(r"^m(\d{3})_([a-z0-9_]+)$")
LEASE_SECONDS = 900
PAGE = 100


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    description: str
    run: Callable[[Context], None]


def discover() -> list[Migration]:
    """Every migration module of this package, by number. Raises ValueError on a duplicate."""
    found: dict[int, Migration] = {}
    for info in pkgutil.iter_modules(__path__):
        m = _NAME.match(info.name)
        if not m:
            continue
        mod: ModuleType = importlib.import_module(f"{__name__}.{info.name}")
        number = int(m[1])
        if number in found:
            raise ValueError(f"two migrations numbered {number:03d}")
        found[number] = Migration(number, m[2], mod.DESCRIPTION.strip(), mod.run)
    return [found[n] for n in sorted(found)]


class Context:
    """What a migration gets: the ``store`` and a resumable ``scan`` that saves its cursor
    in the tracking item after each page. ``changed`` counts items the migration wrote (a
    statistic: changes made in a page that crashed before its cursor was saved are not
    counted when the page is handled again)."""

    def __init__(self, store: Store, migration: Migration, cursor: dict[str, Any] | None) -> None:
        self.store = store
        self.migration = migration
        self.cursor = cursor
        self.changed = 0

    def scan(self, filter_expression: str | None = None, names=None, values=None, page: int | None = None):
        """Yield items page by page from the saved cursor; the cursor is saved after each page
        has been handled by the caller (so a crash re-handles at most one page)."""
        while True:
            items, nxt = scan_page(self.store, self.cursor, page or PAGE, filter_expression, names, values)
            yield from items
            self.cursor = nxt
            _track(self.store, self.migration, "running", cursor=nxt, changed=self.changed)
            if nxt is None:
                return


def _track(store: Store, m: Migration, status: str, **extra: Any) -> None:
    item = store.get(keys.migration_key(m.number)) or {}
    item = {k: v for k, v in item.items() if k not in ("pk", "sk")}
    item.update(name=m.name, description=m.description, status=status, **extra)
    if status == "running":
        item.setdefault("started_at", keys.stamp(clock.now()))
    if status == "applied":
        item["applied_at"] = keys.stamp(clock.now())
        item.pop("cursor", None)
    store.put(keys.migration_key(m.number), {k: v for k, v in item.items() if v is not None})


def status(store: Store) -> list[dict[str, Any]]:
    """One row per known migration: number, name, description, status (``pending``,
    ``running`` = started and not finished, ``applied``), times and items changed."""
    rows = []
    for m in discover():
        item = store.get(keys.migration_key(m.number)) or {}
        rows.append(
            {
                "number": m.number,
                "name": m.name,
                "description": m.description,
                "status": item.get("status", "pending"),
                "started_at": item.get("started_at"),
                "applied_at": item.get("applied_at"),
                "changed": item.get("changed", 0),
            }
        )
    return rows


class Locked(RuntimeError):
    """Another runner holds the migration lease."""


def migrate(store: Store, to: int | None = None, log: Callable[[str], None] = lambda s: None) -> list[int]:
    """Apply pending migrations in order (up to ``to``). Returns the numbers applied now.
    Raises :class:`Locked` when another runner holds the lease."""
    owner = uuid.uuid4().hex
    if not take_lease(store, keys.migration_lock_key(), owner, int(clock.now().timestamp()), LEASE_SECONDS):
        raise Locked("another migration run holds the lock (it expires after 15 minutes)")
    applied = []
    try:
        for m in discover():
            if to is not None and m.number > to:
                break
            item = store.get(keys.migration_key(m.number)) or {}
            if item.get("status") == "applied":
                continue
            log(f"{m.number:03d} {m.name}: {'resuming' if item.get('cursor') else 'applying'}")
            ctx = Context(store, m, item.get("cursor"))
            ctx.changed = int(item.get("changed", 0))
            _track(store, m, "running", cursor=ctx.cursor, changed=ctx.changed)
            m.run(ctx)
            _track(store, m, "applied", changed=ctx.changed)
            applied.append(m.number)
            log(f"{m.number:03d} {m.name}: applied ({ctx.changed} items changed)")
    finally:
        drop(store, keys.migration_lock_key())
    return applied
