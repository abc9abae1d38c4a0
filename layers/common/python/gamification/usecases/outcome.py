"""What a use case returns to its handler: a typed response and whether it was replayed."""

from __future__ import annotations

from typing import Any, Generic, NamedTuple, TypeVar

from pydantic import BaseModel

R = TypeVar("R", bound=BaseModel)


class Outcome(NamedTuple, Generic[R]):
    """``result``: the response model (e.g. :class:`gamification.api.models.AwardXpResponse`).

    ``replayed``: answered from an idempotency record; ``raw`` is then the stored body,
    returned as it was first sent (also set to the body already dumped for a keyed write's
    record, so the answer is dumped once). ``omit_none``: top-level fields left out of the body
    when None (optional parts of a leaderboard answer).
    """

    result: R
    replayed: bool = False
    raw: dict[str, Any] | None = None
    omit_none: tuple[str, ...] = ()

    @property
    def body(self) -> dict[str, Any]:
        """The JSON body (plain values), dumped on each access: read it once."""
        if self.raw is not None:
            return self.raw
        body = self.result.model_dump(mode="json")
        for name in self.omit_none:
            if body.get(name) is None:
                body.pop(name, None)
        return body
