"""Names the engine writes itself, in a module of the names alone, so that the ledger and
data-access code that needs them does not load the rules models: the ledger reason of the
XP-proportional coin bonus, reserved in the rules' ``coins.rewards`` (docs/rules.md), and
the attribute prefix under which an XP ledger entry carries those coins
(docs/ledger-and-events.md)."""

XP_BONUS_REASON = "xp_bonus"
#: Attribute prefix of the ``xp_bonus`` coin entry an XP entry carries
#: (:func:`gamification.domain.entries.ledger_entries`).
BONUS_PREFIX = "bonus_"
