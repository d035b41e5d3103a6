"""The comparator engine: incremental ticks, full rebuilds, the picture as of a past instant.

A tick reads the watermarks, finds the dirty units (dirty.py), evaluates only those (units.py) and
applies the findings to the discrepancies they own (lifecycle.py), all in one transaction with the
outbox rows. The first tick on a store (no watermarks) and `compare --rebuild` evaluate every unit
with set-based loads; both paths run the same rules, so they give the same discrepancies.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, func, select

from connector._gc import collector_paused
from connector.compare import dirty, lifecycle, list_items, load, periods_store, places_store, screen, units_wms
from connector.compare.rules import KIND_LABELS
from connector.compare.settings import CompareSection
from connector.compare.units import Outcome, evaluate
from connector.model import Discrepancy
from connector.store.engine import Store
from connector.store.tables import discrepancies as D
from connector.store.tables_compare import compare_pending as P

KINDS = tuple(KIND_LABELS)
COUNTS = ("opened", "updated", "resolved", "unchanged", "in_flight")


def compare(store: Store, settings: CompareSection, *, routes: dict[str, list[str]], site: str,
            clock, log, rebuild: bool = False) -> dict[str, int]:
    """One comparison run (a tick, or a full rebuild); returns counts of what changed."""
    now = clock.now()
    with store.begin() as conn:
        marks = None if rebuild else dirty.watermarks(conn)
        counts = _rebuild(conn, settings, now, routes, site) if marks is None else \
            _tick(conn, marks, settings, now, routes, site)
    log.info("compare_done", rebuild=marks is None, **counts)
    return counts


def _tick(conn: Connection, marks: dict, settings: CompareSection, now: datetime, routes, site: str) -> dict:
    units = dirty.dirty_units(conn, marks, now)
    units_wms.dirty(conn, marks, units.more, settings, now)  # C4 WMS gross, C5, C7, C9 (before save_marks)
    dirty.save_marks(conn, {**dirty.current_marks(conn), **places_store.marks(settings)}, now)
    outcome = evaluate(conn, units, settings, now) if units else Outcome()
    return apply(conn, outcome, units.keys(), now, routes=routes, site=site)


def _rebuild(conn: Connection, settings: CompareSection, now: datetime, routes, site: str) -> dict:
    with collector_paused():  # a rebuild makes millions of objects that form no cycles (connector/_gc.py)
        try:
            return _rebuild_all(conn, settings, now, routes, site)
        finally:
            screen.release(conn)


def _rebuild_all(conn: Connection, settings: CompareSection, now: datetime, routes, site: str) -> dict:
    dirty.reset(conn)
    marks = dirty.current_marks(conn)
    scope = screen.scope(conn, marks, settings)  # its queries run while the derived tables reset
    units_wms.reset(conn, settings)  # C9's period sums start here: they also give the WMS balances
    dirty.refill_links(conn)  # while the screen's queries run
    balances: dict = {}

    def wms_balances() -> dict:  # summed while the rules run; kept as the running balances
        summed = periods_store.balances(conn, marks["entry_id"])
        balances.update(summed if summed is not None else screen.balances(conn, marks))
        return balances

    outcome = evaluate(conn, None, settings, now, screened=scope, balances=wms_balances)
    _refill_orphans(conn, scope)
    dirty.refill_balances(conn, balances)
    dirty.save_marks(conn, {**marks, **places_store.marks(settings)}, now)
    return apply(conn, outcome, None, now, routes=routes, site=site)


def _refill_orphans(conn: Connection, scope: dict) -> None:
    """The orphan lists' 料号 (C2; read by ticks only): on SQLite the lists of the screen's documents
    with 核注清单 lines that no movement names (the only ones that can hold one)."""
    if "docs" not in scope:
        list_items.refill(conn)
        return
    found, moved = scope["docs"]()  # computed once, for the rules
    list_items.refill(conn, {doc for doc in found if doc not in moved})


def apply(conn: Connection, outcome: Outcome, unit_keys: set[str] | None, now: datetime, *,
          routes: dict[str, list[str]], site: str) -> dict[str, int]:
    """Write the findings of the evaluated units (None = all): upsert, resolve, pending, outbox."""
    existing = _existing(conn, unit_keys, [d.id for d, _ in outcome.found])
    events = _write_found(conn, outcome, existing, now) + _resolve_missing(conn, outcome, existing, unit_keys, now)
    lifecycle.queue_many(conn, events, now, routes, site)
    _pending(conn, outcome, unit_keys)
    return _counts(conn, Counter(event for event, _ in events), now)


def _write_found(conn: Connection, outcome: Outcome, existing: dict[str, Any], now: datetime) -> list[tuple[str, str]]:
    events, fresh = [], []
    for d, unit_key in outcome.found:
        if d.id not in existing:
            fresh.append((d, unit_key))
            events.append(("opened", d.id))
        elif event := lifecycle.upsert(conn, d, unit_key, existing[d.id], now):
            events.append((event, d.id))
    _insert(conn, fresh, now)
    return events


def _resolve_missing(conn: Connection, outcome: Outcome, existing: dict[str, Any], unit_keys: set[str] | None,
                     now: datetime) -> list[tuple[str, str]]:
    """Live discrepancies of the evaluated units that no rule produced nor held back."""
    found, events = {d.id for d, _ in outcome.found}, []
    for did, row in existing.items():
        owned = unit_keys is None or row.unit_key in unit_keys or row.unit_key is None
        if row.status in lifecycle.LIVE and did not in found and did not in outcome.held and owned:
            lifecycle.resolve(conn, row, now)
            events.append(("resolved", did))
    return events


def _insert(conn: Connection, fresh: list[tuple[Discrepancy, str]], now: datetime) -> None:
    """First findings, in one statement; on SQLite as driver values, each column type's conversion
    done here (once per distinct time or quantity): a rebuild may open tens of thousands."""
    if not fresh:
        return
    fresh.sort(key=lambda f: f[0].id)  # the primary key's order: each page of its index filled once
    if conn.dialect.name != "sqlite":
        conn.execute(D.insert(), [lifecycle.new_row(d, unit_key, now) for d, unit_key in fresh])
        return
    names = lifecycle.NEW_COLUMNS
    convert = [(i, f) for i, f in enumerate(_to_driver(D.c[n].type, conn.dialect) for n in names) if f]
    values = []
    for d, unit_key in fresh:
        row = list(lifecycle.new_values(d, unit_key, now))
        for i, f in convert:
            row[i] = f(row[i])
        values.append(tuple(row))
    sql = f"INSERT INTO discrepancies ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
    conn.exec_driver_sql(sql, values)


def _to_driver(column_type, dialect):
    """What SQLAlchemy would do to a value bound to this column on SQLite (a rebuild binds the same
    times and quantities many times over: each distinct one is converted once)."""
    if hasattr(column_type, "process_bind_param"):  # DecimalText, AwareDateTime
        done: dict = {}

        def convert(v):
            key = (type(v), v)  # the type too: 1 == Decimal(1), but only a Decimal binds
            if key not in done:
                done[key] = column_type.process_bind_param(v, dialect)
            return done[key]
        return convert
    if isinstance(column_type, JSON):  # the column's own processor: the engine's serializer (types.json_text)
        return column_type.bind_processor(dialect)
    return None  # stored as given


def _existing(conn: Connection, unit_keys: set[str] | None, found: list[str]) -> dict[str, Any]:
    query = select(D).where(D.c.kind.in_(KINDS))
    if unit_keys is None:
        return {r.id: r for r in conn.execute(query)}
    rows = {}
    for part in load.chunks(unit_keys):
        rows.update({r.id: r for r in conn.execute(query.where(D.c.unit_key.in_(part)))})
    for part in load.chunks(set(found) - set(rows)):
        rows.update({r.id: r for r in conn.execute(query.where(D.c.id.in_(part)))})
    return rows


def _pending(conn: Connection, outcome: Outcome, unit_keys: set[str] | None) -> None:
    if unit_keys is None:
        conn.execute(P.delete())
    for part in load.chunks(unit_keys or ()):
        conn.execute(P.delete().where(P.c.unit_key.in_(part)))
    conn.execute(P.delete().where(P.c.id.in_(list(outcome.held)))) if outcome.held else None
    rows = [{"id": did, "kind": "", "unit_key": unit, "due_at": due} for did, (unit, due) in outcome.held.items()]
    if rows:
        conn.execute(P.insert(), rows)


def _counts(conn: Connection, counts: Counter, now: datetime) -> dict[str, int]:
    """`unchanged`: live discrepancies confirmed again (not held back, not changed by this run)."""
    live = D.c.status.in_(lifecycle.LIVE) & D.c.kind.in_(KINDS) & D.c.id.not_in(select(P.c.id))
    conn.execute(D.update().where(live, D.c.last_seen < now).values(last_seen=now))
    total = conn.execute(select(func.count()).select_from(D).where(live)).scalar()
    counts["unchanged"] = total - counts["opened"] - counts["updated"]
    counts["in_flight"] = conn.execute(select(func.count()).select_from(P)).scalar()
    return {k: counts.get(k, 0) for k in COUNTS}


def as_dict(row: Any) -> dict[str, Any]:
    """The public shape of a discrepancy (CLI JSON and pushed payloads share it)."""
    return {
        "id": row.id, "kind": row.kind, "kind_label": KIND_LABELS.get(row.kind, row.kind),
        "status": row.status, "version": row.version, "ledger_no": row.ledger_no, "item_seq": row.item_seq,
        "item_no": row.item_no, "doc_refs": list(row.doc_refs), "expected_qty": _text(row.expected_qty),
        "actual_qty": _text(row.actual_qty), "delta_qty": _text(row.delta_qty), "unit": row.unit,
        "details": row.details, "first_seen": row.first_seen.isoformat(), "last_seen": row.last_seen.isoformat(),
        "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None,
    }


def _text(value) -> str | None:
    return None if value is None else format(value, "f")
