"""The profile writes of the time-zone and badge routes
(:mod:`gamification.usecases.set_timezone`, :mod:`gamification.usecases.set_active_badge`):
a few attributes SET on the profile item on the awards' read -> decide -> commit skeleton
(:func:`gamification.usecases.optimistic.read_decide_commit`). Each attempt: one strongly
consistent BatchGetItem (profile, the item required, the idempotency record) + one
TransactWriteItems."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from gamification.dal import items, keys
from gamification.dal.progress_store import require_item, set_profile_attrs
from gamification.dal.store import version_of
from gamification.domain.errors import BadgeNotUnlocked
from gamification.usecases.optimistic import Read, Write, read_decide_commit

if TYPE_CHECKING:
    from gamification.usecases.context import Context
    from gamification.usecases.idempotency import Idempotency
    from gamification.usecases.outcome import Outcome

R = TypeVar("R", bound=BaseModel)


def update_profile(
    ctx: Context,
    tenant: str,
    user_id: str,
    attrs: dict[str, Any],
    idem: Idempotency[R],
    respond: Callable[[Mapping[str, Any]], Outcome[R]],
    require: keys.Key | None = None,
) -> Outcome[R]:
    """SET ``attrs`` on the profile (created, with the rules' starting XP, if absent):
    optimistic on its version, with an Idempotency-Key (``idem``) its record in the same
    transaction, and answered by ``respond(profile after)``. ``require``: an item that must
    exist (an unlock marker), read with the profile and checked by DynamoDB in the
    transaction (ConditionCheck): one gone meanwhile refuses the commit, and the next read
    says so. Raises BadgeNotUnlocked (409) when ``require`` is missing, Contention (503)."""
    rules, store = ctx.rules, ctx.store
    now = ctx.now()
    k_profile = keys.profile_key(tenant, user_id)

    def decide(read: Read) -> Write:
        profile, required = read
        if require and required is None:
            raise BadgeNotUnlocked("This badge is not unlocked for this user")
        tx = store.transaction(token=uuid.uuid4().hex)
        if profile:
            set_profile_attrs(tx, k_profile, version_of(profile), attrs)
        else:
            fresh = {k: v for k, v in attrs.items() if v is not None}  # nothing to remove yet
            tx.bump_profile(k_profile, 0, user_id=user_id, now=now, xp=rules.xp.start, set_attrs=fresh)
            if rules.xp.start:
                tx.put_new(*items.starting_balance(tenant, user_id, xp=rules.xp.start, first_event=now,
                                                   now=now, event_id=uuid.uuid4().hex))  # fmt: skip
        if require:
            require_item(tx, require)
        if idem.key:  # an erasure of the user finds the key's record by it
            tx.put_new(*idem.user_request(user_id))
        return Write(respond({**(profile or {}), **attrs}), tx)

    return read_decide_commit(store, ctx.retry, idem, now, [k_profile, require], decide)
