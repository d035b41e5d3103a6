"""Benchmark of C7 分类监管 conversions (`conv|` units, connector/compare/load_conversion.py).

One store with CONVERSION_BENCH_ENTRIES ledger entries (default 1,000,000; bench/compare_data.py's
shape: documents of 10 items) where every 100th entry is a 保税转非保 conversion (`conversion_out`, E);
every converted document has an export 核注清单 carrying its converted lines, booked (vrfdedMarkcd 2)
for every other document. Figures:
- `conversion_rebuild_s`: evaluating every `conv|` unit as a rebuild does (one pass over the entries
  filtered by action, the documents' list lines through `ix_bond_invt_heads_inner`, the rule);
- `conversion_scan_s`: the baseline, one plain SQL pass over the table (NOT INDEXED: grouping through
  the document index would read rows in random order) grouping the conversion entries per (document,
  料号) with float sums (no lists, no rule);
- each the faster of two runs; `conversion_vs_scan` (ours / baseline) and `conversion_findings`
  (about ENTRIES / 200 unbooked);
- `conversion_tick_s`: evaluating the `conv|` units a tick finds after 1,000 new entries (10 conversions).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from bench.compare_data import add_entries, make_store
from connector.compare import load_conversion, units_wms
from connector.compare.settings import CompareSection
from connector.compare.units import Outcome
from connector.store.engine import Store

ENTRIES = int(os.environ.get("CONVERSION_BENCH_ENTRIES", 1_000_000))
NOW = datetime(2025, 6, 1, tzinfo=UTC)
SETTINGS = CompareSection()
CONVERT = ("UPDATE ledger_entries SET action = 'conversion_out', direction = 'E', dcl_qty = '-' || dcl_qty "
           "WHERE id % 100 = 0 AND id > ?")
HEADS = ("INSERT INTO bond_invt_heads (bond_invt_no, etps_inner_invt_no, putrec_no, impexp_markcd, vrfded_markcd, "
         "invt_stucd, result_rank, receipt_id, updated_at) SELECT DISTINCT 'CQ-' || doc_ref, doc_ref, bws_no, 'E', "
         "CASE WHEN id % 200 = 0 THEN '2' END, '0', 0, 1, created_at FROM ledger_entries "
         "WHERE action = 'conversion_out'")
LINES = ("INSERT INTO bond_invt_lines (bond_invt_no, gds_seqno, putrec_seqno, gds_mtno, dcl_unitcd, dcl_qty, "
         "receipt_id) SELECT 'CQ-' || doc_ref, id, gds_seqno, gds_mtno, '007', substr(dcl_qty, 2), 1 "
         "FROM ledger_entries WHERE action = 'conversion_out'")
BASELINE = ("SELECT doc_ref, gds_mtno, direction, SUM(CAST(dcl_qty AS REAL)) FROM ledger_entries NOT INDEXED "
            "WHERE action IN ('conversion_out', 'conversion_in', 'reversal') GROUP BY doc_ref, gds_mtno, direction")


def _store(path: Path) -> None:
    make_store(path)
    add_entries(path, 0, ENTRIES)
    db = sqlite3.connect(path)
    for sql, args in ((CONVERT, (0,)), (HEADS, ()), (LINES, ())):
        db.execute(sql, args)
    db.commit()
    db.close()


def _timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def _evaluate(store: Store, keys: set[str] | None) -> Outcome:
    out = Outcome()
    with store.read() as conn:
        units_wms.evaluate_conversions(conn, out, keys, SETTINGS, NOW, None)
    return out


def _tick(store: Store) -> Outcome:
    with store.read() as conn:
        keys = load_conversion.dirty_keys(conn, set(), ENTRIES)
    return _evaluate(store, {k.partition("|")[2] for k in keys})


def bench_conversion(tmp: Path) -> Iterator[str]:
    path = tmp / "conversion.db"
    _store(path)
    db = sqlite3.connect(path)
    scan = min(_timed(lambda: db.execute(BASELINE).fetchall())[0] for _ in range(2))  # the first reads cold pages
    db.close()
    store = Store.open(f"sqlite:///{path}")
    try:
        (ours, out), _ = sorted((_timed(lambda: _evaluate(store, None)) for _ in range(2)), key=lambda r: r[0])
        add_entries(path, ENTRIES, 1000, bulk=False)
        db = sqlite3.connect(path)
        db.execute(CONVERT, (ENTRIES,))
        db.commit()
        db.close()
        tick, _ = _timed(lambda: _tick(store))
    finally:
        store.close()
    yield f"BENCH conversion_rebuild_s {ours:.2f} s"
    yield f"BENCH conversion_scan_s {scan:.2f} s"
    yield f"BENCH conversion_vs_scan {ours / scan:.2f} ratio"
    yield f"BENCH conversion_findings {len(out.found)} count"
    yield f"BENCH conversion_tick_s {tick:.3f} s"


CASES = {"conversion": bench_conversion}
