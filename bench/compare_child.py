"""Child process of bench/case_compare.py: one measured run, printed as one JSON line."""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import structlog

from connector.clock import FixedClock
from connector.compare.engine import compare
from connector.compare.settings import CompareSection
from connector.store.engine import Store

NOW = FixedClock(datetime(2025, 6, 1, tzinfo=UTC))
LOG = structlog.get_logger("bench")
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))


def _run(store: Store, rebuild: bool) -> dict:
    return compare(store, CompareSection(), routes={}, site="bench", clock=NOW, log=LOG, rebuild=rebuild)


def full(path: str) -> dict:
    store = Store.open(f"sqlite:///{path}")
    started = time.perf_counter()
    counts = _run(store, rebuild=True)
    seconds = time.perf_counter() - started
    store.close()
    return {"seconds": seconds, "opened": counts["opened"], "peak_rss_mb": _tree_rss()}


def pandas(path: str) -> dict:
    """The baseline: read the same columns from the same store and merge on the document reference."""
    import pandas as pd

    started = time.perf_counter()
    db = sqlite3.connect(path)
    moved = pd.read_sql("SELECT doc_ref, gds_mtno, dcl_qty FROM ledger_entries WHERE needs_list = 1", db)
    listed = pd.read_sql("SELECT h.etps_inner_invt_no AS doc_ref, l.gds_mtno, l.dcl_qty FROM bond_invt_lines l "
                         "JOIN bond_invt_heads h ON h.bond_invt_no = l.bond_invt_no", db)
    merged = moved.merge(listed, on=["doc_ref", "gds_mtno"], how="outer", suffixes=("_wms", "_list"))
    _ = int((merged["dcl_qty_wms"] != merged["dcl_qty_list"]).sum())
    db.close()
    return {"seconds": time.perf_counter() - started, "peak_rss_mb": _rss()}


def tick(path: str, history: str, new: str) -> dict:
    """Bring the store up to date cheaply (balances by SQL), then time one tick after `new` movements."""
    from bench import compare_data as data

    _prime(path)
    data.add_entries(Path(path), int(history), int(new), bulk=False)
    store = Store.open(f"sqlite:///{path}")
    started = time.perf_counter()
    _run(store, rebuild=False)
    seconds = time.perf_counter() - started
    store.close()
    return {"seconds": seconds, "peak_rss_mb": _rss()}


def _prime(path: str) -> None:
    db = sqlite3.connect(path)
    db.execute("INSERT INTO compare_balances SELECT bws_no, CAST(gds_seqno AS TEXT), MIN(gds_mtno), "
               "MIN(dcl_unitcd), CAST(SUM(CAST(dcl_qty AS INTEGER)) AS TEXT), MAX(occurred_at) "
               "FROM ledger_entries GROUP BY bws_no, gds_seqno")
    db.execute("INSERT INTO compare_list_docs SELECT bond_invt_no, etps_inner_invt_no FROM bond_invt_heads")
    stamp = NOW.now().isoformat(timespec="microseconds")
    for name, sql in (("entry_id", "SELECT MAX(id) FROM ledger_entries"), ("receipt_id", "SELECT MAX(id) FROM receipts")):
        db.execute("INSERT INTO compare_state VALUES (?, ?, ?)", (name, json.dumps(db.execute(sql).fetchone()[0]), stamp))
    db.commit()
    db.close()


def _rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _tree_rss() -> float:
    """Peak RSS of the rebuild with its query children (screen.run_all runs one per core): this
    process's peak plus that many times the largest child's peak, an upper bound."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return _rss() + (os.cpu_count() or 2) * children


if __name__ == "__main__":
    print(json.dumps({"full": full, "pandas": pandas, "tick": tick}[sys.argv[1]](*sys.argv[2:])))
