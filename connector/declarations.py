"""The declaration stage: read what customs sent (InBox files, broker DB, ledger API) into the store.

Each document is written atomically: its `receipts` row, its raw bytes (`raw_messages`) and
the typed rows it carries (see `_declaration_rows` and `_declaration_store`). Only after the
commit is the document handed back to the adapter as done, so a crash at any point loses
nothing: an uncommitted file is still pending, a committed one that was not yet moved is
recognised by its sha256 and only moved. Documents are committed in batches (one transaction
per batch; see `ingest`). A document that cannot be used is quarantined and put
aside (failed folder, with its hash and reason); the next one is read anyway. A message of a type
this version does not know is kept (receipt + raw bytes), moved to processed, and reported once as
an `unknown_message_type` quarantine entry: never dropped.

Heads follow the receipt ranking of DOMAIN.md §1.7 (see `_declaration_rows.receipt_rank`).
"""

from __future__ import annotations

from collections import Counter
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from adapters.declarations.wire import is_known
from connector import quarantine
from connector._declaration_rows import to_records
from connector._declaration_store import (  # noqa: F401
    DEFAULT_RETENTION_DAYS,
    LEDGER_QTYS,
    write_document,
    write_documents,
)
from connector.abc import DeclarationSource
from connector.errors import BadInputError
from connector.store.engine import Store

STAGE = "declaration"
BATCH_FILES = 200  # documents per store transaction
BATCH_BYTES = 32 * 1024 * 1024  # raw bytes per store transaction


def ingest(store: Store, source_name: str, adapter: DeclarationSource, clock, log) -> dict[str, int]:
    """Ingest every pending document; return counts (files, ingested, duplicate, failed, unknown).

    Good documents are committed in batches (up to BATCH_FILES documents / BATCH_BYTES raw bytes
    per transaction: all of a batch or none of it), and only then moved. A store failure
    propagates: the batch's documents stay pending and the next run reads them again.
    """
    zone = source_zone(adapter)
    counts: Counter = Counter(files=0, ingested=0, duplicate=0, failed=0)
    batch: list[tuple[Any, Any, Any]] = []
    for handle in adapter.pending():
        counts["files"] += 1
        try:
            doc = adapter.read(handle)
            batch.append((handle, doc, to_records(doc, zone)))
        except BadInputError as exc:
            _reject(store, source_name, adapter, handle, exc, clock, log)
            counts["failed"] += 1
        if len(batch) >= BATCH_FILES or sum(len(d.raw or b"") for _, d, _ in batch) >= BATCH_BYTES:
            counts.update(+_commit(store, source_name, adapter, batch, clock, log))
            batch = []
    counts.update(+_commit(store, source_name, adapter, batch, clock, log))
    return dict(counts)


def source_zone(adapter: DeclarationSource) -> tzinfo:
    """The zone the source's wall-clock times are in (customs: Asia/Shanghai)."""
    zone = getattr(adapter, "timezone", None)
    if isinstance(zone, str):
        return ZoneInfo(zone)
    if not isinstance(zone, tzinfo):
        raise TypeError(f"{type(adapter).__name__} must expose `timezone` (the source's time zone)")
    return zone


def _commit(store: Store, source_name: str, adapter: DeclarationSource, batch: list, clock, log) -> Counter:
    """Write a batch of parsed documents in one transaction, then hand each back as done."""
    outcomes: Counter = Counter()
    if not batch:
        return outcomes
    retention = getattr(adapter, "raw_retention_days", DEFAULT_RETENTION_DAYS)
    with store.begin() as conn:
        fresh = write_documents(conn, source_name, [(doc, records) for _, doc, records in batch], clock.now(),
                                retention)
        for (_, doc, _), new in zip(batch, fresh):
            if new and not is_known(doc.message_type):
                quarantine.put(conn, stage=STAGE, source=source_name, ref=doc.name, reason="unknown_message_type",
                               detail=f"message_type {doc.message_type!r} kept raw, not read in detail",
                               payload=None, now=clock.now())
    for (handle, doc, _), new in zip(batch, fresh):
        adapter.done(handle)
        known = is_known(doc.message_type)
        log.info("declaration_file_ingested" if new else "declaration_file_duplicate", file=doc.name,
                 message_type=doc.message_type, message_id=doc.message_id, known=known)
        outcomes["ingested" if new else "duplicate"] += 1
        outcomes["unknown"] += int(new and not known)
    return outcomes


def _reject(store: Store, source_name: str, adapter: DeclarationSource, handle: Any,
            exc: BadInputError, clock, log) -> None:
    """Quarantine first (committed), then put the file aside: an alert never goes missing."""
    name = str(getattr(handle, "name", handle))
    log.warning("declaration_file_failed", file=name, reason=exc.reason, detail=exc.detail)
    with store.begin() as conn:
        quarantine.put(conn, stage=STAGE, source=source_name, ref=name, reason=exc.reason,
                       detail=exc.detail, payload=None, now=clock.now())
    adapter.failed(handle, f"{exc.reason}: {exc.detail}")

