"""A document's history of receipts and its current state, for `connector messages show`.

A document number may be a 核注清单 (QD…, or the firm's etpsInnerInvtNo), a 核放单 (Z…), an
出入库单 (X…), a 业务申报表 or a vehicle plate (SAS231). The history is every receipt naming it
(oldest first, with the rank and the state it reported, and whether its raw bytes are still
kept); the current state is the ranked head (DOMAIN.md §1.7). For a 核注清单, the passports linked to it and their gate
passes show the rest of its life cycle (§2.3: 预核扣 -> gate passes -> 正式核扣).
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, or_, select

from connector.store.tables import bond_invt_heads, passport_links, passports, receipts
from connector.store.tables_messages import (
    business_forms,
    raw_messages,
    stock_bills,
    vehicles,
)

HEADS: tuple[tuple[str, Table, str], ...] = (
    ("核注清单 (bonded list)", bond_invt_heads, "bond_invt_no"),
    ("核放单 (gate passport)", passports, "passport_no"),
    ("出入库单 (stock bill)", stock_bills, "sas_stock_no"),
    ("业务申报表 (business form)", business_forms, "sas_dcl_no"),
    ("车辆 (vehicle, SAS231)", vehicles, "vehicle_no"))
VRFDED = {"0": "未核扣 not deducted", "1": "预核扣 provisional", "2": "正式核扣 deducted", "3": "已核销 written off"}
PASSPORT_STUCD = {"0": "已申请 applied", "1": "已审批 approved", "2": "已过卡 passed", "3": "已过一卡 gate 1",
                  "4": "已过二卡 gate 2", "5": "已删除 deleted", "6": "已作废 voided"}


def history(conn: Connection, doc_no: str) -> dict[str, Any] | None:
    """{kind, head, receipts, passports} of a document, or None when the store knows nothing of it."""
    kind, head = _head(conn, doc_no)
    number = _number(head, doc_no)
    rows = _receipts(conn, [number, doc_no])
    if head is None and not rows:
        return None
    result: dict[str, Any] = {"document": number, "kind": kind, "head": head, "receipts": rows}
    if kind and kind.startswith("核注清单"):
        result["passports"] = _linked_passports(conn, number)
    if kind and kind.startswith("核放单"):
        result["entries"] = _entry_links(conn, number)  # two-step (ICP101/SAS251): its 报关单 numbers
    return result


def _entry_links(conn: Connection, passport_no: str) -> list[str]:
    from connector.store.tables_messages import passport_entry_links as links

    return list(conn.execute(select(links.c.entry_id).where(links.c.passport_no == passport_no)
                             .order_by(links.c.entry_id)).scalars())


def _head(conn: Connection, doc_no: str) -> tuple[str | None, dict[str, Any] | None]:
    for kind, table, key in HEADS:
        found = conn.execute(select(table).where(table.c[key] == doc_no)).first()
        if found is not None:
            return kind, dict(found._mapping)
    found = conn.execute(select(bond_invt_heads).where(bond_invt_heads.c.etps_inner_invt_no == doc_no)).first()
    return ("核注清单 (bonded list)", dict(found._mapping)) if found is not None else (None, None)


def _number(head: dict[str, Any] | None, doc_no: str) -> str:
    if head is None:
        return doc_no
    return next((head[k] for _, _, k in HEADS if k in head), doc_no)


def _receipts(conn: Connection, numbers: list[str]) -> list[dict[str, Any]]:
    kept = select(raw_messages.c.id).where(raw_messages.c.source == receipts.c.source,
                                           raw_messages.c.sha256 == receipts.c.sha256).exists()
    query = (select(receipts, kept.label("raw_kept"))
             .where(or_(*(receipts.c.business_id == n for n in set(numbers))))
             .order_by(receipts.c.received_at, receipts.c.id))
    return [dict(r._mapping) for r in conn.execute(query)]


def _linked_passports(conn: Connection, bond_invt_no: str) -> list[dict[str, Any]]:
    query = (select(passports).join(passport_links, passport_links.c.passport_no == passports.c.passport_no)
             .where(passport_links.c.rlt_no == bond_invt_no).order_by(passports.c.passport_no))
    return [dict(r._mapping) for r in conn.execute(query)]


def purge_raw(conn: Connection, now: datetime) -> int:
    """Delete raw messages whose retention has ended; return how many."""
    return conn.execute(delete(raw_messages).where(raw_messages.c.keep_until < now)).rowcount or 0


def raw_bytes(conn: Connection, sha256: str) -> bytes | None:
    """The original bytes of a kept message (by its sha256), or None."""
    row = conn.execute(select(raw_messages.c.content).where(raw_messages.c.sha256 == sha256)).first()
    return None if row is None else zlib.decompress(row.content)
