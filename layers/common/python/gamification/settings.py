"""Process settings, read once from the environment (pydantic-settings).

The DynamoDB endpoint is botocore's own ``AWS_ENDPOINT_URL_DYNAMODB`` (local stack, tests,
another emulator); it is not repeated here.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """``TABLE_NAME`` (required), ``GAMIFICATION_RULES_FILE`` (default: bundled rules),
    ``GAMIFICATION_MAX_WRITE_ATTEMPTS`` and ``GAMIFICATION_RETRY_BUDGET_SECONDS``
    (optimistic-concurrency retries per request: at most this many, within this time)."""

    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore")

    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    rules_file: str | None = Field(default=None, alias="GAMIFICATION_RULES_FILE")
    max_write_attempts: int = Field(default=40, alias="GAMIFICATION_MAX_WRITE_ATTEMPTS", ge=1, le=1000)
    retry_budget_seconds: float = Field(default=5.0, alias="GAMIFICATION_RETRY_BUDGET_SECONDS", gt=0, le=60)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process (cached; tests clear with ``get_settings.cache_clear()``)."""
    return Settings()  # type: ignore[call-arg]
