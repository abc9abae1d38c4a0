"""The time zone that dates a user's topic days and reviews (docs/topics.md): the profile's
``timezone`` when it names an IANA zone, else the rules' zone. Shared by the attempt
(:mod:`gamification.usecases.topic_attempts`) and the reads
(:mod:`gamification.usecases.topic_reads`), so that neither loads the other."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def user_zone(profile: dict[str, Any] | None, default: ZoneInfo) -> ZoneInfo:
    """The user's time zone: the profile's ``timezone`` attribute when it names an IANA
    zone, else ``default`` (the rules' zone)."""
    name = (profile or {}).get("timezone")
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return default


def zone_name(zone: ZoneInfo) -> str:
    """The IANA name of ``zone``, as the topic items and answers record it."""
    return zone.key or str(zone)
