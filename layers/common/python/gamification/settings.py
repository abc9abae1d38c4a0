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
    (optimistic-concurrency retries per request: at most this many, within this time),
    ``GAMIFICATION_RATE_LIMIT`` / ``GAMIFICATION_RATE_WINDOW_SECONDS`` (default per-tenant
    request limit: requests per window of seconds; 0 = unlimited; a tenant's registry item
    may set its own) and ``GAMIFICATION_ALLOW_LOOPBACK_EGRESS`` (webhooks may target
    loopback: the local stack only)."""

    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore")

    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    rules_file: str | None = Field(default=None, alias="GAMIFICATION_RULES_FILE")
    max_write_attempts: int = Field(default=40, alias="GAMIFICATION_MAX_WRITE_ATTEMPTS", ge=1, le=1000)
    retry_budget_seconds: float = Field(default=5.0, alias="GAMIFICATION_RETRY_BUDGET_SECONDS", gt=0, le=60)
    # security posture: per-tenant request limits and webhook egress
    rate_limit: int = Field(default=0, alias="GAMIFICATION_RATE_LIMIT", ge=0, le=1_000_000)
    rate_window_seconds: int = Field(default=1, alias="GAMIFICATION_RATE_WINDOW_SECONDS", ge=1, le=3600)
    allow_loopback_egress: bool = Field(default=False, alias="GAMIFICATION_ALLOW_LOOPBACK_EGRESS")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process (cached; tests clear with ``get_settings.cache_clear()``)."""
    return Settings()  # type: ignore[call-arg]
