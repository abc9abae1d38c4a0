"""Import the math-learning system's three tables (CSV exports) into topics and spaced
repetition (docs/topics.md, docs/replay.md "Topics"):

| kind                 | columns (camelCase or snake_case; extra columns ignored)                 | becomes |
|----------------------|---------------------------------------------------------------------------|---------|
| ``topic_xp_config``  | ``topicSlug``, ``topicTitle``, ``baseTaskXp``, ``dailyFullTasks``, ``dailyHalfTasks``, ``multiplierFull``, ``multiplierHalf``, ``multiplierLow``, ``multiplierEarly``, ``dailyXpDecay``, ``minXpPercent``, ``levelThresholds``, ``reviewIntervals``, ``maxXp`` (+ ``requires`` JSON) | a ``topics:`` section of a rules file |
| ``user_task_attempts`` | ``userId``, ``taskId``, ``topicSlug``, ``completedAt``, ``xpEarned``, ``isCorrect``, ``nextReviewDate``, ``masteryLevel`` [``srsStage``] (+ ``id``, ``reviewCount``) | one XP ledger entry per attempt (its time kept), the topic's and the user's XP; each task's state from its latest attempt |
| ``user_topic_xp``    | ``userId``, ``topicSlug``, ``currentXp`` [``totalXpEarned``], ``dailyTasksCount``, ``dailyTasksDate`` (+ ``lastActivity``) | an ``imported_balance`` entry bringing the topic's XP to ``currentXp``; that day's task count |

Arrays (``levelThresholds``, ``reviewIntervals``) are PostgreSQL literals ``{0,50,150}`` or
JSON ``[0, 50, 150]``; ``minXpPercent`` is in percent (10 = 10 %). Times without an offset
are UTC. Import attempts before progress (progress is a balance: it adds only the difference).

A run parses and checks every row first; a malformed row raises :class:`ImportRowError`
naming the file, the row (the header is row 1) and the field, and nothing of the run is
written. Re-running an import writes nothing twice (ledger keys derive from the row).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from pydantic import ValidationError

from gamification.api.models import ID_PATTERN
from gamification.dal import keys
from gamification.dal.store import TTL_ATTRIBUTE, Store, WriteConflict, epoch, marshal, unmarshal
from gamification.dal.topic_store import TOPIC_COUNT_PREFIX
from gamification.domain.rules import Rules, RulesError, parse_rules
from gamification.domain.topic_rules import Topic
from gamification.domain.topics import topic_level
from gamification.ops.imports import IMPORTED_BALANCE_REASON, ImportRowError

_ID = re.compile(ID_PATTERN)

TOPIC_KINDS = ("topic_xp_config", "user_task_attempts", "user_topic_xp")
CHUNK = 40  # entries per transaction, with the profile and the topic item

#: rules field <- source columns (first present wins)
_CONFIG_COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("topicTitle", "topic_title", "title"),
    "base_xp": ("baseTaskXp", "base_task_xp", "base_xp"),
    "daily_full_tasks": ("dailyFullTasks", "daily_full_tasks"),
    "daily_half_tasks": ("dailyHalfTasks", "daily_half_tasks"),
    "multiplier_full": ("multiplierFull", "multiplier_full"),
    "multiplier_half": ("multiplierHalf", "multiplier_half"),
    "multiplier_low": ("multiplierLow", "multiplier_low"),
    "multiplier_early": ("multiplierEarly", "multiplier_early"),
    "daily_xp_decay": ("dailyXpDecay", "daily_xp_decay"),
    "min_xp_percent": ("minXpPercent", "min_xp_percent"),
    "level_thresholds": ("levelThresholds", "level_thresholds"),
    "review_intervals": ("reviewIntervals", "review_intervals"),
    "max_xp": ("maxXp", "max_xp"),
    "requires": ("requires",),
}
_ARRAYS = {"level_thresholds", "review_intervals"}
_INTS = {"base_xp", "daily_full_tasks", "daily_half_tasks", "max_xp"}


class _Row:
    """One CSV row with its file and number, for errors that name all three."""

    def __init__(self, file: str, n: int, row: dict[str, str]) -> None:
        self.file, self.n, self.row = file, n, row

    def fail(self, field: str, problem: str) -> ImportRowError:
        return ImportRowError(f"{self.file}: row {self.n}: {field}: {problem}")

    def get(self, *names: str, required: bool = True) -> str | None:
        for name in names:
            v = self.row.get(name)
            if v is not None and v.strip() != "":
                return v.strip()
        if required:
            raise self.fail(names[0], "missing")
        return None

    def int(self, *names: str, required: bool = True) -> int | None:
        v = self.get(*names, required=required)
        if v is None:
            return None
        try:
            f = float(v)
            if f != int(f):
                raise ValueError
            return int(f)
        except (ValueError, OverflowError):
            raise self.fail(names[0], f"{v!r} is not a whole number") from None

    def time(self, *names: str, required: bool = True) -> datetime | None:
        v = self.get(*names, required=required)
        if v is None:
            return None
        try:
            t = datetime.fromisoformat(v.replace("Z", "+00:00").replace(" ", "T", 1))
        except ValueError:
            raise self.fail(names[0], f"{v!r} is not an ISO 8601 time") from None
        return t if t.tzinfo else t.replace(tzinfo=timezone.utc)

    def date(self, *names: str, required: bool = True) -> date | None:
        t = self.time(*names, required=required)
        return None if t is None else t.date()

    def bool(self, *names: str) -> bool:
        v = (self.get(*names) or "").lower()
        if v in ("true", "t", "1", "yes"):
            return True
        if v in ("false", "f", "0", "no"):
            return False
        raise self.fail(names[0], f"{v!r} is not true/false")

    def user(self) -> str:
        v = self.get("userId", "user_id")
        if not _ID.match(v):  # type: ignore[arg-type]
            raise self.fail("userId", f"{v!r} is not 1-128 of A-Z a-z 0-9 _ . : @ -")
        return v  # type: ignore[return-value]

    def topic(self, rules: Rules) -> str:
        v = self.get("topicSlug", "topic_slug")
        if v not in rules.topics:
            raise self.fail("topicSlug", f"unknown topic {v!r} (not in the rules' topics:)")
        return v  # type: ignore[return-value]


def _rows(file: str, rows: Iterable[dict[str, str]]) -> list[_Row]:
    return [_Row(file, n, row) for n, row in enumerate(rows, start=2)]


def _array(r: _Row, field: str, raw: str) -> list[float]:
    text = raw.strip()
    if text.startswith("{") and text.endswith("}"):
        text = "[" + text[1:-1] + "]"
    try:
        values = json.loads(text)
        if not isinstance(values, list) or not all(isinstance(v, (int, float)) for v in values):
            raise ValueError
    except ValueError:
        raise r.fail(field, f"{raw!r} is not an array of numbers ({{0,50}} or [0, 50])") from None
    return values


# ---- topic_xp_config -> a rules file ---------------------------------------------------------


def parse_topic_configs(file: str, rows: Iterable[dict[str, str]]) -> dict[str, dict[str, Any]]:
    """The ``topics:`` section from ``topic_xp_config`` rows (each checked as a rules topic)."""
    out: dict[str, dict[str, Any]] = {}
    for r in _rows(file, rows):
        slug = r.get("topicSlug", "topic_slug")
        topic: dict[str, Any] = {}
        for field, names in _CONFIG_COLUMNS.items():
            raw = r.get(*names, required=False)
            if raw is None:
                continue
            if field in _ARRAYS:
                topic[field] = [int(v) for v in _array(r, names[0], raw)]
            elif field == "requires":
                try:
                    topic[field] = json.loads(raw)
                except ValueError:
                    raise r.fail(names[0], f"{raw!r} is not a JSON object") from None
            elif field == "title":
                topic[field] = raw
            elif field in _INTS:
                topic[field] = r.int(*names)
            else:
                try:
                    topic[field] = float(raw)
                except ValueError:
                    raise r.fail(names[0], f"{raw!r} is not a number") from None
        topic.setdefault("title", slug)
        try:
            Topic.model_validate(topic)
        except ValidationError as exc:
            e = exc.errors()[0]
            field = str(e["loc"][0]) if e["loc"] else "row"
            source = _CONFIG_COLUMNS.get(field, (field,))[0]
            raise r.fail(source, e["msg"].removeprefix("Value error, ")) from None
        if slug in out:
            raise r.fail("topicSlug", f"topic {slug!r} appears twice")
        out[slug] = topic  # type: ignore[index]
    return out


def topics_rules(base: dict[str, Any], topics: dict[str, dict[str, Any]], file: str) -> dict[str, Any]:
    """``base`` rules (parsed YAML) with ``topics`` merged in (imported ones win), validated;
    RulesError -> ImportRowError naming the file."""
    data = {**base, "topics": {**(base.get("topics") or {}), **topics}}
    try:
        parse_rules(data, source=file)
    except RulesError as exc:
        raise ImportRowError(str(exc)) from None
    return data


# ---- user_task_attempts / user_topic_xp -------------------------------------------------------


@dataclass(frozen=True)
class AttemptRow:
    row: int
    user_id: str
    topic: str
    task_id: str
    completed_at: datetime
    xp: int
    correct: bool
    next_review_date: date | None
    stage: int
    source_id: str


@dataclass(frozen=True)
class ProgressRow:
    row: int
    user_id: str
    topic: str
    xp: int
    daily_tasks: int | None
    daily_date: date | None
    last_activity: datetime | None


def parse_attempts(file: str, rows: Iterable[dict[str, str]], rules: Rules) -> list[AttemptRow]:
    out = []
    for r in _rows(file, rows):
        user, topic = r.user(), r.topic(rules)
        task = r.get("taskId", "task_id")
        if not _ID.match(task):  # type: ignore[arg-type]
            raise r.fail("taskId", f"{task!r} is not 1-128 of A-Z a-z 0-9 _ . : @ -")
        when = r.time("completedAt", "completed_at")
        xp = r.int("xpEarned", "xp_earned")
        if xp < 0 or xp > 1_000_000:  # type: ignore[operator]
            raise r.fail("xpEarned", f"{xp} is outside 0..1000000")
        stage = r.int("srsStage", "srs_stage", "masteryLevel", "mastery_level", required=False) or 0
        if stage < 0:
            raise r.fail("masteryLevel", f"{stage} is negative")
        rid = r.get("id", required=False) or hashlib.sha256(f"{user}|{topic}|{task}|{when}|{r.n}".encode()).hexdigest()[:24]
        out.append(AttemptRow(r.n, user, topic, task, when, xp, r.bool("isCorrect", "is_correct"),  # type: ignore[arg-type]
                              r.date("nextReviewDate", "next_review_date", required=False), stage, rid))  # fmt: skip
    return out


def parse_progress(file: str, rows: Iterable[dict[str, str]], rules: Rules) -> list[ProgressRow]:
    out = []
    for r in _rows(file, rows):
        user, topic = r.user(), r.topic(rules)
        xp = r.int("currentXp", "current_xp", "totalXpEarned", "total_xp_earned")
        if xp < 0 or xp > 1_000_000:  # type: ignore[operator]
            raise r.fail("currentXp", f"{xp} is outside 0..1000000")
        count = r.int("dailyTasksCount", "daily_tasks_count", required=False)
        day = r.date("dailyTasksDate", "daily_tasks_date", required=False)
        out.append(ProgressRow(r.n, user, topic, xp, count, day, r.time("lastActivity", "last_activity", required=False)))  # type: ignore[arg-type]
    return out


@dataclass
class TopicImportSummary:
    written: int = 0
    skipped: int = 0
    unchanged: int = 0
    tasks: int = 0


def _entry(tenant: str, kind: str, user: str, topic: str, source_id: str, when: datetime, xp: int, now: datetime,
           **extra: Any) -> tuple[keys.Key, dict[str, Any]]:  # fmt: skip
    key = keys.xp_entry_key(tenant, user, when, f"import-{kind}-{source_id}")
    reason = extra.pop("reason", f"topic:{topic}")
    attrs = {"type": "xp", "user_id": user, "action": reason, "reason": reason, "xp": xp, "topic": topic,
             "occurred_at": keys.stamp(when), "recorded_at": keys.stamp(now), "imported_from": kind,
             "source_id": source_id, **extra}  # fmt: skip
    return key, attrs


def _add_xp(store: Store, tenant: str, user: str, topic: str, entries: list[tuple[keys.Key, dict[str, Any]]],
            start_xp: int, now: datetime) -> bool:  # fmt: skip
    """One transaction: the entries, the profile (version) and the topic item (``ADD xp``,
    ``version``). False when an entry exists already (imported before)."""
    k_profile, k_topic = keys.profile_key(tenant, user), keys.topic_key(tenant, user, topic)
    delta = sum(int(a["xp"]) for _, a in entries)
    for _ in range(20):
        profile = store.get(k_profile)
        tx = store.transaction()
        for key, attrs in entries:
            tx.put_new(key, attrs)
        tx.bump_profile(k_profile, int(profile["version"]) if profile else 0, user_id=user, now=now,
                        xp=delta + (0 if profile else start_xp))  # fmt: skip
        tx.items.append({"Update": {
            "TableName": store.table, "Key": marshal(k_topic),
            "UpdateExpression": "SET #t = :t, #u = :u, #ty = :ty, #upd = :now ADD #xp :d, #v :one",
            "ExpressionAttributeNames": {"#t": "topic", "#u": "user_id", "#ty": "type", "#upd": "updated_at",
                                         "#xp": "xp", "#v": "version"},
            "ExpressionAttributeValues": marshal({":t": topic, ":u": user, ":ty": "topic", ":now": keys.stamp(now),
                                                  ":d": delta, ":one": 1}),
        }})  # fmt: skip
        try:
            store.commit(tx)
            return True
        except WriteConflict as exc:
            if "ConditionalCheckFailed" in exc.reasons[: len(entries)]:
                return False
    raise RuntimeError(f"too much contention importing {user}")


def apply_attempts(store: Store, tenant: str, rules: Rules, rows: list[AttemptRow], now: datetime) -> TopicImportSummary:
    """Write attempt rows (oldest first per user and topic), then each task's latest state
    and each touched topic's review histogram and level."""
    summary = TopicImportSummary()
    groups: dict[tuple[str, str], list[AttemptRow]] = {}
    for a in sorted(rows, key=lambda a: (a.completed_at, a.row)):
        groups.setdefault((a.user_id, a.topic), []).append(a)
    for (user, topic), attempts in groups.items():
        def entry(a: AttemptRow) -> tuple[keys.Key, dict[str, Any]]:
            return _entry(tenant, "user_task_attempts", user, topic, a.source_id, a.completed_at, a.xp, now,
                          task_id=a.task_id, correct=a.correct, srs_stage=a.stage,
                          next_review_date=a.next_review_date.isoformat() if a.next_review_date else None)  # fmt: skip
        for i in range(0, len(attempts), CHUNK):
            chunk = attempts[i : i + CHUNK]
            if _add_xp(store, tenant, user, topic, [entry(a) for a in chunk], rules.xp.start, now):
                summary.written += len(chunk)
                continue
            for a in chunk:
                if _add_xp(store, tenant, user, topic, [entry(a)], rules.xp.start, now):
                    summary.written += 1
                else:
                    summary.skipped += 1
        latest: dict[str, AttemptRow] = {}
        counts: dict[str, tuple[int, int]] = {}
        for a in attempts:
            latest[a.task_id] = a
            n, c = counts.get(a.task_id, (0, 0))
            counts[a.task_id] = (n + 1, c + int(a.correct))
        for task, a in latest.items():
            due = (a.next_review_date or a.completed_at.date() + timedelta(days=1)).isoformat()
            try:
                store.client.put_item(
                    TableName=store.table,
                    Item=marshal({**keys.task_key(tenant, user, topic, task), "type": "task", "user_id": user,
                                  "topic": topic, "task_id": task, "srs_stage": a.stage, "next_review_date": due,
                                  "review_sk": keys.review_sort_key(due, topic, task), "attempts": counts[task][0],
                                  "correct_count": counts[task][1], "last_attempt_at": keys.stamp(a.completed_at),
                                  "last_correct": a.correct, "version": 1, "imported_from": "user_task_attempts",
                                  "created_at": keys.stamp(now), "updated_at": keys.stamp(now)}),
                    ConditionExpression="attribute_not_exists(pk) OR #at <= :at",
                    ExpressionAttributeNames={"#at": "last_attempt_at"},
                    ExpressionAttributeValues=marshal({":at": keys.stamp(a.completed_at)}),
                )  # fmt: skip
                summary.tasks += 1
            except store.client.exceptions.ConditionalCheckFailedException:
                pass  # the engine has a newer attempt on this task
        _refresh_topic(store, tenant, user, topic, rules.topics[topic], now)
    return summary


def _refresh_topic(store: Store, tenant: str, user: str, topic: str, rule: Topic, now: datetime) -> None:
    """Recompute a topic item's review histogram, task count and level from its task items
    (consistent queries of ``TASK#{topic}#``; an operator step, not on the request path)."""
    due: dict[str, int] = {}
    kwargs: dict[str, Any] = {
        "TableName": store.table, "ConsistentRead": True,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
        "ExpressionAttributeValues": marshal({":pk": keys.user_pk(tenant, user), ":p": f"TASK#{topic}#"}),
    }  # fmt: skip
    while True:
        resp = store.client.query(**kwargs)
        for item in map(unmarshal, resp.get("Items", [])):
            due[item["next_review_date"]] = due.get(item["next_review_date"], 0) + 1
        if "LastEvaluatedKey" not in resp:
            break
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
    item = store.get(keys.topic_key(tenant, user, topic)) or {}
    xp = int(item.get("xp", 0))
    store.client.update_item(
        TableName=store.table, Key=marshal(keys.topic_key(tenant, user, topic)),
        UpdateExpression="SET #due = :due, #tasks = :n, #lvl = :lvl, #upd = :now ADD #v :one",
        ExpressionAttributeNames={"#due": "due", "#tasks": "tasks", "#lvl": "level", "#upd": "updated_at", "#v": "version"},
        ExpressionAttributeValues=marshal({":due": due, ":n": sum(due.values()), ":lvl": topic_level(rule, xp),
                                           ":now": keys.stamp(now), ":one": 1}),
    )  # fmt: skip


def apply_progress(store: Store, tenant: str, rules: Rules, rows: list[ProgressRow], now: datetime) -> TopicImportSummary:
    """Bring each (user, topic) to its ``currentXp`` with one ``imported_balance`` entry of
    the difference (none when equal), and create that day's task count unless the engine
    already counted the day."""
    summary = TopicImportSummary()
    for p in rows:
        item = store.get(keys.topic_key(tenant, p.user_id, p.topic)) or {}
        diff = p.xp - int(item.get("xp", 0))
        if diff == 0:
            summary.unchanged += 1
        else:
            when = p.last_activity or now
            source = f"{p.user_id}-{p.topic}-{p.xp}"
            entry = _entry(tenant, "user_topic_xp", p.user_id, p.topic, source, when, diff, now,
                           reason=IMPORTED_BALANCE_REASON, topic_xp=p.xp)  # fmt: skip
            if _add_xp(store, tenant, p.user_id, p.topic, [entry], rules.xp.start, now):
                summary.written += 1
            else:
                summary.skipped += 1
            _refresh_topic(store, tenant, p.user_id, p.topic, rules.topics[p.topic], now)
        if p.daily_tasks and p.daily_date:
            k_day = keys.topic_day_key(tenant, p.user_id, p.daily_date.isoformat())
            try:
                store.client.update_item(
                    TableName=store.table, Key=marshal(k_day),
                    UpdateExpression="SET #n = :n, #d = :d, #ttl = :exp",
                    ConditionExpression="attribute_not_exists(#n)",
                    ExpressionAttributeNames={"#n": TOPIC_COUNT_PREFIX + p.topic, "#d": "day", "#ttl": TTL_ATTRIBUTE},
                    ExpressionAttributeValues=marshal({":n": p.daily_tasks, ":d": p.daily_date.isoformat(),
                                                       ":exp": epoch(now + rules.max_event_age + timedelta(days=7))}),
                )  # fmt: skip
            except store.client.exceptions.ConditionalCheckFailedException:
                pass
    return summary
