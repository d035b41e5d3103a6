"""Benchmark of the rules reading WMS movement fields and the write-off periods (C4 WMS gross, C5, C7, C9).

One store with COMPARE_RULES_BENCH_ENTRIES ledger entries (default 200,000) over 1,000 ledger lines,
one movement per entry (every 50th in a non-bonded location, every 10th an outbound dispatch on one of
500 vehicles with a gross weight) and a passport for every other dispatch. Figures:
- `compare_rules_rebuild_s`: what these rules add to `compare --rebuild` — refilling their derived
  tables (period sums, dispatches, passport vehicles) and evaluating every `vehicle|`, `place|` and
  `wo|` unit with C7 and the filing warnings switched on;
- `compare_rules_scan_s`: the baseline, one plain SQL pass over the same data (entries joined with their
  movements, grouped per ledger line and location, summed as floats — C7's join alone, inexact);
- `compare_rules_vs_scan` (ours / baseline) and `compare_rules_rows_per_second`;
- `compare_rules_findings`: discrepancies found (about ENTRIES / 20 dispatches without passport and
  1,000 bonded-status findings, plus write-off warnings);
- `compare_rules_place_kept_s` / `compare_rules_place_resum_s`: what a tick's C7 reads for 100 dirty
  ledger lines — their kept rows in `compare_places` — against re-summing their whole history (what
  ticks did before revision 0007), and the ratio `compare_rules_place_kept_vs_resum`.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

from connector.compare import load_wms, places_store, units_wms
from connector.compare.settings import CompareSection
from connector.compare.units import Outcome
from connector.store.engine import Store

ENTRIES = int(os.environ.get("COMPARE_RULES_BENCH_ENTRIES", 200_000))
NOW = datetime(2025, 6, 1, tzinfo=UTC)
SETTINGS = CompareSection(non_bonded_locations=["NB-*"], writeoff_period_months=1, writeoff_since=date(2024, 1, 1))
_TS = "strftime('%Y-%m-%dT%H:%M:%S.000000+00:00', 1704067200 + i * 10, 'unixepoch')"
_ROWS = "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?) "
MOVEMENTS = (_ROWS + "INSERT INTO movements (id, source, line_key, revision, content_hash, qty, occurred_at, "
             "changed_at, staged_at, location, extra, ledger_state) SELECT i + 1, 'wms', 'L' || i, 1, 'x', '5', "
             f"{_TS}, {_TS}, {_TS}, CASE WHEN i % 50 = 0 THEN 'NB-1' ELSE 'A-' || (i % 20) END, "
             "CASE WHEN i % 10 = 0 THEN json_object('vehicle_no', 'V' || (i / 10 % 500), 'gross_wt', '100') END, "
             "'posted' FROM n")
ENTRIES_SQL = (_ROWS + "INSERT INTO ledger_entries (id, movement_id, source, line_key, revision, mapping_version, "
               "bws_no, gds_seqno, gds_mtno, gdecd, direction, action, dcl_qty, dcl_unitcd, lawf_qty, lawf_unitcd, "
               "doc_ref, needs_list, occurred_at, created_at) SELECT i + 1, i + 1, 'wms', 'L' || i, 1, 'v', "
               "'T2345W000001', "
               "i % 1000 + 1, 'MT-' || (i % 1000 + 1), '8471300000', CASE WHEN i % 10 = 0 THEN 'E' ELSE 'I' END, "
               "'increase', CASE WHEN i % 10 = 0 THEN '-5' ELSE '5' END, '007', '5', '007', NULL, 0, "
               f"{_TS}, {_TS} FROM n")
PASSPORTS = (_ROWS + "INSERT INTO passports (passport_no, vehicle_no, io_typecd, stucd, pass_time, total_gross_wt, "
             "receipt_id, updated_at) SELECT 'HF' || i, 'V' || (i / 10 % 500), 'E', '2', "
             "strftime('%Y-%m-%dT%H:%M:%S.000000+00:00', 1704067260 + i * 10, 'unixepoch'), '100', 1, "
             f"{_TS} FROM n WHERE i % 20 = 0")
BASELINE = ("SELECT e.bws_no, e.gds_seqno, m.location, m.lot, SUM(CAST(e.dcl_qty AS REAL)) FROM ledger_entries e "
            "JOIN movements m ON m.source = e.source AND m.line_key = e.line_key AND m.revision = e.revision "
            "GROUP BY e.bws_no, e.gds_seqno, m.location, m.lot")


def _store(path: Path) -> None:
    Store.open(f"sqlite:///{path}").close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO receipts (id, source, file_name, sha256, message_type, received_at) "
               "VALUES (1, 'inbox', 'bench.xml', 'x', 'SAS223', '2024-01-01T00:00:00.000000+00:00')")
    for sql in (MOVEMENTS, ENTRIES_SQL, PASSPORTS):
        db.execute(sql, (ENTRIES,))
    db.commit()
    db.close()


def bench_rules(tmp: Path) -> Iterator[str]:
    path = tmp / "rules.db"
    _store(path)
    started = time.perf_counter()
    db = sqlite3.connect(path)
    db.execute(BASELINE).fetchall()
    db.close()
    scan = time.perf_counter() - started
    store = Store.open(f"sqlite:///{path}")
    try:
        started = time.perf_counter()
        with store.begin() as conn:
            units_wms.reset(conn, SETTINGS)
            out = Outcome()
            units_wms.evaluate(conn, out, None, SETTINGS, NOW, None)
        ours = time.perf_counter() - started
        kept, resum = _place_reads(store)
    finally:
        store.close()
    yield f"BENCH compare_rules_rebuild_s {ours:.2f} s"
    yield f"BENCH compare_rules_place_kept_s {kept:.4f} s"
    yield f"BENCH compare_rules_place_resum_s {resum:.4f} s"
    yield f"BENCH compare_rules_place_kept_vs_resum {kept / resum:.3f} ratio"
    yield f"BENCH compare_rules_scan_s {scan:.2f} s"
    yield f"BENCH compare_rules_vs_scan {ours / scan:.2f} ratio"
    yield f"BENCH compare_rules_rows_per_second {ENTRIES / ours:.0f} rows/s"
    yield f"BENCH compare_rules_findings {len(out.found)} count"


def _place_reads(store: Store) -> tuple[float, float]:
    """What a tick's C7 reads for 100 dirty ledger lines: the kept rows of `compare_places`, against
    the re-sum of their whole history that ticks did before revision 0007 (`load_wms.located`)."""
    lines = {("T2345W000001", seq) for seq in range(1, 101)}
    timed = []
    for read in (lambda conn: places_store.read(conn, lines), lambda conn: load_wms.located(conn, lines)):
        with store.read() as conn:
            started = time.perf_counter()
            read(conn)
            timed.append(time.perf_counter() - started)
    return timed[0], timed[1]


CASES = {"compare_rules": bench_rules}
