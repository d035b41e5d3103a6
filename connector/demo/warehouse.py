"""The demo WMS: a SQLite database of stock movements, and the item mapping that reads it.

The schema is a small but typical WMS movement table: one row per confirmed move, naive local
timestamps as text, quantities in the unit the warehouse counted in (pieces, cartons, reels),
and a status so a cancelled order's rows stay in the table. `QUERY` is what a site would put in
its config to present those rows as connector movements.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from connector.demo.catalog import BWS_NO, ITEMS, MOVEMENT_TYPES, RACKS, UNMAPPED_SKU
from connector.demo.scenario import Doc, DocLine

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DOCK, STAGE = "DOCK-01", "STAGE-01"
SCHEMA = """
CREATE TABLE items (sku TEXT PRIMARY KEY, description TEXT NOT NULL);
CREATE TABLE stock_moves (
    id INTEGER PRIMARY KEY,
    move_no TEXT NOT NULL UNIQUE,
    doc_no TEXT,
    move_type TEXT NOT NULL,          -- RCV receipt, SHIP delivery, XFER transfer, ADJ count
    sku TEXT NOT NULL REFERENCES items (sku),
    qty NUMERIC(18, 4) NOT NULL,
    uom TEXT NOT NULL,
    lot TEXT,
    location TEXT,
    to_location TEXT,
    status TEXT NOT NULL,             -- done | cancelled
    moved_at TEXT NOT NULL,           -- Asia/Shanghai wall clock
    updated_at TEXT NOT NULL
);
"""
QUERY = """SELECT m.move_no AS line_key, m.updated_at AS changed_at, m.moved_at AS occurred_at,
       m.sku, m.qty, m.uom, m.move_type AS movement_type, m.doc_no AS doc_ref,
       m.lot, m.location
  FROM stock_moves m
 WHERE m.status = 'done'"""


@dataclass(frozen=True)
class Move:
    at: datetime
    move_type: str
    sku: str
    qty: Decimal
    uom: str
    doc_no: str | None
    location: str
    to_location: str | None = None
    lot: str | None = None
    status: str = "done"


@dataclass(frozen=True)
class WmsStats:
    rows: int
    by_type: dict[str, int]  # done rows per move type
    cancelled: int


def write_wms(path: Path, docs: list[Doc]) -> WmsStats:
    """Create the WMS database; return what it holds."""
    moves = sorted(moves_for(docs), key=lambda m: (m.at, m.sku))
    with closing(sqlite3.connect(path)) as db, db:
        db.executescript(SCHEMA)
        db.executemany("INSERT INTO items VALUES (?, ?)", _item_rows())
        db.executemany(
            "INSERT INTO stock_moves (move_no, doc_no, move_type, sku, qty, uom, lot, location, to_location,"
            " status, moved_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [_row(n, m) for n, m in enumerate(moves, start=1)])
    done = Counter(m.move_type for m in moves if m.status == "done")
    return WmsStats(len(moves), dict(sorted(done.items())), sum(1 for m in moves if m.status != "done"))


def _item_rows() -> list[tuple[str, str]]:
    return [(i.sku, f"{i.name} {i.spec}") for i in ITEMS] + [(UNMAPPED_SKU, "HDMI连接线 2m")]


def _row(n: int, m: Move) -> tuple:
    confirmed = m.at + timedelta(minutes=3)
    return (f"MV{n:06d}", m.doc_no, m.move_type, m.sku, str(m.qty), m.uom, m.lot, m.location, m.to_location,
            m.status, m.at.strftime(TIME_FORMAT), confirmed.strftime(TIME_FORMAT))


def moves_for(docs: list[Doc]) -> list[Move]:
    """Every WMS row of the month: the documents' own moves plus putaway and replenishment transfers."""
    moves: list[Move] = []
    lots: dict[str, str] = {}
    for doc in docs:
        for index, line in enumerate(doc.lines):
            at = doc.at + timedelta(minutes=4 * index)
            moves += _line_moves(doc, line, at, lots, RACKS[(index + len(moves)) % len(RACKS)])
    return moves + _replenishments(docs)


def _line_moves(doc: Doc, line: DocLine, at: datetime, lots: dict[str, str], rack: str) -> list[Move]:
    status = "cancelled" if doc.cancelled else "done"
    if doc.kind == "ASN":
        lots[line.sku] = f"L{doc.at:%y%m%d}-{line.sku[:3]}"
        lot = lots[line.sku]
        return [Move(at, "RCV", line.sku, line.qty, line.uom, doc.no, DOCK, lot=lot, status=status),
                Move(at + timedelta(minutes=95), "XFER", line.sku, line.qty, line.uom, doc.no, DOCK, rack, lot)]
    if doc.kind == "CNT":
        return [Move(at, "ADJ", line.sku, line.qty, line.uom, doc.no, RACKS[1], lot=lots.get(line.sku))]
    moves = []
    for n, qty in enumerate(_split(line)):  # pick each part to the staging lane, then ship it
        lot, picked = lots.get(line.sku), at + timedelta(minutes=2 * n - 40)
        moves += [Move(picked, "XFER", line.sku, qty, line.uom, doc.no, RACKS[n], STAGE, lot, status),
                  Move(at + timedelta(minutes=2 * n), "SHIP", line.sku, qty, line.uom, doc.no, STAGE,
                       lot=lot, status=status)]
    return moves


def _split(line: DocLine) -> list[Decimal]:
    if line.picks == 1:
        return [line.qty]
    first = (line.qty / 2).to_integral_value(rounding="ROUND_FLOOR")
    return [first, line.qty - first]


def _replenishments(docs: list[Doc]) -> list[Move]:
    """A daily 07:30 move from reserve to the pick face, for the item shipped that day (no ledger effect)."""
    moves = []
    for doc in docs:
        if doc.kind == "DO" and doc.no.endswith("-01"):
            line = doc.lines[0]
            at = doc.at.replace(hour=7, minute=30)
            moves.append(Move(at, "XFER", line.sku, line.qty, line.uom, None, RACKS[-1], RACKS[0]))
    return moves


def mapping_toml() -> str:
    """The item mapping for the demo WMS (UNMAPPED_SKU deliberately left out)."""
    parts = ['label = "demo-warehouse"', 'sku_normalise = "nfkc_strip_upper"', "precision = 5", ""]
    for item in ITEMS:
        units = ", ".join(f"{uom} = {factor}" for uom, factor in item.units.items())
        parts += ["[[items]]", f'sku = "{item.sku}"', f'bws_no = "{BWS_NO}"', f"gds_seqno = {item.seqno}",
                  f'gds_mtno = "{item.mtno}"', f'gdecd = "{item.gdecd}"', f'dcl_unitcd = "{item.dcl_unit}"',
                  f'lawf_unitcd = "{item.lawf_unit}"', f"units = {{ {units} }}"]
        parts += [f"lawf_factor = {item.lawf_factor}"] if item.lawf_factor else []
        parts.append("")
    for code, spec in MOVEMENT_TYPES.items():
        parts.append(f"[movement_types.{code}]")
        parts += [f"{k} = {_toml_value(v)}" for k, v in spec.items()] + [""]
    return "\n".join(parts)


def _toml_value(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else f'"{value}"'
