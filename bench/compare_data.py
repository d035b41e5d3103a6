"""Synthetic comparator data written straight into a migrated SQLite store (raw sqlite3, bulk).

Shapes: documents of ITEMS_PER_DOC items, one ledger entry per document item, one 核注清单 per
document with one line per item (every 50th list line off by one: quantity mismatches), passports
linked one per list, ledger lines per item. Used by bench/case_compare.py only.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from connector.store.engine import Store

ITEMS = 1000
ITEMS_PER_DOC = 10
START = datetime(2024, 1, 1, tzinfo=UTC)
ENTRY_SQL = ("INSERT INTO ledger_entries (id, movement_id, source, line_key, revision, mapping_version, bws_no, "
             "gds_seqno, gds_mtno, gdecd, direction, action, dcl_qty, dcl_unitcd, lawf_qty, lawf_unitcd, doc_ref, "
             "needs_list, occurred_at, created_at) VALUES (?,1,'wms',?,1,'v','T2345W000001',?,?,'8471300000','I',"
             "'increase',?,'007',?,'007',?,1,?,?)")


def ts(i: int) -> str:
    return (START + timedelta(seconds=i)).isoformat(timespec="microseconds")


def make_store(path: Path) -> None:
    Store.open(f"sqlite:///{path}").close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO receipts (id, source, file_name, sha256, message_type, received_at) "
               "VALUES (1, 'inbox', 'bench.xml', 'x', 'INV201', ?)", (ts(0),))
    db.execute("INSERT INTO movements (id, source, line_key, revision, content_hash, qty, occurred_at, changed_at, "
               "staged_at) VALUES (1, 'wms', 'seed', 1, 'x', '0', ?, ?, ?)", (ts(0), ts(0), ts(0)))
    db.commit()
    db.close()


def entries(first: int, count: int):
    for i in range(first, first + count):
        doc, item = divmod(i, ITEMS_PER_DOC)
        seq = (doc * 7 + item) % ITEMS + 1
        qty = str(doc % 13 + 1)
        yield (i + 1, f"L{i}", seq, f"MT-{seq}", qty, qty, f"DOC-{doc}", ts(i), ts(i))


def add_entries(path: Path, first: int, count: int, bulk: bool = True) -> None:
    """Bulk (indexes dropped and rebuilt after) for history; row-by-row like a sync for a tick."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    indexes = db.execute("SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name='ledger_entries' "
                         "AND sql IS NOT NULL").fetchall() if bulk else []
    for name, _ in indexes:
        db.execute(f"DROP INDEX {name}")
    db.executemany(ENTRY_SQL, entries(first, count))
    for _, sql in indexes:
        db.execute(sql)
    db.commit()
    db.close()


def add_lists(path: Path, docs: int, passports: int) -> None:
    db = sqlite3.connect(path)
    db.executemany("INSERT INTO bond_invt_heads (bond_invt_no, etps_inner_invt_no, putrec_no, impexp_markcd, "
                   "invt_stucd, result_rank, invt_dcl_time, receipt_id, updated_at) "
                   "VALUES (?, ?, 'T2345W000001', 'I', '0', 0, ?, 1, ?)",
                   ((f"QD{d}", f"DOC-{d}", ts(d * ITEMS_PER_DOC), ts(0)) for d in range(docs)))
    db.executemany("INSERT INTO bond_invt_lines (bond_invt_no, gds_seqno, putrec_seqno, gds_mtno, dcl_unitcd, "
                   "dcl_qty, receipt_id) VALUES (?, ?, ?, ?, '007', ?, 1)", _list_lines(docs))
    db.executemany("INSERT INTO passports (passport_no, stucd, result_rank, receipt_id, updated_at) "
                   "VALUES (?, '2', 0, 1, ?)", ((f"HF{p}", ts(0)) for p in range(passports)))
    db.executemany("INSERT INTO passport_links (passport_no, rlt_tb_typecd, rlt_no) VALUES (?, '1', ?)",
                   ((f"HF{p}", f"QD{p}") for p in range(passports)))
    db.executemany("INSERT INTO ledger_lines (bws_no, gds_seqno, gds_mtno, dcl_unitcd, in_qty, actl_inc_qty, "
                   "actl_redc_qty, prevd_inc_qty, prevd_redc_qty, receipt_id, updated_at, as_of) "
                   "VALUES ('T2345W000001', ?, ?, '007', '0', '0', '0', '0', '0', 1, ?, ?)",
                   ((s, f"MT-{s}", ts(0), ts(0)) for s in range(1, ITEMS + 1)))
    db.commit()
    db.close()


def _list_lines(docs: int):
    for doc in range(docs):
        for item in range(ITEMS_PER_DOC):
            seq = (doc * 7 + item) % ITEMS + 1
            qty = doc % 13 + 1 + (1 if (doc * ITEMS_PER_DOC + item) % 50 == 0 else 0)
            yield (f"QD{doc}", item + 1, seq, f"MT-{seq}", str(qty))
