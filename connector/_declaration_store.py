"""Writing one declaration document's records in the caller's transaction (DOMAIN.md §1.7).

Every receipt is kept (`receipts`, with the rank and state it reported) together with its raw
bytes (`raw_messages`). Heads follow the ranking: a later receipt of lower rank never overwrites
a head; an accepted head brings its lines and links. Ledger lines keep the latest posting.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, delete, insert, select, update

from adapters.declarations._common import DEFAULT_RETENTION_DAYS
from connector._declaration_rows import Records
from connector.abc import DeclarationDocument
from connector.store.tables import (bond_invt_heads, bond_invt_lines, ledger_lines, passport_lines,
                                    passport_links, passports, receipts)
from connector.store.tables_messages import (business_form_lines, business_forms, cent_dcl_stock_links,
                                             raw_messages, stock_bill_lines, stock_bills)

LEDGER_QTYS = ("in_qty", "actl_inc_qty", "actl_redc_qty", "prevd_inc_qty", "prevd_redc_qty")
# (records attribute of heads, head table, key, [(records attribute of lines, line table)])
_RANKED = (
    ("bond_invt_heads", bond_invt_heads, "bond_invt_no", [("bond_invt_lines", bond_invt_lines),
                                                           ("cent_dcl_stock_links", cent_dcl_stock_links)]),
    ("passports", passports, "passport_no", [("passport_lines", passport_lines), ("passport_links", passport_links)]),
    ("stock_bills", stock_bills, "sas_stock_no", [("stock_bill_lines", stock_bill_lines)]),
    ("business_forms", business_forms, "sas_dcl_no", [("business_form_lines", business_form_lines)]),
)
_WITH_RECEIPT = {bond_invt_lines, cent_dcl_stock_links, stock_bill_lines, business_form_lines}


def write_document(conn: Connection, source_name: str, doc: DeclarationDocument, records: Records,
                   now: datetime, retention_days: int = DEFAULT_RETENTION_DAYS) -> bool:
    """Write one document in the caller's transaction. False if these bytes were seen before."""
    seen = select(receipts.c.id).where(and_(receipts.c.source == source_name, receipts.c.sha256 == doc.sha256))
    if conn.execute(seen).first():
        return False
    receipt_id = conn.execute(insert(receipts), dict(  # parameters, not .values(): the compiled form is cached
        source=source_name, file_name=doc.name, sha256=doc.sha256, message_type=doc.message_type,
        message_id=doc.message_id, received_at=now, **records.receipt)).inserted_primary_key[0]
    keep_raw(conn, source_name, doc, records.receipt.get("business_id"), now, retention_days)
    stamp = {"receipt_id": receipt_id, "updated_at": now}
    for heads_attr, table, key, children in _RANKED:
        for head in getattr(records, heads_attr):
            _write_head(conn, records, table, key, {**head, **stamp}, children)
    for line in records.ledger_lines:
        _upsert_ledger_line(conn, {**line, **stamp})
    return True


def keep_raw(conn: Connection, source_name: str, doc: DeclarationDocument, business_id: str | None,
             now: datetime, retention_days: int) -> None:
    """The message as received, compressed, kept at least `retention_days` (audit evidence)."""
    exists = select(raw_messages.c.id).where(and_(raw_messages.c.source == source_name,
                                                  raw_messages.c.sha256 == doc.sha256))
    if doc.raw is None or conn.execute(exists).first():
        return
    conn.execute(insert(raw_messages), dict(
        source=source_name, sha256=doc.sha256, file_name=doc.name[:400], message_type=doc.message_type[:40],
        business_id=(business_id or None) and business_id[:100], size_bytes=len(doc.raw), codec="zlib",
        content=zlib.compress(doc.raw, 6), received_at=now, keep_until=now + timedelta(days=retention_days)))


def _write_head(conn: Connection, records: Records, table: Table, key: str, head: dict[str, Any],
                children: list[tuple[str, Table]]) -> None:
    """An accepted head brings its lines and links. A refused (lower-rank) one brings them only
    when none are stored: an INV201 read after its INV211 is still the only source of them."""
    accepted = _upsert_ranked(conn, table, key, head)
    for attr, child in children:
        rows = [r for r in getattr(records, attr) if r[key] == head[key]]
        if rows and (accepted or not _has_rows(conn, child, key, head[key])):
            extra = {"receipt_id": head["receipt_id"]} if child in _WITH_RECEIPT else {}
            _replace(conn, child, key, head[key], [{**r, **extra} for r in rows], records.partial)


def _has_rows(conn: Connection, table: Table, key: str, value: str) -> bool:
    return conn.execute(select(table.c[key]).where(table.c[key] == value).limit(1)).first() is not None


def _upsert_ranked(conn: Connection, table: Table, key: str, row: dict[str, Any]) -> bool:
    """Insert, or overwrite when this receipt ranks at least as high as the stored one.

    Fields the receipt does not carry (None) keep their stored value: a status-only receipt or
    a posting without HdeApprResult moves the state, never erases the data.
    """
    where = table.c[key] == row[key]
    stored = conn.execute(select(table.c.result_rank).where(where)).first()
    if stored is None:
        conn.execute(insert(table), row)
        return True
    if row["result_rank"] < stored.result_rank:
        return False
    changed = {k: v for k, v in row.items() if v is not None and k != key}
    conn.execute(update(table).where(table.c[key] == bindparam("key_")), {**changed, "key_": row[key]})
    return True


def _replace(conn: Connection, table: Table, key: str, value: str, rows: list[dict[str, Any]],
             merge: bool) -> None:
    """The document's lines for this head replace the stored ones; none sent means none changed.

    One pocket of a split message (`merge`) carries only some lines: it replaces just those.
    """
    if merge:
        for row in rows:
            conn.execute(delete(table).where(and_(*(c == row[c.name] for c in table.primary_key))))
    else:
        conn.execute(delete(table).where(table.c[key] == value))
    conn.execute(insert(table), rows)


def _upsert_ledger_line(conn: Connection, row: dict[str, Any]) -> None:
    """Keep the latest posting: a line posted earlier (older `as_of`) never overwrites a newer one."""
    where = and_(ledger_lines.c.bws_no == row["bws_no"], ledger_lines.c.gds_seqno == row["gds_seqno"])
    stored = conn.execute(select(ledger_lines).where(where)).first()
    changed_at = row["as_of"] or row["updated_at"]
    if stored is None:
        conn.execute(insert(ledger_lines), {**row, "qty_changed_at": changed_at})
    elif stored.as_of is None or row["as_of"] is None or row["as_of"] >= stored.as_of:
        same = all(row.get(q) == getattr(stored, q) for q in LEDGER_QTYS)
        conn.execute(update(ledger_lines).where(where).values(
            {**row, "qty_changed_at": stored.qty_changed_at if same else changed_at}))
