"""The read -> decide -> commit skeleton of every award, written once.

Each attempt is one strongly consistent ``BatchGetItem`` (the idempotency record, the proof
of the previous attempt when there was one, and the items the use case decides from), then
one ``TransactWriteItems`` whose conditions make DynamoDB refuse it if anything it was
decided from has changed (see :mod:`gamification.dal.store`). A refused commit is decided
again from a fresh read (:class:`gamification.usecases.retry.Retry`).

A refused commit may still have been applied: botocore re-sends a transaction whose response
was lost, and DynamoDB refuses the copy. The next attempt reads the previous attempt's own
proof (its ledger entry or marker) and, if it is there, returns that attempt's response
instead of awarding twice. Each transaction carries its event id as ``ClientRequestToken``
so DynamoDB treats an SDK re-send within 10 minutes as already done.

A decision that writes exactly one ledger entry hands it over as :attr:`Write.entry`: with an
Idempotency-Key the entry is stored as the key's record (one item, not two:
:meth:`gamification.usecases.idempotency.Idempotency.keyed_entry`) when both fit in 1 KB,
without one (or when they would not fit) at its own key.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from gamification.dal.items import WRITE_UNIT, Item, stored_size
from gamification.dal.keys import Key
from gamification.dal.protocol import Store
from gamification.dal.store import Transaction, WriteConflict
from gamification.usecases.idempotency import Idempotency
from gamification.usecases.outcome import Outcome
from gamification.usecases.retry import Retry

Read = list[dict[str, Any] | None]


class Write:
    """An attempt's decision to commit ``tx``, answering ``outcome`` once it lands.

    ``entry``: the request's one ledger entry, not yet in ``tx`` (:func:`read_decide_commit`
    adds it: as the idempotency record with a key, else at its own key, then also the proof).

    How the next attempt tells whether this one landed after all: ``proof``, a key this
    transaction creates, is added to the next read (present: landed); or ``landed`` looks
    at the next read of the use case's own items (e.g. a once-marker naming this event); or,
    for an entry stored as the record, the record read names this entry (``keyed_sk``, its
    GSI ``ledger`` sort key, holds this attempt's event id). ``recorded``: the body the
    Idempotency-Key's record stores, when not the answer's own (a secret left out, put back
    on replay by :attr:`Idempotency.complete`).

    A plain class, not a dataclass (the commit loop sets ``proof`` and ``keyed_sk``): a
    dataclass compiles its methods at every import (CONTRIBUTING.md, "Cold start").
    """

    __slots__ = ("outcome", "tx", "proof", "landed", "entry", "keyed_sk", "recorded")

    def __init__(
        self, outcome: Outcome[Any], tx: Transaction, *, proof: Key | None = None,
        landed: Callable[[Read], bool] | None = None, entry: Item | None = None, recorded: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        self.outcome, self.tx, self.proof, self.landed = outcome, tx, proof, landed
        self.entry, self.recorded = entry, recorded
        self.keyed_sk: str | None = None

    def applied(self, proof: dict[str, Any] | None, read: Read, record: dict[str, Any] | None = None) -> bool:
        if self.keyed_sk:
            return record is not None and record.get("ledger_sk") == self.keyed_sk
        return proof is not None if self.proof else bool(self.landed and self.landed(read))


class Answer(NamedTuple):
    """A decision that writes nothing but the idempotency record (e.g. a once-reward
    already paid in its window)."""

    outcome: Outcome[Any]


def read_decide_commit(
    store: Store,
    retry: Retry,
    idem: Idempotency[Any],
    now: datetime,
    wanted: list[Key | None],
    decide: Callable[[Read], Write | Answer],
) -> Outcome[Any]:
    """Run ``decide`` on a fresh read of ``wanted`` (same order) until its decision commits.

    ``decide`` may raise a domain error (a limit reached: 429) which ends the request. The
    idempotency record is written with the decision (in its transaction: the decision's
    ``entry`` itself when it has one, else a record of its own; for an :class:`Answer` as one
    conditional put). Raises Contention (503) via ``retry``.
    """
    previous: Write | None = None
    for _ in retry.attempts():
        record, proof, *read = store.get_many([idem.record_key, previous.proof if previous else None, *wanted])
        if previous and previous.applied(proof, read, record):
            return previous.outcome
        if record:
            return idem.replay(record)
        decision = decide(read)
        if isinstance(decision, Answer):
            # Remember the answer under the key so a retry gets it again, even after the
            # window has rolled over.
            if idem.key and not store.put_new(*idem.record(decision.outcome.body, now)):
                continue
            return decision.outcome
        body: dict[str, Any] = {}
        if idem.key:  # the answer is dumped once: the record and the response share it
            body = decision.outcome.body
            decision.outcome = decision.outcome._replace(raw=body)
        folded = idem.keyed_entry(decision.entry, body) if decision.entry and idem.key else None
        if folded and stored_size(folded) <= WRITE_UNIT:
            decision.tx.put_new(*folded)
            decision.keyed_sk = folded[1]["ledger_sk"]
        else:
            # No key, or an answer too large to share one write unit with the entry (an
            # award that unlocks achievements): entry and record are two items.
            if decision.entry:
                decision.tx.put_new(*decision.entry)
                if not decision.landed:
                    decision.proof = decision.proof or decision.entry[0]
            if idem.key:
                recorded = body if decision.recorded is None else decision.recorded
                decision.tx.put_new(*idem.record(recorded, now))
        try:
            store.commit(decision.tx)
        except WriteConflict:
            previous = decision
            continue
        return decision.outcome
    raise AssertionError("unreachable: Retry.attempts raises when exhausted")
