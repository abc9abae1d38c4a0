"""Which DynamoDB stream shard a batch of stream records came from.

Lambda's DynamoDB stream event names the stream (``eventSourceARN``) but not the shard
(only tumbling-window events carry a top-level ``shardId``). Every record of one invocation
comes from one shard, and each shard owns a range of sequence numbers
(``DescribeStream``: ``SequenceNumberRange``), so the shard is the one whose range holds
the batch's first sequence number. The shard list is cached per process and re-read when
a sequence number falls outside every known range (shards roll over every few hours).
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from typing import Any

import boto3


@lru_cache(maxsize=1)
def streams_client() -> Any:
    endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB_STREAMS") or os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
    return boto3.client("dynamodbstreams", endpoint_url=endpoint) if endpoint else boto3.client("dynamodbstreams")


class ShardResolver:
    def __init__(self, client: Any | None = None) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._ranges: dict[str, list[tuple[int, int | None, str]]] = {}

    def _describe(self, stream_arn: str) -> list[tuple[int, int | None, str]]:
        client = self._client or streams_client()
        shards, start = [], None
        while True:
            kwargs: dict[str, Any] = {"StreamArn": stream_arn}
            if start:
                kwargs["ExclusiveStartShardId"] = start
            desc = client.describe_stream(**kwargs)["StreamDescription"]
            for s in desc.get("Shards", []):
                r = s.get("SequenceNumberRange", {})
                end = r.get("EndingSequenceNumber")
                shards.append((int(r["StartingSequenceNumber"]), int(end) if end else None, s["ShardId"]))
            start = desc.get("LastEvaluatedShardId")
            if not start:
                return sorted(shards)

    @staticmethod
    def _find(ranges: list[tuple[int, int | None, str]], seq: int) -> str | None:
        best = None
        for lo, hi, shard in ranges:
            if lo <= seq and (hi is None or seq <= hi):
                best = shard  # ranges sorted by start: the latest start that holds seq
        return best

    def shard_of(self, stream_arn: str, sequence_number: str) -> str:
        """The shard id holding ``sequence_number``. Raises LookupError if none does."""
        seq = int(sequence_number)
        with self._lock:
            found = self._find(self._ranges.get(stream_arn, []), seq)
            if found is None:
                self._ranges[stream_arn] = self._describe(stream_arn)
                found = self._find(self._ranges[stream_arn], seq)
        if found is None:
            raise LookupError(f"no shard of {stream_arn} holds sequence number {sequence_number}")
        return found
