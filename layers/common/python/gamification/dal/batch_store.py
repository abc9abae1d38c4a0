"""A write-behind :class:`gamification.dal.protocol.Store` for backfills: one user's run of
events decided in memory, then written as ONE conditional ``TransactWriteItems``.

The use cases run unchanged on it (``Engine(rules, BatchStore(store))``): every read is
answered from what the batch has read or written so far (the first read of an item goes to
the real table), and every transaction they commit is applied here, all or nothing, with
the very requests :class:`gamification.dal.store.Transaction` builds, conditions included
(evaluated as :class:`gamification.dal.memory.MemoryStore` does). :meth:`flush` then writes
the net effect as one transaction whose conditions make DynamoDB refuse it unless every
item the batch was decided from is still as it was read:

- an item the batch created (ledger entries, idempotency records, markers, a new profile):
  ``Put`` with ``attribute_not_exists(pk)``;
- an item read and changed (the profile, a day's usage): ``Update`` of the changed
  attributes, conditioned on the ``version`` read (items with a version: every write of
  them bumps it) or else on every attribute read being unchanged (and the new ones absent);
- an item read and left as it was, or read as absent: a ``ConditionCheck`` of the same;
- an item only ever changed by unconditional ``ADD`` (write-sharded counters, never read by
  an award): one ``Update`` adding the summed deltas, as the awards would have.

So the flush is accepted only when the state it was decided from is the table's state at
commit time: the outcome is the one of applying the events one by one (serialisable), every
limit, cap, once-rule and idempotency record checked as in the one-by-one path. A refused
flush (:class:`gamification.dal.store.WriteConflict`) wrote nothing; the caller decides
the events again (``tools/ops/replay.py`` does them one by one).

Items :meth:`prefetch` read are no part of the batch until a use case reads them: only
what the decisions were made from is checked.

Keys passed as ``presumed_absent`` (idempotency records of lines never applied) are not
read: they count as read-absent, which the flush verifies like any other read.

At most :data:`MAX_ITEMS` items a flush (DynamoDB's limit per transaction): each touched
item is one; :attr:`size` tells, :meth:`checkpoint` / :meth:`rollback` undo the last event.
Single-threaded: one batch per thread.
"""

from __future__ import annotations

import copy
import re
import uuid
from typing import Any

from gamification.dal.keys import Key

# The expression evaluator of the in-memory store: the same subset of DynamoDB's grammar the
# engine's requests use, so both stores apply them alike.
from gamification.dal.memory import _holds, _update
from gamification.dal.store import Transaction, WriteConflict, marshal, unmarshal

MAX_ITEMS = 100
Ident = tuple[str, str]
_ADD_ONLY = re.compile(r"^ADD (#\w+ :\w+)(, #\w+ :\w+)*$")


class Unbatchable(Exception):
    """A request this store does not write behind (e.g. a delete); the caller applies the
    event through the real store instead."""


class BatchStore:
    """Write-behind store over ``base`` for one batch (see the module docstring)."""

    def __init__(self, base: Any, presumed_absent: set[Ident] | None = None) -> None:
        self.base = base
        self.table = base.table
        self._presumed = set(presumed_absent or ())
        self._seen: dict[Ident, dict[str, Any] | None] = {}  # as read from the table (None: absent)
        self._state: dict[Ident, dict[str, Any] | None] = {}  # as the batch leaves it
        self._raw: dict[Ident, dict[str, Any]] = {}  # marshalled Put item, while not updated since
        self._blind: dict[Ident, dict[str, Any]] = {}  # key, names -> summed ADD values, of unread items
        self._cache: dict[Ident, dict[str, Any] | None] = {}  # prefetched, not yet read by a use case

    # ---- reads ------------------------------------------------------------------------

    def prefetch(self, wanted: list[Key]) -> None:
        """Read ``wanted`` from the table now (one request per 100 keys), for later reads.
        A prefetched item the use cases never read is no part of the batch: the flush
        neither writes nor checks it."""
        todo = [i for i in dict.fromkeys((k["pk"], k["sk"]) for k in wanted)
                if i not in self._state and i not in self._blind and i not in self._presumed]  # fmt: skip
        self._cache.update(self._fetch(todo))

    def _fetch(self, idents: list[Ident]) -> dict[Ident, dict[str, Any] | None]:
        found: dict[Ident, dict[str, Any] | None] = {}
        for start in range(0, len(idents), 100):
            part = idents[start : start + 100]
            found.update(zip(part, self.base.get_many([{"pk": p, "sk": s} for p, s in part])))
        return found

    def _load(self, idents: list[Ident]) -> None:
        todo = []
        for ident in dict.fromkeys(idents):
            if ident in self._state or ident in self._blind:
                continue
            if ident in self._presumed:
                self._seen[ident] = self._state[ident] = None
            elif ident in self._cache:
                self._seen[ident] = self._state[ident] = self._cache[ident]
            else:
                todo.append(ident)
        for ident, item in self._fetch(todo).items():
            self._seen[ident] = self._state[ident] = item
        for ident in [i for i in dict.fromkeys(idents) if i in self._blind]:
            self._unblind(ident)

    def _unblind(self, ident: Ident) -> None:
        """An item changed blindly is read after all: fetch it and apply the deltas."""
        delta = self._blind.pop(ident)
        [item] = self.base.get_many([{"pk": ident[0], "sk": ident[1]}])
        self._seen[ident] = item
        current = dict(item or {"pk": ident[0], "sk": ident[1]})
        for attr, value in delta.items():
            current[attr] = current.get(attr, 0) + value
        self._state[ident] = current

    def get_many(self, wanted: list[Key | None]) -> list[dict[str, Any] | None]:
        self._load([(k["pk"], k["sk"]) for k in wanted if k])
        return [copy.deepcopy(self._state[(k["pk"], k["sk"])]) if k else None for k in wanted]

    def get(self, key: Key, consistent: bool = True) -> dict[str, Any] | None:
        return self.get_many([key])[0]

    # ---- writes (to the batch) --------------------------------------------------------

    def transaction(self, token: str | None = None) -> Transaction:
        return Transaction(self.table, token)

    def put_new(self, key: Key, attrs: dict[str, Any]) -> bool:
        tx = self.transaction()
        tx.put_new(key, attrs)  # with keys.ledger_index, as Store.put_new writes it
        try:
            self.commit(tx)
        except WriteConflict:
            return False
        return True

    def commit(self, tx: Transaction) -> None:
        """Apply ``tx`` to the batch, all or nothing. Raises
        :class:`gamification.dal.store.WriteConflict` when a condition fails (as DynamoDB
        would, given the state so far), :class:`Unbatchable` for a request kind it does not
        handle."""
        parsed = []
        need = []
        for request in tx.items:
            (kind, body), = request.items()
            if kind not in ("Put", "Update"):
                raise Unbatchable(kind)
            key = unmarshal(body["Item"] if kind == "Put" else body["Key"])
            ident = (key["pk"], key["sk"])
            blind = kind == "Update" and "ConditionExpression" not in body and _ADD_ONLY.match(body["UpdateExpression"])
            known = ident in self._state
            if not known and not blind and not (kind == "Put" and body.get("ConditionExpression") == "attribute_not_exists(pk)"):
                need.append(ident)
            parsed.append((kind, body, key, ident, bool(blind)))
        self._load(need)
        state, raw, blind_delta = dict(self._state), dict(self._raw), {k: dict(v) for k, v in self._blind.items()}
        seen = dict(self._seen)
        reasons, failed = [], False
        for kind, body, key, ident, blind in parsed:
            names = body.get("ExpressionAttributeNames", {})
            values = unmarshal(body.get("ExpressionAttributeValues", {}))
            if blind and ident not in state:
                delta = blind_delta.setdefault(ident, {})
                for part in body["UpdateExpression"][4:].split(","):
                    name, value = part.split()
                    attr = names.get(name, name)
                    delta[attr] = delta.get(attr, 0) + values[value]
                reasons.append("None")
                continue
            if ident not in state:  # a Put of a new item: presumed absent, verified by the flush
                seen[ident] = state[ident] = None
            current = state[ident]
            cond = body.get("ConditionExpression")
            if cond and not _holds(cond, current, names, values):
                reasons.append("ConditionalCheckFailed")
                failed = True
                continue
            reasons.append("None")
            if kind == "Put":
                state[ident] = unmarshal(body["Item"])
                raw[ident] = body["Item"]
            else:
                state[ident] = _update(body["UpdateExpression"], dict(current or {"pk": key["pk"], "sk": key["sk"]}),
                                       names, values)  # fmt: skip
                raw.pop(ident, None)
        if failed:
            raise WriteConflict(reasons)
        self._state, self._raw, self._blind, self._seen = state, raw, blind_delta, seen

    # ---- batch control ----------------------------------------------------------------

    @property
    def size(self) -> int:
        """Items the flush would write or check (at most :data:`MAX_ITEMS` can be flushed)."""
        return len(self._state) + len(self._blind)

    @property
    def writes(self) -> int:
        """Items the batch created or changed so far."""
        return sum(self._state[i] != self._seen.get(i) for i in self._state) + len(self._blind)

    def checkpoint(self) -> tuple[Any, ...]:
        return dict(self._seen), dict(self._state), dict(self._raw), {k: dict(v) for k, v in self._blind.items()}

    def rollback(self, point: tuple[Any, ...]) -> None:
        self._seen, self._state, self._raw, self._blind = (dict(point[0]), dict(point[1]), dict(point[2]),
                                                           {k: dict(v) for k, v in point[3].items()})  # fmt: skip

    def plan(self) -> Transaction:
        """The one transaction that writes the batch (see the module docstring)."""
        tx = Transaction(self.table, uuid.uuid4().hex)
        for ident, final in self._state.items():
            before = self._seen.get(ident)
            key = {"pk": ident[0], "sk": ident[1]}
            if before is None and final is None:
                tx.items.append({"ConditionCheck": {"TableName": self.table, "Key": marshal(key),
                                                    "ConditionExpression": "attribute_not_exists(pk)"}})  # fmt: skip
            elif before is None:
                item = self._raw.get(ident) or marshal(final)  # type: ignore[arg-type]
                tx.items.append({"Put": {"TableName": self.table, "Item": item,
                                         "ConditionExpression": "attribute_not_exists(pk)"}})  # fmt: skip
            elif final is None:
                raise Unbatchable("delete")
            else:
                tx.items.append(_unchanged_since(self.table, key, before, final))
        for ident, delta in self._blind.items():
            names = {f"#a{i}": a for i, a in enumerate(delta)}
            tx.items.append({"Update": {
                "TableName": self.table, "Key": marshal({"pk": ident[0], "sk": ident[1]}),
                "UpdateExpression": "ADD " + ", ".join(f"#a{i} :a{i}" for i in range(len(delta))),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": marshal({f":a{i}": v for i, v in enumerate(delta.values())}),
            }})  # fmt: skip
        return tx

    def flush(self) -> int:
        """Write the batch in one transaction (nothing when it wrote nothing); returns the
        number of items in it. Raises WriteConflict (nothing written) when any item it was
        decided from has changed since it was read."""
        if not self.writes:
            return 0
        if self.size > MAX_ITEMS:
            raise Unbatchable(f"{self.size} items")
        tx = self.plan()
        self.base.commit(tx)
        return len(tx.items)


def _unchanged_since(table: str, key: Key, before: dict[str, Any], final: dict[str, Any]) -> dict[str, Any]:
    """The request for an item read as ``before``: a ConditionCheck that it is unchanged, or
    an Update to ``final`` under that condition."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}

    def name(attr: str) -> str:
        token = f"#n{len(names)}"
        names[token] = attr
        return token

    if "version" in before:
        conds = [f"{name('version')} = :c0"]
        values[":c0"] = before["version"]
    else:
        conds = ["attribute_exists(pk)"]
        for i, (attr, value) in enumerate(before.items()):
            if attr not in ("pk", "sk"):
                conds.append(f"{name(attr)} = :c{i}")
                values[f":c{i}"] = value
        conds += [f"attribute_not_exists({name(a)})" for a in final if a not in before]
    body: dict[str, Any] = {"TableName": table, "Key": marshal(key), "ConditionExpression": " AND ".join(conds)}
    changed = [a for a in final if a not in ("pk", "sk") and (a not in before or before[a] != final[a])]
    removed = [a for a in before if a not in final]
    if not changed and not removed:
        if names:  # DynamoDB refuses an empty map
            body["ExpressionAttributeNames"] = names
        if values:
            body["ExpressionAttributeValues"] = marshal(values)
        return {"ConditionCheck": body}
    parts = []
    if changed:
        sets = []
        for i, attr in enumerate(changed):
            sets.append(f"{name(attr)} = :s{i}")
            values[f":s{i}"] = final[attr]
        parts.append("SET " + ", ".join(sets))
    if removed:
        parts.append("REMOVE " + ", ".join(name(a) for a in removed))
    body.update(UpdateExpression=" ".join(parts), ExpressionAttributeNames=names,
                ExpressionAttributeValues=marshal(values))  # fmt: skip
    return {"Update": body}
