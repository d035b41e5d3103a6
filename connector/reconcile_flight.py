"""What the WMS already holds and the ledger does not reflect yet: the reconciliation's lines in flight.

The on-hand snapshot is read now; the ledger lags behind it by the rows the sync has not read yet
(younger than the lag, or not synced since they were written) and by the revisions it staged that
the ledger stage has not posted. Compared as they are, every movement of the last minutes would be
a `wms_snapshot_mismatch`, pushed, then resolved by the next run. So the effect of each line in
flight is worked out as the ledger stage will post it — the mapped entry of its newest content
minus what its live entries hold — and added to the posted totals before they are compared. A line
the mapping cannot take counts as nothing: the ledger stage will quarantine it and reverse its old
entry. A source with more lines in flight than the limit (its sync is far behind) is not compared.

A source without a cursor (`snapshot`) has no "after the cursor": its whole query is read page by
page, as its sync reads it, and the lines whose content differs from their newest staged revision
(new lines too) are in flight. A line it no longer returns is not: the sync reports it
(`movement_vanished`) and the ledger keeps its entry.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import Connection, exists, select

from connector import sync
from connector._columns import MovementColumns
from connector.errors import MappingError
from connector.ledger import live_entries, staged_movement
from connector.mapping import map_movement
from connector.mapping_file import Mapping
from connector.model import Movement
from connector.store.tables import movements

Key = tuple[str, int]
LIMIT = 100_000  # lines in flight a reconciliation accounts for; more: the sync is behind, compare later
PAGE = 5_000  # rows per page when a source without a cursor is read whole


def in_flight_totals(conn: Connection, name: str, adapter, mapping: Mapping) -> dict[Key, Decimal] | None:
    """Per ledger item, what posting the lines in flight will add; None over LIMIT lines."""
    newest = _staged_pending(conn, name, LIMIT)
    tail = adapter.in_flight(sync.load_cursor(conn, name), LIMIT) if adapter.keeps_cursor else \
        _changed_lines(conn, name, adapter, LIMIT)
    if newest is None or tail is None:
        return None
    newest.update({m.line_key: m for m in tail})  # read after staging: newer than any staged revision
    totals: dict[Key, Decimal] = defaultdict(Decimal)
    for entries in live_entries(conn, name, sorted(newest)).values():
        for entry in entries:
            totals[(entry["bws_no"], entry["gds_seqno"])] -= entry["dcl_qty"]
    for movement in newest.values():
        for key, qty in _effect(movement, mapping).items():
            totals[key] += qty
    return {key: qty for key, qty in totals.items() if qty}


def _staged_pending(conn: Connection, name: str, limit: int) -> dict[str, Movement] | None:
    """The newest staged revision of each line the ledger stage has not posted yet."""
    m, newer = movements.c, movements.alias("newer").c
    superseded = exists().where(newer.source == m.source, newer.line_key == m.line_key, newer.revision > m.revision)
    rows = conn.execute(select(movements).where(m.source == name, m.ledger_state == "pending", ~superseded)
                        .limit(limit + 1)).all()
    if len(rows) > limit:
        return None
    return {row.line_key: staged_movement(row) for row in rows}


def _changed_lines(conn: Connection, name: str, adapter, limit: int) -> list[Movement] | None:
    """A source without a cursor: the lines of a full read that differ from their newest staged
    revision; None over `limit` (bad rows are left to the sync)."""
    changed: list[Movement] = []
    cursor = None
    while True:
        batch = adapter.fetch(cursor, PAGE)
        found = MovementColumns.of(batch.movements)
        staged = sync.latest_revisions(conn, name, set(found.keys))
        changed += [found[i] for i, (key, digest) in enumerate(zip(found.keys, found.hashes()))
                    if staged.get(key, (0, None))[1] != digest]
        if len(changed) > limit:
            return None
        if batch.exhausted or batch.cursor in (None, cursor):
            return changed
        cursor = batch.cursor


def _effect(movement: Movement, mapping: Mapping) -> dict[Key, Decimal]:
    try:
        entry = map_movement(movement, mapping)
    except MappingError:
        return {}
    return {} if entry is None else {(entry.item.bws_no, entry.item.gds_seqno): entry.dcl_qty}
