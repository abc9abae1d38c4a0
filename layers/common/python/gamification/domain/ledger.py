"""Pure rules of reversals (no I/O); the entries they reverse, the history's cursors and the
kinds of non-award coin entries are :mod:`gamification.domain.entries` (re-exported here).

- Reversals write a compensating entry with the opposite amount. They move back the
  balance or total, the day's XP and action count, and the boards the entry moved; lifetime
  counters, streaks and unlocked achievements stay. A reversal is itself not reversible,
  nor are starting balances or the ``xp_bonus`` coins of an XP award (reverse the award:
  its bonus coins go back with it).
- An XP reversal never takes the total below the rules' ``xp.floor`` (docs/rules.md): its
  compensation is cut as a penalty is (``floored``), and the cut amount is what the total,
  the day's XP, the boards and a topic's XP move by, so each stays the sum of its entries.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from gamification.domain.awards import clip_to_floor
from gamification.domain.entries import (  # noqa: F401 - re-exported
    ADJUSTMENT,
    REVERSAL,
    SPEND,
    TYPE_PREFIX,
    InsufficientCoins,
    bonus_sort_key,
    decode_cursor,
    encode_cursor,
    entry_amount,
    entry_type,
    entry_view,
    ledger_entries,
    ledger_kind,
    ledger_owner,
)
from gamification.domain.errors import GamificationError, NotFound
from gamification.domain.reasons import XP_BONUS_REASON

#: Reasons whose entries cannot be reversed (reverse what caused them instead).
UNREVERSIBLE_REASONS = frozenset({"starting_balance", XP_BONUS_REASON})


class AlreadyReversed(GamificationError):
    """409: the entry has been reversed already (``reversed_by`` names the reversal)."""

    status = 409
    code = "already_reversed"


class NotReversible(GamificationError):
    """409: a reversal, a starting balance or ``xp_bonus`` coins (see module docstring)."""

    status = 409
    code = "not_reversible"


class EntryNotFound(NotFound):
    """404: no ledger entry with this id for this user."""

    code = "entry_not_found"


class Reversal(NamedTuple):
    """What reversing one entry moves: ``xp`` and ``coins`` (signed, opposite to the
    original; ``xp`` cut by the XP floor), XP off the day's cap (``cap_xp``) and one action
    count (``action``), and the deltas of ``xp``/``coins`` boards (``board_xp``,
    ``board_coins``). ``xp_requested``: the XP a full compensation would move (the
    original's amount, negated); ``floored``: ``xp`` was cut to keep the total at the floor.
    ``cap_xp`` and ``board_xp`` follow ``xp``, the amount the compensating entry records."""

    xp: int
    coins: int
    cap_xp: int
    action: str | None
    board_xp: int
    board_coins: int
    xp_requested: int = 0
    floored: bool = False


def plan_reversal(
    entry: dict[str, Any],
    bonus: dict[str, Any] | None,
    *,
    cap_exempt: bool,
    board_reasons: frozenset[str],
    total_xp: int = 0,
    xp_floor: int | None = None,
) -> Reversal:
    """The compensation of ``entry`` (with its ``xp_bonus`` coin entry ``bonus`` for XP).

    ``cap_exempt``: the entry's action does not count toward the daily cap; ``board_reasons``
    the coin reasons that count on ``coins`` boards (rewards and ``xp_bonus``);
    ``total_xp``: the profile's total XP before the reversal; ``xp_floor``: the rules'
    ``xp.floor`` (None: no floor), below which the compensation of an XP entry never takes
    the total (it is cut to ``xp_floor - total_xp``, or 0 at or below the floor: ``floored``).
    Raises NotReversible / AlreadyReversed (409).
    """
    if entry.get("reverses") or entry.get("kind") == REVERSAL:
        raise NotReversible("A reversal cannot be reversed", entry_reason=entry.get("reason"))
    if entry.get("reason") in UNREVERSIBLE_REASONS or entry.get("action") == "starting_balance":
        raise NotReversible(
            f"Entries of reason {entry.get('reason')} cannot be reversed"
            + (" (reverse the XP award that earned them)" if entry.get("reason") == "xp_bonus" else ""),
            entry_reason=entry.get("reason"),
        )
    if entry.get("reversed_by"):
        raise AlreadyReversed("This ledger entry has been reversed already", reversed_by=entry["reversed_by"])
    amount = entry_amount(entry)
    if ledger_kind(entry) == "xp":
        bonus_coins = int(bonus["amount"]) if bonus and not bonus.get("reversed_by") else 0
        xp = clip_to_floor(-amount, total_xp, xp_floor)
        return Reversal(
            xp=xp,
            coins=-bonus_coins,
            cap_xp=0 if cap_exempt else xp,
            action=entry.get("action"),
            board_xp=xp,
            board_coins=-bonus_coins,
            xp_requested=-amount,
            floored=xp != -amount,
        )
    on_boards = entry.get("kind") in (None, "award") and entry.get("reason") in board_reasons
    return Reversal(xp=0, coins=-amount, cap_xp=0, action=None, board_xp=0, board_coins=-amount if on_boards else 0)
