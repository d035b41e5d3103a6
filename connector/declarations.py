"""The declaration stage: read what customs sent (InBox receipts, ...) into the state store.

Each document is one store transaction: its `receipts` row and the typed rows it carries
(核注清单 heads/lines, ledger lines, 核放单 with lines and links). Only after the commit is the
document handed back to the adapter as done, so a crash at any point loses nothing: an
uncommitted file is still pending, a committed one that was not yet moved is recognised by its
sha256 and only moved. A document that cannot be used is quarantined and put aside; the next
one is read anyway.

Heads follow the receipt ranking of DOMAIN.md §1.7 (see `_declaration_rows.receipt_rank`): a
later receipt of lower rank never overwrites a head; ledger lines keep the latest posting.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Table, and_, delete, insert, select, update

from connector import quarantine
from connector._declaration_rows import Records, to_records
from connector.abc import DeclarationDocument, DeclarationSource
from connector.errors import BadInputError
from connector.store.engine import Store
from connector.store.tables import (bond_invt_heads, bond_invt_lines, ledger_lines, passport_lines,
                                    passport_links, passports, receipts)

STAGE = "declaration"


def ingest(store: Store, source_name: str, adapter: DeclarationSource, clock, log) -> dict[str, int]:
    """Ingest every pending document; return counts (files, ingested, duplicate, failed).

    A store failure propagates: the file stays pending and the next run reads it again.
    """
    zone = source_zone(adapter)
    counts: Counter = Counter(files=0, ingested=0, duplicate=0, failed=0)
    for handle in adapter.pending():
        counts["files"] += 1
        counts[_ingest_one(store, source_name, adapter, handle, zone, clock, log)] += 1
    return dict(counts)


def source_zone(adapter: DeclarationSource) -> tzinfo:
    """The zone the source's wall-clock times are in (customs: Asia/Shanghai).

    The DeclarationSource contract has no time zone yet; adapters expose `timezone`.
    """
    zone = getattr(adapter, "timezone", None)
    if isinstance(zone, str):
        return ZoneInfo(zone)
    if not isinstance(zone, tzinfo):
        raise TypeError(f"{type(adapter).__name__} must expose `timezone` (the source's time zone)")
    return zone


def _ingest_one(store: Store, source_name: str, adapter: DeclarationSource, handle: Any,
                zone: tzinfo, clock, log) -> str:
    try:
        doc = adapter.read(handle)
        records = to_records(doc, zone)
    except BadInputError as exc:
        _reject(store, source_name, adapter, handle, exc, clock, log)
        return "failed"
    with store.begin() as conn:
        fresh = write_document(conn, source_name, doc, records, clock.now())
    adapter.done(handle)
    log.info("declaration_file_ingested" if fresh else "declaration_file_duplicate",
             file=doc.name, message_type=doc.message_type, message_id=doc.message_id)
    return "ingested" if fresh else "duplicate"


def _reject(store: Store, source_name: str, adapter: DeclarationSource, handle: Any,
            exc: BadInputError, clock, log) -> None:
    """Quarantine first (committed), then put the file aside: an alert never goes missing."""
    name = str(getattr(handle, "name", handle))
    log.warning("declaration_file_failed", file=name, reason=exc.reason, detail=exc.detail)
    with store.begin() as conn:
        quarantine.put(conn, stage=STAGE, source=source_name, ref=name, reason=exc.reason,
                       detail=exc.detail, payload=None, now=clock.now())
    adapter.failed(handle, f"{exc.reason}: {exc.detail}")


def write_document(conn: Connection, source_name: str, doc: DeclarationDocument,
                   records: Records, now: datetime) -> bool:
    """Write one document in the caller's transaction. False if these bytes were seen before."""
    seen = select(receipts.c.id).where(and_(receipts.c.source == source_name,
                                            receipts.c.sha256 == doc.sha256))
    if conn.execute(seen).first():
        return False
    receipt_id = conn.execute(insert(receipts).values(
        source=source_name, file_name=doc.name, sha256=doc.sha256, message_type=doc.message_type,
        message_id=doc.message_id, received_at=now, **records.receipt)).inserted_primary_key[0]
    stamp = {"receipt_id": receipt_id, "updated_at": now}
    _write_heads(conn, records, stamp)
    for line in records.ledger_lines:
        _upsert_ledger_line(conn, {**line, **stamp})
    return True


def _write_heads(conn: Connection, records: Records, stamp: dict[str, Any]) -> None:
    """Each accepted head brings its lines and links. A refused (lower-rank) one brings its lines
    only when none are stored: an INV201 read after its INV211 is still the only source of them."""
    merge = records.partial
    for head in records.bond_invt_heads:
        accepted = _upsert_ranked(conn, bond_invt_heads, "bond_invt_no", {**head, **stamp})
        if accepted or not _has_lines(conn, bond_invt_lines, "bond_invt_no", head["bond_invt_no"]):
            _replace(conn, bond_invt_lines, "bond_invt_no", head["bond_invt_no"],
                     records.bond_invt_lines, merge, receipt_id=stamp["receipt_id"])
    for head in records.passports:
        accepted = _upsert_ranked(conn, passports, "passport_no", {**head, **stamp})
        if accepted or not _has_lines(conn, passport_lines, "passport_no", head["passport_no"]):
            _replace(conn, passport_lines, "passport_no", head["passport_no"], records.passport_lines, merge)
            _replace(conn, passport_links, "passport_no", head["passport_no"], records.passport_links, merge)


def _has_lines(conn: Connection, table: Table, key: str, value: str) -> bool:
    return conn.execute(select(table.c[key]).where(table.c[key] == value).limit(1)).first() is not None


def _upsert_ranked(conn: Connection, table: Table, key: str, row: dict[str, Any]) -> bool:
    """Insert, or overwrite when this receipt ranks at least as high as the stored one."""
    where = table.c[key] == row[key]
    stored = conn.execute(select(table.c.result_rank).where(where)).first()
    if stored is None:
        conn.execute(insert(table).values(row))
        return True
    if row["result_rank"] < stored.result_rank:
        return False
    if row.get("manage_result") is None:  # INV211 has no HdeApprResult: keep the approval's code
        row = {k: v for k, v in row.items() if k != "manage_result"}
    conn.execute(update(table).where(where).values(row))
    return True


def _replace(conn: Connection, table: Table, key: str, value: str, rows: list[dict[str, Any]],
             merge: bool, **extra: Any) -> None:
    """The document's lines for this head replace the stored ones; none sent means none changed.

    One pocket of a split message (`merge`) carries only some lines: it replaces just those.
    """
    mine = [{**row, **extra} for row in rows if row[key] == value]
    if not mine:
        return
    if merge:
        for row in mine:
            conn.execute(delete(table).where(and_(*(c == row[c.name] for c in table.primary_key))))
    else:
        conn.execute(delete(table).where(table.c[key] == value))
    conn.execute(insert(table), mine)


def _upsert_ledger_line(conn: Connection, row: dict[str, Any]) -> None:
    """Keep the latest posting: a line posted earlier (older `as_of`) never overwrites a newer one."""
    where = and_(ledger_lines.c.bws_no == row["bws_no"], ledger_lines.c.gds_seqno == row["gds_seqno"])
    stored = conn.execute(select(ledger_lines).where(where)).first()
    changed_at = row["as_of"] or row["updated_at"]
    if stored is None:
        conn.execute(insert(ledger_lines).values({**row, "qty_changed_at": changed_at}))
    elif stored.as_of is None or row["as_of"] is None or row["as_of"] >= stored.as_of:
        same = all(row.get(q) == getattr(stored, q) for q in LEDGER_QTYS)
        conn.execute(update(ledger_lines).where(where).values(
            {**row, "qty_changed_at": stored.qty_changed_at if same else changed_at}))


LEDGER_QTYS = ("in_qty", "actl_inc_qty", "actl_redc_qty", "prevd_inc_qty", "prevd_redc_qty")
