"""The configuration schema: the core sections. Each adapter validates its own section (`Config`).

Units in key names (`_seconds`, `_hours`) say what a number means; every default is documented in
config.example.toml, which a test validates against this schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connector.config.base import Strict, check_encoding, check_timezone  # noqa: F401 (re-exported)
from connector.config.secrets import Secret
# Sections owned by their stage live beside it; imported here so the whole schema is one model.
from connector.compare.settings import CompareSection  # noqa: F401
from connector.outbox_settings import DeliverySection  # noqa: F401


class ConnectorSection(Strict):
    site: str = Field(min_length=1, description="name of this warehouse, sent with every message")
    timezone: str = "Asia/Shanghai"
    _tz = field_validator("timezone")(check_timezone)


class StoreSection(Strict):
    url: str = "sqlite:///connector-state.db"
    password: Secret | None = None
    busy_timeout_seconds: int = Field(default=30, ge=1)


class AdapterSection(BaseModel):
    """A source, declaration source or sink: `adapter` names it; the rest is the adapter's own."""

    model_config = ConfigDict(extra="allow", frozen=True, hide_input_in_errors=True)
    adapter: str = Field(min_length=1)


class SourceSection(AdapterSection):
    mapping: Path


class ScheduleSection(Strict):
    sync_seconds: int = Field(default=60, ge=1)
    compare_seconds: int = Field(default=300, ge=1)
    deliver_seconds: int = Field(default=30, ge=1)
    misfire_grace_seconds: int = Field(default=120, ge=1)


class LoggingSection(Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"




class Config(Strict):
    connector: ConnectorSection
    store: StoreSection = StoreSection()
    sources: dict[str, SourceSection] = Field(min_length=1)
    declarations: dict[str, AdapterSection] = Field(default_factory=dict)
    sinks: dict[str, AdapterSection] = Field(default_factory=dict)
    compare: CompareSection = CompareSection()
    schedule: ScheduleSection = ScheduleSection()
    delivery: DeliverySection = DeliverySection()
    logging: LoggingSection = LoggingSection()
