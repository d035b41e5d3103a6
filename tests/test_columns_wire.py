"""A batch of columns pickled for the staging child comes back with the same hashes, rows and movements."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from connector import _columns_wire
from connector._columns import MovementColumns
from connector.model import Movement
from tests.test_staging import in_utc, naive_utc, reference_hash, varied

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def through_pipe(columns: MovementColumns) -> MovementColumns:
    back = pickle.loads(pickle.dumps(columns, protocol=pickle.HIGHEST_PROTOCOL))
    assert isinstance(back, MovementColumns)
    return back


def same_staging(before: MovementColumns, after: MovementColumns) -> None:
    assert after.hashes() == before.hashes()
    assert after.new_rows() == before.new_rows()
    assert list(after) == list(before)


@pytest.mark.parametrize("shape", ["aware-any-zone", "naive-utc"])
def test_columns_of_any_values_travel_with_the_same_hashes_rows_and_movements(shape):
    batch = varied(2000) if shape == "aware-any-zone" else in_utc(varied(2000))
    columns = MovementColumns.of(batch) if shape == "aware-any-zone" else naive_utc(batch)
    back = through_pipe(columns)
    same_staging(columns, back)
    assert back.hashes() == [reference_hash(m) for m in batch]


def test_quantities_travel_exactly_with_their_exponent():
    qtys = [Decimal("1E+1"), Decimal("10"), Decimal("-0.000"), Decimal("12.50000"), Decimal("0.00001")]
    batch = [Movement("s", f"K{i}", "SKU", q, "pcs", "in", "D", NOW, NOW) for i, q in enumerate(qtys)]
    back = through_pipe(MovementColumns.of(batch))
    assert [str(q) for q in back.qty] == [str(q) for q in qtys]


@pytest.mark.parametrize("text", ["a\x1fb", "\x1e", "x\x1ey", "\x1f"], ids=["sep-inside", "marker", "marker-inside",
                                                                       "sep-alone"])
def test_a_text_holding_a_separator_travels_as_a_plain_list(text):
    batch = [Movement("s", f"K{i}", sku, Decimal(1), None, "in", "D", NOW, NOW) for i, sku in
             enumerate([text, None, "plain", ""])]
    columns = MovementColumns.of(batch)
    assert isinstance(_columns_wire._joined(columns.texts["sku"]), list)
    back = through_pipe(columns)
    assert back.texts["sku"] == [text, None, "plain", ""]
    same_staging(columns, back)


def test_a_column_of_missing_texts_and_a_single_row_travel_as_text():
    for batch in ([Movement("s", "K", None, Decimal(1), None, None, None, NOW, NOW)],
                  [Movement("s", f"K{i}", None, Decimal(i), "", None, None, NOW, NOW) for i in range(3)]):
        columns = MovementColumns.of(batch)
        assert isinstance(_columns_wire._joined(columns.texts["sku"]), str)
        same_staging(columns, through_pipe(columns))


def test_a_time_column_read_twice_travels_once_and_a_different_one_travels_apart():
    batch = in_utc(varied(100))
    columns = naive_utc(batch)
    _, args = _columns_wire.reduce(columns)
    assert args[5] is None  # varied() stamps changed_at = occurred_at: the column travels once
    shifted = [Movement(**{**m.__dict__, "changed_at": NOW}) for m in batch]
    _, apart = _columns_wire.reduce(MovementColumns.of(shifted))
    assert apart[5] is not None
    same_staging(MovementColumns.of(shifted), through_pipe(MovementColumns.of(shifted)))


def test_extras_travel_with_their_rows():
    plain = Movement("s", "K1", "SKU", Decimal(1), "pcs", "out", "D1", NOW, NOW)
    truck = Movement(**{**plain.__dict__, "line_key": "K2", "extra": {"vehicle_no": "沪A12345", "gross_wt": "12.5"}})
    columns = MovementColumns.of([plain, truck])
    same_staging(columns, through_pipe(columns))
