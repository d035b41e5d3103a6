"""The contracts adapters implement, and nothing else (STYLE.md lesson 1).

A source adapter reads the WMS; a declaration source reads what was declared to customs; a sink
delivers outbox messages. Adapters are registered under the entry-point groups
`connector.sources`, `connector.declarations` and `connector.sinks` and built from their config
section (a pydantic model of the adapter's own, `Config`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any, ClassVar

from pydantic import BaseModel

from connector.model import Batch, Movement, SourceRowError


class SourceAdapter(ABC):
    """Reads stock movements from a WMS, incrementally, in bounded batches."""

    Config: ClassVar[type[BaseModel]]

    @abstractmethod
    def fetch(self, cursor: dict[str, Any] | None, limit: int) -> Batch:
        """Return up to `limit` rows after `cursor`, and the cursor that covers exactly them."""

    @abstractmethod
    def check(self) -> str:
        """Try the connection; return a one-line description, raise SourceError on failure."""

    def fetch_unkeyed(self, limit: int = 1000) -> list[SourceRowError]:
        """Rows the cursor can never reach (no cursor value), to quarantine. Default: none."""
        return []

    keeps_cursor: bool = True  # False: every run is a full pass diffed against what was staged

    def start_cursor(self, stored: dict[str, Any] | None) -> dict[str, Any] | None:
        """Where a run starts (an adapter may rewind for an overlap re-read). Default: the stored one."""
        return stored

    def cursor_problem(self, stored: dict[str, Any] | None) -> str | None:
        """Why a stored cursor cannot be valid any more (source restored, truncated), or None."""
        return None

    def snapshot(self) -> list[dict[str, Any]]:
        """The WMS's own on-hand table as rows of sku, qty, uom (for the reconciliation)."""
        raise NotImplementedError(f"{type(self).__name__} has no on-hand snapshot")

    def in_flight(self, cursor: dict[str, Any] | None, limit: int) -> list[Movement] | None:
        """Movements after `cursor` whatever their age (the rows a sync has not read yet), for the
        reconciliation; None when there are more than `limit`. Default: none ([]). Not asked of a
        source without a cursor: the reconciliation pages through `fetch` and diffs."""
        return []

    def close(self) -> None:
        """Release connections."""


@dataclass(frozen=True)
class DeclarationDocument:
    """One file or record from a declaration source, parsed into plain rows."""

    name: str  # file name or record id: where an error is reported
    sha256: str
    message_type: str
    message_id: str | None
    rows: dict[str, list[dict[str, Any]]]  # table name -> rows in wire field names
    raw: bytes | None = None  # the bytes as received (kept as evidence); sha256 is their hash


class DeclarationSource(ABC):
    """Reads customs declaration data (InBox files, broker DB, ledger API).

    Instances expose `timezone` (a tzinfo: the zone of the wall-clock times they read; customs
    sends Asia/Shanghai) and may expose `raw_retention_days` (how long raw messages are kept).
    """

    Config: ClassVar[type[BaseModel]]
    timezone: tzinfo

    @abstractmethod
    def pending(self) -> Iterator[Any]:
        """Yield handles of the documents waiting to be read (files, record ids)."""

    @abstractmethod
    def read(self, handle: Any) -> DeclarationDocument:
        """Parse one document. Raise BadInputError when it cannot be used."""

    @abstractmethod
    def done(self, handle: Any) -> None:
        """The document's rows are committed: move it out of the way."""

    @abstractmethod
    def failed(self, handle: Any, reason: str) -> None:
        """The document cannot be used: put it aside with its reason."""

    @abstractmethod
    def check(self) -> str:
        """Check the source can be read; return a one-line description."""


@dataclass(frozen=True)
class OutboundMessage:
    """A message as the outbox stores it: the exact bytes and key re-sent on every attempt."""

    id: str
    idempotency_key: str
    body: bytes
    content_type: str
    event: str


class Sink(ABC):
    """Delivers outbox messages. Returns on a real success; raises SinkError otherwise."""

    Config: ClassVar[type[BaseModel]]

    @abstractmethod
    def send(self, message: OutboundMessage) -> int:
        """Send one message; return the HTTP status (2xx). Raise SinkError on anything else."""

    @abstractmethod
    def check(self) -> str:
        """Describe the endpoint (no message is sent)."""

    def close(self) -> None:
        """Release connections."""
