"""Models of an operator's coin adjustment (tools/ops/coins.py; no HTTP route), apart from the
routes' models so that no function creates them."""

from pydantic import StrictStr

from gamification.api.models import Reason, _Model, _Request, whole_number
from gamification.api.spend_models import MAX_SPEND


class AdjustRequest(_Request):
    """An operator's signed coin adjustment (tools/ops/coins.py), with its reason."""

    amount: whole_number(-MAX_SPEND, MAX_SPEND)  # type: ignore[valid-type]
    reason: Reason
    operator: StrictStr | None = None


class AdjustResponse(_Model):
    """The coins added (or, negative, taken) and the balance after them."""

    user_id: str
    amount: int
    balance: int
    entry_id: str
    reason: str
