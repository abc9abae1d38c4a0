"""Achievements as data: pure evaluation of the rules' ``achievements:`` section (its models
are :mod:`gamification.domain.achievement_rules`; the functions here take the rules' instances
of them, so they name the models in annotations only).

Source: docs/achievements.md (the KPI tracker's achievements in four categories with the XP
reward on the record, unlocked once per user; the learning platform's
``check_and_award_achievements``; the character platform's badges and active badge).

An achievement unlocks when *all* its criteria hold for the user's lifetime figures
(:class:`Figures`): ``total_xp`` (XP), ``level``, ``streak`` (current run, active dates),
``action_count`` (lifetime accepted awards per action), ``coins_earned`` (coins ever
gained, spending not deducted). Its optional reward (XP and/or coins) is paid once, as
ledger entries with reason ``achievement:<id>``; reward XP is cap-exempt. ``badge: true``
makes it a badge the user may show (``active_badge``); ``hidden: true`` keeps it out of a
user's list until unlocked. Everything here is pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # annotations only: the rules load with the engine, on the first request
    from gamification.domain.achievement_rules import Achievement, Criteria

#: Ledger reason prefix of achievement rewards: ``achievement:first_kpi``.
ACHIEVEMENT_REASON = "achievement"


class Figures(NamedTuple):
    """A user's lifetime figures, as kept on the profile item."""

    total_xp: int = 0
    level: int = 1
    streak: int = 0
    action_counts: Mapping[str, int] = MappingProxyType({})
    coins_earned: int = 0


class Progress(NamedTuple):
    """Toward one achievement: ``current`` of ``target`` on its least complete criterion
    (``criterion``), capped at the target."""

    current: int
    target: int
    criterion: str


def _parts(criteria: Criteria, figures: Figures) -> list[tuple[str, int, int]]:
    """(criterion, current, target) per criterion; action counts add up."""
    parts = []
    if criteria.total_xp is not None:
        parts.append(("total_xp", figures.total_xp, criteria.total_xp))
    if criteria.level is not None:
        parts.append(("level", figures.level, criteria.level))
    if criteria.streak is not None:
        parts.append(("streak", figures.streak, criteria.streak))
    if criteria.action_count is not None:
        current = sum(min(figures.action_counts.get(a, 0), n) for a, n in criteria.action_count.items())
        parts.append(("action_count", current, sum(criteria.action_count.values())))
    if criteria.coins_earned is not None:
        parts.append(("coins_earned", figures.coins_earned, criteria.coins_earned))
    return parts


def met(criteria: Criteria, figures: Figures) -> bool:
    """True when every criterion holds."""
    return all(current >= target for _, current, target in _parts(criteria, figures))


def progress(criteria: Criteria, figures: Figures) -> Progress:
    """Progress on the least complete criterion (ties: the first listed)."""
    name, current, target = min(_parts(criteria, figures), key=lambda p: min(p[1], p[2]) / p[2])
    return Progress(min(max(current, 0), target), target, name)


def newly_met(
    catalogue: Mapping[str, Achievement], figures: Figures, unlocked: Iterable[str]
) -> list[str]:
    """Ids of achievements not yet ``unlocked`` whose criteria ``figures`` meet, in rules order."""
    done = set(unlocked)
    return [aid for aid, ach in catalogue.items() if aid not in done and met(ach.criteria, figures)]
