"""The operations the benchmark measures, one small entry each.

An entry names the function of template.yaml that serves it, the request, and a ``setup``
that brings the user into the state the operation is measured in (setup traffic is not
metered). An entry whose function is not in template.yaml yet is reported as pending.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

#: (method, path, body or None, idempotency key or None)
Request = tuple[str, str, dict[str, Any] | None, str | None]


@dataclass(frozen=True)
class Operation:
    name: str
    function: str  # logical id in template.yaml
    request: Callable[[str], Request]  # user id -> the measured request
    setup: Callable[[str], list[Request]] = lambda user: []
    note: str = ""


def xp(user: str, action: str, key: str | None = None) -> Request:
    return ("POST", f"/v1/users/{user}/xp", {"action": action}, key)


def yesterday(req: Request) -> Request:
    """The same award, 24 hours ago (within the default max_event_age of 48h)."""
    method, path, body, key = req
    when = datetime.now(timezone.utc) - timedelta(days=1)
    return (method, path, {**(body or {}), "occurred_at": when.isoformat()}, key)


def coins(user: str, reason: str, key: str | None = None, **extra: Any) -> Request:
    return ("POST", f"/v1/users/{user}/coins", {"reason": reason, **extra}, key)


def get(path: str) -> Request:
    return ("GET", path, None, None)


OPERATIONS: list[Operation] = [
    Operation(
        "award_xp",
        "AwardXpFunction",
        lambda u: xp(u, "create_character", f"{u}-k1"),
        # The setup unlocks first_character, so the measured award is an ordinary one.
        setup=lambda u: [xp(u, "create_character", f"{u}-k0")],
        note="existing user, 30 XP: profile, day usage, XP entry (as the key's record, carrying its xp_bonus coins)",
    ),
    Operation(
        "award_xp_partial",
        "AwardXpFunction",
        lambda u: xp(u, "create_character", f"{u}-k15"),
        setup=lambda u: [xp(u, "create_character", f"{u}-k0")] + [xp(u, "forked", f"{u}-k{i}") for i in range(1, 12)],
        note="140/150 XP used: 30 requested, 10 awarded (capped)",
    ),
    # Streaks and achievements: the cost of an award that extends a streak or unlocks one.
    Operation(
        "award_xp_streak",
        "AwardXpFunction",
        lambda u: xp(u, "create_character", f"{u}-k1"),
        setup=lambda u: [yesterday(xp(u, "create_character", f"{u}-k0"))],
        note="active yesterday: the award extends the streak to 2 (streak state on the profile; no extra item)",
    ),
    Operation(
        "award_xp_unlock",
        "AwardXpFunction",
        lambda u: xp(u, "create_character", f"{u}-k1"),
        setup=lambda u: [xp(u, "forked", f"{u}-k0")],
        note="first create_character unlocks first_character: + unlock marker + catalogue count shard "
        "(a reward adds one ledger entry per currency)",
    ),
    # The lean award (no coin earned): what each item of the transaction costs on its own.
    Operation(
        "award_xp_no_bonus",
        "AwardXpFunction",
        lambda u: xp(u, "character_liked", f"{u}-k1"),
        setup=lambda u: [xp(u, "forked", f"{u}-k0")],
        note="10 -> 15 XP, no coin earned: profile, day usage, XP entry stored as the key's record",
    ),
    Operation(
        "award_xp_no_key",
        "AwardXpFunction",
        lambda u: xp(u, "character_liked"),
        setup=lambda u: [xp(u, "forked", f"{u}-k0")],
        note="the same award without an Idempotency-Key: profile, day usage, XP entry",
    ),
    Operation(
        "award_xp_replay",
        "AwardXpFunction",
        lambda u: xp(u, "create_character", f"{u}-k1"),
        setup=lambda u: [xp(u, "create_character", f"{u}-k1")],
        note="retry with the same Idempotency-Key: one read, the first response replayed",
    ),
    Operation(
        "coins_once",
        "AwardCoinsFunction",
        lambda u: coins(u, "daily_login", f"{u}-c1"),
        setup=lambda u: [xp(u, "forked", f"{u}-k0")],
        note="first daily_login of the day: marker, ledger entry (as the key's record), balance",
    ),
    Operation(
        "coins_repeat",
        "AwardCoinsFunction",
        lambda u: coins(u, "daily_login", f"{u}-c2"),
        setup=lambda u: [coins(u, "daily_login", f"{u}-c1")],
        note="second daily_login of the day (new key): awarded false, only the key is recorded",
    ),
    Operation(
        "limits",
        "GetLimitsFunction",
        lambda u: get(f"/v1/users/{u}/limits"),
        setup=lambda u: [xp(u, "create_character", f"{u}-k0")],
    ),
    Operation(
        "profile",
        "GetProfileFunction",
        lambda u: get(f"/v1/users/{u}"),
        setup=lambda u: [xp(u, "create_character", f"{u}-k0")],
    ),
    Operation("levels", "GetLevelsFunction", lambda u: get("/v1/levels"), note="from the rules; no table access"),
    # Leaderboards (issue on another branch): measured as soon as the function exists.
    Operation(
        "leaderboard_top10",
        "GetLeaderboardFunction",
        lambda u: get("/v1/leaderboards/xp?period=daily&limit=10"),
        setup=lambda u: [xp(f"{u}-{i}", "forked", f"{u}-{i}-k") for i in range(12)],
        note="12 users on today's board, top 10 read",
    ),
    Operation(
        "leaderboard_rank",
        "GetLeaderboardFunction",
        lambda u: get(f"/v1/leaderboards/xp?period=daily&limit=10&user_id={u}-5"),
        setup=lambda u: [xp(f"{u}-{i}", "forked", f"{u}-{i}-k") for i in range(12)],
        note="top 10 plus one user's rank",
    ),
]


# ---- topics and spaced repetition (docs/topics.md) ------------------------------------------


def topic_attempt(user: str, task: str, key: str | None = None, correct: bool = True) -> Request:
    return ("POST", f"/v1/users/{user}/topics/whole_numbers/attempts", {"task_id": task, "correct": correct}, key)


OPERATIONS += [
    Operation(
        "topic_attempt",
        "TopicAttemptFunction",
        lambda u: topic_attempt(u, "task-2", f"{u}-t2"),
        setup=lambda u: [topic_attempt(u, "task-1", f"{u}-t1")],
        note="correct attempt on a new task, 10 XP: task, topic, day counter, XP entry (carrying its xp_bonus "
        "coins), profile, day usage, idempotency record",
    ),
    Operation(
        "topic_attempt_wrong",
        "TopicAttemptFunction",
        lambda u: topic_attempt(u, "task-1", f"{u}-t2", correct=False),
        setup=lambda u: [topic_attempt(u, "task-1", f"{u}-t1")],
        note="wrong answer on a known task: 0 XP, so no profile, usage or boards; task, topic, entry, key",
    ),
    Operation(
        "topics",
        "GetTopicsFunction",
        lambda u: get(f"/v1/users/{u}/topics"),
        setup=lambda u: [topic_attempt(u, "task-1", f"{u}-t1")],
        note="one BatchGetItem of every topic of the rules (2 here; 50 topics: 1 request, 50 items)",
    ),
    Operation(
        "reviews",
        "GetReviewsFunction",
        lambda u: get(f"/v1/users/{u}/reviews?due_by=2099-01-01"),
        setup=lambda u: [topic_attempt(u, f"task-{i}", f"{u}-t{i}") for i in range(3)],
        note="3 tasks due: one Query of GSI reviews (5,000 tasks: still 1 request, at most `limit` items)",
    ),
]
