"""The [delivery] section: how the outbox relay retries."""

from __future__ import annotations

from pydantic import Field

from connector.config.base import Strict


class DeliverySection(Strict):
    max_attempts: int = Field(default=20, ge=1)
    backoff_base_seconds: int = Field(default=5, ge=1)
    backoff_max_seconds: int = Field(default=3600, ge=1)
    batch_size: int = Field(default=100, ge=1)
