"""The SQL source's configuration section and its engine factory.

`profile = "odoo17"` takes the query, cursor strategy, time zone and encoding from
`mappings/profiles/odoo17.toml`; any key set in the section wins over the profile's.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from adapters.sources import odbc
from adapters.sources.profile import ProfileError, load_profile, source_defaults
from connector.config.schema import Strict, check_encoding, check_timezone
from connector.config.secrets import Secret


class SqlSourceConfig(Strict):
    url: str | None = Field(min_length=1, description="SQLAlchemy URL, without the password (None: odbc)")
    odbc: str | None = Field(default=None, min_length=1, description="ODBC connection string instead of url "
                             "(pyodbc through unixODBC), without the password")
    odbc_dialect: Literal["postgresql", "mysql", "sqlite", "mssql", "oracle"] | None = Field(
        default=None, description="SQL dialect behind the ODBC driver (default: guessed from Driver=)")
    password: Secret | None = None
    profile: str | None = Field(default=None, description="WMS profile name (mappings/profiles) or path")
    timezone: str = Field(description="zone of the WMS's naive timestamps (no default)")
    encoding: str = Field(description="text encoding of the WMS (utf-8, gbk, ...)")
    query: str | None = Field(default=None, description="SELECT returning the movement columns")
    cursor: Literal["keyset", "monotonic", "rowversion", "snapshot"] = "keyset"
    batch_size: int = Field(default=5000, ge=1, le=100_000)
    lag_seconds: int = Field(default=300, ge=0, description="leave rows younger than this for later")
    overlap_seconds: int = Field(default=1800, ge=0, description="keyset: how much later than lag_seconds a row "
                                 "may commit after its timestamp and still be read by the next overlap pass")
    overlap_every_seconds: int = Field(default=3600, ge=0, description="keyset and monotonic: how often the "
                                       "overlap pass runs (0 = never); monotonic: how late after the cursor "
                                       "passed it an id may commit and still be read")
    cap_at_open_transactions: bool = Field(default=False, description="PostgreSQL: never pass the start of "
                                           "the oldest open transaction")
    future_skew_seconds: int = Field(default=3600, ge=0, description="rows stamped later than now + this are "
                                     "staged and flagged, but never move the cursor")
    reconcile_every_seconds: int = Field(default=21600, ge=0, description="daemon: compare the ledger with the "
                                         "profile's on-hand snapshot this often (0 = never)")
    connect_timeout_seconds: int = Field(default=15, ge=1)
    query_timeout_seconds: int = Field(default=120, ge=1)
    extra_columns: dict[Literal["vehicle_no", "gross_wt", "dispatched_at"], str] = Field(
        default_factory=dict, description="WMS facts for the comparator: extra key -> column of the query")

    _tz = field_validator("timezone")(check_timezone)
    _enc = field_validator("encoding")(check_encoding)

    @model_validator(mode="before")
    @classmethod
    def _profile_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("profile"):
            try:
                profile = load_profile(str(data["profile"]))
            except ProfileError as exc:
                raise ValueError(str(exc)) from None
            return {**source_defaults(profile), **data}
        return data

    @model_validator(mode="after")
    def _query_or_profile(self) -> SqlSourceConfig:
        if not self.query and not self.profile:
            raise ValueError("set either query (a SELECT) or profile (a WMS profile)")
        return self

    @model_validator(mode="before")
    @classmethod
    def _odbc_needs_no_url(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("odbc") and "url" not in data:
            return {**data, "url": None}
        return data

    @model_validator(mode="after")
    def _url_or_odbc(self) -> SqlSourceConfig:
        if (self.url is None) == (self.odbc is None):
            raise ValueError("set url (SQLAlchemy) or odbc (an ODBC connection string), not both")
        if self.odbc is not None and self.odbc_dialect is None and odbc.guess_dialect(self.odbc) is None:
            raise ValueError("odbc_dialect: cannot tell the SQL dialect from the Driver; set odbc_dialect")
        return self

    def dialect_name(self) -> str | None:
        """ODBC only: the dialect the SQL is compiled for."""
        return self.odbc_dialect or (odbc.guess_dialect(self.odbc) if self.odbc else None)

    @field_validator("odbc")
    @classmethod
    def _no_odbc_password(cls, value: str | None) -> str | None:
        if value is not None and {"pwd", "password"} & set(odbc.parse(value)):
            raise ValueError("the connection string holds a password; remove it and set password = \"${ENV_VAR}\"")
        return value

    @field_validator("url")
    @classmethod
    def _no_literal_password(cls, value: str | None) -> str | None:
        if value is not None and make_url(value).password is not None:
            raise ValueError("the URL holds a password; remove it and set password = \"${ENV_VAR}\" instead")
        return value

    @field_validator("extra_columns")
    @classmethod
    def _column_names(cls, value: dict[str, str]) -> dict[str, str]:
        """Column names as the drivers report them (lower case), plain identifiers only."""
        bad = [name for name in value.values() if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name)]
        if bad:
            raise ValueError(f"not a column name: {', '.join(bad)} (alias the expression in the query)")
        return {key: name.lower() for key, name in value.items()}

    @field_validator("query")
    @classmethod
    def _single_select(cls, value: str | None) -> str | None:
        if value is None:
            return None
        body = value.strip().rstrip(";").strip()
        if ";" in body or not body.lower().startswith(("select", "with")):
            raise ValueError("query must be a single SELECT (or WITH ... SELECT) statement")
        return body


def build_engine(config: SqlSourceConfig) -> Engine:
    """The engine factory seam: per-dialect login and query timeouts, password injected here."""
    url = make_url(config.url)
    if config.password is not None:
        url = url.set(password=config.password.reveal())
    backend = url.get_backend_name()
    args: dict[str, Any] = {}
    if backend == "postgresql":
        args = {"connect_timeout": config.connect_timeout_seconds,
                "options": f"-c statement_timeout={config.query_timeout_seconds * 1000} -c default_transaction_read_only=on"}
    elif backend == "mysql":
        args = {"connect_timeout": config.connect_timeout_seconds, "read_timeout": config.query_timeout_seconds}
    elif backend == "sqlite":
        args = {"timeout": config.connect_timeout_seconds}
    return create_engine(url, connect_args=args, pool_pre_ping=True)
