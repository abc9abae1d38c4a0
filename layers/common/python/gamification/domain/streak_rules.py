"""The rules' ``streaks:`` section (pydantic models, validated with the rules file). The
walk and the per-user state that apply it are :mod:`gamification.domain.streaks`; the rules
models import only this module, so a function that never computes a streak does not create
that machinery. Reference: docs/streaks.md.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

#: Action names (same pattern as the rules' actions).
_ActionName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
_MAX_AMOUNT = 1_000_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Freezes(_Strict):
    """Streak freezes: ``start`` at the user's first activity, one more after every
    ``earn_every_days`` active dates of a run (None: never earned), never more than ``max``."""

    start: int = Field(default=0, ge=0, le=365)
    earn_every_days: int | None = Field(default=None, ge=1, le=3650)
    max: int = Field(default=2, ge=0, le=365)

    @model_validator(mode="after")
    def _start_within_max(self) -> "Freezes":
        if self.start > self.max:
            raise ValueError("'start' must not be greater than 'max'")
        return self


class Reward(_Strict):
    """XP and/or coins paid once (a milestone or an achievement). XP is cap-exempt."""

    xp: int = Field(default=0, ge=0, le=_MAX_AMOUNT)
    coins: int = Field(default=0, ge=0, le=_MAX_AMOUNT)

    @model_validator(mode="after")
    def _something(self) -> "Reward":
        if not self.xp and not self.coins:
            raise ValueError("a reward needs 'xp' or 'coins' (or both) above 0")
        return self


class StreakRule(_Strict):
    """One streak: which awards qualify (``any`` accepted XP award, or a list of actions),
    optional freezes and milestones (run length in active dates -> reward)."""

    qualifying: Literal["any"] | tuple[_ActionName, ...] = "any"
    freezes: Freezes | None = None
    milestones: dict[int, Reward] = {}

    @field_validator("qualifying")
    @classmethod
    def _some(cls, v: object) -> object:
        if isinstance(v, tuple) and (not v or len(set(v)) != len(v)):
            raise ValueError("list each qualifying action once, at least one (or 'any')")
        return v

    @field_validator("milestones")
    @classmethod
    def _lengths(cls, v: dict[int, Reward]) -> dict[int, Reward]:
        for length in v:
            if not 1 <= length <= 36500:
                raise ValueError(f"milestone {length}: a run length must be between 1 and 36500 dates")
        return dict(sorted(v.items()))

    def qualifies(self, action: str) -> bool:
        """True when an accepted award of ``action`` makes its date active."""
        return self.qualifying == "any" or action in self.qualifying


class Streaks(_Strict):
    """The rules' ``streaks:`` section; ``daily`` is the one streak kind (local dates)."""

    daily: StreakRule | None = None
