"""``GET /v1/achievements`` (docs/achievements.md): the catalogue of the rules, hidden
achievements too, with unlock counts (the operator's view). One Query per count shard
(:func:`gamification.dal.progress_store.unlock_counts`); no writes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gamification.api.catalogue_models import CatalogueResponse
from gamification.dal.progress_store import unlock_counts
from gamification.usecases.outcome import Outcome
from gamification.usecases.progression_profile import reward_fields

if TYPE_CHECKING:
    from gamification.usecases.context import Context


def catalogue(ctx: Context, tenant: str) -> Outcome[CatalogueResponse]:
    """Every achievement of the rules with its criteria, reward and how many users unlocked it."""
    counts = unlock_counts(ctx.store, tenant)
    return Outcome(CatalogueResponse.model_validate({
        "achievements": [
            {"id": aid, "name": a.name, "category": a.category, "description": a.description,
             "criteria": a.criteria.model_dump(exclude_none=True), "reward": reward_fields(a.reward),
             "badge": a.badge, "hidden": a.hidden, "unlocked_count": counts.get(aid, 0)}
            for aid, a in ctx.rules.achievements.items()
        ]
    }))  # fmt: skip
