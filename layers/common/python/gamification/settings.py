"""Process settings, read from the environment (pydantic-settings): the one place that reads
``os.environ`` for the engine, its Lambda functions and the operator CLIs.

The DynamoDB endpoint is botocore's own ``AWS_ENDPOINT_URL_DYNAMODB`` (local stack, tests,
another emulator); it is not repeated here.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(BaseSettings):
    """Every setting, none required (what an operator CLI or the DynamoDB client needs):

    - ``TABLE_NAME``: the table (a CLI's ``--table`` wins over it);
    - ``GAMIFICATION_RULES_FILE``: the rules file (default: the bundled rules);
    - ``GAMIFICATION_MAX_WRITE_ATTEMPTS`` and ``GAMIFICATION_RETRY_BUDGET_SECONDS``:
      optimistic-concurrency retries per request, at most this many, within this time;
    - ``GAMIFICATION_DYNAMODB_READ_TIMEOUT``: seconds botocore waits for a DynamoDB answer
      (2 s keeps a request, its retries and the engine's retries inside the 10 s function
      timeout; the local stack, whose serialised backend queues requests, sets 60).
    """

    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore")

    table_name: str | None = Field(default=None, alias="TABLE_NAME")
    rules_file: str | None = Field(default=None, alias="GAMIFICATION_RULES_FILE")
    max_write_attempts: int = Field(default=40, alias="GAMIFICATION_MAX_WRITE_ATTEMPTS", ge=1, le=1000)
    retry_budget_seconds: float = Field(default=5.0, alias="GAMIFICATION_RETRY_BUDGET_SECONDS", gt=0, le=60)
    dynamodb_read_timeout_seconds: float = Field(default=2.0, alias="GAMIFICATION_DYNAMODB_READ_TIMEOUT", gt=0, le=300)
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
    return Settings()  # type: ignore[call-arg]


def environment() -> Environment:
    """The environment as it is now (not cached: CLIs and the local stack set variables
    before they build a client)."""
    return Environment()
