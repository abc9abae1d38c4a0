"""The rules' ``achievements:`` section (pydantic models and its cross-field checks,
validated with the rules file). Evaluating a user's figures against it is
:mod:`gamification.domain.achievements`; the rules models import only this module.
Reference: docs/achievements.md.
"""

from collections.abc import Iterable, Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from gamification.domain.streak_rules import Reward

_Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
_Count = Annotated[int, Field(ge=1, le=1_000_000_000)]
Category = Literal["exploration", "milestones", "streaks", "mastery"]
CRITERIA = ("total_xp", "level", "streak", "action_count", "coins_earned")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Criteria(_Strict):
    """What must hold (all of it) to unlock; give at least one."""

    total_xp: _Count | None = None
    level: _Count | None = None
    streak: _Count | None = None
    action_count: dict[_Name, _Count] | None = None
    coins_earned: _Count | None = None

    @model_validator(mode="after")
    def _some(self) -> "Criteria":
        if all(getattr(self, name) is None for name in CRITERIA):
            raise ValueError(f"give at least one criterion: {', '.join(CRITERIA)}")
        if self.action_count is not None and not self.action_count:
            raise ValueError("action_count: name at least one action")
        return self


class Achievement(_Strict):
    """One achievement of the catalogue (``name`` shown to users, ``category`` one of
    exploration / milestones / streaks / mastery)."""

    name: str = Field(min_length=1, max_length=80)
    category: Category
    description: str | None = Field(default=None, max_length=280)
    criteria: Criteria
    reward: Reward | None = None
    hidden: bool = False
    badge: bool = False


def check_catalogue(
    catalogue: Mapping[str, Achievement], actions: Iterable[str], top_level: int, has_streak: bool
) -> list[str]:
    """Cross-field problems of an ``achievements:`` section, each naming its field."""
    known = set(actions)
    problems = []
    for aid, ach in catalogue.items():
        where = f"achievements.{aid}.criteria"
        for action in ach.criteria.action_count or {}:
            if action not in known:
                problems.append(f"{where}.action_count.{action}: unknown action {action!r} (not in 'actions')")
        if ach.criteria.level is not None and ach.criteria.level > top_level:
            problems.append(f"{where}.level: level {ach.criteria.level} does not exist (highest is {top_level})")
        if ach.criteria.streak is not None and not has_streak:
            problems.append(f"{where}.streak: the rules have no 'streaks.daily' section")
    return problems
