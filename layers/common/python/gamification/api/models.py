"""API v1 request and response models (pydantic). Field names are the public contract of
docs/api.md; Powertools validates requests and builds the OpenAPI document from them.
"""

# No ``from __future__ import annotations`` here: pydantic would compile and eval every string
# annotation of the ~30 models at import (cold start); Python 3.11+ evaluates ``X | None`` itself.

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    StringConstraints,
)

from gamification.api.bounds import MAX_METADATA_BYTES, Metadata  # noqa: F401 - MAX_METADATA_BYTES re-exported

#: docs/api.md: 1 to 128 characters of ``A-Z a-z 0-9 _ . : @ -`` (never ``#``, the key delimiter).
ID_PATTERN = r"^[A-Za-z0-9_.:@-]{1,128}$"
UserId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
#: Idempotency keys: 1 to 255 visible ASCII characters (UUIDs, ULIDs, "order-123:retry").
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
#: A calendar date ``YYYY-MM-DD`` of the years 2000-2999 (leap days included), so that the
#: document states exactly which dates the engine reads (``2026-02-30`` or ``0000-00-00`` fail).
DATE_PATTERN = (
    r"^(?:2\d{3}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)"
    r"|02-(?:0[1-9]|1\d|2[0-8]))|(?:2\d(?:0[48]|[2468][048]|[13579][26])|2[048]00)-02-29)$"
)

RuleName = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64)]

#: RFC 3339 date-time with an offset (``2026-11-21T09:30:00Z``, ``...+01:00``): pydantic alone
#: would also take a Unix number or a date-time without ``T``-separated time.
RFC3339_PATTERN = r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
_RFC3339 = re.compile(RFC3339_PATTERN)


def _rfc3339(value: Any) -> Any:
    if isinstance(value, str) and _RFC3339.match(value):
        return value
    if isinstance(value, datetime):  # built in Python (tools, tests), not parsed from JSON
        return value
    raise ValueError("must be an RFC 3339 date-time with offset, e.g. 2026-11-21T09:30:00Z")


#: ``occurred_at`` of every event: an RFC 3339 string with offset, parsed to an aware datetime.
EventTime = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]


def _integral(value: Any) -> Any:
    # JSON Schema's ``integer`` includes 25.0, so the engine takes it as 25; 25.5, "25" and
    # true stay type errors.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def whole_number(ge: int, le: int) -> Any:
    """The type of an amount of XP or coins in ``ge``..``le``: a JSON integer (an int, or a
    float without a fraction). Bounds first, so that the document states them."""
    return Annotated[StrictInt, Field(ge=ge, le=le), BeforeValidator(_integral)]


class _Model(BaseModel):
    """Every API model builds its validator on first use, not at import: a function pays only
    for the models of its own route (cold start; Powertools builds the route's at import)."""

    model_config = ConfigDict(defer_build=True)


class _Request(_Model):
    model_config = ConfigDict(extra="forbid")


class AwardXpRequest(_Request):
    """``POST /v1/users/{user_id}/xp`` body. ``occurred_at`` (RFC 3339 with offset) defaults
    to now; ``metadata`` is stored on the ledger entry (JSON object, at most 2 KB).
    ``amount`` (signed XP, optional) is required by, and only allowed for, actions the rules
    declare with ``min``/``max`` (e.g. a bounty); fixed-XP actions are sent without it."""

    action: RuleName
    occurred_at: EventTime | None = None
    amount: whole_number(-1_000_000, 1_000_000) | None = None  # type: ignore[valid-type]
    #: Bounded in size, depth, keys, strings and numbers (gamification.api.bounds).
    metadata: Metadata = None


class AwardCoinsRequest(_Request):
    """``POST /v1/users/{user_id}/coins`` body: a once-per-window reward by ``reason``;
    ``scope`` for scoped rewards (e.g. a variant id), ``tier`` for tiered ones."""

    reason: RuleName
    scope: Annotated[StrictStr, StringConstraints(pattern=ID_PATTERN)] | None = None
    tier: RuleName | None = None
    occurred_at: EventTime | None = None


class DailyUsage(_Model):
    """Today's usage after an award (XP; ``None`` limits mean unlimited)."""

    date: str
    resets_at: str
    xp_gained: int
    xp_cap: int | None
    xp_remaining: int | None
    action_count: int
    action_limit: int | None
    action_remaining: int | None


# ---- streaks, achievements and badges --------------------------------------------------


class StreakSummary(_Model):
    """The daily streak after an award: ``extended`` when this award made its local date
    active for the first time."""

    current: int
    longest: int
    extended: bool


class RewardInfo(_Model):
    """XP (cap-exempt) and coins paid once."""

    xp: int
    coins: int


class UnlockedAchievement(_Model):
    """One achievement an award unlocked (its reward is already in the totals)."""

    id: str
    name: str
    category: str
    reward: RewardInfo
    badge: bool = False


class TimezoneRequest(_Request):
    """``PUT /v1/users/{user_id}/timezone``: an IANA zone name such as ``Europe/Berlin``."""

    timezone: Annotated[StrictStr, StringConstraints(min_length=1, max_length=64)] = Field(
        json_schema_extra={"x-rules": "timezones"}  # the document lists the IANA names
    )


class TimezoneResponse(_Model):
    user_id: str
    timezone: str
    today: str


class ActiveBadgeRequest(_Request):
    """``PUT /v1/users/{user_id}/active-badge``: an unlocked badge's id, or null for none."""

    badge: RuleName | None


class ActiveBadgeResponse(_Model):
    user_id: str
    active_badge: str | None
    badges: list[str]


class StreakDay(_Model):
    """One local date of the streak history."""

    date: str
    status: str  # active | frozen | missed


class StreakResponse(_Model):
    """``GET /v1/users/{user_id}/streak`` (local dates in ``timezone``)."""

    user_id: str
    timezone: str
    today: str
    current: int
    longest: int
    last_active_date: str | None
    today_active: bool
    at_risk: bool
    freezes_available: int
    history: list[StreakDay]


class ProgressInfo(_Model):
    """Toward an achievement: its least complete criterion."""

    current: int
    target: int
    criterion: str


class UserAchievement(_Model):
    id: str
    name: str
    category: str
    description: str | None
    unlocked: bool
    unlocked_at: str | None
    progress: ProgressInfo
    reward: RewardInfo
    badge: bool
    hidden: bool


class UserAchievementsResponse(_Model):
    """``GET /v1/users/{user_id}/achievements``: hidden ones appear once unlocked."""

    user_id: str
    achievements: list[UserAchievement]
    badges: list[str]
    active_badge: str | None


class CatalogueEntry(_Model):
    id: str
    name: str
    category: str
    description: str | None
    criteria: dict[str, Any]
    reward: RewardInfo
    badge: bool
    hidden: bool
    unlocked_count: int


class CatalogueResponse(_Model):
    """``GET /v1/achievements``: the operator's view, hidden ones included."""

    achievements: list[CatalogueEntry]


class AwardXpResponse(_Model):
    """Result of an XP award (Mikoshi's ``{exp_added, total_exp, level, leveled_up}``, extended)."""

    event_id: str
    user_id: str
    action: str
    occurred_at: str
    xp_awarded: int
    xp_requested: int
    capped: bool
    total_xp: int
    level: int
    level_name: str
    leveled_up: bool
    coins_awarded: int
    coins_balance: int
    daily: DailyUsage
    #: True when a penalty was cut so the total stays at the rules' floor (signed awards, docs/replay.md).
    floored: bool = False
    #: Streaks and achievements: the daily streak after the award (None without one).
    streak: StreakSummary | None = None
    achievements_unlocked: list[UnlockedAchievement] = []


class AwardCoinsResponse(_Model):
    """Result of a once-reward: ``awarded`` is true the first time in the window; ``amount``
    is the coins this request added (0 on a repeat); ``balance`` is the balance after it."""

    awarded: bool
    amount: int
    balance: int
    reason: str
    scope: str | None
    tier: str | None
    window: str
    window_key: str
    event_id: str | None
    #: Streaks and achievements: coin awards count toward ``coins_earned`` criteria.
    achievements_unlocked: list[UnlockedAchievement] = []


class ActionUsage(_Model):
    """One action on one day: ``count`` so far, ``limit``/``remaining`` (None: unlimited), ``xp``
    each (signed; None for a variable action, whose bounds are ``xp_min``/``xp_max``)."""

    count: int
    limit: int | None
    remaining: int | None
    xp: int | None
    xp_min: int | None = None
    xp_max: int | None = None


class LimitsResponse(_Model):
    """``GET /v1/users/{user_id}/limits`` (Mikoshi's ``GET /api/exp/limits``, extended)."""

    user_id: str
    date: str
    timezone: str
    level: int
    xp_gained: int
    xp_cap: int | None
    xp_remaining: int | None
    resets_at: str
    actions: dict[str, ActionUsage]


class LevelInfo(_Model):
    """One level: ``xp`` is the total XP needed; ``daily_xp_cap`` None when uncapped."""

    level: int
    name: str
    xp: int
    daily_xp_cap: int | None
    unlocks: list[str]


class LevelsResponse(_Model):
    """``GET /v1/levels`` (Mikoshi's ``GET /api/levels``)."""

    levels: list[LevelInfo]


class ProfileResponse(_Model):
    """``GET /v1/users/{user_id}``: totals and progress; an unknown user reads as new."""

    user_id: str
    total_xp: int
    level: int
    level_name: str
    xp_into_level: int
    xp_for_next_level: int | None
    progress: float
    coins_balance: int
    # Streaks, achievements and badges.
    streak_current: int = 0
    streak_longest: int = 0
    last_active_date: str | None = None
    badges: list[str] = []
    active_badge: str | None = None
    achievements_count: int = 0
    timezone: str | None = None


class ErrorDetail(_Model):
    """``code`` is stable and machine-readable; more fields may follow per code."""

    model_config = ConfigDict(extra="allow")
    code: str
    message: str


class ErrorResponse(_Model):
    """The one error envelope of API v1."""

    error: ErrorDetail


class GatewayError(_Model):
    """API Gateway's own answer, before any function runs: 401 ``{"message": "Unauthorized"}``
    when the ``Authorization`` header is missing, 404 ``{"message": "Not Found"}`` for an
    unknown route (HTTP APIs cannot reshape these)."""

    message: str


class BoardEntry(_Model):
    """One row of a leaderboard: 1-based ``rank`` (ties: earlier to reach the score first)."""

    rank: int
    user_id: str
    score: int


class BoardUser(_Model):
    """The requested user's exact position; ``rank`` None when the user has no score yet."""

    user_id: str
    rank: int | None
    score: int


class LeaderboardResponse(_Model):
    """``GET /v1/leaderboards/{board}``: ``entries`` best first; ``user`` with ``user_id``;
    ``around`` (the user and up to N players above and below) with ``around=N``; ``final``
    true when read from the roll-over's immutable snapshot (``final=true``)."""

    board: str
    metric: str
    period: str
    period_key: str
    final: bool
    entries: list[BoardEntry]
    user: BoardUser | None = None
    around: list[BoardEntry] | None = None
    finalised_at: str | None = None
