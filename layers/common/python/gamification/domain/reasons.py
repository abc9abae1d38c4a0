"""The ledger reason the engine writes itself for the XP-proportional coin bonus, reserved in
the rules' ``coins.rewards`` (docs/rules.md): a module of the name alone, so that the ledger
and data-access code that needs it does not load the rules models."""

XP_BONUS_REASON = "xp_bonus"
