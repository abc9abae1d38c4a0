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
#: A free-text reason of an operator's adjustment or a reversal: 1 to 200 characters, no
#: control characters.
Reason = Annotated[StrictStr, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]

#: RFC 3339 date-time with an offset (``2026-11-21T09:30:00Z``, ``...+01:00``): pydantic alone
#: would also take a Unix number or a date-time without ``T``-separated time.
RFC3339_PATTERN = r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
_RFC3339 = re.compile(RFC3339_PATTERN)


def _rfc3339(value: Any) -> Any:
    if isinstance(value, str) and _RFC3339.match(value):
        try:  # the shape is right; the calendar and clock must be too (no hour 99, no Feb 30)
            datetime.fromisoformat(value.upper())
        except ValueError:
            raise ValueError(f"{value!r} is not a real date and time; an RFC 3339 date-time with offset, "
                             "e.g. 2026-11-21T09:30:00Z") from None  # fmt: skip
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


class NoBody(_Request):
    """The body of a request that takes none (a ``DELETE``: none, or ``{}``): for an
    Idempotency-Key's fingerprint, such a request is its route and the ids in its path."""


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


#: Where the route models live (cold start: a function imports only its route's module); the
#: names stay importable from here, loaded on first access.
_LAZY = {
    "AwardXpRequest": "gamification.api.award_models",
    "AwardCoinsRequest": "gamification.api.award_models",
    "DailyUsage": "gamification.api.award_models",
    "StreakSummary": "gamification.api.reward_models",
    "RewardInfo": "gamification.api.reward_info_models",
    "UnlockedAchievement": "gamification.api.reward_models",
    "AwardXpResponse": "gamification.api.award_models",
    "AwardCoinsResponse": "gamification.api.award_models",
    "TimezoneRequest": "gamification.api.timezone_models",
    "TimezoneResponse": "gamification.api.timezone_models",
    "ActiveBadgeRequest": "gamification.api.badge_models",
    "ActiveBadgeResponse": "gamification.api.badge_models",
    "StreakDay": "gamification.api.streak_models",
    "StreakResponse": "gamification.api.streak_models",
    "ProgressInfo": "gamification.api.achievement_models",
    "UserAchievement": "gamification.api.achievement_models",
    "UserAchievementsResponse": "gamification.api.achievement_models",
    "CatalogueEntry": "gamification.api.catalogue_models",
    "CatalogueResponse": "gamification.api.catalogue_models",
    "ActionUsage": "gamification.api.read_models",
    "LimitsResponse": "gamification.api.read_models",
    "LevelInfo": "gamification.api.read_models",
    "LevelsResponse": "gamification.api.read_models",
    "ProfileResponse": "gamification.api.profile_models",
    "BoardEntry": "gamification.api.read_models",
    "BoardUser": "gamification.api.read_models",
    "LeaderboardResponse": "gamification.api.read_models",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
