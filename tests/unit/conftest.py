"""Fixtures shared by the unit tests."""

import pytest

from gamification.dal.memory import MemoryStore


@pytest.fixture
def store():
    """A fresh in-memory store (gamification.dal.memory): use cases without a DynamoDB server."""
    return MemoryStore()
