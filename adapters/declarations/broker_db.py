"""Declaration source: a customs broker's system database (DOMAIN.md §4; DESIGN.md "broker DB").

Brokers keep every 核注清单 / 核放单 / 出入库单 they file, with the status customs returned, in their
own database. This adapter reads it through the same SQL machinery as WMS sources (SQLAlchemy
URL, password by reference, per-dialect timeouts: `adapters.sources.sql.build_engine`):

- `documents` is one SELECT returning `doc_no`, `message_type` (the receipt type the row's state
  stands for: INV201, INV211, SAS221, SAS223, SAS211, ...) and `changed_at`;
- `sections` maps a customs section name (BondInvtBsc, BondInvtDt, SasPassportBsc, BwsDt, ...) to
  a SELECT with `:doc_no` whose columns are aliased to the wire field names (`bondInvtNo`, ...).

Each run reads the documents changed within `lookback_days`; a document whose rows did not change
has the same hash and is recognised as a duplicate, so re-reading is idempotent.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from adapters.declarations._common import EvidenceSettings
from adapters.declarations._values import canonical, to_wire
from adapters.sources._decode import to_aware
from adapters.sources.sql import SqlSourceConfig, build_engine
from connector.abc import DeclarationDocument, DeclarationSource
from connector.clock import Clock, SystemClock
from connector.config.schema import check_encoding, check_timezone
from connector.config.secrets import Secret
from connector.errors import BadInputError, RetryableSourceError


class Handle(NamedTuple):
    doc_no: str
    message_type: str

    @property
    def name(self) -> str:
        return f"{self.message_type}:{self.doc_no}"


class BrokerDbSource(DeclarationSource):
    """Reads declarations and their customs status from a broker system's database."""

    class Config(EvidenceSettings):
        url: str = Field(min_length=1, description="SQLAlchemy URL of the broker database, without the password")
        password: Secret | None = Field(default=None, description="secret reference (${ENV}, file:, credential:)")
        timezone: str = Field(description="zone of the database's naive timestamps (required)")
        encoding: str = Field(default="utf-8", description="text encoding of byte columns")
        documents: str = Field(min_length=1, description="SELECT returning doc_no, message_type, changed_at")
        sections: dict[str, str] = Field(min_length=1, description="customs section name -> SELECT ... "
                                         "WHERE ... = :doc_no, columns aliased to wire field names")
        lookback_days: int = Field(default=30, ge=1, description="documents changed within this many days "
                                   "are read each run (unchanged ones are recognised and skipped)")
        connect_timeout_seconds: int = Field(default=15, ge=1, description="login timeout")
        query_timeout_seconds: int = Field(default=120, ge=1, description="statement timeout")

        _tz = field_validator("timezone")(check_timezone)
        _enc = field_validator("encoding")(check_encoding)
        _url = field_validator("url")(SqlSourceConfig._no_literal_password.__func__)

    def __init__(self, name: str, config: BrokerDbSource.Config, engine=None, clock: Clock | None = None):
        self.name = name
        self.config = config
        self.clock = clock or SystemClock()  # the App's clock: the lookback window is "now" minus days
        self.timezone = ZoneInfo(config.timezone)
        self.raw_retention_days = config.raw_retention_days
        self.engine = engine or build_engine(config)

    def pending(self) -> Iterator[Handle]:
        since = self.clock.now() - timedelta(days=self.config.lookback_days)
        handles = []
        for row in self._query(self.config.documents, {}):
            try:
                changed = to_aware(row["changed_at"], self.timezone, "changed_at")
            except (BadInputError, KeyError):
                changed = None  # no usable time: read it anyway, the hash tells if it changed
            if changed is None or changed >= since:
                handles.append(Handle(str(row["doc_no"]).strip(), str(row["message_type"]).strip()))
        return iter(sorted(set(handles)))

    def read(self, handle: Handle) -> DeclarationDocument:
        rows: dict[str, list[dict[str, Any]]] = {}
        for section, query in self.config.sections.items():
            found = [self._wire(r, f"{handle.name}: {section}") for r in self._query(query, {"doc_no": handle.doc_no})]
            if found:
                rows[section] = found
        if not rows:
            raise BadInputError("missing_field", f"{handle.name}: no section query returned a row")
        raw, sha256 = canonical(handle.message_type, rows)
        return DeclarationDocument(f"{self.name}:{handle.name}", sha256, handle.message_type, None, rows, raw=raw)

    def _wire(self, row: dict[str, Any], where: str) -> dict[str, Any]:
        return {k: to_wire(v, self.timezone, self.config.encoding, f"{where}.{k}") for k, v in row.items()}

    def _query(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            with self.engine.connect() as conn:
                return [dict(r._mapping) for r in conn.execute(text(sql), params)]
        except SQLAlchemyError as exc:
            detail = getattr(exc, "orig", None) or exc
            raise RetryableSourceError(f"{self.name}: query failed: {type(detail).__name__}: {detail}") from None

    def done(self, handle: Handle) -> None:
        """Nothing to move: the store recognises the same rows by their hash next time."""

    def failed(self, handle: Handle, reason: str) -> None:
        """Nothing to move: the quarantine entry (one per document) is the record."""

    def check(self) -> str:
        count = len(list(self.pending()))
        return f"{count} document(s) changed in the last {self.config.lookback_days} days on {self.describe()}"

    def describe(self) -> str:
        return make_url(self.config.url).render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()
