"""Level arithmetic: level from total XP, XP for the next level, progress (Progressive Flow, the KPI tracker).

Levels are the rules' ascending ladder; ``xp`` is the total XP needed to hold a level.
Pure functions over :class:`gamification.domain.rules.Rules`.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # annotations only
    from gamification.domain.rules import Level, Rules


def level_for_xp(rules: Rules, total_xp: int) -> Level:
    """The highest level whose threshold ``total_xp`` (XP, >= 0 counts) reaches."""
    thresholds = [lv.xp for lv in rules.levels]
    return rules.levels[max(bisect_right(thresholds, total_xp) - 1, 0)]


class Progress(NamedTuple):
    """Where a user stands on the ladder.

    ``xp_into_level``: XP above the current level's threshold; ``xp_for_next_level``: XP
    between this level and the next (None at the top); ``progress``: 0..1 (1 at the top).
    """

    level: Level
    xp_into_level: int
    xp_for_next_level: int | None
    progress: float


def progress_for_xp(rules: Rules, total_xp: int) -> Progress:
    """:class:`Progress` for a user holding ``total_xp`` XP."""
    level = level_for_xp(rules, total_xp)
    into = max(total_xp - level.xp, 0)
    if level.level == len(rules.levels):
        return Progress(level, into, None, 1.0)
    span = rules.levels[level.level].xp - level.xp
    return Progress(level, into, span, round(min(into / span, 1.0), 4))
