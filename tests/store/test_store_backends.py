"""One contract suite for the state store, run on every backend: SQLite (a temp file) and PostgreSQL.

Each test opens stores through the `open_store` factory, which asserts at teardown that no pooled
connection is still checked out (a leaked connection would hold a SQLite lock or a PostgreSQL
backend) and then disposes every engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import StatementError

from connector.config.secrets import Secret
from connector.errors import SchemaVersionError
from connector.store import engine as store_engine
from connector.store import migrate
from connector.store.engine import Store
from connector.store.tables import metadata, movements, run_log

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
FUTURE_REVISION = "9999_newer_release"  # alembic_version is varchar(32)


@dataclass(frozen=True)
class Backend:
    name: str
    url: str
    password: Secret | None


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"),
                        pytest.param("postgresql", id="postgresql", marks=pytest.mark.external_service)])
def backend(request: pytest.FixtureRequest, tmp_path) -> Backend:
    if request.param == "sqlite":
        return Backend("sqlite", f"sqlite:///{tmp_path / 'state.db'}", None)
    db = request.getfixturevalue("fresh_pg_db")  # only PostgreSQL runs start the server
    return Backend("postgresql", db.url, Secret(db.password, "${TEST_STORE_PASSWORD}"))


@pytest.fixture
def open_store(backend: Backend) -> Iterator[Callable[[], Store]]:
    opened: list[Store] = []

    def _open() -> Store:
        store = Store.open(backend.url, password=backend.password)
        opened.append(store)
        return store

    yield _open
    checked_out = [s.engine.pool.checkedout() for s in opened]
    for store in opened:
        store.close()
    assert checked_out == [0] * len(opened), f"connections still checked out at teardown: {checked_out}"


def movement_row(line_key: str, *, qty: Decimal, occurred_at: datetime, **extra) -> dict:
    values = dict(source="wms", line_key=line_key, revision=1, content_hash="0" * 64, sku="LAMP-01",
                  qty=qty, uom="PCS", movement_type="RECEIPT", doc_ref="IN-2024-0301",
                  occurred_at=occurred_at, changed_at=occurred_at,
                  staged_at=datetime(2024, 3, 4, 2, 0, tzinfo=UTC), ledger_state="pending")
    return {**values, **extra}


def count(store: Store, table) -> int:
    with store.read() as conn:
        return len(conn.execute(select(table)).all())


def test_open_on_an_empty_database_migrates_to_head_and_creates_every_table(open_store):
    store = open_store()

    assert migrate.current(store.engine) == migrate.head()
    tables = set(inspect(store.engine).get_table_names())
    assert set(metadata.tables) <= tables
    assert "alembic_version" in tables


def test_reopening_a_migrated_store_keeps_its_rows_and_its_single_version_row(open_store):
    first = open_store()
    with first.begin() as conn:
        conn.execute(movements.insert().values(
            movement_row("m1", qty=Decimal("3894"), occurred_at=datetime(2024, 3, 4, 9, 15, tzinfo=SHANGHAI))))
    first.close()

    again = open_store()
    third = open_store()

    assert migrate.current(third.engine) == migrate.head()
    assert count(again, movements) == 1
    with again.read() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [migrate.head()]


QUANTITIES = {
    "smallest_customs_step": Decimal("0.00001"),
    "decimal_19_5_maximum": Decimal("99999999999999.99999"),
    "negative_outbound": Decimal("-1234.5"),
    "wms_numeric_with_trailing_zeros": Decimal("3894.00000"),
    "exponent_form": Decimal("1E+3"),
    "zero": Decimal("0"),
    "more_places_than_customs_allows": Decimal("0.123456789012345678"),
}


def test_decimal_quantities_round_trip_with_their_exact_value(open_store):
    store = open_store()
    at = datetime(2024, 3, 4, 9, 15, tzinfo=SHANGHAI)
    with store.begin() as conn:
        for key, qty in QUANTITIES.items():
            conn.execute(movements.insert().values(movement_row(key, qty=qty, occurred_at=at)))

    with store.read() as conn:
        read = {r.line_key: r.qty for r in conn.execute(select(movements.c.line_key, movements.c.qty))}

    assert all(isinstance(v, Decimal) for v in read.values())
    assert read == QUANTITIES
    assert str(read["decimal_19_5_maximum"]) == "99999999999999.99999"
    assert str(read["more_places_than_customs_allows"]) == "0.123456789012345678"


TIMES = {  # written in several zones, in no particular order
    "shanghai_morning": datetime(2024, 3, 4, 9, 15, 0, 123456, tzinfo=SHANGHAI),
    "shanghai_just_after_midnight": datetime(2024, 3, 5, 0, 30, tzinfo=SHANGHAI),  # 2024-03-04 16:30 UTC
    "utc": datetime(2024, 3, 4, 16, 0, tzinfo=UTC),
    "new_york_after_spring_forward": datetime(2024, 3, 10, 3, 30, tzinfo=NEW_YORK),
    "newfoundland_fixed_offset": datetime(2024, 3, 4, 1, 0, 0, 1, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
}


def test_aware_datetimes_round_trip_as_the_same_instant_in_utc_and_sort_chronologically(open_store):
    store = open_store()
    with store.begin() as conn:
        for key, at in TIMES.items():
            conn.execute(movements.insert().values(movement_row(key, qty=Decimal(1), occurred_at=at)))

    with store.read() as conn:
        rows = conn.execute(select(movements.c.line_key, movements.c.occurred_at)
                            .order_by(movements.c.occurred_at)).all()

    assert {key: at for key, at in rows} == TIMES
    assert all(at.utcoffset() == timedelta(0) for _, at in rows)
    assert [key for key, _ in rows] == sorted(TIMES, key=TIMES.__getitem__)
    assert dict(rows)["shanghai_morning"].microsecond == 123456


def test_json_columns_round_trip_text_keys_and_chinese_and_refuse_a_decimal(open_store):
    store = open_store()
    extra = {"批次": "LOT-甲", "weights": [1, 2.5, None], 7: True}  # a key that is not text is written as text
    with store.begin() as conn:
        conn.execute(movements.insert().values(movement_row("json", qty=Decimal(1), occurred_at=TIMES["utc"],
                                                            extra=extra)))
    with pytest.raises((StatementError, TypeError)), store.begin() as conn:  # psycopg: TypeError, unwrapped
        conn.execute(movements.insert().values(movement_row("decimal", qty=Decimal(1), occurred_at=TIMES["utc"],
                                                            extra={"qty": Decimal("1.5")})))

    with store.read() as conn:
        read = conn.execute(select(movements.c.line_key, movements.c.extra)).all()

    assert read == [("json", {"批次": "LOT-甲", "weights": [1, 2.5, None], "7": True})]


def test_a_naive_datetime_or_a_float_quantity_is_refused_and_nothing_is_written(open_store):
    store = open_store()
    naive = movement_row("naive", qty=Decimal(1), occurred_at=datetime(2024, 3, 4, 9, 15))
    floating = movement_row("float", qty=0.1, occurred_at=datetime(2024, 3, 4, 9, 15, tzinfo=SHANGHAI))

    for row in (naive, floating):
        with pytest.raises(StatementError), store.begin() as conn:
            conn.execute(movements.insert().values(row))

    assert count(store, movements) == 0


def test_an_exception_inside_begin_rolls_back_every_write_of_that_transaction(open_store):
    store = open_store()
    at = datetime(2024, 3, 4, 9, 15, tzinfo=SHANGHAI)

    with pytest.raises(RuntimeError, match="crash mid-transaction"), store.begin() as conn:
        conn.execute(movements.insert().values(movement_row("m1", qty=Decimal(5), occurred_at=at)))
        conn.execute(run_log.insert().values(job="sync", started_at=at, finished_at=at, status="ok",
                                             counts={}, prev_hash="0" * 64, hash="1" * 64))
        raise RuntimeError("crash mid-transaction")

    assert count(store, movements) == 0
    assert count(store, run_log) == 0
    with store.begin() as conn:  # the connection went back to the pool usable
        conn.execute(movements.insert().values(movement_row("m2", qty=Decimal(5), occurred_at=at)))
    assert count(store, movements) == 1


def test_a_store_stamped_with_an_unknown_newer_revision_is_refused_and_left_untouched(
        open_store, backend, monkeypatch):
    store = open_store()
    with store.begin() as conn:
        conn.execute(movements.insert().values(
            movement_row("m1", qty=Decimal(7), occurred_at=datetime(2024, 3, 4, 9, 15, tzinfo=SHANGHAI))))
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": FUTURE_REVISION})
    built, build_engine = [], store_engine.build_engine

    def recording_build_engine(*args, **kwargs):
        built.append(build_engine(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(store_engine, "build_engine", recording_build_engine)

    with pytest.raises(SchemaVersionError, match=FUTURE_REVISION) as refused:
        Store.open(backend.url, password=backend.password)

    assert migrate.head() in str(refused.value)
    assert [e.pool.checkedout() for e in built] == [0]
    for engine in built:
        engine.dispose()
    assert migrate.current(store.engine) == FUTURE_REVISION
    assert count(store, movements) == 1


def test_a_refused_open_closes_the_connection_it_opened(open_store, backend, monkeypatch):
    store = open_store()
    with store.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": FUTURE_REVISION})
    built, build_engine = [], store_engine.build_engine
    monkeypatch.setattr(store_engine, "build_engine", lambda *a, **k: built.append(build_engine(*a, **k)) or built[-1])

    try:
        with pytest.raises(SchemaVersionError):
            Store.open(backend.url, password=backend.password)
        assert [e.pool.checkedin() for e in built] == [0]
    finally:
        for engine in built:
            engine.dispose()
