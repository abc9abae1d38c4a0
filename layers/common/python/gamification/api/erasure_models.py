"""The response model of ``DELETE /v1/users/{user_id}`` (field names fixed by the API
contract), apart from the ledger routes' models that the erasure route does not use."""

from gamification.api.models import _Model


class DeleteUserResponse(_Model):
    """``DELETE /v1/users/{user_id}``: ``items_deleted``, the items this call erased, and
    ``boards_left``, the board periods (a board in one period) this call took the user off:
    those of the user's active dates whose board held a score for the user (docs/api.md).
    Repeating the call finishes an interrupted erasure and is harmless after one (0, 0)."""

    user_id: str
    deleted: bool
    items_deleted: int
    boards_left: int
