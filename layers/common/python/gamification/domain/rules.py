"""The rules file (v1): a game's levels, caps, actions, coin rewards and leaderboards.

Reference: docs/rules.md (every field, default and error). The numbers in the bundled default
come from Mikoshi (actions, limits, level caps) and the exam-prep coin system (coin rewards
and the 1:10 XP bonus).

The file is validated once at load with pydantic. A bad file raises :class:`RulesError`
whose message names the offending field (``actions.daily_chat.daily_limit: ...``).
"""

import os
import re
from datetime import timedelta
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from gamification.domain.periods import format_duration, is_iana_zone  # noqa: F401 - format_duration re-exported
from gamification.domain.reasons import XP_BONUS_REASON  # noqa: F401 - re-exported

# Streaks, achievements and badges: their sections live in their own modules.
from gamification.domain.achievement_rules import Achievement, check_catalogue
from gamification.domain.streak_rules import Streaks
from gamification.domain.topic_rules import Topic, TopicName, check_topics  # topics and spaced repetition

DEFAULT_RULES_FILE = Path(__file__).resolve().parents[1] / "default_rules.yaml"

#: Names of actions, rewards, tiers, boards: lower snake case, so they are safe in keys.
Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Window = Literal["day", "week", "month", "forever"]
Period = Literal["daily", "weekly", "monthly", "all_time"]

#: XP or coins in one award; large enough for any game, small enough that sums stay exact.
MAX_AMOUNT = 1_000_000

#: Board periods (summed over boards): each is one more set of items the board projector
#: keeps up to date, off the award path (docs/leaderboards.md).
MAX_BOARD_PERIODS = 32

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class RulesError(ValueError):
    """A rules file that cannot be used; the message names the field and the problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Level(_Strict):
    """One level: ``xp`` is the total XP needed to hold it."""

    level: int = Field(ge=1)
    name: str = Field(min_length=1, max_length=64)
    xp: int = Field(ge=0)
    unlocks: tuple[str, ...] = ()


class DailyXpCap(_Strict):
    """A daily XP cap (XP per local day) for the inclusive level range ``levels: [lo, hi]``."""

    levels: tuple[int, int]
    cap: int = Field(ge=0, le=MAX_AMOUNT)

    @field_validator("levels")
    @classmethod
    def _ordered(cls, v: tuple[int, int]) -> tuple[int, int]:
        if v[0] < 1 or v[0] > v[1]:
            raise ValueError("must be [lowest, highest] with 1 <= lowest <= highest")
        return v


class Action(_Strict):
    """XP for one action: a fixed amount, or a variable one within declared bounds.

    - ``xp``: a fixed, signed award (Mikoshi's actions are positive; a negative ``xp`` is a
      penalty, e.g. Stack Exchange "downvote received: -2").
    - ``min``/``max``: a variable award; the request carries a signed ``amount`` with
      ``min <= amount <= max`` (e.g. a bounty: ``{min: 50, max: 500}`` to the winner,
      ``{min: -500, max: -50}`` to the offerer). Give either ``xp`` or both bounds.
    - ``daily_limit``: awards per local day (None: unlimited); penalties count too.
    - ``cap_exempt``: the award neither counts toward nor is cut by the daily XP cap
      (Stack Exchange: accepts and bounties are not subject to the 200/day cap).

    Units: XP (integers). Reference: docs/rules.md "actions"; penalties, variable amounts and
    cap-exempt actions: docs/replay.md.
    """

    xp: int | None = Field(default=None, ge=-MAX_AMOUNT, le=MAX_AMOUNT)
    min: int | None = Field(default=None, ge=-MAX_AMOUNT, le=MAX_AMOUNT)
    max: int | None = Field(default=None, ge=-MAX_AMOUNT, le=MAX_AMOUNT)
    daily_limit: int | None = Field(default=None, ge=1, le=1_000_000)
    cap_exempt: bool = False

    @model_validator(mode="after")
    def _fixed_or_bounded(self) -> "Action":
        bounded = self.min is not None or self.max is not None
        if self.xp is not None and bounded:
            raise ValueError("give either 'xp' (fixed) or 'min' and 'max' (variable), not both")
        if self.xp is None and (self.min is None or self.max is None):
            raise ValueError("give 'xp' (fixed) or both 'min' and 'max' (variable amount)")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("'min' must not be greater than 'max'")
        return self

    @property
    def variable(self) -> bool:
        """True when the request must carry the amount (``min``/``max`` declared)."""
        return self.xp is None


class XpTotals(_Strict):
    """Bounds of every user's XP total (the "reputation" of a Q&A site).

    - ``start``: the total a new user starts with (Stack Exchange: 1). It is written as a
      ``starting_balance`` ledger entry when the user's profile is created.
    - ``floor``: the lowest total a penalty can leave (Stack Exchange: 1; default 0 so that
      penalties never make XP negative; null for no floor). A penalty that would pass it is
      cut to it (``floored: true``) and DynamoDB refuses any write that would break it.
    """

    start: int = Field(default=0, ge=0, le=MAX_AMOUNT)
    floor: int | None = Field(default=0, ge=-MAX_AMOUNT, le=MAX_AMOUNT)

    @model_validator(mode="after")
    def _start_above_floor(self) -> "XpTotals":
        if self.floor is not None and self.start < self.floor:
            raise ValueError("'start' must not be below 'floor'")
        return self


class CoinReward(_Strict):
    """A once-per-window coin reward (the exam-prep coin system's ``awardCoinsOnce``).

    Exactly one of ``amount`` (fixed) or ``tiers`` (amount chosen by the request's ``tier``).
    ``scoped`` rewards are once per (user, scope, window), e.g. once per (user, variant).
    """

    amount: int | None = Field(default=None, ge=1, le=MAX_AMOUNT)
    tiers: dict[Name, Annotated[int, Field(ge=1, le=MAX_AMOUNT)]] | None = None
    window: Window
    scoped: bool = False

    @model_validator(mode="after")
    def _amount_or_tiers(self) -> "CoinReward":
        if (self.amount is None) == (self.tiers is None):
            raise ValueError("give exactly one of 'amount' or 'tiers'")
        if self.tiers is not None and not self.tiers:
            raise ValueError("'tiers' must name at least one tier")
        return self


class Coins(_Strict):
    """Coin rules: ``xp_ratio`` XP per bonus coin (0 disables ``xp_bonus``) and rewards."""

    xp_ratio: int = Field(default=0, ge=0, le=MAX_AMOUNT)
    rewards: dict[Name, CoinReward] = {}

    @field_validator("rewards")
    @classmethod
    def _no_reserved(cls, v: dict[str, CoinReward]) -> dict[str, CoinReward]:
        if XP_BONUS_REASON in v:
            raise ValueError(f"'{XP_BONUS_REASON}' is reserved for the XP-proportional bonus")
        return v


class Leaderboard(_Strict):
    """A leaderboard: what it ranks (``xp`` gained or ``coins`` earned) over which periods.

    ``shards``: write shards per board period (a user's score lives in shard
    ``hash(user_id) % shards``; see docs/leaderboards.md for the throughput arithmetic).
    ``snapshot_size``: how many top entries the roll-over freezes per ended period.
    ``prizes``: coins for ranks 1, 2, ... of every ended (non all-time) period, paid once
    per period and rank by the roll-over.
    """

    metric: Literal["xp", "coins"] = "xp"
    periods: tuple[Period, ...] = ("daily", "weekly", "monthly", "all_time")
    shards: int = Field(default=16, ge=1, le=256)
    snapshot_size: int = Field(default=100, ge=1, le=1000)
    prizes: tuple[Annotated[int, Field(ge=1, le=MAX_AMOUNT)], ...] = ()

    @model_validator(mode="after")
    def _prizes_fit(self) -> "Leaderboard":
        if len(self.prizes) > self.snapshot_size:
            raise ValueError("prizes: more prize ranks than snapshot_size")
        return self

    @field_validator("periods")
    @classmethod
    def _unique(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v or len(set(v)) != len(v):
            raise ValueError("list each period once, at least one")
        return v


class Rules(_Strict):
    """A validated rules file. Build with :func:`load_rules` or :func:`parse_rules`."""

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,), defer_build=True)

    version: Literal[1]
    timezone: str = "UTC"
    max_event_age: timedelta = timedelta(hours=48)
    levels: tuple[Level, ...]
    daily_xp_caps: tuple[DailyXpCap, ...] = ()
    actions: dict[Name, Action]
    xp: XpTotals = XpTotals()
    coins: Coins = Coins()
    leaderboards: dict[Name, Leaderboard] = {}
    # Streaks, achievements and badges (docs/streaks.md, docs/achievements.md).
    streaks: Streaks = Streaks()
    achievements: dict[Name, Achievement] = {}

    @model_validator(mode="after")
    def _progression_refers_to_rules(self) -> "Rules":
        problems = check_catalogue(self.achievements, self.actions, len(self.levels), self.streaks.daily is not None)
        daily = self.streaks.daily
        if daily is not None and daily.qualifying != "any":
            problems += [
                f"streaks.daily.qualifying: unknown action {a!r} (not in 'actions')"
                for a in daily.qualifying
                if a not in self.actions
            ]
        if problems:
            raise ValueError("\n  ".join(problems))
        return self

    # Topics and spaced repetition (docs/topics.md): per-topic XP tiers, levels, reviews.
    topics: dict[TopicName, Topic] = {}

    @model_validator(mode="after")
    def _topic_graph(self) -> "Rules":
        check_topics(self.topics)  # unknown prerequisites, unreachable levels, cycles
        return self

    @field_validator("leaderboards")
    @classmethod
    def _boards_fit_a_transaction(cls, v: dict[str, Leaderboard]) -> dict[str, Leaderboard]:
        # Each board period costs the projector about one write per touched item and batch
        # (docs/leaderboards.md, "The projection"); a bound keeps that cost in sight.
        total = sum(len(b.periods) for b in v.values())
        if total > MAX_BOARD_PERIODS:
            raise ValueError(f"at most {MAX_BOARD_PERIODS} board periods in all (found {total})")
        return v

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        # The same names as PUT /v1/users/{id}/timezone: IANA zones, never the host's
        # "localtime" (gamification.domain.periods.iana_zones).
        if not is_iana_zone(v):
            raise ValueError(f"unknown IANA time zone {v!r}")
        return v

    @field_validator("max_event_age", mode="before")
    @classmethod
    def _duration(cls, v: object) -> object:
        if isinstance(v, str):
            m = _DURATION.match(v)
            if not m:
                raise ValueError("use a duration like '48h', '2d', '90m'")
            return timedelta(seconds=int(m[1]) * _UNIT_SECONDS[m[2]])
        return v

    @field_validator("max_event_age")
    @classmethod
    def _age_bounds(cls, v: timedelta) -> timedelta:
        if not timedelta(minutes=1) <= v <= timedelta(days=366):
            raise ValueError("must be between 1m and 366d")
        return v

    @field_validator("levels")
    @classmethod
    def _ladder(cls, v: tuple[Level, ...]) -> tuple[Level, ...]:
        if not v:
            raise ValueError("at least one level is needed")
        for i, lv in enumerate(v):
            if lv.level != i + 1:
                raise ValueError(f"levels must be numbered 1, 2, 3... in order (entry {i} is {lv.level})")
            if i == 0 and lv.xp != 0:
                raise ValueError("level 1 must need 0 XP")
            if i > 0 and lv.xp <= v[i - 1].xp:
                raise ValueError(f"level {lv.level} must need more XP than level {lv.level - 1}")
        return v

    @model_validator(mode="after")
    def _caps_fit_levels(self) -> "Rules":
        seen: set[int] = set()
        top = len(self.levels)
        for cap in self.daily_xp_caps:
            lo, hi = cap.levels
            if hi > top:
                raise ValueError(f"daily_xp_caps: level {hi} does not exist (highest is {top})")
            overlap = seen & set(range(lo, hi + 1))
            if overlap:
                raise ValueError(f"daily_xp_caps: level {min(overlap)} has two caps")
            seen |= set(range(lo, hi + 1))
        return self

    @cached_property
    def zone(self) -> ZoneInfo:
        """The rules' time zone as a ``ZoneInfo``."""
        return ZoneInfo(self.timezone)

    def daily_xp_cap(self, level: int) -> int | None:
        """Daily XP cap (XP per local day) for ``level``; None when the level is uncapped."""
        for cap in self.daily_xp_caps:
            if cap.levels[0] <= level <= cap.levels[1]:
                return cap.cap
        return None


def _problem(error: dict) -> str:
    """``field.path: message``; model-level checks already start their message with the field."""
    path = ".".join(str(p) for p in error["loc"] if not str(p).startswith("function-"))
    message = error["msg"].removeprefix("Value error, ")
    return f"{path}: {message}" if path else message


def parse_rules(data: object, source: str = "rules") -> Rules:
    """Validate already-parsed YAML/JSON ``data`` into :class:`Rules`.

    Raises :class:`RulesError` with one line per problem, each naming its field.
    """
    try:
        return Rules.model_validate(data)
    except ValidationError as exc:
        lines = [_problem(e) for e in exc.errors()]
        raise RulesError(f"{source} is not a valid rules file:\n  " + "\n  ".join(lines)) from None


def load_rules(path: str | os.PathLike[str] | None = None) -> Rules:
    """Read and validate a YAML rules file (default: the bundled seed rules).

    PyYAML is imported here, on the first load (cold start: a function that never loads the
    rules never imports it), with its safe loader on libyaml where the wheel has it (Linux
    wheels do, Lambda's too): the same documents and types as ``yaml.safe_load``, parsed
    about 10x faster (the bundled rules in ~2 ms instead of ~20 ms of a first request).

    Raises :class:`RulesError` for an unreadable file, bad YAML or a bad field.
    """
    import yaml

    path = Path(path or DEFAULT_RULES_FILE)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except OSError as exc:
        raise RulesError(f"cannot read rules file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise RulesError(f"{path} is not valid YAML: {exc}") from None
    return parse_rules(data, source=str(path))


@lru_cache(maxsize=8)
def cached_rules(path: str | None) -> Rules:
    """:func:`load_rules`, once per path per process (Lambda containers reuse it)."""
    return load_rules(path)
