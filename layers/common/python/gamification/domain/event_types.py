"""The domain events' types, how long their notifications stay in an inbox and the webhook
retry schedule: what the webhook and inbox routes need of :mod:`gamification.domain.events`
without its derivation from ledger items and the rules (pure; no I/O)."""

EVENT_TYPES = (
    "xp.awarded",
    "level.up",
    "coins.awarded",
    "coins.spent",
    "achievement.unlocked",
    "streak.extended",
    "streak.lost",
    "streak.freeze_used",
    "leaderboard.finalised",
    "prize.paid",
    "entry.reversed",
)

#: How long a notification stays in the inbox (seconds; DynamoDB TTL).
NOTIFICATION_TTL_S = 30 * 24 * 3600

#: Webhook retry delays after the n-th failed attempt (seconds): the Standard Webhooks
#: schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), 27.6 h in all; then the dead-letter
#: queue. The first retry comes within 60 s.
RETRY_DELAYS_S = (5, 300, 1800, 7200, 18000, 36000, 36000)
MAX_ATTEMPTS = len(RETRY_DELAYS_S) + 1


def retry_delay(failed_attempts: int, scale: float = 1.0) -> int | None:
    """Seconds to wait after ``failed_attempts`` (1-based) failures; None: give up (DLQ).
    ``scale`` compresses the schedule (tests, local runs)."""
    if failed_attempts < 1 or failed_attempts > len(RETRY_DELAYS_S):
        return None
    return max(int(RETRY_DELAYS_S[failed_attempts - 1] * scale), 0)
