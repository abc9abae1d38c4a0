"""Response models of the read routes: limits, levels, leaderboards (docs/api.md), in their own
module so that a function loads only its route's models (cold start); the profile's, which
the dashboard embeds, are :mod:`gamification.api.profile_models`.
:mod:`gamification.api.models` re-exports them all."""

from gamification.api.models import _Model


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
