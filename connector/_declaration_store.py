"""Writing one declaration document's records in the caller's transaction (DOMAIN.md §1.7).

Every receipt is kept (`receipts`, with the rank and state it reported) together with its raw
bytes (`raw_messages`). Heads follow the ranking: a later receipt of lower rank never overwrites
a head; an accepted head brings its lines and links. Ledger lines keep the latest posting.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    and_,
    bindparam,
    delete,
    insert,
    select,
    update,
)

from adapters.declarations._common import DEFAULT_RETENTION_DAYS
from connector._declaration_rows import Records
from connector.abc import DeclarationDocument
from connector.store.tables import (
    bond_invt_heads,
    bond_invt_lines,
    ledger_lines,
    passport_lines,
    passport_links,
    passports,
    receipts,
)
from connector.store.tables_messages import (
    business_form_lines,
    business_forms,
    cent_dcl_stock_links,
    passport_entry_links,
    raw_messages,
    stock_bill_lines,
    stock_bills,
    vehicles,
    writeoff_lines,
    writeoffs,
)

LEDGER_QTYS = ("in_qty", "actl_inc_qty", "actl_redc_qty", "prevd_inc_qty", "prevd_redc_qty")
# (records attribute of heads, head table, key columns, [(records attribute of lines, line table)])
_RANKED = (
    ("bond_invt_heads", bond_invt_heads, ("bond_invt_no",), [("bond_invt_lines", bond_invt_lines),
                                                              ("cent_dcl_stock_links", cent_dcl_stock_links)]),
    ("passports", passports, ("passport_no",), [("passport_lines", passport_lines),
                                                 ("passport_links", passport_links),
                                                 ("passport_entry_links", passport_entry_links)]),
    ("stock_bills", stock_bills, ("sas_stock_no",), [("stock_bill_lines", stock_bill_lines)]),
    ("business_forms", business_forms, ("sas_dcl_no",), [("business_form_lines", business_form_lines)]),
    ("vehicles", vehicles, ("vehicle_no",), []),
    ("writeoffs", writeoffs, ("ems_no", "chgoff_tms_cnt"), [("writeoff_lines", writeoff_lines)]),
)
_WITH_RECEIPT = {bond_invt_lines, cent_dcl_stock_links, stock_bill_lines, business_form_lines, passport_entry_links,
                 writeoff_lines}
HASH_CHUNK = 500  # hashes per IN (...) look-up
# Statements built once (their compiled form is cached): the per-file path runs them thousands of times.
_SEEN = {t.name: select(t.c.sha256).where((t.c.source == bindparam("source"))
                                          & t.c.sha256.in_(bindparam("hashes", expanding=True)))
         for t in (receipts, raw_messages)}
_INSERT_RECEIPT = insert(receipts).returning(receipts.c.id, sort_by_parameter_order=True)


def _by_key(table: Table, keys: tuple[str, ...]):
    """`key columns = :key_<column>`: a head and its lines are found by the head's key columns."""
    return and_(*(table.c[k] == bindparam(f"key_{k}") for k in keys))


def _key_params(keys: tuple[str, ...], row: dict[str, Any]) -> dict[str, Any]:
    return {f"key_{k}": row[k] for k in keys}


_STORED = {t.name: select(t).where(_by_key(t, keys)) for _, t, keys, _ in _RANKED}
_STATE = ("result_rank", "receipt_id", "updated_at")  # set by the receipt that ranks highest or changed rows last
_UPDATE = {t.name: update(t).where(_by_key(t, keys)) for _, t, keys, _ in _RANKED}
_ANY = {c.name: select(c.c[keys[0]]).where(_by_key(c, keys)).limit(1)
        for _, _, keys, children in _RANKED for _, c in children}
_DELETE_ALL = {c.name: delete(c).where(_by_key(c, keys)) for _, _, keys, children in _RANKED for _, c in children}


def write_document(conn: Connection, source_name: str, doc: DeclarationDocument, records: Records,
                   now: datetime, retention_days: int = DEFAULT_RETENTION_DAYS) -> bool:
    """Write one document in the caller's transaction. False if these bytes were seen before."""
    return write_documents(conn, source_name, [(doc, records)], now, retention_days)[0]


def write_documents(conn: Connection, source_name: str, batch: list[tuple[DeclarationDocument, Records]],
                    now: datetime, retention_days: int = DEFAULT_RETENTION_DAYS) -> list[bool]:
    """Write a batch of documents in the caller's transaction, in order; False for bytes seen before.

    Per batch, not per file: one look-up of the hashes already stored, one multi-row insert of
    the receipts (their ids in order) and one of the raw messages; then each document's heads,
    lines and ledger lines in file order, so the ranking sees them as they arrived.
    """
    seen = _stored_hashes(conn, receipts, source_name, [doc.sha256 for doc, _ in batch])
    fresh: list[bool] = []
    for doc, _ in batch:
        fresh.append(doc.sha256 not in seen)
        seen.add(doc.sha256)  # the same bytes twice in one batch: the second is a duplicate
    new = [(doc, records) for (doc, records), is_new in zip(batch, fresh) if is_new]
    if not new:
        return fresh
    ids = conn.execute(_INSERT_RECEIPT, [dict(
        source=source_name, file_name=doc.name, sha256=doc.sha256, message_type=doc.message_type,
        message_id=doc.message_id, received_at=now, **records.receipt) for doc, records in new]).scalars().all()
    _keep_raws(conn, source_name, new, now, retention_days)
    for receipt_id, (_, records) in zip(ids, new):
        _write_records(conn, records, {"receipt_id": receipt_id, "updated_at": now})
    return fresh


def _write_records(conn: Connection, records: Records, stamp: dict[str, Any]) -> None:
    for heads_attr, table, keys, children in _RANKED:
        for head in getattr(records, heads_attr):
            _write_head(conn, records, table, keys, {**head, **stamp}, children)
    for line in records.ledger_lines:
        _upsert_ledger_line(conn, {**line, **stamp})


def _stored_hashes(conn: Connection, table: Table, source_name: str, hashes: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(hashes), HASH_CHUNK):
        found.update(conn.execute(_SEEN[table.name], {"source": source_name,
                                                      "hashes": hashes[start:start + HASH_CHUNK]}).scalars())
    return found


def _raw_row(source_name: str, doc: DeclarationDocument, business_id: str | None, now: datetime,
             retention_days: int) -> dict[str, Any]:
    return dict(source=source_name, sha256=doc.sha256, file_name=doc.name[:400], message_type=doc.message_type[:40],
                business_id=(business_id or None) and business_id[:100], size_bytes=len(doc.raw or b""),
                codec="zlib", content=zlib.compress(doc.raw or b"", 6), received_at=now,
                keep_until=now + timedelta(days=retention_days))


def _keep_raws(conn: Connection, source_name: str, new: list[tuple[DeclarationDocument, Records]],
               now: datetime, retention_days: int) -> None:
    """The messages as received, compressed, kept at least `retention_days` (audit evidence)."""
    kept = _stored_hashes(conn, raw_messages, source_name, [doc.sha256 for doc, _ in new if doc.raw is not None])
    rows = [_raw_row(source_name, doc, records.receipt.get("business_id"), now, retention_days)
            for doc, records in new if doc.raw is not None and doc.sha256 not in kept]
    if rows:
        conn.execute(insert(raw_messages), rows)


def keep_raw(conn: Connection, source_name: str, doc: DeclarationDocument, business_id: str | None,
             now: datetime, retention_days: int) -> None:
    """One message as received, compressed, kept at least `retention_days` (audit evidence)."""
    if doc.raw is None or _stored_hashes(conn, raw_messages, source_name, [doc.sha256]):
        return
    conn.execute(insert(raw_messages), _raw_row(source_name, doc, business_id, now, retention_days))


def _write_head(conn: Connection, records: Records, table: Table, keys: tuple[str, ...], head: dict[str, Any],
                children: list[tuple[str, Table]]) -> None:
    """An accepted head brings its lines and links. A refused (lower-rank) one brings them only
    when none are stored: an INV201 read after its INV211 is still the only source of them. The
    head then keeps its data but takes that receipt's id and time, so the head always names the
    newest receipt that changed any of its rows (the comparator's ticks find changes by it)."""
    accepted = _upsert_ranked(conn, table, keys, head)
    params = _key_params(keys, head)
    brought = False
    for attr, child in children:
        rows = [r for r in getattr(records, attr) if all(r[k] == head[k] for k in keys)]
        if rows and (accepted or not _has_rows(conn, child, params)):
            extra = {"receipt_id": head["receipt_id"]} if child in _WITH_RECEIPT else {}
            _replace(conn, child, params, [{**r, **extra} for r in rows], records.partial)
            brought = True
    if brought and not accepted:
        conn.execute(update(table).where(_by_key(table, keys)).values(
            receipt_id=head["receipt_id"], updated_at=head["updated_at"]), params)


def _has_rows(conn: Connection, table: Table, params: dict[str, Any]) -> bool:
    return conn.execute(_ANY[table.name], params).first() is not None


def _upsert_ranked(conn: Connection, table: Table, keys: tuple[str, ...], row: dict[str, Any]) -> bool:
    """Insert, or overwrite when this receipt ranks at least as high as the stored one.

    Fields the receipt does not carry (None) keep their stored value: a status-only receipt or
    a posting without HdeApprResult moves the state, never erases the data. A lower-ranked receipt
    does not move the state, but gives the fields the stored head lacks (`_fill`).
    """
    params = _key_params(keys, row)
    stored = conn.execute(_STORED[table.name], params).first()
    if stored is None:
        conn.execute(insert(table), row)
        return True
    if row["result_rank"] < stored.result_rank:
        _fill(conn, table, keys, row, stored, params)
        return False
    changed = {k: v for k, v in row.items() if v is not None and k not in keys}
    conn.execute(_UPDATE[table.name], {**changed, **params})
    return True


def _fill(conn: Connection, table: Table, keys: tuple[str, ...], row: dict[str, Any], stored: Any,
          params: dict[str, Any]) -> None:
    """A head a higher-ranked receipt was read for first (a status-only receipt, a posting) keeps
    its state but takes the fields it lacks from this one, and names this receipt as its newest
    change: the head the receipts give in rank order. Limit: of two lower-ranked receipts that
    disagree on a field the head lacks, the first one read gives it (receipts of one list version
    carry the same data; no rank is kept per field)."""
    missing = {k: v for k, v in row.items() if v is not None and getattr(stored, k) is None
               and k not in keys and k not in _STATE}
    if missing:
        conn.execute(_UPDATE[table.name], {**missing, "receipt_id": row["receipt_id"],
                                           "updated_at": row["updated_at"], **params})


def _replace(conn: Connection, table: Table, params: dict[str, Any], rows: list[dict[str, Any]],
             merge: bool) -> None:
    """The document's lines for this head replace the stored ones; none sent means none changed.

    One pocket of a split message (`merge`) carries only some lines: it replaces just those.
    """
    if merge:
        for row in rows:
            conn.execute(delete(table).where(and_(*(c == row[c.name] for c in table.primary_key))))
    else:
        conn.execute(_DELETE_ALL[table.name], params)
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
