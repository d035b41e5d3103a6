"""Decoding one WMS row: Decimal quantities, aware UTC times, strict text; failures get a reason."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from adapters.sources._decode import MAX_TEXT, decode_row, jsonable, to_aware, to_decimal, to_text
from connector.errors import BadInputError
from connector.model import Movement, SourceRowError
from tests.support.wms import move

SHANGHAI = ZoneInfo("Asia/Shanghai")


def reason(call, *args) -> str:
    with pytest.raises(BadInputError) as caught:
        call(*args)
    return caught.value.reason


@pytest.mark.parametrize(("raw", "expected"), [
    (10, Decimal(10)), ("12.50", Decimal("12.50")), (" 7 ", Decimal(7)), (Decimal("0.30"), Decimal("0.30")),
    (0.1, Decimal("0.1")), (2.675, Decimal("2.675")), (-3.0, Decimal("-3.0")),
])
def test_to_decimal_number_or_numeric_text_gives_exact_decimal(raw, expected):
    value = to_decimal(raw)
    assert isinstance(value, Decimal)
    assert value == expected
    assert str(value) == str(expected)


@pytest.mark.parametrize("raw", [float("nan"), float("inf"), float("-inf"), "NaN", "Infinity", "-inf", "sNaN"])
def test_to_decimal_non_finite_gives_qty_invalid(raw):
    assert reason(to_decimal, raw) == "qty_invalid"


@pytest.mark.parametrize("raw", ["ten", "1,000", "", "  ", None, True, b"12", "12 EA"])
def test_to_decimal_non_number_gives_qty_invalid(raw):
    assert reason(to_decimal, raw) == "qty_invalid"


@pytest.mark.parametrize("raw", [1e308, "1e308", -1e300], ids=["float-1e308", "text-1e308", "float-minus-1e300"])
def test_to_decimal_absurd_magnitude_gives_qty_invalid(raw):
    assert reason(to_decimal, raw) == "qty_invalid"


def test_to_aware_naive_text_gets_source_zone_and_becomes_utc():
    value = to_aware("2025-03-01 09:00:00", SHANGHAI, "changed_at")
    assert value == datetime(2025, 3, 1, 1, 0, tzinfo=UTC)
    assert value.utcoffset() == timedelta(0)


def test_to_aware_naive_datetime_gets_source_zone():
    assert to_aware(datetime(2025, 3, 1, 0, 30), SHANGHAI, "t") == datetime(2025, 2, 28, 16, 30, tzinfo=UTC)


def test_to_aware_aware_value_keeps_its_own_offset():
    value = to_aware("2025-03-01T09:00:00+00:00", SHANGHAI, "t")
    assert value == datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    assert to_aware(datetime(2025, 3, 1, 9, tzinfo=timezone(timedelta(hours=-5))), SHANGHAI, "t").hour == 14


def test_to_aware_date_is_local_midnight():
    assert to_aware(date(2025, 3, 1), SHANGHAI, "t") == datetime(2025, 2, 28, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize("raw", ["yesterday", "", None, 1740790800, "2025-02-30 10:00:00"])
def test_to_aware_unreadable_time_gives_time_invalid(raw):
    assert reason(to_aware, raw, SHANGHAI, "changed_at") == "time_invalid"


def test_to_text_gbk_bytes_decode_in_source_encoding():
    assert to_text("千克 箱".encode("gbk"), "gbk", "uom") == "千克 箱"


def test_to_text_gbk_bytes_read_as_utf8_give_encoding_error():
    raw = "箱".encode("gbk")
    assert reason(to_text, raw, "utf-8", "uom") == "encoding_error"


def test_to_text_undecodable_bytes_give_encoding_error_with_hex():
    with pytest.raises(BadInputError) as caught:
        to_text(b"\xff\xfe\x80", "gbk", "sku")
    assert caught.value.reason == "encoding_error"
    assert "fffe80" in caught.value.detail
    assert caught.value.detail.startswith("sku is not valid gbk")


def test_to_text_strips_control_characters_but_keeps_tab():
    assert to_text("A\x00B\x1bC\tD\r\n", "utf-8", "sku") == "ABC\tD"


def test_to_text_over_the_length_cap_gives_text_too_long():
    assert reason(to_text, "x" * (MAX_TEXT + 1), "utf-8", "sku") == "text_too_long"
    assert to_text("x" * MAX_TEXT, "utf-8", "sku") == "x" * MAX_TEXT


def test_to_text_none_stays_none():
    assert to_text(None, "gbk", "lot") is None


def test_decode_row_good_row_gives_movement_in_utc():
    decoded = decode_row("wms", move("L1", lot=" LOT-7 ", qty=2.5), SHANGHAI, "utf-8")
    assert isinstance(decoded, Movement)
    assert decoded.line_key == "L1"
    assert decoded.qty == Decimal("2.5")
    assert decoded.occurred_at == datetime(2025, 3, 1, 1, 0, tzinfo=UTC)
    assert decoded.lot == " LOT-7 "
    assert decoded.location is None


def test_decode_row_blank_sku_becomes_none_for_the_mapping_to_refuse():
    decoded = decode_row("wms", move("L1", sku="   "), SHANGHAI, "utf-8")
    assert isinstance(decoded, Movement)
    assert decoded.sku is None


@pytest.mark.parametrize(("field", "raw", "expected"), [
    ("qty", "NaN", "qty_invalid"), ("qty", "ten", "qty_invalid"), ("qty", None, "qty_invalid"),
    ("changed_at", "soon", "time_invalid"), ("occurred_at", None, "time_invalid"),
    ("sku", b"\xff\xff", "encoding_error"),
])
def test_decode_row_bad_field_gives_source_row_error_with_reason(field, raw, expected):
    decoded = decode_row("wms", move("L9", **{field: raw}), SHANGHAI, "gbk")
    assert isinstance(decoded, SourceRowError)
    assert (decoded.source, decoded.line_key, decoded.reason) == ("wms", "L9", expected)


def test_decode_row_error_keeps_raw_row_with_bytes_as_hex():
    decoded = decode_row("wms", move("L9", sku=b"\xff\xfe", qty=1.5), SHANGHAI, "gbk")
    assert decoded.raw["sku"] == {"hex": "fffe"}
    assert decoded.raw["qty"] == "1.5"
    assert decoded.raw["line_key"] == "L9"


def test_decode_row_integer_line_key_becomes_text():
    assert decode_row("wms", move(42), SHANGHAI, "utf-8").line_key == "42"


@pytest.mark.parametrize("key", [None, ""])
def test_decode_row_without_line_key_is_quarantined(key):
    decoded = decode_row("wms", move(key), SHANGHAI, "utf-8")
    assert isinstance(decoded, SourceRowError)


def test_jsonable_keeps_plain_values_and_stringifies_the_rest():
    assert jsonable({"a": 1, "b": "x", "c": None, "d": Decimal("1.50"), "e": b"\x01", "f": 0.5}) == {
        "a": 1, "b": "x", "c": None, "d": "1.50", "e": {"hex": "01"}, "f": "0.5"}


NAMES = ("line_key", "changed_at", "occurred_at", "sku", "qty", "uom", "movement_type", "doc_ref", "lot", "location")


def batch_rows(n: int) -> list[tuple]:
    base = datetime(2025, 3, 1, 9, 0)
    return [(i, base + timedelta(seconds=i), base, f"SKU-{i % 3}", Decimal(i) / 4, "pcs", "receipt",
             f"D{i}" if i % 2 else "  ", None if i % 3 else f"LOT{i}", "A-1") for i in range(1, n + 1)]


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC"])
def test_decode_rows_by_column_equals_row_by_row(zone):
    from adapters.sources._decode import RowDecoder

    decoder = RowDecoder("wms", NAMES, ZoneInfo(zone), "utf-8")
    rows = batch_rows(50)
    assert decoder.rows(rows) == [decoder.row(row) for row in rows]  # the column path was taken: no bad row
    assert decoder.rows(rows)[1].doc_ref is None  # blank text is None on both paths


def test_decode_rows_with_one_bad_row_keeps_every_good_row_and_reports_the_bad_one():
    from adapters.sources._decode import RowDecoder

    decoder = RowDecoder("wms", NAMES, SHANGHAI, "gbk")
    rows = batch_rows(5)
    rows[2] = rows[2][:3] + (b"\xff\xfe",) + rows[2][4:]
    decoded = decoder.rows(rows)
    assert [type(d).__name__ for d in decoded] == ["Movement"] * 2 + ["SourceRowError"] + ["Movement"] * 2
    assert decoded[2].reason == "encoding_error"
    assert decoded[0] == decode_row("wms", dict(zip(NAMES, rows[0])), SHANGHAI, "gbk")


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "Europe/Berlin"])
def test_batch_of_text_or_naive_times_decodes_column_wise_as_row_by_row(zone):
    from adapters.sources._decode import RowDecoder

    names = ("line_key", "changed_at", "occurred_at", "sku", "qty", "uom", "movement_type", "doc_ref")
    texts = [(f"L{i}", f" 2025-03-30 0{i}:30:00.{i:06d} ", "2025-03-30", "S", Decimal(i), "pcs", "in", "D")
             for i in range(1, 4)]  # Berlin's clocks jump at 02:00 that day
    naive = [(k, datetime.fromisoformat(c.strip()), datetime.fromisoformat(o), *rest) for k, c, o, *rest in texts]
    for rows in (texts, naive):
        decoder = RowDecoder("wms", names, ZoneInfo(zone), "utf-8")
        columns = decoder.columns(rows)
        assert columns is not None
        assert list(columns) == [decoder.row(row) for row in rows]


def test_batch_with_one_bad_text_time_takes_the_row_path_and_names_the_row():
    from adapters.sources._decode import RowDecoder

    names = ("line_key", "changed_at", "occurred_at", "sku", "qty", "uom", "movement_type", "doc_ref")
    rows = [("L1", "2025-03-01 09:00:00", "2025-03-01", "S", Decimal(1), "pcs", "in", "D"),
            ("L2", "2025-02-30 09:00:00", "2025-03-01", "S", Decimal(1), "pcs", "in", "D")]
    decoder = RowDecoder("wms", names, ZoneInfo("Asia/Shanghai"), "utf-8")
    assert decoder.columns(rows) is None
    assert [type(item).__name__ for item in decoder.rows(rows)] == ["Movement", "SourceRowError"]


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
                                  "America/Sao_Paulo", "Asia/Kolkata"])
def test_naive_local_times_become_naive_utc_as_astimezone_does_across_transitions(zone):
    """Lord Howe moves by half an hour; Sao Paulo changed clocks at midnight; Shanghai kept summer
    time 1986–1991. Every quarter hour of years with transitions, plus minute steps around each."""
    import random

    from adapters.sources._decode import naive_utc

    tz, pick = ZoneInfo(zone), random.Random(7)
    times = [datetime(1986, 1, 1) + timedelta(minutes=15 * i) for i in range(0, 6 * 35_040, 7)]
    times += [datetime(2018, 11, 4) + timedelta(minutes=i) for i in range(-90, 90)]  # Sao Paulo, at 00:00
    times += [datetime(2024, 3, 31, 1, 0) + timedelta(minutes=i, microseconds=pick.randrange(10**6))
              for i in range(180)]
    pick.shuffle(times)
    for batch in (times, times[:1], [t for t in times if t.year == 1990]):
        assert naive_utc(batch, tz) == [t.replace(tzinfo=tz).astimezone(UTC).replace(tzinfo=None) for t in batch]


def test_one_offset_a_day_is_used_only_for_days_without_a_transition():
    from adapters.sources._decode import _day_offset

    berlin = ZoneInfo("Europe/Berlin")
    assert _day_offset(date(2025, 3, 30), berlin) is None  # clocks jump at 02:00
    assert _day_offset(date(2025, 3, 31), berlin) == timedelta(hours=2)
    assert _day_offset(date(2025, 6, 1), ZoneInfo("Asia/Shanghai")) == timedelta(hours=8)
