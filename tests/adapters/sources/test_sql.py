"""The SQL source against a real SQLite WMS: keyset batches, lag, time zones, bad rows, dialects."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError
from sqlalchemy.dialects import mssql, oracle, postgresql

from adapters.sources.sql import SqlSource, SqlSourceConfig
from connector import registry
from connector.abc import SourceAdapter
from connector.errors import RetryableSourceError
from tests.support.wms import QUERY, clock, make_source, source_settings, wms  # noqa: F401


def read_all(source, batch_size: int, cursor=None, limit_batches: int = 100):
    """Fetch until exhausted; return (movements, errors, batch sizes, final cursor)."""
    movements, errors, sizes = [], [], []
    for _ in range(limit_batches):
        batch = source.fetch(cursor, batch_size)
        movements += batch.movements
        errors += batch.errors
        sizes.append(len(batch.movements) + len(batch.errors))
        cursor = batch.cursor
        if batch.exhausted:
            return movements, errors, sizes, cursor
    raise AssertionError("source never reported exhaustion")


def settings(wms, **fields) -> SqlSourceConfig:  # noqa: F811
    return SqlSourceConfig.model_validate(source_settings(wms, **fields))


def refusal(wms, **fields) -> list[str]:  # noqa: F811
    with pytest.raises(ValidationError) as caught:
        settings(wms, **fields)
    return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in caught.value.errors()]


def test_registry_resolves_sql_alias_to_source_adapter():
    cls = registry.load("connector.sources", "sql")
    assert cls is SqlSource
    assert issubclass(cls, SourceAdapter)


def test_registry_typo_suggests_sql():
    with pytest.raises(LookupError, match="did you mean 'sql'"):
        registry.load("connector.sources", "sqll")


def test_start_cursor_first_run_with_a_cursor_starts_the_overlap_clock_without_rewinding(wms, make_source, clock):
    source = make_source(wms, overlap_seconds=1200, overlap_every_seconds=3600)
    stored = {"changed_at": "2025-03-04 19:00:00", "line_key": "L5"}
    assert source.start_cursor(stored) == {**stored, "_overlap_at": clock.now(), "_overlap_from": "2025-03-04 19:00:00"}


def test_start_cursor_before_the_pass_is_due_is_the_stored_cursor(wms, make_source, clock):
    source = make_source(wms, overlap_seconds=1200, overlap_every_seconds=3600)
    stored = {"changed_at": "2025-03-04 19:50:00", "line_key": "L9", "_overlap_at": clock.now(),
              "_overlap_from": "2025-03-04 19:00:00"}
    clock.advance(minutes=59)
    assert source.start_cursor(stored) == stored


def test_start_cursor_overlap_pass_rewinds_from_where_the_cursor_stood_at_the_previous_pass(wms, make_source, clock):
    """A row committed late just after the previous pass is below the window of the cursor now."""
    source = make_source(wms, overlap_seconds=1200, overlap_every_seconds=3600)
    stored = {"changed_at": "2025-03-04 19:55:00", "line_key": "L9", "_overlap_at": clock.now(),
              "_overlap_from": "2025-03-04 19:00:00"}
    clock.advance(minutes=60)
    assert source.start_cursor(stored) == {"changed_at": "2025-03-04 18:40:00", "line_key": "",
                                           "_overlap_at": clock.now(), "_overlap_from": "2025-03-04 19:55:00"}


def test_start_cursor_monotonic_first_run_with_a_cursor_starts_the_clock_at_its_position(wms, make_source, clock):
    source = make_source(wms, cursor="monotonic", overlap_every_seconds=3600)
    assert source.start_cursor({"line_key": 40}) == {"line_key": 40, "_overlap_at": clock.now(), "_overlap_from": 40,
                                                     "_overlap_before": 40}


def test_start_cursor_monotonic_pass_rewinds_to_where_the_cursor_stood_two_passes_ago(wms, make_source, clock):
    """An id passed just before the previous pass, committed just after it, lies above that position."""
    source = make_source(wms, cursor="monotonic", overlap_every_seconds=3600)
    stored = {"line_key": 90, "_overlap_at": clock.now(), "_overlap_from": 70, "_overlap_before": 40}
    clock.advance(minutes=59)
    assert source.start_cursor(stored) == stored
    clock.advance(minutes=1)
    assert source.start_cursor(stored) == {"line_key": 40, "_overlap_at": clock.now(), "_overlap_from": 90,
                                           "_overlap_before": 70}


def test_start_cursor_monotonic_without_overlap_passes_is_the_stored_cursor(wms, make_source, clock):
    source = make_source(wms, cursor="monotonic", overlap_every_seconds=0)
    assert source.start_cursor({"line_key": 40}) == {"line_key": 40}


def test_start_cursor_stored_before_overlap_from_existed_rewinds_from_the_cursor_once(wms, make_source, clock):
    source = make_source(wms, overlap_seconds=1200, overlap_every_seconds=3600)
    stored = {"changed_at": "2025-03-04 19:55:00", "line_key": "L9", "_overlap_at": clock.now()}
    clock.advance(minutes=60)
    assert source.start_cursor(stored) == {"changed_at": "2025-03-04 19:35:00", "line_key": "",
                                           "_overlap_at": clock.now(), "_overlap_from": "2025-03-04 19:55:00"}


def test_fetch_returns_at_most_batch_size_rows_per_batch(wms, make_source):
    for n in range(7):
        wms.add(f"L{n}", changed_at=f"2025-03-01 09:00:0{n}")
    movements, errors, sizes, cursor = read_all(make_source(wms), batch_size=3)
    assert sizes == [3, 3, 1]
    assert [m.line_key for m in movements] == [f"L{n}" for n in range(7)]
    assert errors == []
    assert cursor == {"changed_at": "2025-03-01 09:00:06", "line_key": "L6"}


def test_fetch_full_batch_is_not_exhausted(wms, make_source):
    for n in range(3):
        wms.add(f"L{n}")
    batch = make_source(wms).fetch(None, 3)
    assert len(batch.movements) == 3
    assert batch.exhausted is False


def test_fetch_with_tied_timestamps_across_batches_loses_no_row(wms, make_source):
    keys = [f"K{n:02d}" for n in range(10)]
    for key in reversed(keys):
        wms.add(key, changed_at="2025-03-01 09:00:00")
    wms.add("A-later", changed_at="2025-03-01 09:00:01")
    movements, _, sizes, _ = read_all(make_source(wms), batch_size=3)
    assert [m.line_key for m in movements] == [*keys, "A-later"]
    assert sizes == [3, 3, 3, 2]


def test_fetch_orders_by_timestamp_before_key(wms, make_source):
    wms.add("A", changed_at="2025-03-01 10:00:00")
    wms.add("B", changed_at="2025-03-01 09:00:00")
    movements, *_ = read_all(make_source(wms), batch_size=10)
    assert [m.line_key for m in movements] == ["B", "A"]


def test_fetch_after_cursor_returns_only_newer_rows(wms, make_source):
    source = make_source(wms)
    wms.add("A")
    first = source.fetch(None, 10)
    wms.add("B", changed_at="2025-03-01 09:00:01")
    second = source.fetch(first.cursor, 10)
    assert [m.line_key for m in second.movements] == ["B"]


def test_fetch_row_younger_than_lag_is_left_until_clock_advances(wms, make_source, clock):
    wms.add("old")
    wms.add("young", changed_at="2025-03-04 19:58:00")  # Shanghai wall time: 2 minutes before NOW
    source = make_source(wms, lag_seconds=300)
    batch = source.fetch(None, 10)
    assert [m.line_key for m in batch.movements] == ["old"]
    assert batch.cursor == {"changed_at": "2025-03-01 09:00:00", "line_key": "old"}
    assert batch.exhausted is True
    assert source.fetch(batch.cursor, 10).movements == []
    clock.advance(minutes=4)
    later = source.fetch(batch.cursor, 10)
    assert [m.line_key for m in later.movements] == ["young"]


def test_fetch_lag_compares_naive_times_in_the_source_zone(wms, make_source):
    wms.add("ten-minutes-old", changed_at="2025-03-04 19:50:00")  # 11:50 UTC, NOW is 12:00 UTC
    batch = make_source(wms, lag_seconds=300).fetch(None, 10)
    assert [m.line_key for m in batch.movements] == ["ten-minutes-old"]


def test_fetch_with_only_young_rows_keeps_the_given_cursor(wms, make_source):
    wms.add("young", changed_at="2025-03-04 19:59:00")
    batch = make_source(wms).fetch({"changed_at": "2025-03-01 00:00:00", "line_key": "x"}, 10)
    assert batch.movements == batch.errors == []
    assert batch.cursor == {"changed_at": "2025-03-01 00:00:00", "line_key": "x"}


def test_fetch_row_stamped_far_in_the_future_is_not_silently_held_back(wms, make_source):
    """RELIABILITY.md B5 #16: accept the row (or quarantine it), never let the cursor pass now - lag."""
    wms.add("typo-year", changed_at="2052-03-01 09:00:00")
    batch = make_source(wms).fetch(None, 10)
    assert [r.line_key for r in [*batch.movements, *batch.errors]] == ["typo-year"]
    assert batch.cursor is None or batch.cursor["changed_at"] < "2025-03-04 19:55:00"


def test_fetch_naive_shanghai_timestamps_become_utc(wms, make_source):
    wms.add("L1", occurred_at="2025-03-01 07:30:00", changed_at="2025-03-01 08:00:00")
    [movement] = make_source(wms).fetch(None, 10).movements
    assert movement.occurred_at == datetime(2025, 2, 28, 23, 30, tzinfo=UTC)
    assert movement.changed_at == datetime(2025, 3, 1, 0, 0, tzinfo=UTC)


def test_fetch_utc_source_zone_keeps_wall_time(wms, make_source):
    wms.add("L1", occurred_at="2025-03-01 07:30:00")
    [movement] = make_source(wms, timezone="UTC").fetch(None, 10).movements
    assert movement.occurred_at == datetime(2025, 3, 1, 7, 30, tzinfo=UTC)


def test_fetch_float_quantity_becomes_exact_decimal(wms, make_source):
    wms.add("L1", qty=0.1)
    wms.add("L2", qty=2)
    movements = make_source(wms).fetch(None, 10).movements
    assert [m.qty for m in movements] == [Decimal("0.1"), Decimal(2)]
    assert str(movements[0].qty) == "0.1"


def test_fetch_bad_quantities_are_returned_as_errors_and_cursor_moves_past_them(wms, make_source):
    bad = {"nan": "NaN", "inf": float("inf"), "ninf": float("-inf"), "word": "ten", "null": None}
    wms.add("a-good")
    for n, (key, qty) in enumerate(bad.items()):
        wms.add(f"b-{key}", qty=qty, changed_at=f"2025-03-01 09:00:0{n + 1}")
    wms.add("c-good", changed_at="2025-03-01 09:00:09")
    batch = make_source(wms).fetch(None, 100)
    assert [m.line_key for m in batch.movements] == ["a-good", "c-good"]
    assert {e.line_key: e.reason for e in batch.errors} == {f"b-{k}": "qty_invalid" for k in bad}
    assert batch.cursor["line_key"] == "c-good"


def test_fetch_gbk_bytes_are_decoded_with_source_encoding(wms, make_source):
    wms.add("L1", sku="料号-一".encode("gbk"), uom="箱".encode("gbk"), doc_ref="入库单1".encode("gbk"))
    [movement] = make_source(wms, encoding="gbk").fetch(None, 10).movements
    assert (movement.sku, movement.uom, movement.doc_ref) == ("料号-一", "箱", "入库单1")


def test_fetch_undecodable_bytes_give_encoding_error_with_hex(wms, make_source):
    wms.add("L1", sku=b"\xff\xfe\xfd")
    batch = make_source(wms, encoding="gbk").fetch(None, 10)
    [error] = batch.errors
    assert error.reason == "encoding_error"
    assert "fffefd" in error.detail
    assert error.raw["sku"] == {"hex": "fffefd"}


def test_fetch_with_query_without_optional_lot_and_location_reads_rows(wms, make_source):
    wms.add("L1")
    query = "SELECT line_key, changed_at, occurred_at, sku, qty, uom, movement_type, doc_ref FROM moves"
    [movement] = make_source(wms, query=query).fetch(None, 10).movements
    assert (movement.lot, movement.location) == (None, None)


def test_fetch_row_with_null_timestamp_does_not_stall_later_rows(wms, make_source):
    wms.add("A", changed_at=None)
    wms.add("B", changed_at="2025-03-01 09:00:01")
    wms.add("C", changed_at="2025-03-01 09:00:02")
    source = make_source(wms)
    movements, *_ = read_all(source, batch_size=1, cursor=None)
    assert [m.line_key for m in movements] == ["B", "C"]
    [unreachable] = source.fetch_unkeyed()
    assert (unreachable.reason, unreachable.raw["line_key"]) == ("cursor_value_missing", "A")


def test_fetch_missing_table_raises_retryable_source_error(wms, make_source):
    source = make_source(wms, query="SELECT * FROM no_such_table")
    with pytest.raises(RetryableSourceError, match="source wms: query failed: OperationalError"):
        source.fetch(None, 10)


def test_check_runs_the_query_and_describes_the_url(wms, make_source):
    assert make_source(wms).check() == f"query ok on {wms.url}"


def test_statement_for_mssql_uses_top_and_order_by(wms, make_source):
    stmt = make_source(wms).statement({"changed_at": datetime(2025, 3, 1, 9), "line_key": 7}, 500)
    sql = str(stmt.compile(dialect=mssql.dialect()))
    assert sql.startswith("SELECT TOP ")
    assert "ORDER BY movements.changed_at, movements.line_key" in sql
    assert "LIMIT" not in sql


def test_statement_for_postgresql_uses_limit(wms, make_source):
    sql = str(make_source(wms).statement(None, 500).compile(dialect=postgresql.dialect()))
    assert "ORDER BY movements.changed_at, movements.line_key" in sql
    assert "LIMIT" in sql


def test_statement_for_oracle_uses_fetch_first_and_no_as_alias(wms, make_source):
    stmt = make_source(wms).statement({"changed_at": datetime(2025, 3, 1, 9), "line_key": "L1"}, 500)
    sql = str(stmt.compile(dialect=oracle.dialect()))
    assert "FETCH FIRST" in sql
    assert "ORDER BY movements.changed_at, movements.line_key" in sql
    assert ") AS movements" not in sql


def test_statement_binds_cursor_values_as_parameters(wms, make_source):
    stmt = make_source(wms).statement({"changed_at": "2025-03-01 09:00:00", "line_key": "x'; DROP TABLE moves"}, 5)
    compiled = stmt.compile(dialect=mssql.dialect())
    assert "DROP TABLE" not in str(compiled)
    assert "x'; DROP TABLE moves" in compiled.params.values()


@pytest.mark.parametrize("query", [
    "DELETE FROM moves",
    "UPDATE moves SET qty = 0",
    "SELECT * FROM moves; DROP TABLE moves",
    "SELECT 1; SELECT 2",
    "INSERT INTO moves SELECT * FROM moves",
    "DROP TABLE moves",
    "EXEC sp_who",
    "   ",
])
def test_config_query_that_is_not_a_single_select_is_refused(wms, query):
    [problem] = refusal(wms, query=query)
    assert problem.startswith("query: ")


def test_config_query_with_trailing_semicolon_is_accepted_without_it(wms):
    assert settings(wms, query=QUERY + " ;").query == QUERY


def test_config_with_query_is_accepted(wms):
    query = "WITH m AS (SELECT * FROM moves) SELECT * FROM m"
    assert settings(wms, query=query).query == query


def test_config_url_with_password_is_refused(wms):
    assert refusal(wms, url="mssql+pyodbc://wms:pw123@host/db?driver=x") == [
        "url: Value error, the URL holds a password; remove it and set password = \"${ENV_VAR}\" instead"]


def test_config_password_reference_is_injected_into_engine_but_not_shown(wms):
    config = SqlSourceConfig.model_validate(
        source_settings(wms, url="postgresql+psycopg://wms@db.invalid/wms", password="${WMS_PW}"),
        context={"environ": {"WMS_PW": "pw-123"}})
    source = SqlSource("wms", config)
    try:
        assert source.engine.url.password == "pw-123"
        assert "pw-123" not in source.describe()
    finally:
        source.close()


@pytest.mark.parametrize("field", ["timezone", "encoding"])
def test_config_without_timezone_or_encoding_is_refused(wms, field):
    data = source_settings(wms)
    del data[field]
    with pytest.raises(ValidationError, match=f"{field}\n  Field required"):
        SqlSourceConfig.model_validate(data)


def test_config_unknown_encoding_is_refused(wms):
    assert refusal(wms, encoding="klingon") == ["encoding: Value error, unknown text encoding 'klingon'"]


@pytest.mark.parametrize("size", [0, 100_001])
def test_config_batch_size_out_of_bounds_is_refused(wms, size):
    [problem] = refusal(wms, batch_size=size)
    assert problem.startswith("batch_size: ")
