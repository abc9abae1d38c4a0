"""The one source of "now" (UTC, aware), so tests and replays can move time."""

from datetime import datetime, timezone


def now() -> datetime:
    """Current instant, timezone-aware UTC."""
    return datetime.now(timezone.utc)
