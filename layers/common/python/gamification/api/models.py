"""API v1 request and response models (pydantic). Field names are the public contract of
docs/api.md; Powertools validates requests and builds the OpenAPI document from them.
"""

from __future__ import annotations

import json
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
    field_validator,
)

#: docs/api.md: 1 to 128 characters of ``A-Z a-z 0-9 _ . : @ -`` (never ``#``, the key delimiter).
ID_PATTERN = r"^[A-Za-z0-9_.:@-]{1,128}$"
UserId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
#: Idempotency keys: 1 to 255 visible ASCII characters (UUIDs, ULIDs, "order-123:retry").
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
MAX_METADATA_BYTES = 2048

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
    amount: Annotated[StrictInt, Field(ge=-1_000_000, le=1_000_000)] | None = None
    metadata: dict[str, Any] | None = None

    @field_validator("metadata")
    @classmethod
    def _small(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        # allow_nan=False: NaN / Infinity are not JSON and would be stored as invalid JSON
        if v is not None and len(json.dumps(v, separators=(",", ":"), allow_nan=False)) > MAX_METADATA_BYTES:
            raise ValueError(f"metadata must serialise to at most {MAX_METADATA_BYTES} bytes")
        return v


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
