"""The [delivery] section: how the outbox relay retries, when a sink's circuit opens, how alerts
are de-duplicated and rate-limited, and how often the balance snapshot is pushed."""

from __future__ import annotations

from pydantic import Field

from connector.config.base import Strict


class DeliverySection(Strict):
    max_attempts: int = Field(default=20, ge=1)
    backoff_base_seconds: int = Field(default=5, ge=1)
    backoff_max_seconds: int = Field(default=3600, ge=1)
    batch_size: int = Field(default=100, ge=1)
    circuit_failure_threshold: int = Field(default=5, ge=1)
    auth_pause_seconds: int = Field(default=3600, ge=60)
    alert_repeat_seconds: int = Field(default=3600, ge=0)
    alert_max_per_hour: int = Field(default=10, ge=1)
    snapshot_seconds: int = Field(default=86400, ge=0)
