"""Fixtures shared by the integration tests."""

from __future__ import annotations

import uuid

import pytest

from gamification import runtime
from tests.conftest import Backend
from tools.local import backend


@pytest.fixture(scope="module")
def scratch(dynamo):
    """A table like the scratch table of a ``--local`` replay: the template's keys and GSIs, no
    stream. Nothing projects it, so it holds exactly what the replays wrote, and the session's
    stream poller is not left thousands of backfilled awards to project for later tests."""
    table = f"{dynamo.table}-scratch-{uuid.uuid4().hex[:6]}"
    backend.create_table(dynamo.client, table, stream=False, ttl=False)
    yield Backend(dynamo.endpoint, table, dynamo.client)
    dynamo.client.delete_table(TableName=table)


@pytest.fixture
def use_rules(environments):
    """``use_rules(rules)`` serves other rules from the local stack for one test: in its
    execution environments (processes of their own) and in this process (use cases the test
    calls directly); the session's rules again afterwards."""
    engine = runtime.engine()
    original = engine.rules

    def use(rules):
        engine.rules = rules
        environments.call("tests.environment_hooks:use_rules", rules)

    yield use
    engine.rules = original
