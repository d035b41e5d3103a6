"""Build real SQLite WMS databases, mapping files and state stores for the core tests.

`Wms` is a small SQLite file with one `moves` table whose columns carry no type affinity, so a
test can store exactly what a messy WMS holds: text or float quantities, GBK bytes, NULLs, naive
text timestamps. `write_mapping` renders a mapping TOML file from plain data. The fixtures
(`store`, `wms`, `clock`, `make_source`, `log`) close what they open.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connector import registry
from connector.clock import FixedClock
from connector.store.engine import Store

COLUMNS = ("line_key", "changed_at", "occurred_at", "sku", "qty", "uom", "movement_type", "doc_ref",
           "lot", "location")
QUERY = ("SELECT line_key, changed_at, occurred_at, sku, qty, uom, movement_type, doc_ref, lot, location "
         "FROM moves")
NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)  # 20:00 in Asia/Shanghai
OLD = "2025-03-01 09:00:00"  # a naive Shanghai wall-clock time, days before NOW


class Wms:
    """A SQLite WMS database file with a `moves` table (columns without affinity)."""

    def __init__(self, path: Path):
        self.path = path
        self.url = f"sqlite:///{path}"
        self.execute(f"CREATE TABLE moves ({', '.join(COLUMNS)})")

    def _write(self, sql: str, params: list[Any]) -> None:
        db = sqlite3.connect(self.path)
        try:
            with db:
                db.execute(sql, params)
        finally:
            db.close()

    def add(self, line_key: Any, **fields: Any) -> None:
        row = move(line_key, **fields)
        self._write(f"INSERT INTO moves ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                    list(row.values()))

    def update(self, line_key: Any, **fields: Any) -> None:
        sets = ", ".join(f"{name} = ?" for name in fields)
        self._write(f"UPDATE moves SET {sets} WHERE line_key = ?", [*fields.values(), line_key])

    def execute(self, script: str) -> None:
        db = sqlite3.connect(self.path)
        try:
            db.executescript(script)
        finally:
            db.close()


def move(line_key: Any, **fields: Any) -> dict[str, Any]:
    """A good receipt row unless told otherwise: 10 EA of SKU-1, old enough to be read."""
    row = {"line_key": line_key, "changed_at": OLD, "occurred_at": OLD, "sku": "SKU-1", "qty": "10",
           "uom": "EA", "movement_type": "receipt", "doc_ref": "ASN-1", "lot": None, "location": None}
    row.update(fields)
    return row


# -- mapping files ---------------------------------------------------------------------------------

ITEM = {"sku": "SKU-1", "bws_no": "T2345W000001", "gds_seqno": 1, "gds_mtno": "MT-1", "gdecd": "8471300000",
        "dcl_unitcd": "007", "lawf_unitcd": "007", "units": {"EA": Decimal(1), "CS": Decimal(12)}}
MOVEMENT_TYPES = {
    "receipt": {"action": "increase", "direction": "I"},
    "issue": {"action": "decrease", "direction": "E"},
    "adjust": {"action": "signed", "qty_sign": "any", "needs_list": False},
    "transfer": {"action": "none"},
}


def item(**fields: Any) -> dict[str, Any]:
    return {**ITEM, **fields}


def mapping_data(items: list[dict] | None = None, movement_types: dict | None = None, **top: Any) -> dict:
    return {"label": "test", **top, "items": items if items is not None else [item()],
            "movement_types": movement_types if movement_types is not None else MOVEMENT_TYPES}


def write_mapping(path: Path, items: list[dict] | None = None, movement_types: dict | None = None,
                  **top: Any) -> Path:
    path.write_text(to_toml(mapping_data(items, movement_types, **top)), encoding="utf-8")
    return path


def write_receipt_mapping(path: Path, label: str = "test") -> Path:
    """One SKU "A" counted in pcs, receipts only (the daemon test, the ledger benchmark)."""
    one = item(sku="A", bws_no="T5165W000469", gds_mtno="A", units={"pcs": Decimal(1)})
    return write_mapping(path, [one], {"receipt": MOVEMENT_TYPES["receipt"]}, label=label)


def to_toml(data: dict[str, Any]) -> str:
    """Render the nested dicts/lists these tests use as TOML (tables, arrays of tables, inline maps)."""
    lines: list[str] = []
    _table(lines, data, ())
    return "\n".join(lines) + "\n"


def _table(lines: list[str], data: dict[str, Any], path: tuple[str, ...]) -> None:
    nested = {k: v for k, v in data.items() if _is_table(v) or _is_table_array(v)}
    for key, value in data.items():
        if key not in nested:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in nested.items():
        here = (*path, key)
        if _is_table_array(value):
            for element in value:
                lines += ["", f"[[{'.'.join(map(_key, here))}]]"]
                _table(lines, element, here)
        else:
            lines += ["", f"[{'.'.join(map(_key, here))}]"]
            _table(lines, value, here)


def _is_table(value: Any) -> bool:
    return isinstance(value, dict)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() and key.isascii() else f'"{key}"'


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot render {type(value).__name__} as TOML")


# -- sources ---------------------------------------------------------------------------------------

def source_settings(wms: Wms, **fields: Any) -> dict[str, Any]:
    return {"url": wms.url, "timezone": "Asia/Shanghai", "encoding": "utf-8", "query": QUERY,
            "batch_size": 100, "lag_seconds": 300, **fields}


# -- fixtures --------------------------------------------------------------------------------------

class Log:
    """Records structured log calls: `log.events` is a list of (level, event, fields)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    def __getattr__(self, level: str):
        if level.startswith("_"):
            raise AttributeError(level)
        return lambda event, **fields: self.events.append((level, event, fields))


@pytest.fixture
def log() -> Log:
    return Log()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def wms(tmp_path: Path) -> Wms:
    return Wms(tmp_path / "wms.db")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'state.db'}", busy_timeout=5)
    yield opened
    opened.close()


@pytest.fixture
def make_source(clock: FixedClock):
    """Build the `sql` source through the registry, as the app does; every one is closed at teardown."""
    built: list[Any] = []

    def make(wms: Wms, name: str = "wms", **fields: Any):
        cls = registry.load("connector.sources", "sql")
        settings = cls.Config.model_validate(source_settings(wms, **fields))
        built.append(cls(name, settings, clock=clock))
        return built[-1]

    yield make
    for source in built:
        source.close()
