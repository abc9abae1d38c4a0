"""The HTTP API's ``$default`` route: a request no route serves gets 404 ``not_found`` or
405 ``method_not_allowed`` in the API's error envelope (see README "Errors")."""

from typing import Any

from gamification.api.http import guard, unrouted
from gamification.observability import logger


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return guard(event) or unrouted(event)
