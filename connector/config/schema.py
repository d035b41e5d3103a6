"""The configuration schema: the core sections. Each adapter validates its own section (`Config`).

Units in key names (`_seconds`, `_hours`) say what a number means; every default is documented in
config.example.toml, which a test validates against this schema.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connector.config.secrets import Secret


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True, hide_input_in_errors=True)


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)") from None
    return value


def check_encoding(value: str) -> str:
    import codecs

    try:
        codecs.lookup(value)
    except LookupError:
        raise ValueError(f"unknown text encoding {value!r}") from None
    return value


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


class CompareSection(Strict):
    movement_grace_hours: Decimal = Field(default=Decimal(72), ge=0)
    list_grace_hours: Decimal = Field(default=Decimal(72), ge=0)
    balance_grace_hours: Decimal = Field(default=Decimal(48), ge=0)
    qty_tolerance: Decimal = Field(default=Decimal(0), ge=0)
    balance_formula: Literal["in_plus_actual", "actual_only"] = "in_plus_actual"
    declared_precision: int = Field(default=5, ge=0, le=9)


class ScheduleSection(Strict):
    sync_seconds: int = Field(default=60, ge=1)
    compare_seconds: int = Field(default=300, ge=1)
    deliver_seconds: int = Field(default=30, ge=1)
    misfire_grace_seconds: int = Field(default=120, ge=1)


class DeliverySection(Strict):
    max_attempts: int = Field(default=20, ge=1)
    backoff_base_seconds: int = Field(default=5, ge=1)
    backoff_max_seconds: int = Field(default=3600, ge=1)
    batch_size: int = Field(default=100, ge=1)


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
