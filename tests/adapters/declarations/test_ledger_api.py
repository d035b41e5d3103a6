"""Ledger-query HTTP API source against a real HTTP server on 127.0.0.1 (paged, field map, Decimal)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import structlog
from sqlalchemy import select

from adapters.declarations.ledger_api import LedgerApiSource
from connector.clock import FixedClock
from connector.declarations import ingest
from connector.errors import RetryableSourceError
from connector.store.engine import Store
from connector.store.tables import ledger_lines
from tests.support.http_receiver import json_reply, receiver  # noqa: F401


def item(seq: int, qty: str) -> str:
    return (f'{{"bwlNo": "T3111W000076", "gdsSeqNo": {seq}, "gdsMtno": "M{seq}", "inQty": {qty}, '
            f'"actlIncQty": 0, "actlRedcQty": 1.10000, "prevdIncQty": 0, "prevdRedcQty": 0.00001}}')


def page(*items: str):
    from tests.support.http_receiver import Reply

    return Reply(body=('{"data": {"list": [' + ",".join(items) + "]}}").encode())


@pytest.fixture
def store(tmp_path):
    opened = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    yield opened
    opened.close()


def source(receiver, **extra) -> LedgerApiSource:  # noqa: F811
    config = LedgerApiSource.Config(url=receiver.url, ledgers=("T3111W000076",), page_size=2, **extra)
    return LedgerApiSource("ledger", config)


def test_ledger_api_reads_every_page_into_exact_ledger_lines(store, receiver):  # noqa: F811
    receiver.answer(page(item(1, "3894"), item(2, "0.12345")), page(item(3, "10")))
    api = source(receiver)
    counts = ingest(store, "ledger", api, FixedClock(datetime(2024, 8, 1, tzinfo=UTC)), structlog.get_logger())
    api.close()
    assert counts["ingested"] == 1
    assert [json.loads(r.body)["pageNo"] for r in receiver.requests] == [1, 2]
    with store.read() as conn:
        lines = {r.gds_seqno: r for r in conn.execute(select(ledger_lines))}
    assert sorted(lines) == [1, 2, 3]
    assert (lines[1].in_qty, lines[1].actl_redc_qty, lines[2].in_qty) == (Decimal("3894"), Decimal("1.1"),
                                                                          Decimal("0.12345"))
    assert lines[1].prevd_redc_qty == Decimal("0.00001") and lines[1].as_of.tzinfo is not None


def test_ledger_api_same_answer_twice_is_a_duplicate(store, receiver):  # noqa: F811
    receiver.answer(page(item(1, "5")), page(item(1, "5")))
    api = source(receiver)
    clock = FixedClock(datetime(2024, 8, 1, tzinfo=UTC))
    ingest(store, "ledger", api, clock, structlog.get_logger())
    assert ingest(store, "ledger", api, clock, structlog.get_logger())["duplicate"] == 1
    api.close()


def test_ledger_api_http_error_is_retryable_and_writes_nothing(store, receiver):  # noqa: F811
    receiver.answer(503)
    api = source(receiver, method="GET")
    with pytest.raises(RetryableSourceError, match="503"):
        ingest(store, "ledger", api, FixedClock(datetime(2024, 8, 1, tzinfo=UTC)), structlog.get_logger())
    api.close()
    with store.read() as conn:
        assert conn.execute(select(ledger_lines)).all() == []


def test_ledger_api_query_time_comes_from_the_apps_clock(store, receiver):  # noqa: F811
    receiver.answer(page(item(1, "5")))
    queried = datetime(2024, 9, 1, 2, 30, tzinfo=UTC)
    config = LedgerApiSource.Config(url=receiver.url, ledgers=("T3111W000076",), page_size=2)
    api = LedgerApiSource("ledger", config, clock=FixedClock(queried))
    try:
        ingest(store, "ledger", api, FixedClock(datetime(2024, 9, 2, tzinfo=UTC)), structlog.get_logger())
    finally:
        api.close()
    with store.read() as conn:
        assert conn.execute(select(ledger_lines.c.as_of)).scalar_one() == queried
