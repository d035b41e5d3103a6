"""The evaluation units of the rules that read WMS movement fields, and C9 (units_periods.py):
  vehicle|V  C5 dispatches of vehicle V ↔ its outbound passports (无单出区, 有单无装车, C8 voided but
             the truck left) and C4 the WMS shipped gross weight of each matched passport (重量超差)
  place|B|S  C7 分类监管: stock of ledger line B/S per location and lot (bonded vs non-bonded)
  conv|D     C7 分类监管 conversions of document D (convm|M: those of 料号 M without one) vs its booked lists
             (dirtied in dirty.py from new conversion entries and the documents of changed lists)
  wo|B       C9 核销 write-off of 账册 B, every line and period
A tick dirties them from the new ledger entries (their movements' vehicle, their ledger line and
账册), from new passport receipts (the vehicle now and the one remembered) and from new EMS221
receipts; a rebuild refills the derived tables and evaluates them all.
"""

from __future__ import annotations

import fnmatch
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, func, select

from connector.compare import load_conversion, load_gate, load_wms, periods_store, places_store, units_periods
from connector.compare.load import chunks, raw
from connector.compare.rules.conversion import conversions_booked
from connector.compare.rules.dispatch import match_dispatches
from connector.compare.rules.gate import wms_weight_check
from connector.compare.rules.periods import LocatedStock, bonded_status
from connector.compare.settings import CompareSection
from connector.store.tables import ledger_entries as E
from connector.store.tables import ledger_lines as LL
from connector.store.tables import passports as PP
from connector.store.tables_compare import compare_state as S
from connector.store.tables_compare_periods import compare_passport_vehicles as PV
from connector.store.tables_messages import writeoff_lines as WL
from connector.store.tables_messages import writeoffs as WO

KINDS = ("vehicle", "place", "wo", "conv", "convm")
TARE = ("vehicle_wt", "vehicle_frame_wt", "container_wt")


def _split(keys: set[str] | None, kind: str):
    return None if keys is None else {k.partition("|")[2] for k in keys if k.startswith(kind + "|")}


def evaluate(conn: Connection, out, keys: set[str] | None, s: CompareSection, now: datetime,
             as_of: datetime | None) -> None:
    """Evaluate the `vehicle|`, `place|`, `wo|`, `conv|` and `convm|` units among `keys` (None = every one)."""
    evaluate_vehicles(conn, out, _split(keys, "vehicle"), s, now, as_of)
    places = _split(keys, "place")
    evaluate_places(conn, out, None if places is None else {_line(k) for k in places}, s, now, as_of)
    units_periods.evaluate(conn, out, _split(keys, "wo"), s, now, as_of)
    evaluate_conversions(conn, out, _split(keys, "conv"), _split(keys, "convm"), s, now, as_of)


def evaluate_conversions(conn: Connection, out, docs: set[str] | None, mtnos: set[str] | None, s: CompareSection,
                         now: datetime, as_of: datetime | None) -> None:
    """C7 conversions per document (and per 料号 without one) against the booked 核注清单 lines."""
    if docs is not None and not docs and not mtnos:
        return
    found: dict[str, list] = {}
    for c in load_conversion.conversions(conn, docs, mtnos, as_of):
        found.setdefault(load_conversion.unit_key(c.doc_ref, c.gds_mtno), []).append(c)
    lines = load_conversion.booked_lines(conn, {c.doc_ref for cs in found.values() for c in cs if c.doc_ref}, as_of)
    for key, mine in sorted(found.items()):
        out.take(conversions_booked(mine, lines, now, s), key)


def _sort_key(place: tuple) -> tuple:
    return place[0], place[1], place[2], place[3] or ""  # a lot may be None


def _line(key: str) -> tuple[str, int]:
    bws, _, seq = key.rpartition("|")
    return bws, int(seq)


def evaluate_vehicles(conn: Connection, out, vehicles: set[str] | None, s: CompareSection, now: datetime,
                      as_of: datetime | None) -> None:
    if vehicles is not None and not vehicles:
        return
    dispatches = load_wms.dispatches(conn, vehicles, as_of)
    if vehicles is None and not s.dispatch_all_vehicles:
        vehicles = set(dispatches)  # a vehicle the WMS never loaded can give no finding
    heads = _passport_heads(conn, vehicles, as_of)
    passports = load_gate.passports(conn, set(heads), load_gate.links(conn, None, set(heads)), as_of) if heads else {}
    by_vehicle: dict[str, list] = {}
    for no, p in passports.items():
        by_vehicle.setdefault(heads[no][0], []).append(p)
    for vehicle in sorted(set(dispatches) | set(by_vehicle)):
        mine = {p.passport_no: heads[p.passport_no][0] for p in by_vehicle.get(vehicle, [])}
        known = s.dispatch_all_vehicles or bool(dispatches.get(vehicle))
        result, used = match_dispatches(dispatches.get(vehicle, []), by_vehicle.get(vehicle, []), mine, now, s, known)
        for no, d in sorted(used.items()):
            result.extend(wms_weight_check(passports[no], d.gross_wt, heads[no][1], s))
        out.take(result, f"vehicle|{vehicle}")


def _passport_heads(conn: Connection, vehicles: set[str] | None, as_of: datetime | None) -> dict[str, tuple]:
    """Outbound (or undirected) passports of these vehicles: number -> (vehicle, tare or None)."""
    query = select(PP.c.passport_no, PP.c.vehicle_no, PP.c.io_typecd, *(raw(PP.c[n]) for n in TARE)) \
        .where(PP.c.vehicle_no.is_not(None))
    if as_of is not None:
        query = query.where(PP.c.updated_at <= as_of)
    found = conn.execute(query).all() if vehicles is None else [
        r for part in chunks(vehicles) for r in conn.execute(query.where(PP.c.vehicle_no.in_(part)))]
    return {r[0]: (r[1], _tare(r[3:])) for r in found if r[2] != "I"}


def _tare(parts) -> Decimal | None:
    """vehicleWt + vehicleFrameWt + containerWt (None when the vehicle weight is not given)."""
    return None if parts[0] is None else sum((Decimal(p) for p in parts if p is not None), Decimal(0))


def evaluate_places(conn: Connection, out, lines: set[tuple[str, int]] | None, s: CompareSection, now: datetime,
                    as_of: datetime | None) -> None:
    """C7 runs only when non-bonded locations or ledgers are configured (nothing to find otherwise)."""
    if (lines is not None and not lines) or not (s.non_bonded_locations or s.non_bonded_ledgers):
        return
    stock: dict[tuple[str, int], list[LocatedStock]] = {}
    found = load_wms.located(conn, lines, as_of) if as_of is not None else places_store.read(conn, lines)
    for (bws, seq, location, lot), (mtno, qty, last) in sorted(found.items(), key=lambda x: _sort_key(x[0])):
        bonded = not any(fnmatch.fnmatchcase(bws, p) for p in s.non_bonded_ledgers)
        stock.setdefault((bws, seq), []).append(LocatedStock(
            bws, seq, mtno, location, lot, qty, datetime.fromisoformat(last), bonded))
    for (bws, seq), located in sorted(stock.items()):
        out.take(bonded_status(located, now, s), f"place|{bws}|{seq}")


def dirty(conn: Connection, marks: dict[str, int], more: set[str], s: CompareSection, now: datetime) -> None:
    """A tick: update the derived tables from what is new and add the dirty unit keys to `more`."""
    new = conn.execute(select(E.c.bws_no, E.c.gds_seqno, E.c.gds_mtno, E.c.dcl_unitcd, E.c.direction,
                              raw(E.c.dcl_qty), raw(E.c.occurred_at), E.c.source, E.c.line_key, E.c.revision,
                              E.c.movement_id, E.c.reverses_id).where(E.c.id > marks["entry_id"])).all()
    periods_store.add_entries(conn, [(r[0], r[1], r[4], r[5], r[6]) for r in new], s)
    refilled = places_store.add_entries(conn, [(r[0], r[1], r[2], r[5], r[6], r[7], r[8], r[9]) for r in new],
                                        marks.get("places") == 1, s)
    more |= {f"place|{b}|{q}" for b, q in refilled}
    load_wms.record_dispatches(conn, {r[10] for r in new if r[11] is None})
    vehicles = load_wms.vehicles_of(conn, {(r[7], r[8], r[9]) for r in new}) | _passport_vehicles(conn, marks)
    more |= {f"vehicle|{v}" for v in vehicles} | {f"wo|{r[0]}" for r in new}
    more |= {f"place|{r[0]}|{r[1]}" for r in new} if s.non_bonded_locations or s.non_bonded_ledgers else set()
    more |= {f"wo|{b}" for b in _writeoff_ledgers(conn, marks["receipt_id"])}
    last = conn.execute(select(func.max(S.c.updated_at))).scalar()
    if units_periods.woken(last, now, s):
        more |= {f"wo|{b}" for b in conn.execute(select(periods_store.CP.c.bws_no).distinct()).scalars()}


def _passport_vehicles(conn: Connection, marks: dict[str, int]) -> set[str]:
    """Vehicles of passports with new receipts, now and as remembered; then remember them."""
    query = select(PP.c.passport_no, PP.c.vehicle_no).where(PP.c.receipt_id > marks["receipt_id"])
    changed = dict(conn.execute(query).all())
    old = {p: v for part in chunks(changed) for p, v in conn.execute(select(PV).where(PV.c.passport_no.in_(part)))}
    for part in chunks(changed):
        conn.execute(PV.delete().where(PV.c.passport_no.in_(part)))
    rows = [{"passport_no": p, "vehicle_no": v} for p, v in changed.items() if v]
    if rows:
        conn.execute(PV.insert(), rows)
    return {v for v in (*changed.values(), *old.values()) if v}


def _writeoff_ledgers(conn: Connection, after: int) -> set[str]:
    """账册 with new EMS221 approvals, or new ledger lines (a C9 finding names their 料号 and unit)."""
    heads = select(WO.c.ems_no).where(WO.c.receipt_id > after)
    lines = select(WL.c.ems_no).where(WL.c.receipt_id > after)
    items = select(LL.c.bws_no).where(LL.c.receipt_id > after)
    return {b for query in (heads, lines, items) for b in conn.execute(query).scalars()}


def reset(conn: Connection, s: CompareSection) -> None:
    """A rebuild: recompute the derived tables from every stored revision (set-based)."""
    periods_store.rebuild(conn, s)
    load_conversion.prefetch(conn)  # queued behind the period sums
    places_store.refill(conn, s)
    load_wms.refill_dispatches(conn)
    conn.execute(PV.delete())
    conn.execute(PV.insert().from_select(["passport_no", "vehicle_no"], select(PP.c.passport_no, PP.c.vehicle_no)
                                         .where(PP.c.vehicle_no.is_not(None))))

