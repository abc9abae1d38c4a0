"""``PUT /v1/users/{user_id}/timezone`` (docs/streaks.md): the user's IANA time zone for
future streak dates, a profile attribute (:mod:`gamification.usecases.profile_writes`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from gamification.api.timezone_models import TimezoneRequest, TimezoneResponse
from gamification.domain.errors import GamificationError, ValidationFailed
from gamification.domain.periods import is_iana_zone, local_date
from gamification.usecases.idempotency import Idempotency
from gamification.usecases.outcome import Outcome
from gamification.usecases.profile_writes import update_profile
from gamification.usecases.progression_profile import TIMEZONE

if TYPE_CHECKING:
    from gamification.usecases.context import Context


def zone_named(name: str) -> str:
    """``name`` if it is an IANA time zone (the names a rules file's ``timezone`` may take:
    :func:`gamification.domain.periods.iana_zones`; never ``localtime``). Raises
    ValidationFailed (400, field ``timezone``)."""
    if is_iana_zone(name):
        return name
    raise ValidationFailed(f"unknown IANA time zone: {name!r}", field="timezone")


def set_timezone(
    ctx: Context, tenant: str, user_id: str, req: TimezoneRequest, idempotency_key: str | None = None
) -> Outcome[TimezoneResponse]:
    """Future awards' streak dates use ``req.timezone``; past dates keep the zone they were
    recorded in. With an Idempotency-Key a retry replays the first response (``today`` as it
    was then) and changes nothing: a late retry never sets back a zone changed since
    (docs/api.md). Raises ValidationFailed (400), IdempotencyKeyReused (422), Contention (503)."""
    idem = Idempotency.of(tenant, "set_timezone", user_id, req, idempotency_key, TimezoneResponse)
    try:
        zone = zone_named(req.timezone)
    except GamificationError as exc:
        return idem.replay_or_raise(ctx.store, exc)

    def respond(profile: Mapping[str, Any]) -> Outcome[TimezoneResponse]:
        today = local_date(ctx.now(), ZoneInfo(zone))
        return Outcome(TimezoneResponse.model_validate({"user_id": user_id, "timezone": zone, "today": today.isoformat()}))

    return update_profile(ctx, tenant, user_id, {TIMEZONE: zone}, idem, respond)
