"""An independent model of the leaderboards for tests: every board period's ranking
computed by brute force from ledger entries (no projection code), and stream records of
ledger entries in Lambda's DynamoDB event shape."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from gamification.dal import keys
from gamification.dal.store import marshal

STREAM_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/gamification-Table-EXAMPLE/stream/2026-12-01T09:59:48.957"


def xp_entry(tenant: str, user: str, xp: int, occurred: datetime, recorded: datetime, reason: str = "forked") -> dict[str, Any]:
    """A ledger item as the engine writes it (plain values)."""
    event_id = uuid.uuid4().hex
    return {
        **keys.xp_entry_key(tenant, user, occurred, event_id), "type": "xp", "user_id": user, "action": reason,
        "reason": reason, "xp": xp, "occurred_at": keys.stamp(occurred), "recorded_at": keys.stamp(recorded),
        "day": occurred.date().isoformat(),
    }


def coin_entry(tenant: str, user: str, amount: int, occurred: datetime, reason: str = "daily_login") -> dict[str, Any]:
    event_id = uuid.uuid4().hex
    return {
        **keys.coin_entry_key(tenant, user, occurred, event_id), "type": "coins", "user_id": user, "amount": amount,
        "reason": reason, "occurred_at": keys.stamp(occurred), "recorded_at": keys.stamp(occurred),
    }


def stream_record(item: dict[str, Any], seq: int, created: datetime | None = None) -> dict[str, Any]:
    """One record of a Lambda DynamoDB stream event (an INSERT, NEW_AND_OLD_IMAGES)."""
    image = marshal(item)
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": int((created or datetime.now()).timestamp()),
            "Keys": {"pk": image["pk"], "sk": image["sk"]},
            "NewImage": image,
            "SequenceNumber": f"{seq:021d}",
            "SizeBytes": 300,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": STREAM_ARN,
    }


def board_of(entries: list[dict[str, Any]], kind: str = "xp", period_of=lambda occurred: "all") -> dict[str, list[tuple[str, int, str]]]:
    """Brute force: ``{period_key: [(user, score, reached_at)] best first}`` of the entries
    of ``kind`` (ties: who reached the score first, then user id)."""
    score: dict[tuple[str, str], int] = defaultdict(int)
    reached: dict[tuple[str, str], str] = {}
    for e in entries:
        amount = e.get("xp") if kind == "xp" else e.get("amount")
        if not e["sk"].startswith("XP#" if kind == "xp" else "COIN#") or not amount:
            continue
        if e["reason"] in ("starting_balance", "leaderboard_prize"):
            continue
        k = (period_of(e["occurred_at"]), e["user_id"])
        score[k] += amount
        reached[k] = max(reached.get(k, ""), e["recorded_at"])
    out: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
    for (pkey, user), s in score.items():
        out[pkey].append((user, s, reached[(pkey, user)]))
    for rows in out.values():
        rows.sort(key=lambda r: (-r[1], r[2], r[0]))
    return dict(out)


def day_of(stamp: str) -> str:
    return stamp[:10]


def later(t: datetime, seconds: float) -> datetime:
    return t + timedelta(seconds=seconds)
