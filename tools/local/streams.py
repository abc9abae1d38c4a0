"""A local DynamoDB Streams event source mapping: polls the table's stream and invokes the
functions template.yaml maps to it (``Events`` of ``Type: DynamoDB``), as Lambda's poller does.

Per mapping (:class:`tools.local.template.StreamSource`):

- Shards are read in parallel, one thread each; the records of one shard strictly in order,
  one batch at a time; a child shard only after its parent is finished (closed and read to
  its end).
- Records that match none of the ``FilterCriteria`` patterns are dropped (as processed), see
  :mod:`tools.local.event_filter`.
- A batch holds at most ``BatchSize`` records; with ``MaximumBatchingWindowInSeconds`` the
  poller waits up to that long for a batch to fill (less while a caller waits for the drain,
  see below).
- The event is Lambda's: ``{"Records": [{"eventID", "eventName", "eventVersion",
  "eventSource": "aws:dynamodb", "awsRegion", "dynamodb": {"ApproximateCreationDateTime"
  (epoch seconds), "Keys", "NewImage", "OldImage", "SequenceNumber", "SizeBytes",
  "StreamViewType"}, "eventSourceARN"}]}``.
- A function error retries the batch (split in two first with ``BisectBatchOnFunctionError``);
  with ``ReportBatchItemFailures`` a response ``{"batchItemFailures": [{"itemIdentifier":
  <SequenceNumber>}]}`` retries from the first failed record (an unknown or empty identifier
  fails the whole batch). After ``MaximumRetryAttempts`` retries (-1: without end, as a
  record lives 24 h in a stream) the batch goes to the on-failure destination: here
  :attr:`StreamPoller.dead_letters` and, when given, a JSON-lines file; the record is the
  service's (``requestContext``, ``responseContext``, ``DDBStreamBatchInfo``) plus the
  batch's ``Records`` for local inspection.

:meth:`StreamPoller.wait_until_drained` returns once every record written before the call
has been delivered (or dropped): tests wait for projections with it instead of sleeping.
While it waits, discovery looks for new shards at once and a reader that has read its shard to
the end delivers what it holds without waiting out the batching window, so a wait costs about
one invocation, not a window plus a discovery interval.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tools.local import event_filter
from tools.local.template import StreamSource

#: ``invoke(function_logical_id, event) -> result``; raises when the function errors.
Invoke = Callable[[str, dict[str, Any]], Any]
POLL_INTERVAL_S = 0.05  # an idle shard is polled this often (Lambda: about 4 times a second)
DISCOVER_INTERVAL_S = 0.5  # DescribeStream this often, for new shards (at once for a drain)
DRAIN_CHECK_INTERVAL_S = 0.01  # wait_until_drained looks at the readers this often
RETRY_BACKOFF_S = (0.05, 0.1, 0.2, 0.5, 1.0)


def lambda_record(record: dict[str, Any], stream_arn: str, region: str = "us-east-1") -> dict[str, Any]:
    """A GetRecords record as Lambda delivers it (times as epoch seconds, the stream ARN;
    DynamoDB Local's region name ``ddblocal`` becomes ``region``)."""
    out = json.loads(json.dumps(record, default=_json_default))
    if out.get("awsRegion") == "ddblocal":
        out["awsRegion"] = region
    out["eventSourceARN"] = stream_arn
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, bytes):
        import base64

        return base64.b64encode(value).decode()
    raise TypeError(f"not JSON serialisable: {type(value)}")


class StreamPoller:
    """Feeds the table's stream to ``sources`` through ``invoke`` until :meth:`stop`."""

    def __init__(
        self,
        client: Any,
        table: str,
        sources: list[StreamSource],
        invoke: Invoke,
        streams_client: Any = None,
        dead_letter_file: Path | None = None,
        region: str = "us-east-1",
    ) -> None:
        import boto3

        self.client = client
        self.streams = streams_client or boto3.client(
            "dynamodbstreams", endpoint_url=client.meta.endpoint_url, region_name=client.meta.region_name
        )
        self.table = table
        self.sources = sources
        self.invoke = invoke
        self.region = region
        self.dead_letter_file = dead_letter_file
        self.dead_letters: list[dict[str, Any]] = []
        self.invocations = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._readers: dict[tuple[str, str], _ShardReader] = {}  # (function, shard id)
        self._last_discovery = 0.0  # time.monotonic() at the start of the last DescribeStream
        # wait_until_drained: the time.monotonic() starts of the calls still waiting, and a
        # wake-up for the discovery loop so that a caller need not wait out its interval.
        self._drains: list[float] = []
        self._discover_now = threading.Event()
        self.stream_arn: str | None = None

    # ---- lifecycle ------------------------------------------------------------------------

    def start(self) -> StreamPoller:
        desc = self.client.describe_table(TableName=self.table)["Table"]
        self.stream_arn = desc.get("LatestStreamArn")
        if not self.stream_arn:
            raise RuntimeError(f"table {self.table} has no stream (template.yaml StreamSpecification)")
        if self.sources:
            thread = threading.Thread(target=self._discover_loop, name="stream-discovery", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._discover_now.set()
        for thread in list(self._threads):
            thread.join(timeout=10)

    def wait_until_drained(self, timeout: float = 30.0) -> None:
        """Block until every record written before this call has been handled (delivered,
        filtered out or sent to the on-failure destination). Raises TimeoutError."""
        if not self.sources:
            return
        started = time.monotonic()
        deadline = started + timeout
        with self._lock:
            self._drains.append(started)
        self._discover_now.set()
        try:
            while time.monotonic() < deadline:
                with self._lock:
                    readers = list(self._readers.values())
                    discovered = self._last_discovery > started
                if discovered and all(r.caught_up_since(started) for r in readers):
                    return
                time.sleep(DRAIN_CHECK_INTERVAL_S)
        finally:
            with self._lock:
                self._drains.remove(started)
        raise TimeoutError(f"stream of {self.table} not drained within {timeout} s")

    def drain_waiting_since(self, instant: float) -> bool:
        """Whether a :meth:`wait_until_drained` that began at or before ``instant`` still
        waits. A reader whose GetRecords begun at ``instant`` found nothing new then holds in
        its buffer every record that caller waits for, and delivers it without waiting out
        the batching window (an upper bound: Lambda too may invoke before it ends)."""
        with self._lock:
            return any(d <= instant for d in self._drains)

    # ---- shards ---------------------------------------------------------------------------

    def _discover_loop(self) -> None:
        while not self._stop.is_set():
            self._discover_now.clear()  # a drain that sets it from here on gets a fresh look
            began = time.monotonic()
            try:
                shards = self._shards()
            except Exception:  # noqa: BLE001 - a poller keeps polling, like the service
                traceback.print_exc()
                self._stop.wait(DISCOVER_INTERVAL_S)
                continue
            for source in self.sources:
                for shard in shards:
                    key = (source.function, shard["ShardId"])
                    with self._lock:
                        if key in self._readers:
                            continue
                        parent = self._readers.get((source.function, shard.get("ParentShardId", "")))
                        # A shard that opened after the mapping started holds only later
                        # records: read from its start, as the service does (with LATEST a
                        # new table's first write may open a shard: its records count too).
                        reader = _ShardReader(self, source, shard, parent, from_start=self._last_discovery > 0)
                        self._readers[key] = reader
                    thread = threading.Thread(target=reader.run, name=f"stream-{shard['ShardId'][-8:]}", daemon=True)
                    thread.start()
                    self._threads.append(thread)
            with self._lock:
                self._last_discovery = began
            self._discover_now.wait(DISCOVER_INTERVAL_S)

    def _shards(self) -> list[dict[str, Any]]:
        shards, kwargs = [], {"StreamArn": self.stream_arn}
        while True:
            desc = self.streams.describe_stream(**kwargs)["StreamDescription"]
            shards += desc.get("Shards", [])
            last = desc.get("LastEvaluatedShardId")
            if not last:
                return shards
            kwargs["ExclusiveStartShardId"] = last

    # ---- failures -------------------------------------------------------------------------

    def _dead_letter(self, source: StreamSource, shard_id: str, batch: list[dict[str, Any]], attempts: int, error: str) -> None:
        seqs = [r["dynamodb"]["SequenceNumber"] for r in batch]
        times = [r["dynamodb"].get("ApproximateCreationDateTime") for r in batch]
        entry = {
            "version": "1.0",
            "timestamp": datetime.now(timezone.utc).isoformat(),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{self.region}:000000000000:function:{source.function}",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": error},
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": seqs[0],
                "endSequenceNumber": seqs[-1],
                "approximateArrivalOfFirstRecord": times[0],
                "approximateArrivalOfLastRecord": times[-1],
                "batchSize": len(batch),
                "streamArn": self.stream_arn,
            },
            "destination": source.on_failure,
            "Records": batch,  # local only: the service sends the batch's coordinates, not its records
        }
        with self._lock:
            self.dead_letters.append(entry)
            if self.dead_letter_file:
                self.dead_letter_file.parent.mkdir(parents=True, exist_ok=True)
                with self.dead_letter_file.open("a") as f:
                    f.write(json.dumps(entry, default=str) + "\n")


class _ShardReader:
    """Reads one shard for one mapping, in order, one batch at a time."""

    def __init__(
        self, poller: StreamPoller, source: StreamSource, shard: dict[str, Any], parent: _ShardReader | None,
        from_start: bool = False,
    ) -> None:
        self.poller = poller
        self.source = source
        self.shard_id = shard["ShardId"]
        self.parent = parent
        self.from_start = from_start or parent is not None  # else the mapping's starting position
        self.finished = False  # closed and read to its end
        self.busy = False  # a batch is being delivered or records are buffered
        self.caught_up_at = -1.0  # monotonic start of the last GetRecords that found nothing new
        self.last_sequence = ""  # SequenceNumber of the last record read from the shard

    def _iterator(self) -> str | None:
        """A shard iterator at the mapping's starting position (a child of a shard this
        mapping read, or a shard opened since it started: its start, as Lambda reads on), or
        just after the last record read when reading resumes (an expired or trimmed
        iterator; from the start when none was read)."""
        kwargs: dict[str, Any] = {"StreamArn": self.poller.stream_arn, "ShardId": self.shard_id}
        if self.last_sequence:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=self.last_sequence)
        else:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON" if self.from_start else self.source.starting_position
        return self.poller.streams.get_shard_iterator(**kwargs).get("ShardIterator")

    def caught_up_since(self, instant: float) -> bool:
        return self.finished or (not self.busy and self.caught_up_at > instant)

    def run(self) -> None:
        poller, stop = self.poller, self.poller._stop
        while self.parent is not None and not self.parent.finished and not stop.is_set():
            stop.wait(POLL_INTERVAL_S)
        try:
            iterator = self._iterator()
        except Exception:  # noqa: BLE001 - e.g. a shard trimmed away meanwhile
            traceback.print_exc()
            self.finished = True
            return
        buffer: list[dict[str, Any]] = []
        first_buffered = 0.0
        while not stop.is_set():
            began = time.monotonic()
            if iterator is None:
                if buffer:
                    self._deliver(buffer)
                    buffer = []
                self.busy = False
                self.finished = True
                return
            try:
                resp = poller.streams.get_records(ShardIterator=iterator, Limit=1000)
            except Exception as exc:  # noqa: BLE001
                code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
                if code in ("TrimmedDataAccessException", "ExpiredIteratorException"):
                    # as the event source mapping does: a fresh iterator after the last record
                    # read (records are never skipped: the watermarks make re-reads harmless);
                    # none read yet: from the shard's start (DynamoDB Local refuses a LATEST
                    # iterator of a shard that was empty when it was taken, once records arrive)
                    self.from_start = True
                    stop.wait(POLL_INTERVAL_S)
                    iterator = self._iterator()
                    continue
                traceback.print_exc()
                stop.wait(1.0)
                continue
            iterator = resp.get("NextShardIterator")
            if resp.get("Records"):
                self.last_sequence = resp["Records"][-1]["dynamodb"]["SequenceNumber"]
            fresh = [lambda_record(r, poller.stream_arn, poller.region) for r in resp.get("Records", [])]
            fresh = [r for r in fresh if event_filter.matches_any(self.source.filters, r)]
            if fresh and not buffer:
                first_buffered = began
            buffer += fresh
            self.busy = bool(buffer)
            window = self.source.batching_window_s
            # caught up while someone waits for the drain: deliver now (see drain_waiting_since)
            flush = bool(buffer) and not resp.get("Records") and poller.drain_waiting_since(began)
            while buffer and (flush or len(buffer) >= self.source.batch_size or time.monotonic() - first_buffered >= window):
                batch, buffer = buffer[: self.source.batch_size], buffer[self.source.batch_size :]
                self._deliver(batch)
                first_buffered = time.monotonic()
            self.busy = bool(buffer)
            if not resp.get("Records"):
                if not buffer:
                    self.caught_up_at = began
                stop.wait(POLL_INTERVAL_S)

    # ---- delivery -------------------------------------------------------------------------

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        """Invoke until the batch is processed, split, or given up on (never skips silently)."""
        source, attempts = self.source, 0
        while batch and not self.poller._stop.is_set():
            error = None
            try:
                with self.poller._lock:
                    self.poller.invocations += 1
                result = self.poller.invoke(source.function, {"Records": batch})
            except Exception as exc:  # noqa: BLE001 - a function error, as Lambda reports it
                error = f"{type(exc).__name__}: {exc}"
                result = None
            if error is None:
                failed_from = self._first_failure(batch, result) if source.report_batch_item_failures else None
                if failed_from is None:
                    return
                batch = batch[failed_from:]
                error = "batchItemFailures"
            elif source.bisect_on_error and len(batch) > 1:
                half = len(batch) // 2
                self._deliver(batch[:half])
                self._deliver(batch[half:])
                return
            attempts += 1
            if 0 <= source.maximum_retry_attempts < attempts:
                self.poller._dead_letter(source, self.shard_id, batch, attempts, error)
                return
            self.poller._stop.wait(RETRY_BACKOFF_S[min(attempts - 1, len(RETRY_BACKOFF_S) - 1)])

    @staticmethod
    def _first_failure(batch: list[dict[str, Any]], result: Any) -> int | None:
        """Index of the first record to retry from, None when the batch succeeded."""
        failures = result.get("batchItemFailures") if isinstance(result, dict) else None
        if not failures:
            return None
        positions = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(batch)}
        found = []
        for failure in failures:
            ident = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if ident not in positions:
                return 0  # Lambda: an identifier it cannot place fails the whole batch
            found.append(positions[ident])
        return min(found)


def start(
    client: Any, table: str, invoke: Invoke, template_doc: dict[str, Any] | None = None,
    only: tuple[str, ...] | None = None, starting_position: str | None = None, **kwargs: Any,
) -> StreamPoller:
    """A started poller for every stream event source of ``template_doc`` (template.yaml),
    or only those of the functions named in ``only``; ``starting_position`` (``LATEST``,
    ``TRIM_HORIZON``) overrides the template's."""
    from tools.local import template

    sources = [s for s in template.stream_sources(template_doc) if only is None or s.function in only]
    if starting_position:
        sources = [dataclasses.replace(s, starting_position=starting_position) for s in sources]
    return StreamPoller(client, table, sources, invoke, **kwargs).start()
