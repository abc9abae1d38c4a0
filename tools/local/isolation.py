"""Keep concurrent in-process invocations apart: Powertools' resolvers store the current
event on a class attribute (``BaseRouter.current_event``), shared by every resolver of the
process. Lambda runs one event per process, so that is harmless there; the local stack runs
many execution environments (module copies, see :mod:`tools.local.lambdas`) on threads of one
process, where a request could read another's event: its path, body and authorizer context,
so its tenant. :func:`isolate_router_events` makes each resolver keep its own event on the
instance, which its routes and validation read first.
"""

from __future__ import annotations

from typing import Any

_PATCHED = "_gamification_isolated"


def isolate_router_events() -> None:
    """Patch the resolvers once per process (idempotent)."""
    from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver

    original = ApiGatewayResolver._to_proxy_event
    if getattr(original, _PATCHED, False):
        return

    def _to_proxy_event(self: Any, event: dict) -> Any:
        proxy = original(self, event)
        self.__dict__["current_event"] = proxy  # instance attribute: read before the class one
        return proxy

    setattr(_to_proxy_event, _PATCHED, True)
    ApiGatewayResolver._to_proxy_event = _to_proxy_event  # type: ignore[method-assign]
