"""What the read-only commands print: status, discrepancies, check."""

from __future__ import annotations

import json
import sys
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo
from typing import Any

from sqlalchemy import func, select

from connector import quarantine, runlog
from connector.compare.engine import as_dict
from connector.store.tables import discrepancies, movements, outbox, source_cursors

TABLE_COLUMNS = ("kind", "status", "ledger_no", "item_seq", "item_no", "doc_refs", "expected_qty",
                 "actual_qty", "delta_qty", "unit", "last_seen")


def list_discrepancies(app, fmt: str, status: str, out=None) -> int:
    out = out or sys.stdout
    query = select(discrepancies).order_by(discrepancies.c.kind, discrepancies.c.ledger_no, discrepancies.c.id)
    if status != "all":
        query = query.where(discrepancies.c.status == status)
    with app.store.read() as conn:
        rows = [as_dict(r) for r in conn.execute(query)]
    if fmt == "json":
        json.dump(rows, out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(render_table(rows, ZoneInfo(app.config.connector.timezone)) + "\n")
    return 0


def _find(conn, did: str):
    """A discrepancy by id or by a unique id prefix (at least 6 characters)."""
    rows = list(conn.execute(select(discrepancies).where(discrepancies.c.id.like(f"{did}%")).limit(2)))
    return rows[0] if len(did) >= 6 and len(rows) == 1 else None


def show_discrepancy(app, did: str, out=None) -> int:
    from connector.compare.explain import explain

    out = out or sys.stdout
    with app.store.read() as conn:
        row = _find(conn, did)
        if row is None:
            sys.stderr.write(f"connector: no discrepancy {did}\n")
            return 1
        out.write(explain(conn, row, ZoneInfo(app.config.connector.timezone)) + "\n")
    return 0


def ack_discrepancy(app, did: str, reason: str, out=None) -> int:
    """Acknowledge with a reason (queued as discrepancy.acknowledged); only live ones can be."""
    from connector.compare import lifecycle

    out, now, done = out or sys.stdout, app.clock.now(), None
    with app.store.begin() as conn:
        row = _find(conn, did)
        if row is not None and reason.strip():
            done = lifecycle.acknowledge(conn, row.id, reason.strip(), now)
        if done is not None:
            lifecycle.queue(conn, "acknowledged", row.id, now, app.routes(), app.config.connector.site)
    if done is None:
        sys.stderr.write(f"connector: no open discrepancy {did}, or an empty reason\n")
        return 1
    out.write(json.dumps(as_dict(done), indent=2, ensure_ascii=False) + "\n")
    return 0


def render_table(rows: list[dict[str, Any]], zone: ZoneInfo) -> str:
    """People read local time (the site's zone); JSON keeps UTC with its offset."""
    if not rows:
        return "no discrepancies"
    cells = [[_cell(r, c, zone) for c in TABLE_COLUMNS] for r in rows]
    widths = [max(_width(c), *(_width(row[i]) for row in cells)) for i, c in enumerate(TABLE_COLUMNS)]
    lines = ["  ".join(_pad(c, w) for c, w in zip(TABLE_COLUMNS, widths))]
    lines += ["  ".join(_pad(v, w) for v, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines)


def _width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _cell(row: dict[str, Any], column: str, zone: ZoneInfo) -> str:
    value = row[column]
    if column == "kind":
        return f"{value} {row['kind_label']}"
    if column == "doc_refs":
        return ",".join(value)
    if column == "last_seen":
        return datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M")
    return "" if value is None else str(value)


def status(app, out=None) -> int:
    out = out or sys.stdout
    with app.store.read() as conn:
        report = {
            "store": app.store.describe(),
            "cursors": {r.source: {"updated_at": r.updated_at.isoformat(), "halted": r.halted_reason}
                        for r in conn.execute(select(source_cursors))},
            "movements_by_ledger_state": _group(conn, movements.c.ledger_state),
            "discrepancies_by_status": _group(conn, discrepancies.c.status),
            "outbox_by_status": _group(conn, outbox.c.status),
            "quarantine_open": quarantine.open_counts(conn),
            "recent_runs": runlog.latest(conn, limit=10),
            "run_log_problems": runlog.verify(conn),
        }
    json.dump(report, out, indent=2, ensure_ascii=False, default=str)
    out.write("\n")
    return 0


def _group(conn, column) -> dict[str, int]:
    return {k: n for k, n in conn.execute(select(column, func.count()).group_by(column))}


def check(loaded, out=None) -> int:
    """Validate (already done by loading) and try every connection; print one line each."""
    out = out or sys.stdout
    from connector.app import App

    out.write(f"config {loaded.path}: ok\n")
    try:
        app = App(loaded)
    except Exception as exc:  # the store is the first connection tried
        out.write(f"FAIL store: {type(exc).__name__}: {exc}\n")
        return 1
    failures = 0 if _line(out, "store", lambda: f"ok {app.store.describe()}") else 1
    for kind, name in loaded.adapters:
        failures += 0 if _line(out, f"{kind}.{name}", lambda: app.adapter(kind, name).check()) else 1
    app.close()
    return 1 if failures else 0


def _line(out, label: str, probe) -> bool:
    try:
        out.write(f"ok   {label}: {probe()}\n")
        return True
    except Exception as exc:
        out.write(f"FAIL {label}: {type(exc).__name__}: {exc}\n")
        return False
