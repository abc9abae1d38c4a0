"""Scheduled (EventBridge Scheduler): finalise every ended leaderboard period, pay prizes.

The instant comes from the event's ``time`` (the scheduled time; ``make invoke`` with
events/rollover.json replays any past instant), else now. A time more than 5 minutes ahead
of the clock is refused (usecases/rollover.py ``MAX_EVENT_AHEAD``): logged as an error,
metric ``RolloverSkipped``, nothing written. ``detail.tenants`` optionally limits a run to
some tenants; by default every tenant of the registry is rolled over.
"""

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from gamification import clock
from gamification.observability import logger, metrics, tracer
from gamification.runtime import engine
from gamification.usecases.rollover import EventTimeAhead, Rollover, RolloverReport, scheduled_instant


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        now = scheduled_instant(event, clock.now())
    except EventTimeAhead as exc:  # answered, not raised: a retry of the event is refused again
        logger.error("roll-over skipped", extra={"error": str(exc)})
        metrics.add_metric(name="RolloverSkipped", unit=MetricUnit.Count, value=1)
        return asdict(RolloverReport.refused(exc))
    tenants = ((event or {}).get("detail") or {}).get("tenants")
    report = Rollover(engine().rules, engine().store).run(now, tenants)
    metrics.add_metric(name="PeriodsFinalised", unit=MetricUnit.Count, value=len(report.finalised))
    metrics.add_metric(name="PrizesPaid", unit=MetricUnit.Count, value=report.prizes_paid)
    logger.info("roll-over done", extra={"finalised": len(report.finalised), "prizes": report.prizes_paid})
    return asdict(report)
