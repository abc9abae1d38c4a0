"""Fixtures shared by the unit tests."""

import pytest

from gamification.dal.memory import MemoryStore
from gamification.dal.store import WriteConflict


@pytest.fixture
def store():
    """A fresh in-memory store (gamification.dal.memory): use cases without a DynamoDB server."""
    return MemoryStore()


@pytest.fixture
def commit_lands_then_refuses(store, monkeypatch):
    """Call it to make ``store``'s next commit land and then report a conflict, as a
    transaction re-sent after a lost answer does; later commits are plain again."""
    real = store.commit

    def land_then_refuse(tx):
        real(tx)
        monkeypatch.setattr(store, "commit", real)
        raise WriteConflict(["ConditionalCheckFailed"])

    return lambda: monkeypatch.setattr(store, "commit", land_then_refuse)
