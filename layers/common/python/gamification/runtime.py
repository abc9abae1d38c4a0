"""Process-wide wiring: one :class:`Engine` per Lambda container (or local process),
built on first use from :mod:`gamification.settings` and the rules file."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from gamification.dal.store import Store, dynamodb_client
from gamification.settings import get_settings

if TYPE_CHECKING:
    from gamification.usecases.engine import Engine


@lru_cache(maxsize=1)
def store() -> Store:
    """The table of this process (the authorizer needs only this, not the rules)."""
    return Store(dynamodb_client(), get_settings().table_name)


@lru_cache(maxsize=1)
def engine() -> Engine:
    """The engine of this process. Tests reset it with :func:`reset`."""
    # Imported here, not at the top: the authorizer imports this module for store() only.
    from gamification.domain.rules import cached_rules
    from gamification.usecases.engine import Engine

    settings = get_settings()
    return Engine(
        cached_rules(settings.rules_file or None),
        store(),
        max_attempts=settings.max_write_attempts,
        retry_budget_s=settings.retry_budget_seconds,
    )


def reset() -> None:
    """Forget cached settings, rules, client, store and engine (after changing the environment)."""
    from gamification.domain.rules import cached_rules

    engine.cache_clear()
    store.cache_clear()
    get_settings.cache_clear()
    cached_rules.cache_clear()
    dynamodb_client.cache_clear()
