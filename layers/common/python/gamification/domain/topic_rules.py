"""The rules' ``topics:`` section (pydantic model and its cross-topic checks, validated with
the rules file). The XP of an attempt, levels, locks and reviews computed from it are
:mod:`gamification.domain.topics`; the rules models import only this module.
Reference: docs/topics.md.
"""

from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

#: Topic names: lower snake case (safe in keys), as every other rule name.
TopicName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
#: Largest XP of one topic (and of base_xp): sums stay exact integers.
MAX_TOPIC_XP = 1_000_000
#: Largest multiplier of any tier (10 x base XP per task).
MAX_MULTIPLIER = 10
#: Longest review interval (days), ~10 years.
MAX_INTERVAL_DAYS = 3650



class Topic(BaseModel):
    """One topic of the ``topics:`` section (units: XP integers, days, percent)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    title: str = Field(min_length=1, max_length=128)
    base_xp: int = Field(ge=0, le=MAX_TOPIC_XP)
    daily_full_tasks: int = Field(default=5, ge=0, le=10_000)
    daily_half_tasks: int = Field(default=5, ge=0, le=10_000)
    multiplier_full: float = Field(default=1.0, ge=0, le=MAX_MULTIPLIER)
    multiplier_half: float = Field(default=0.5, ge=0, le=MAX_MULTIPLIER)
    multiplier_low: float = Field(default=0.1, ge=0, le=MAX_MULTIPLIER)
    multiplier_early: float = Field(default=0.5, ge=0, le=MAX_MULTIPLIER)
    #: Per correct attempt of the day after the first: the tier multiplier shrinks by this
    #: fraction each time (0 disables; must be below 1).
    daily_xp_decay: float = Field(default=0.0, ge=0, lt=1)
    #: Floor of any multiplier, in percent of base_xp (0..100).
    min_xp_percent: float = Field(default=0.0, ge=0, le=100)
    level_thresholds: tuple[Annotated[int, Field(ge=0, le=MAX_TOPIC_XP)], ...] = (0,)
    review_intervals: tuple[Annotated[int, Field(ge=1, le=MAX_INTERVAL_DAYS)], ...] = (1, 3, 7, 14, 30)
    max_xp: int | None = Field(default=None, ge=1, le=MAX_TOPIC_XP)
    requires: dict[TopicName, Annotated[int, Field(ge=0, le=1000)]] = {}
    scheduler: Literal["fixed", "fsrs"] = "fixed"
    #: FSRS only (ignored by fixed intervals): the probability of recall the schedule aims for.
    desired_retention: float = Field(default=0.9, gt=0.5, lt=1)

    @field_validator("level_thresholds")
    @classmethod
    def _ascending(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v:
            raise ValueError("at least one threshold is needed (e.g. [0, 50, 150])")
        for i in range(1, len(v)):
            if v[i] <= v[i - 1]:
                raise ValueError(f"thresholds must be strictly ascending ({v[i]} after {v[i - 1]}, entry {i})")
        return v

    @field_validator("review_intervals")
    @classmethod
    def _intervals(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v:
            raise ValueError("at least one interval (days) is needed, e.g. [1, 3, 7]")
        return v

    @property
    def max_level(self) -> int:
        """The highest topic level (the number of thresholds)."""
        return len(self.level_thresholds)


def check_topics(topics: Mapping[str, Topic]) -> None:
    """Cross-topic checks of a ``topics:`` section; raises ValueError naming the field:
    a prerequisite naming an unknown topic, requiring a level its topic does not have, a
    topic requiring itself, or a cycle of prerequisites."""
    for name, topic in topics.items():
        for req, need in topic.requires.items():
            field = f"topics.{name}.requires.{req}"
            if req == name:
                raise ValueError(f"{field}: a topic cannot require itself")
            if req not in topics:
                raise ValueError(f"{field}: unknown topic {req!r}")
            if need > topics[req].max_level:
                raise ValueError(f"{field}: level {need} does not exist (topic {req} has {topics[req].max_level} levels)")
    # Depth-first search for a cycle: white (unseen), grey (on the path), black (done).
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for req in topics[name].requires:
            if state.get(req) == 1:
                cycle = " -> ".join([*path[path.index(req):], req]) if req in path else f"{name} -> {req}"
                raise ValueError(f"topics.{name}.requires: prerequisite cycle {cycle}")
            if req not in state:
                visit(req, [*path, req])
        state[name] = 2

    for name in topics:
        if name not in state:
            visit(name, [name])
