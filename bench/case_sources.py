"""Source benchmarks: initial sync from PostgreSQL into the SQLite state store vs a bare psycopg read.

Starts its own throwaway PostgreSQL (tests/support/postgres.py), fills `moves` with N rows by
generate_series, and in the same run measures: the bare driver read (`cursor.stream`), the
connector's `sync_source` (decode + content hash + staging, committed per batch) and its peak RSS
(with its staging child's), each sync in a fresh child process so ru_maxrss is its own; then the
same over pyodbc + psqlODBC against a bare pyodbc read (skip with BENCH_SOURCES_ODBC=0).
N: $BENCH_SOURCES_ROWS (default 1,000,000); the RSS growth check repeats the sync at 3 × N (skip
with BENCH_SOURCES_RSS3=0). Each pair (sync, bare read) runs BENCH_SOURCES_REPEAT times (default 3)
turn about (bench/repeat.py): rates are medians, each ratio the median of the pairs' ratios.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from statistics import median

from bench import repeat

QUERY = ("SELECT id AS line_key, ts AS changed_at, ts AS occurred_at, sku, qty, uom, mtype AS movement_type, "
         "doc AS doc_ref, lot, loc AS location FROM moves")


def _fill(db, rows: int) -> None:
    with db.connect(autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS moves")
        conn.execute("CREATE TABLE moves (id bigint PRIMARY KEY, ts timestamp NOT NULL, sku varchar(40), "
                     "qty numeric(18,4), uom varchar(10), mtype varchar(20), doc varchar(40), lot varchar(40), "
                     "loc varchar(40), note varchar(40))")
        conn.execute("INSERT INTO moves SELECT i, timestamp '2020-01-01' + i * interval '1 second', "
                     "'SKU-' || (i % 5000), (i % 997) + 0.25, 'pcs', 'receipt', 'DOC' || (i / 10), 'LOT' || (i % 77), "
                     "'A-' || (i % 300), 'n' FROM generate_series(1, " + str(int(rows)) + ") i")
        conn.execute("CREATE INDEX ON moves (ts, id)")
        conn.execute("VACUUM ANALYZE moves")


def _bare(db) -> float:
    started = time.perf_counter()
    with db.connect() as conn:
        n = sum(1 for _ in conn.cursor().stream(QUERY + " ORDER BY ts, id", size=10000))
    return n / (time.perf_counter() - started)


def _odbc(db) -> str:
    return f"Driver={{PostgreSQL Unicode}};Server={db.host};Port={db.port};Database={db.name};Uid={db.user}"


def _bare_odbc(db) -> float:
    """The same rows through pyodbc + psqlODBC, read by a declared cursor in 10,000-row chunks."""
    import pyodbc

    started = time.perf_counter()
    conn = pyodbc.connect(_odbc(db) + f";Pwd={db.password};UseDeclareFetch=1;Fetch=10000")
    cursor = conn.execute(QUERY + " ORDER BY ts, id")
    n = 0
    while chunk := cursor.fetchmany(10000):
        n += len(chunk)
    conn.close()
    return n / (time.perf_counter() - started)


def _child(url: str, password: str, store: str, batch: int) -> None:
    """Run in a fresh process: one full sync, print rows/s and peak RSS as JSON."""
    from datetime import UTC, datetime

    import structlog

    from adapters.sources.sql import SqlSource, SqlSourceConfig
    from connector import sync
    from connector.clock import FixedClock
    from connector.store.engine import Store

    where = {"odbc": url} if url.startswith("Driver=") else {"url": url}
    config = SqlSourceConfig.model_validate(
        {**where, "password": "${PW}", "timezone": "UTC", "encoding": "utf-8", "query": QUERY, "lag_seconds": 0,
         "batch_size": batch, "overlap_every_seconds": 0}, context={"environ": {"PW": password}})
    source = SqlSource("bench", config, clock=FixedClock(datetime(2030, 1, 1, tzinfo=UTC)))
    state = Store.open(f"sqlite:///{store}")
    structlog.configure(logger_factory=structlog.ReturnLoggerFactory())
    started = time.perf_counter()
    counts = sync.sync_source(state, "bench", source, clock=source.clock, log=structlog.get_logger(), batch_size=batch)
    seconds = time.perf_counter() - started
    print(json.dumps({"rows_per_s": counts["read"] / seconds, "rows": counts["read"],
                      "peak_mb": _peak_mb()}))


def _peak_mb() -> float:
    """The sync process's peak RSS plus its staging child's (`_writer_process.py`): an upper bound,
    as if both peaked at the same moment."""
    return sum(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024


def _sync(db, tmp: Path, tag: str, url: str | None = None) -> dict:
    store = tmp / f"state-{tag}.db"
    out = subprocess.run([sys.executable, "-m", "bench.case_sources", url or db.url, str(store), "10000"],
                         capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[1],
                         env={**os.environ, "BENCH_PG_PASSWORD": db.password})  # not on the command line
    store.unlink(missing_ok=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_sources(tmp: Path) -> Iterator[str]:
    from tests.support.postgres import PostgresServer, find_bindir

    rows = int(os.environ.get("BENCH_SOURCES_ROWS", "1000000"))
    server = PostgresServer(find_bindir()).start()
    try:
        db = server.create_database()
        _fill(db, rows)
        times = repeat.count("BENCH_SOURCES_REPEAT")
        runs = repeat.pairs(times, lambda: _sync(db, tmp, "1m"), lambda: _bare(db))
        yield from _pair_lines("pg", runs)
        yield f"BENCH sync_peak_rss_mb_1m {max(run['peak_mb'] for run, _ in runs):.0f} MB"
        if os.environ.get("BENCH_SOURCES_ODBC", "1") != "0":
            yield from _pair_lines("odbc", repeat.pairs(times, lambda: _sync(db, tmp, "odbc", _odbc(db)),
                                                        lambda: _bare_odbc(db)))
        if os.environ.get("BENCH_SOURCES_RSS3", "1") != "0":
            _fill(db, rows * 3)
            yield f"BENCH sync_peak_rss_mb_3m {_sync(db, tmp, '3m')['peak_mb']:.0f} MB"
    finally:
        server.stop()


def _pair_lines(driver: str, runs: list[tuple[dict, float]]) -> Iterator[str]:
    """Medians of the bare read and of the sync over the pairs, and the pairs' ratios."""
    yield f"BENCH bare_{driver}_rows_per_s {median(bare for _, bare in runs):.0f} rows/s"
    yield f"BENCH sync_{driver}_rows_per_s {median(run['rows_per_s'] for run, _ in runs):.0f} rows/s"
    yield from repeat.ratio_lines(f"sync_{driver}_ratio", [run["rows_per_s"] / bare for run, bare in runs], "x", 3)


def _ledger_wms(tmp: Path, rows: int) -> str:
    """A SQLite WMS of `rows` receipts, every other one of an SKU the mapping does not know."""
    import sqlite3

    from tests.support.wms import COLUMNS, write_receipt_mapping

    wms = sqlite3.connect(tmp / "wms.db")
    wms.execute(f"CREATE TABLE moves ({', '.join(COLUMNS)})")
    wms.executemany("INSERT INTO moves VALUES (?, ?, '2024-01-01', ?, ?, 'pcs', 'receipt', 'D', NULL, NULL)",
                    [(i, f"2024-01-01 00:00:00.{i:06d}", "A" if i % 2 else "B", i % 7 + 1) for i in range(rows)])
    wms.commit()
    wms.close()
    write_receipt_mapping(tmp / "mapping.toml", label="bench")
    return f"sqlite:///{tmp / 'wms.db'}"


def bench_ledger(tmp: Path) -> Iterator[str]:
    """The ledger stage after a backfill (half the rows mapped, half quarantined as unmapped_sku),
    against the sync of the same rows from a SQLite WMS. N: $BENCH_LEDGER_ROWS (default 100,000)."""
    from datetime import UTC, datetime

    import structlog

    from adapters.sources.sql import SqlSource, SqlSourceConfig
    from connector import ledger, sync
    from connector.clock import FixedClock
    from connector.mapping_file import load_mapping
    from connector.store.engine import Store
    from tests.support.wms import QUERY as WMS_QUERY

    rows = int(os.environ.get("BENCH_LEDGER_ROWS", "100000"))
    config = SqlSourceConfig.model_validate({"url": _ledger_wms(tmp, rows), "timezone": "UTC", "encoding": "utf-8",
                                             "query": WMS_QUERY, "overlap_every_seconds": 0})
    clock, log = FixedClock(datetime(2030, 1, 1, tzinfo=UTC)), structlog.get_logger()
    structlog.configure(logger_factory=structlog.ReturnLoggerFactory())
    store, source = Store.open(f"sqlite:///{tmp / 'state.db'}"), SqlSource("bench", config, clock=clock)
    try:
        synced = rows / _seconds(lambda: sync.sync_source(store, "bench", source, clock=clock, log=log,
                                                          batch_size=5000))
        mapping = load_mapping(tmp / "mapping.toml")
        posted = rows / _seconds(lambda: ledger.post_source(store, "bench", mapping, clock=clock, log=log))
    finally:
        source.close()
        store.close()
    yield f"BENCH sync_sqlite_rows_per_s {synced:.0f} rows/s"
    yield f"BENCH ledger_post_rows_per_s {posted:.0f} rows/s"
    yield f"BENCH ledger_post_ratio {posted / synced:.3f} x"


def _seconds(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


CASES = {"sources": bench_sources, "sources_ledger": bench_ledger}

if __name__ == "__main__":
    _child(sys.argv[1], os.environ["BENCH_PG_PASSWORD"], sys.argv[2], int(sys.argv[3]))
