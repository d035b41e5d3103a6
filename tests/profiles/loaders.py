"""Load a WMS fixture (tests/fixtures/wms/<wms>: schema + CSV rows) into a real database engine.

CSV conventions (fixture README): an empty field is NULL, except in NOT NULL text columns where it
is ''; MySQL `bit` columns take integer parameters; Odoo booleans are t/f (PostgreSQL COPY syntax).
"""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "wms"
ODOO_ORDER = ("uom_uom", "product_product", "stock_location", "stock_picking_type", "stock_lot",
              "stock_picking", "stock_move", "stock_move_line")


def csv_tables(wms: str) -> list[tuple[str, list[str], list[list[str]]]]:
    tables = []
    for path in sorted((FIXTURES / wms).glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        tables.append((path.stem, rows[0], rows[1:]))
    return tables


def load_postgres(db, wms: str = "odoo17") -> None:
    """Schema, then every CSV through COPY (CSV format: empty unquoted field = NULL)."""
    with db.connect(autocommit=True) as conn:
        conn.execute((FIXTURES / wms / "schema.pg.sql").read_text(encoding="utf-8"))
        order = {name: n for n, name in enumerate(ODOO_ORDER)}
        for name in sorted((p.stem for p in (FIXTURES / wms).glob("*.csv")), key=lambda n: order.get(n, 99)):
            path = FIXTURES / wms / f"{name}.csv"
            header = path.open(encoding="utf-8").readline().strip()
            with conn.cursor().copy(f"COPY {name} ({header}) FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
                copy.write(path.read_bytes())


def load_sqlite(path: Path, wms: str) -> None:
    db = sqlite3.connect(path)
    try:
        db.executescript((FIXTURES / wms / "schema.sqlite.sql").read_text(encoding="utf-8"))
        with db:
            for table, header, rows in csv_tables(wms):
                notnull = {r[1] for r in db.execute(f'PRAGMA table_info("{table}")') if r[3]}
                values = [[_blank(v, c in notnull) for v, c in zip(row, header)] for row in rows]
                db.executemany(f'INSERT INTO "{table}" ({", ".join(header)}) VALUES ({", ".join("?" * len(header))})',
                               values)
    finally:
        db.close()


def load_mysql(db, wms: str = "modernwms") -> None:
    conn = db.connect()
    try:
        with conn.cursor() as cur:
            for statement in _statements((FIXTURES / wms / "schema.mysql.sql").read_text(encoding="utf-8")):
                cur.execute(statement)
            for table, header, rows in csv_tables(wms):
                kinds = _mysql_columns(cur, db.name, table)
                values = [[_mysql_value(v, kinds[c]) for v, c in zip(row, header)] for row in rows]
                cur.executemany(f"INSERT INTO `{table}` ({', '.join(header)}) VALUES ({', '.join(['%s'] * len(header))})",
                                values)
    finally:
        conn.close()


def _statements(script: str) -> list[str]:
    lines = [line.split("--")[0] if not line.lstrip().startswith("--") else "" for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _mysql_columns(cur, schema: str, table: str) -> dict[str, tuple[str, bool]]:
    cur.execute("SELECT column_name, data_type, is_nullable FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = %s", (schema, table))
    return {name: (kind, nullable == "YES") for name, kind, nullable in cur.fetchall()}


def _mysql_value(value: str, kind: tuple[str, bool]):
    data_type, nullable = kind
    if data_type == "bit":
        return int(value) if value else None
    return _blank(value, not nullable)


def _blank(value: str, not_null: bool):
    return value if value != "" else ("" if not_null else None)
