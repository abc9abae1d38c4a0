"""Idempotency-Key handling of the writes: fingerprint, replay, record.

Used by the awards, spends and reversals, topic attempts, and the other writes whose retry
would otherwise answer differently (webhook registration and deletion, time zone, active
badge, notifications read: docs/api.md, "Idempotency-Key on the other writes").

A request with an ``Idempotency-Key`` has its effect once: its response is stored under the
key (scoped to the tenant) in the same transaction as the award, and a retry with the same
key and the same request gets that response again (``Idempotent-Replayed: true``), even
after its ``occurred_at`` has aged or the rules changed. The same key with another request
is refused (422 ``idempotency_key_reused``). See README.md, "The API (v1)".

The record is keyed by tenant and key only (:func:`gamification.dal.keys.idempotency_key`),
never by a per-user item: a key is one request across routes and users, and a retry that
names no ``occurred_at`` comes back with another date, so neither a ledger entry of the
user's partition (``XP#{occurred_at}#...``) nor the day's usage (``DAY#{date}``) has a key
the retry could read or condition on. A request that writes exactly one ledger entry (an XP
or coin award) stores that entry *as* the record (:meth:`Idempotency.keyed_entry`): 3 items
with a key as without one (docs/benchmarks.md, "Award items: a keyed award's ledger entry
is its idempotency record"). Other keyed routes write a record of their own. The record
never expires: a retry is replayed however late it comes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, NamedTuple

from pydantic import BaseModel

from gamification.dal import items, keys
from gamification.dal.protocol import Store
from gamification.domain.errors import GamificationError, IdempotencyKeyReused
from gamification.usecases.outcome import Outcome, R


def fingerprint(route: str, user_id: str, request: BaseModel) -> str:
    """Hash of what makes two requests "the same" for an Idempotency-Key: route, user and
    body, with ``occurred_at`` in UTC (the same instant with another offset is the same)."""
    body = request.model_dump(mode="json", exclude_none=True)
    if getattr(request, "occurred_at", None) is not None:
        body["occurred_at"] = keys.stamp(request.occurred_at)  # type: ignore[attr-defined]
    canonical = json.dumps({"route": route, "user_id": user_id, "body": body}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class Idempotency(NamedTuple, Generic[R]):
    """The idempotency side of one request (``key`` None: the caller sent no key)."""

    tenant: str
    key: str | None
    fingerprint: str
    model: type[R]
    #: Fills in, in place, a part of a replayed body that the record does not hold (a
    #: webhook's secret, kept encrypted on its endpoint only); may raise a domain error.
    complete: Callable[[dict[str, Any]], None] | None = None

    @classmethod
    def of(
        cls, tenant: str, route: str, user_id: str, request: BaseModel, key: str | None, model: type[R],
        complete: Callable[[dict[str, Any]], None] | None = None,
    ) -> Idempotency[R]:
        return cls(tenant, key, fingerprint(route, user_id, request), model, complete)

    @property
    def record_key(self) -> keys.Key | None:
        """The key of the record to read (None without an Idempotency-Key)."""
        return keys.idempotency_key(self.tenant, self.key) if self.key else None

    def record(self, body: dict[str, Any], now: datetime) -> items.Item:
        """The record to create with the response ``body``."""
        assert self.key is not None
        return items.idempotency_record(self.tenant, self.key, fingerprint=self.fingerprint, body=body, now=now)

    def user_request(self, user_id: str) -> items.Item:
        """For a keyed request of ``user_id`` that writes no ledger entry, the item of its
        key in the user's partition (:func:`gamification.dal.keys.request_key`), to create
        with the record: an erasure of the user deletes the record by it."""
        assert self.key is not None
        return keys.request_key(self.tenant, user_id, self.key), {"idempotency_key": self.key}

    def keyed_entry(self, entry: items.Item, body: dict[str, Any]) -> items.Item:
        """The record to create for a request whose one ledger entry is ``entry``: the entry
        itself, stored at the record's key with the response ``body``
        (:func:`gamification.dal.items.keyed_entry`)."""
        assert self.key is not None
        return items.keyed_entry(self.tenant, self.key, entry, fingerprint=self.fingerprint, body=body)

    def replay(self, record: dict[str, Any]) -> Outcome[R]:
        """The stored response of ``record`` (with :attr:`complete` applied). Raises
        IdempotencyKeyReused (422) when it was stored for a different request."""
        if record["fingerprint"] != self.fingerprint:
            raise IdempotencyKeyReused("This Idempotency-Key was already used for a different request")
        raw = items.stored_response(record)
        if self.complete is not None:
            self.complete(raw)
        return Outcome(self.model.model_validate(raw), replayed=True, raw=raw)

    def replay_or_raise(self, store: Store, error: GamificationError) -> Outcome[R]:
        """A request refused before any read may be the retry of one that succeeded (its
        ``occurred_at`` has aged, or the rules changed since): replay it if so, else raise
        ``error``. One GetItem, only with a key."""
        record = store.get(self.record_key) if self.record_key else None
        if record is None:
            raise error
        return self.replay(record)
