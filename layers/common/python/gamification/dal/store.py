"""The data-access layer: the only module that talks to DynamoDB (boto3 low-level client).

Every invariant is a condition here, evaluated by DynamoDB inside one ``TransactWriteItems``:

- the user's ``PROFILE`` carries a ``version``; a write names the version it read
  (optimistic concurrency), so totals, levels and balances in a response are exact;
- the ``DAY#`` usage item asserts the action's daily limit and the daily XP cap directly
  (``count < limit``, ``xp_gained <= cap - amount``), so even a caller that skipped the
  read could not overshoot;
- ledger entries, once-markers and idempotency records are created with
  ``attribute_not_exists(pk)``, so nothing is recorded twice.

A cancelled transaction raises :class:`WriteConflict`; the use case re-reads and decides
again (:mod:`gamification.usecases.retry`). Single-item conditional writes go through
:meth:`Store.write_if` (False when the condition failed). Item attributes are built by
:mod:`gamification.dal.items`; :class:`Store` implements :class:`gamification.dal.protocol.Store`.
"""

from __future__ import annotations

import itertools
import time
from decimal import Decimal
from functools import lru_cache
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config

from gamification.dal import items, keys
from gamification.dal.items import COUNT_PREFIX, TTL_ATTRIBUTE, day_counts, epoch
from gamification.dal.keys import Key
from gamification.settings import environment

__all__ = [  # re-exported for callers that predate gamification.dal.items
    "COUNT_PREFIX", "TTL_ATTRIBUTE", "RETRYABLE_REASONS", "Store", "Transaction", "WriteConflict", "day_counts",
    "dynamodb_client", "epoch", "marshal", "unmarshal", "version_of",
]

_ser = TypeSerializer()
_deser = TypeDeserializer()


#: Cancellation reasons that mean "state moved or DynamoDB was busy": decide again.
#: Any other reason (``ValidationError``, ``ItemCollectionSizeLimitExceeded``...) is a bug
#: or a hard limit, and is raised as it is instead of being retried.
RETRYABLE_REASONS = frozenset(
    {"None", "ConditionalCheckFailed", "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)


class WriteConflict(Exception):
    """A transaction was cancelled for a retryable reason: a condition failed or another
    write raced it. ``reasons`` holds one DynamoDB cancellation code per item."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(", ".join(reasons))
        self.reasons = reasons


def marshal(item: dict[str, Any]) -> dict[str, Any]:
    """Python values -> DynamoDB attribute values (None values are dropped)."""
    return {k: _ser.serialize(v) for k, v in item.items() if v is not None}


def unmarshal(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values -> Python values; integral numbers become ``int``."""
    out = {k: _deser.deserialize(v) for k, v in item.items()}
    return {k: _plain(v) for k, v in out.items()}


def _plain(v: Any) -> Any:
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, set)):
        return [_plain(x) for x in v]
    return v


def count_query(client: Any, **kwargs: Any) -> int:
    """The ``Count`` of a ``Select: COUNT`` Query (``kwargs``: its parameters), summed over
    every page (DynamoDB counts at most 1 MB of items per page)."""
    total = 0
    while True:
        resp = client.query(Select="COUNT", **kwargs)
        total += int(resp.get("Count", 0))
        if "LastEvaluatedKey" not in resp:
            return total
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def query_items(client: Any, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item (unmarshalled) a Query with ``kwargs`` returns, over all its pages."""
    out: list[dict[str, Any]] = []
    while True:
        resp = client.query(**kwargs)
        out += [unmarshal(i) for i in resp.get("Items", [])]
        if "LastEvaluatedKey" not in resp:
            return out
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def version_of(profile: dict[str, Any] | None) -> int:
    """The optimistic-concurrency version of a profile item (0: no profile yet)."""
    return int(profile["version"]) if profile else 0


class Transaction:
    """Builds one ``TransactWriteItems`` request (at most 100 items, each 2 WCU per KB).

    ``token`` becomes the ``ClientRequestToken``: DynamoDB then treats an SDK re-send of the
    same transaction within 10 minutes as already done instead of refusing it.
    """

    # A plain builder, not a dataclass: a dataclass compiles its methods at import
    # (CONTRIBUTING.md, "Cold start").
    __slots__ = ("table", "token", "items")

    def __init__(self, table: str, token: str | None = None) -> None:
        self.table = table
        self.token = token
        self.items: list[dict[str, Any]] = []

    def put_new(self, key: Key, attrs: dict[str, Any]) -> Transaction:
        """Create an item that must not exist yet (ledger entry, marker, idempotency record)."""
        self.items.append(
            {
                "Put": {
                    "TableName": self.table,
                    # Ledger entries also feed the GSI ``ledger`` (history, newest first).
                    "Item": marshal({**key, **keys.ledger_index(key), **attrs}),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        )
        return self

    def delete_existing(self, key: Key) -> Transaction:
        """Delete an item that must still exist (an unlock marker released once)."""
        self.items.append(
            {"Delete": {"TableName": self.table, "Key": marshal(key), "ConditionExpression": "attribute_exists(pk)"}}
        )
        return self

    def update(self, change: items.Update) -> Transaction:
        """Add one conditional update built by :mod:`gamification.dal.items`."""
        update: dict[str, Any] = {
            "TableName": self.table,
            "Key": marshal(change.key),
            "UpdateExpression": change.expression,
            "ExpressionAttributeNames": change.names,
            "ExpressionAttributeValues": marshal(change.values),
        }
        if change.condition:
            update["ConditionExpression"] = change.condition
        self.items.append({"Update": update})
        return self

    def bump_profile(self, key: Key, seen_version: int, **change: Any) -> Transaction:
        """Add signed XP and coins to a profile still at ``seen_version``
        (:func:`gamification.dal.items.profile_bump`)."""
        return self.update(items.profile_bump(key, seen_version, **change))

    def add_day_usage(self, key: Key, **change: Any) -> Transaction:
        """Count one award on a day's usage item, refused past its limit or cap
        (:func:`gamification.dal.items.day_usage`)."""
        return self.update(items.day_usage(key, **change))



class Store:
    """Reads and transactional writes against the gamification table."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def transaction(self, token: str | None = None) -> Transaction:
        """A new, empty transaction against this table (``token``: see :class:`Transaction`)."""
        return Transaction(self.table, token)

    def commit(self, tx: Transaction) -> None:
        """Run ``tx`` atomically. Raises :class:`WriteConflict` when DynamoDB cancels it for
        a retryable reason; re-raises the cancellation for any other reason."""
        extra = {"ClientRequestToken": tx.token} if tx.token else {}
        try:
            self.client.transact_write_items(TransactItems=tx.items, **extra)
        except self.client.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
            if not set(reasons) <= RETRYABLE_REASONS:
                raise
            raise WriteConflict(reasons) from None

    def write_if(self, operation: str, *, in_flight_refuses: bool = False, **request: Any) -> bool:
        """Run one conditional single-item write (``put_item`` or ``update_item`` with a
        ``ConditionExpression``) on this table. False when DynamoDB refused it because the
        condition failed, or, with ``in_flight_refuses``, because a transaction on the item
        was in flight (read again to know). Any other error is raised."""
        refused: tuple[type[Exception], ...] = (self.client.exceptions.ConditionalCheckFailedException,)
        if in_flight_refuses:
            refused += (self.client.exceptions.TransactionConflictException,)
        try:
            getattr(self.client, operation)(TableName=self.table, **request)
            return True
        except refused:
            return False

    def put_new(self, key: Key, attrs: dict[str, Any]) -> bool:
        """Create one item if absent (single conditional PutItem); False if it existed or a
        transaction on it was in flight (read again to know)."""
        return self.write_if(
            "put_item", in_flight_refuses=True, Item=marshal({**key, **keys.ledger_index(key), **attrs}),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get_many(self, wanted: list[Key | None]) -> list[dict[str, Any] | None]:
        """Strongly consistent read of up to 100 items in one ``BatchGetItem`` (retrying
        unprocessed keys); results in the order asked, None for a missing item or a None key."""
        found: dict[tuple[str, str], dict[str, Any]] = {}
        # A key asked twice (a keyed entry is also its key's record) is read once: DynamoDB
        # refuses duplicate keys in one BatchGetItem.
        pending = [marshal(k) for k in {(k["pk"], k["sk"]): k for k in wanted if k}.values()]
        for attempt in itertools.count():
            if not pending:
                break
            if attempt:
                time.sleep(min(0.05 * 2**attempt, 1.0))  # unprocessed keys mean throttling
            resp = self.client.batch_get_item(
                RequestItems={self.table: {"Keys": pending, "ConsistentRead": True}}
            )
            for raw in resp.get("Responses", {}).get(self.table, []):
                item = unmarshal(raw)
                found[(item["pk"], item["sk"])] = item
            pending = resp.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
        return [found.get((k["pk"], k["sk"])) if k else None for k in wanted]

    def get(self, key: Key, consistent: bool = True) -> dict[str, Any] | None:
        """One item, or None."""
        resp = self.client.get_item(TableName=self.table, Key=marshal(key), ConsistentRead=consistent)
        return unmarshal(resp["Item"]) if "Item" in resp else None

    def put(self, key: Key, attrs: dict[str, Any]) -> None:
        """Create or replace one item (administrative writes such as API keys)."""
        self.client.put_item(TableName=self.table, Item=marshal({**key, **attrs}))


@lru_cache(maxsize=1)
def dynamodb_client() -> Any:
    """One low-level DynamoDB client per process, reused across warm invocations.

    Standard retry mode retries throttling, 5xx and lost connections with backoff (safe for
    transactions: see :class:`Transaction` ``token``). A short read timeout
    (:class:`gamification.settings.Environment` ``dynamodb_read_timeout_seconds``, 2 s) keeps a request, its retries and the
    engine's optimistic retries inside the 10 s function timeout; the local stack, whose
    serialised backend queues concurrent requests, sets a longer one. No client-side
    parameter validation: a malformed request fails as DynamoDB's ``ValidationException``
    rather than botocore's ``ParamValidationError``. The endpoint comes
    from ``AWS_ENDPOINT_URL_DYNAMODB`` when set (local stack, tests).
    """
    return boto3.client(
        "dynamodb",
        config=Config(
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=1,
            read_timeout=environment().dynamodb_read_timeout_seconds,
            tcp_keepalive=True,
            max_pool_connections=64,  # leaderboard reads gather shards in parallel
            parameter_validation=False,  # requests are built here from validated input: a fifth of a write's CPU
        ),
    )


# ---- administrative access (data migrations, imports) -------------------------------------


#: Items one Scan request reads (before its filter): large reads keep a filtered scan of a
#: big table to few requests however few items match; a page ends after at most
#: SCAN_REQUESTS_PER_PAGE of them, so a resumable caller saves its cursor now and then.
SCAN_READ_LIMIT = 1000
SCAN_REQUESTS_PER_PAGE = 10


def scan_page(
    store: Store,
    start: dict[str, Any] | None,
    limit: int,
    filter_expression: str | None = None,
    names: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """One page of a consistent table scan from ``start`` (a previous page's cursor, plain
    values): up to ``limit`` items that match ``filter_expression``. Returns (items, next
    cursor or None at the end; a page may hold fewer items while more follow). The cursor is
    the key of the last item returned when the page filled up mid-request (a Scan resumes
    after any key), so a resumed scan neither skips nor repeats an item."""
    kwargs: dict[str, Any] = {"TableName": store.table, "Limit": max(limit, SCAN_READ_LIMIT), "ConsistentRead": True}
    if filter_expression:
        kwargs["FilterExpression"] = filter_expression
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if values:
            kwargs["ExpressionAttributeValues"] = marshal(values)
    out: list[dict[str, Any]] = []
    for _ in range(SCAN_REQUESTS_PER_PAGE):
        if start:
            kwargs["ExclusiveStartKey"] = marshal(start)
        resp = store.client.scan(**kwargs)
        found = resp.get("Items", [])
        last = resp.get("LastEvaluatedKey")
        room = limit - len(out)
        if len(found) > room:
            out += [unmarshal(i) for i in found[:room]]
            return out, {"pk": out[-1]["pk"], "sk": out[-1]["sk"]}
        out += [unmarshal(i) for i in found]
        if not last or len(out) == limit:
            return out, unmarshal(last) if last else None
        start = unmarshal(last)
    return out, start


def set_if_absent(store: Store, key: Key, attr: str, value: Any) -> bool:
    """``SET attr = value`` on an existing item that lacks ``attr`` (idempotent backfill of a
    new attribute); False when the item is gone or already has it."""
    return store.write_if(
        "update_item",
        Key=marshal(key),
        UpdateExpression="SET #a = :v",
        ConditionExpression="attribute_exists(pk) AND attribute_not_exists(#a)",
        ExpressionAttributeNames={"#a": attr},
        ExpressionAttributeValues=marshal({":v": value}),
    )


def take_lease(store: Store, key: Key, owner: str, now: int, seconds: int) -> bool:
    """Hold the lock item ``key`` for ``seconds`` (epoch ``now``) unless another owner's
    lease is still running. False when it is."""
    return store.write_if(
        "put_item",
        Item=marshal({**key, "owner": owner, "lease_until": now + seconds}),
        ConditionExpression="attribute_not_exists(pk) OR lease_until < :now OR #o = :me",
        ExpressionAttributeNames={"#o": "owner"},
        ExpressionAttributeValues=marshal({":now": now, ":me": owner}),
    )


def drop(store: Store, key: Key) -> None:
    """Delete one item (releasing a lock)."""
    store.client.delete_item(TableName=store.table, Key=marshal(key))
