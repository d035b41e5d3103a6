"""Staging: the column-wise content hash and insert values are exactly the definitions they replace."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from hashlib import sha256

import pytest
from sqlalchemy import select

from connector import _staging
from connector._columns import MovementColumns
from connector.model import Movement
from connector.store.tables import movements
from connector.store.types import AwareDateTime, DecimalText, json_text
from tests.support.wms import store  # noqa: F401

TEXTS = [None, "", "a", 'q"uote', "back\\slash", "tab\there", "中文", "nl\n", "x" * 50, "\u2028", "{}", "{0}"]
QTYS = [Decimal(1), Decimal(0), Decimal("-0.00"), Decimal(1000), Decimal("1.2500"), Decimal("-3.5"),
        Decimal("1E+3"), Decimal("0.000001")]
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def reference_hash(m: Movement) -> str:
    """The content hash as it was defined when the first stores were written."""
    return sha256(json.dumps([m.sku, str(m.qty.normalize()), m.uom, m.movement_type, m.doc_ref, m.lot, m.location,
                              m.occurred_at.isoformat()], ensure_ascii=False).encode()).hexdigest()


def varied(n: int, seed: int = 1) -> list[Movement]:
    pick = random.Random(seed).choice
    zones = [UTC, timezone(timedelta(hours=8))]
    out = []
    for i in range(n):
        at = (datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=i * 7919, microseconds=pick([0, 5, 999999])))
        out.append(Movement("s", f"K{i}", pick(TEXTS), pick(QTYS), pick(TEXTS), pick(TEXTS), pick(TEXTS),
                            at.astimezone(pick(zones)), at, pick(TEXTS), pick(TEXTS)))
    return out


def naive_utc(batch: list[Movement]) -> MovementColumns:
    """The columns the decoder makes for a UTC source: naive times."""
    columns = MovementColumns.of(batch)
    plain = [m.astimezone(UTC).replace(tzinfo=None) for m in columns.occurred]
    return MovementColumns("s", columns.keys, columns.qty, plain, [m.replace(tzinfo=None) for m in columns.changed],
                           columns.texts, naive_utc=True)


def test_content_hash_of_any_values_equals_the_json_definition():
    batch = varied(2000)
    assert _staging.content_hashes(batch) == [reference_hash(m) for m in batch]


def test_content_hash_of_a_batch_of_plain_text_columns_equals_the_json_definition():
    for text in TEXTS:
        batch = [Movement("s", str(i), text, Decimal(i), text, text, text, NOW, NOW, text, text) for i in range(3)]
        assert _staging.content_hashes(batch) == [reference_hash(m) for m in batch], text


def in_utc(batch: list[Movement]) -> list[Movement]:
    return [Movement(**{**m.__dict__, "occurred_at": m.occurred_at.astimezone(UTC)}) for m in batch]


def test_content_hash_of_naive_utc_columns_equals_the_aware_movements():
    batch = in_utc(varied(500))
    assert naive_utc(batch).hashes() == [reference_hash(m) for m in batch]


def test_insert_values_equal_what_the_store_column_types_write():
    batch = varied(300)
    qty, when = DecimalText(), AwareDateTime()
    for columns in (MovementColumns.of(batch), naive_utc(batch)):
        rows = [dict(zip(_staging.COLUMNS, row)) for row in columns.rows([1] * len(batch), ["h"] * len(batch))]
        assert [r["qty"] for r in rows] == [qty.process_bind_param(m.qty, None) for m in batch]
        assert [r["occurred_at"] for r in rows] == [when.process_bind_param(m.occurred_at, None) for m in batch]
        assert [r["changed_at"] for r in rows] == [when.process_bind_param(m.changed_at, None) for m in batch]


@pytest.mark.parametrize("fraction", [0, 5], ids=["whole-seconds", "with-microseconds"])
def test_prepared_naive_utc_batch_hashes_and_writes_times_like_the_movements(fraction):
    """The hash's times and the stored times share one isoformat() per row (`_naive_isoformats`)."""
    whole = [m.occurred_at.astimezone(UTC).replace(microsecond=fraction) for m in varied(200)]
    batch = [replace(m, occurred_at=at, changed_at=at) for m, at in zip(varied(200), whole)]  # one column read twice
    columns, when = naive_utc(batch), AwareDateTime()
    rows = [dict(zip(_staging.NEW_COLUMNS, row)) for row in columns.new_rows()]
    assert [r["content_hash"] for r in rows] == [reference_hash(m) for m in batch]
    assert [r["occurred_at"] for r in rows] == [when.process_bind_param(m.occurred_at, None) for m in batch]
    assert [r["changed_at"] for r in rows] == [when.process_bind_param(m.changed_at, None) for m in batch]


def test_columns_give_back_the_movements_they_were_made_of():
    batch = varied(50)
    assert list(naive_utc(batch)) == in_utc(batch)
    assert MovementColumns.of(batch)[1:3] == batch[1:3]


def test_extras_enter_the_hash_only_when_a_row_has_some():
    plain = Movement("s", "K", "SKU", Decimal(1), "pcs", "out", "D1", NOW, NOW)
    flagged = Movement(**{**plain.__dict__, "extra": {"future_timestamp": True}})
    truck = Movement(**{**plain.__dict__, "extra": {"vehicle_no": "沪A12345", "gross_wt": "12.5"}})
    hashes = _staging.content_hashes([plain, flagged, truck])
    assert hashes[0] == hashes[1] == reference_hash(plain)  # a flag is bookkeeping, not content
    assert hashes[2] == sha256((json.dumps([plain.sku, "1", "pcs", "out", "D1", None, None, NOW.isoformat()],
                                           ensure_ascii=False)[:-1] + ', {"gross_wt": "12.5", "vehicle_no": '
                                '"沪A12345"}]').encode()).hexdigest()


def test_a_store_staged_with_the_original_hash_rereads_without_new_revisions(store):  # noqa: F811
    batch = varied(200)
    with store.begin() as conn:  # rows as the first release wrote them: one insert per row, hash by json.dumps
        for m in batch:
            conn.execute(movements.insert().values(
                source="wms", line_key=m.line_key, revision=1, content_hash=reference_hash(m), sku=m.sku, qty=m.qty,
                uom=m.uom, movement_type=m.movement_type, doc_ref=m.doc_ref, lot=m.lot, location=m.location,
                occurred_at=m.occurred_at, changed_at=m.changed_at, staged_at=NOW))
    with store.begin() as conn:
        assert _staging.stage_movements(conn, "wms", MovementColumns.of(batch), NOW) == {"unchanged": 200}


def test_assume_new_batch_holding_a_staged_line_falls_back_to_the_lookup(store):  # noqa: F811
    first = [Movement("wms", k, "SKU", Decimal(1), "pcs", "in", "D", NOW, NOW) for k in ("A", "B")]
    second = [Movement(**{**first[0].__dict__, "qty": Decimal(2)}), first[1],
              Movement(**{**first[1].__dict__, "line_key": "C"})]
    with store.begin() as conn:
        _staging.stage_movements(conn, "wms", first, NOW, assume_new=True)
    with store.begin() as conn:
        counts = _staging.stage_movements(conn, "wms", second, NOW, assume_new=True)
    assert counts == {"revised": 1, "unchanged": 1, "new": 1}
    with store.read() as conn:
        rows = conn.execute(select(movements.c.line_key, movements.c.revision, movements.c.qty)
                            .order_by(movements.c.id)).all()
    assert [tuple(r) for r in rows] == [("A", 1, 1), ("B", 1, 1), ("A", 2, 2), ("C", 1, 1)]


@pytest.mark.parametrize("extras", [False, True], ids=["no-extras", "with-extras"])
def test_a_backfill_batch_reads_back_as_revision_one_with_its_values_on_any_store(any_store, extras):
    batch = varied(40)
    if extras:
        batch = [replace(m, extra={"vehicle_no": "沪A12345"} if i % 3 == 0 else {}) for i, m in enumerate(batch)]
    with any_store.begin() as conn:
        assert _staging.stage_movements(conn, "wms", MovementColumns.of(batch), NOW) == {"new": 40}
    with any_store.read() as conn:
        back = {r.line_key: r for r in conn.execute(select(movements))}
    assert {r.revision for r in back.values()} == {1}
    for m in batch:
        row = back[m.line_key]
        assert (row.sku, row.qty, row.occurred_at, row.extra) == (m.sku, m.qty, m.occurred_at, m.extra or None)
        assert row.content_hash == reference_hash(m) or m.extra  # extras enter the hash: test_extras_enter_…
    if extras:  # written as the column type writes it (types.json_text), not in a spelling of its own
        with any_store.read() as conn:
            texts = dict(conn.exec_driver_sql("SELECT line_key, CAST(extra AS TEXT) FROM movements "
                                              "WHERE extra IS NOT NULL").all())
        assert texts == {m.line_key: json_text(m.extra) for m in batch if m.extra}
