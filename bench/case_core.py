"""Benchmark cases: sync throughput (vs a raw sqlite3 read) and mapping throughput (vs dict lookups)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import structlog

from adapters.sources.sql import SqlSource, SqlSourceConfig
from connector import sync
from connector.clock import FixedClock
from connector.mapping import map_movement
from connector.mapping_file import Mapping, MappingFile
from connector.model import Movement
from connector.store.engine import Store

ROWS = 20_000
QUERY = ("SELECT id AS line_key, ts AS changed_at, ts AS occurred_at, sku, qty, 'pcs' AS uom, "
         "'receipt' AS movement_type, doc AS doc_ref, NULL AS lot, NULL AS location FROM mv")


def _make_wms(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE mv (id INTEGER PRIMARY KEY, ts TEXT, sku TEXT, qty TEXT, doc TEXT)")
    start = datetime(2024, 3, 1)
    conn.executemany("INSERT INTO mv VALUES (?,?,?,?,?)", (
        (i, (start + timedelta(seconds=i)).strftime("%Y-%m-%d %H:%M:%S"), f"SKU-{i % 50}", str(i % 97 + 1), f"DOC{i // 10}")
        for i in range(1, ROWS + 1)))
    conn.commit()
    conn.close()


def _raw_read(path: Path) -> None:
    conn = sqlite3.connect(path)
    cur = conn.execute(QUERY + " ORDER BY ts, id")
    while cur.fetchmany(5000):
        pass
    conn.close()


def _timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def bench_sync(tmp: Path) -> Iterator[str]:
    wms = tmp / "wms.sqlite"
    _make_wms(wms)
    baseline = _timed(lambda: _raw_read(wms))
    store = Store.open(f"sqlite:///{tmp / 'state.db'}")
    config = SqlSourceConfig(url=f"sqlite:///{wms}", timezone="Asia/Shanghai", encoding="utf-8", query=QUERY,
                             lag_seconds=0)
    source = SqlSource("bench", config, clock=FixedClock(datetime(2030, 1, 1, tzinfo=UTC)))
    log = structlog.get_logger("bench")
    seconds = _timed(lambda: sync.sync_source(store, "bench", source, clock=source.clock, log=log, batch_size=5000))
    source.close()
    store.close()
    yield f"BENCH sync_rows_per_second {ROWS / seconds:.0f} rows/s"
    yield f"BENCH sync_baseline_raw_sqlite3_rows_per_second {ROWS / baseline:.0f} rows/s"
    yield f"BENCH sync_ratio_to_raw_read {baseline / seconds:.4f} ratio"


def _mapping() -> Mapping:
    items = [dict(sku=f"SKU-{i}", bws_no="T5165W000469", gds_seqno=i + 1, gds_mtno=f"SKU-{i}", gdecd="8471300000",
                  dcl_unitcd="007", lawf_unitcd="007", units={"pcs": Decimal(1)}) for i in range(50)]
    spec = MappingFile.model_validate({"items": items, "movement_types": {"receipt": {"action": "increase",
                                                                                      "direction": "I"}}})
    return Mapping(spec, "bench@0")


def bench_mapping(tmp: Path) -> Iterator[str]:
    mapping = _mapping()
    at = datetime(2024, 3, 1, tzinfo=UTC)
    moves = [Movement("b", str(i), f"SKU-{i % 50}", Decimal(i % 97 + 1), "pcs", "receipt", "D", at, at)
             for i in range(ROWS)]
    seconds = _timed(lambda: [map_movement(m, mapping) for m in moves])
    baseline = _timed(lambda: [mapping.items.get(m.sku) for m in moves])
    yield f"BENCH mapping_movements_per_second {ROWS / seconds:.0f} movements/s"
    yield f"BENCH mapping_baseline_dict_lookups_per_second {ROWS / baseline:.0f} lookups/s"
    yield f"BENCH mapping_ratio_to_dict_lookup {baseline / seconds:.4f} ratio"


CASES = {"sync": bench_sync, "mapping": bench_mapping}
