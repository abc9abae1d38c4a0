"""Lambda authorizer of the HTTP API (payload 2.0, simple responses): Bearer API key -> tenant."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from gamification.observability import logger
from gamification.runtime import store
from gamification.usecases.auth import authorize


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return authorize(store(), event.get("headers") or {})
