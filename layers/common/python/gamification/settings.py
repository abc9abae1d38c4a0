"""Process settings, read from the environment: the one place that reads ``os.environ`` for
the engine, its Lambda functions and the operator CLIs.

The models are plain pydantic models filled from the environment the way pydantic-settings'
environment source fills a ``BaseSettings`` (variable names case-insensitive, the alias first,
then the field name; values as strings, converted and checked by the fields): importing
pydantic-settings costs every function tens of milliseconds of cold start (its dotenv, CLI and
cloud secret sources), and the engine reads no ``.env`` file or secret store.

The DynamoDB endpoint is botocore's own ``AWS_ENDPOINT_URL_DYNAMODB`` (local stack, tests,
another emulator); it is not repeated here.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

_M = TypeVar("_M", bound=BaseModel)


def _from_environ(model: type[_M]) -> _M:
    """``model`` filled from ``os.environ``. Raises pydantic's ValidationError (a required
    variable missing, a value out of range)."""
    env = {name.lower(): value for name, value in os.environ.items()}
    values = {}
    for field_name, info in model.model_fields.items():
        for name in (info.alias, field_name):
            if name and name.lower() in env:
                values[field_name] = env[name.lower()]
                break
    return model.model_validate(values)


class Environment(BaseModel):
    """Every setting, none required (what an operator CLI or the DynamoDB client needs):

    - ``TABLE_NAME``: the table (a CLI's ``--table`` wins over it);
    - ``GAMIFICATION_RULES_FILE``: the rules file (default: the bundled rules);
    - ``GAMIFICATION_MAX_WRITE_ATTEMPTS`` and ``GAMIFICATION_RETRY_BUDGET_SECONDS``:
      optimistic-concurrency retries per request, at most this many, within this time;
    - ``GAMIFICATION_DYNAMODB_READ_TIMEOUT``: seconds botocore waits for a DynamoDB answer
      (2 s keeps a request, its retries and the engine's retries inside the 10 s function
      timeout; the local stack, whose serialised backend queues requests, sets 60);
    - ``GAMIFICATION_RATE_LIMIT`` / ``GAMIFICATION_RATE_WINDOW_SECONDS``: the default
      per-tenant request limit, requests per window of seconds (0 = unlimited; a tenant's
      registry item may set its own; docs/security.md);
    - ``GAMIFICATION_ALLOW_LOOPBACK_EGRESS``: webhooks may target loopback (the local stack only).
    """

    model_config = ConfigDict(populate_by_name=True, extra="ignore", defer_build=True)

    table_name: str | None = Field(default=None, alias="TABLE_NAME")
    rules_file: str | None = Field(default=None, alias="GAMIFICATION_RULES_FILE")
    max_write_attempts: int = Field(default=40, alias="GAMIFICATION_MAX_WRITE_ATTEMPTS", ge=1, le=1000)
    retry_budget_seconds: float = Field(default=5.0, alias="GAMIFICATION_RETRY_BUDGET_SECONDS", gt=0, le=60)
    dynamodb_read_timeout_seconds: float = Field(default=2.0, alias="GAMIFICATION_DYNAMODB_READ_TIMEOUT", gt=0, le=300)
    # security posture: per-tenant request limits and webhook egress
    rate_limit: int = Field(default=0, alias="GAMIFICATION_RATE_LIMIT", ge=0, le=1_000_000)
    rate_window_seconds: int = Field(default=1, alias="GAMIFICATION_RATE_WINDOW_SECONDS", ge=1, le=3600)
    allow_loopback_egress: bool = Field(default=False, alias="GAMIFICATION_ALLOW_LOOPBACK_EGRESS")
    # Domain events and webhooks: the stack's bus, delivery queue and secrets key; whether
    # loopback receivers are allowed (the local stack only); a factor on the retry schedule.
    event_bus_name: str | None = Field(default=None, alias="EVENT_BUS_NAME")
    webhook_queue_url: str | None = Field(default=None, alias="WEBHOOK_QUEUE_URL")
    webhook_key_id: str | None = Field(default=None, alias="WEBHOOK_KEY_ID")
    webhook_allow_loopback: bool = Field(default=False, alias="GAMIFICATION_WEBHOOK_ALLOW_LOOPBACK")
    webhook_backoff_scale: float = Field(default=1.0, alias="GAMIFICATION_WEBHOOK_BACKOFF_SCALE", ge=0, le=10)


class Settings(Environment):
    """The settings of a Lambda function: as :class:`Environment`, with ``TABLE_NAME`` required."""

    table_name: str = Field(alias="TABLE_NAME", min_length=3)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process (cached; tests clear with ``get_settings.cache_clear()``)."""
    return _from_environ(Settings)


def environment() -> Environment:
    """The environment as it is now (not cached: CLIs and the local stack set variables
    before they build a client)."""
    return _from_environ(Environment)
