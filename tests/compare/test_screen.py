"""The rebuild's SQLite screen: exact balances in SQL, and only documents that can differ evaluated."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select

from connector.compare import periods_store, screen
from connector.compare.engine import compare
from connector.compare.load import balances_from_entries
from connector.config.schema import CompareSection
from connector.store.tables import bond_invt_lines, discrepancies, ledger_entries
from tests.compare.test_engine import LONG_AGO, NOW, World
from tests.support.wms import log  # noqa: F401

ODD_QUANTITIES = ["5", "-5", "2.25", "-0.5", "0.000000001", "0.1234567891", "123456789012345", "0"]


def signature(*items: tuple) -> str:
    """A signature of items given as (料号, unit, quantity), written in the screen's order (quantity first)."""
    return screen.ITEM.join(screen.FIELD.join((x[2], x[0], x[1]) if len(x) == 3 else x) for x in items)


@pytest.fixture
def world(tmp_path, log):  # noqa: F811
    w = World(tmp_path, log)
    yield w
    w.store.close()


def _entry(i: int, qty: str, seq: int = 1) -> dict:
    return dict(id=i, movement_id=1, source="wms", line_key=f"L{i}", revision=1, mapping_version="v",
                bws_no="T2345W000001", gds_seqno=seq, gds_mtno="MT-1", gdecd="8471300000", direction="I",
                action="increase", dcl_qty=Decimal(qty), dcl_unitcd="007", lawf_qty=Decimal(qty), lawf_unitcd="007",
                doc_ref=None, needs_list=False, occurred_at=LONG_AGO + timedelta(hours=i), created_at=NOW)


def test_balances_summed_by_sqlite_equal_python_sums_for_every_quantity_shape(world):
    world.move(qty="1")  # a movement row for the foreign key
    with world.store.begin() as conn:
        conn.execute(insert(ledger_entries), [_entry(100 + i, q, seq=2 + i % 3) for i, q in enumerate(ODD_QUANTITIES)])
    with world.store.read() as conn:
        marks = {"entry_id": 10_000, "receipt_id": 0}
        assert screen.balances(conn, marks) == balances_from_entries(conn)
        assert screen.balances(conn, {"entry_id": 101, "receipt_id": 0}) == balances_from_entries(conn, upto=101)


@pytest.mark.parametrize("in_children", [False, True])
def test_balances_from_the_period_sums_equal_python_sums_over_several_periods(world, monkeypatch, in_children):
    world.move(qty="1")
    with world.store.begin() as conn:
        conn.execute(insert(ledger_entries), [{**_entry(100 + i, q, seq=2 + i % 3), "occurred_at": LONG_AGO +
                                               timedelta(days=40 * i)} for i, q in enumerate(ODD_QUANTITIES)])
    monkeypatch.setattr(screen, "CHILD_MIN_BYTES", 0 if in_children else screen.CHILD_MIN_BYTES)
    with world.store.begin() as conn:
        upto = conn.execute(select(func.max(ledger_entries.c.id))).scalar()
        periods_store.rebuild(conn, CompareSection(writeoff_period_months=1))  # one period a month: 10 of them
        assert periods_store.balances(conn, upto) == balances_from_entries(conn, upto=upto)
        assert periods_store.balances(conn, upto - 1) is None  # sums of other entries: not taken
        periods_store.finish(conn)
        assert periods_store.balances(conn, upto) is None  # written: nothing pending any more


def test_only_items_that_differ_are_left_for_the_rules():
    sig = signature
    same = sig(("MT-1", "007", "5"), ("MT-2", "007", "-3"))
    assert screen._differing(same, sig(("MT-2", "007", "-3"), ("MT-1", "007", "5"))) == set()
    assert screen._differing(same, sig(("MT-1", "007", "5"), ("MT-2", "007", "3"))) == {"MT-2"}
    assert screen._differing(same, sig(("MT-1", "007", "5"))) == {"MT-2"}
    assert screen._differing(sig(("MT-1", "007", "5"), ("MT-1", "007", "5")), same) is None  # repeated item


def test_item_without_three_fields_makes_the_whole_document_evaluated():
    sig = signature
    same = sig(("MT-1", "007", "5"))
    assert screen._differing(same, sig(("MT-1", "007"))) is None
    assert screen._differing(sig(("MT-1", "007", "5", "x")), same) is None
    assert screen._differing(None, same) is None


def test_screened_docs_skip_equal_documents_and_take_newer_or_odd_ones_whole():
    sig, other = signature(("MT-1", "007", "5")), signature(("MT-1", "007", "6"))
    wms = [("EQ", sig, 1, 0), ("NEW", sig, 1, 1), ("ODD", sig + screen.FIELD, 1, 0), ("DIFF", sig, 1, 0),
           ("ONLY-WMS", sig, 1, 0), ("VOID", sig, 1, 0), ("NULL", sig, 2, 0), ("ODD-BOTH", sig + sig, 1, 0)]
    lists = [("EQ", sig, 1, 0), ("NEW", sig, 1, 0), ("ODD", sig, 1, 0), ("DIFF", other, 1, 0),
             ("ONLY-LIST", sig, 1, 0), ("VOID", sig, 1, 1), ("NULL", sig, 1, 0), ("ODD-BOTH", sig + sig, 1, 0)]
    found = {"wms": lambda: wms, "lists": lambda: lists}
    docs, moved = screen.screened_docs(found)
    assert docs == {"NEW": None, "ODD": None, "DIFF": {"MT-1"}, "ONLY-WMS": None, "ONLY-LIST": None,
                    "VOID": None, "NULL": None, "ODD-BOTH": None}
    assert moved == {"EQ", "NEW", "ODD", "DIFF", "ONLY-WMS", "VOID", "NULL", "ODD-BOTH"}


@pytest.mark.parametrize(("sig", "items", "plain"), [
    ("MT-1\x1f007\x1f5", 1, True),
    ("MT-1\x1f007\x1f5\x1eMT-2\x1f007\x1f1", 2, True),
    (None, 1, False),  # every item had a NULL field
    ("MT-1\x1f007\x1f5", 2, False),  # one of two items had a NULL field: SQLite left it out
    ("MT\x1f1\x1f007\x1f5", 1, False),  # a separator inside a value
    ("MT\x1e1\x1f007\x1f5", 1, False),
])
def test_signature_is_plain_only_when_every_item_splits_back_whole(sig, items, plain):
    assert screen._plain(sig, items) is plain


def test_list_line_with_a_null_field_makes_its_document_evaluated_whole(world):
    world.compare()
    world.move(line_key="L1", qty="5", doc_ref="ASN-1")
    world.declare(no="QD1", doc_ref="ASN-1", qty="5")
    world.move(line_key="L2", qty="5", doc_ref="ASN-2")
    world.declare(no="QD2", doc_ref="ASN-2", qty="5")  # and a second line without 料号: the same signature text
    with world.store.begin() as conn:
        conn.execute(insert(bond_invt_lines).values(bond_invt_no="QD2", gds_seqno=2, putrec_seqno=1, gds_mtno=None,
                                                    dcl_unitcd="007", dcl_qty=Decimal(3), receipt_id=1))
    with world.store.read() as conn:
        wms, lists = (list(conn.exec_driver_sql(sql, (10_000,)))
                      for sql in (screen.WMS_SIGNATURES, screen.LIST_SIGNATURES))
    found = {"wms": lambda: wms, "lists": lambda: lists}
    docs, moved = screen.screened_docs(found)
    assert found["wms"]()[1][1] == found["lists"]()[1][1]
    assert docs == {"ASN-2": None} and moved == {"ASN-1", "ASN-2"}


def test_rebuild_leaves_the_garbage_collector_as_it_found_it(world):
    import gc

    run = lambda: compare(world.store, CompareSection(), routes={}, site="s", clock=world.clock, log=world.log,
                          rebuild=True)
    run()
    assert gc.isenabled()
    gc.disable()
    try:
        run()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_rebuild_after_ticks_with_fractional_and_rejected_documents_changes_nothing(world):
    world.compare()  # the first run sets the watermarks: the next ones are ticks
    world.move(line_key="L1", qty="2.5", doc_ref="ASN-1")
    world.declare(no="QD1", doc_ref="ASN-1", qty="2.5")  # equal: screened out
    world.move(line_key="L2", qty="4", doc_ref="ASN-2")
    world.declare(no="QD2", doc_ref="ASN-2", qty="3.75")  # differs
    world.move(line_key="L3", qty="1", doc_ref="ASN-3")
    world.declare(no="QD3", doc_ref="ASN-3", qty="1", stucd="2")  # rejected but moved
    world.ledger_line(inc="7.5", redc="0")
    world.compare()
    with world.store.read() as conn:
        kinds = sorted(r.kind for r in conn.execute(select(discrepancies)))
    assert kinds == ["quantity_mismatch", "state_mismatch"]
    counts = compare(world.store, CompareSection(), routes={}, site="s", clock=world.clock, log=world.log,
                     rebuild=True)
    assert (counts["opened"], counts["updated"], counts["resolved"], counts["unchanged"]) == (0, 0, 0, 2)


def test_rebuild_with_its_queries_in_child_processes_finds_what_the_ticks_found(world, monkeypatch):
    world.compare()
    world.move(line_key="L1", qty="2.5", doc_ref="ASN-1")
    world.declare(no="QD1", doc_ref="ASN-1", qty="2.5")
    world.move(line_key="L2", qty="4", doc_ref="ASN-2")
    world.declare(no="QD2", doc_ref="ASN-2", qty="3.75")
    world.ledger_line(inc="6.5", redc="0")
    world.compare()
    monkeypatch.setattr(screen, "CHILD_MIN_BYTES", 0)  # every store file is read by child processes
    counts = compare(world.store, CompareSection(), routes={}, site="s", clock=world.clock, log=world.log,
                     rebuild=True)
    assert (counts["opened"], counts["updated"], counts["resolved"], counts["unchanged"]) == (0, 0, 0, 1)


@pytest.mark.parametrize("qty", ["-10", "10", "1000", "4.0", "2.50", "-0.000", "0E+3", "1E+2", "0.00100"])
def test_summed_balance_prints_like_the_stored_quantity_read_back(qty):
    from connector.compare.load import canonical
    from connector.store.types import DecimalText

    column = DecimalText()
    stored = column.process_result_value(column.process_bind_param(Decimal(qty), None), None)
    assert str(canonical(Decimal(qty))) == str(stored)  # 10, not 1E+1: ticks and rebuilds print the same


def test_item_repeated_with_other_quantities_is_loaded_whole_and_equal_repeats_are_not():
    sig = signature
    listed = sig(("MT-1", "007", "5"), ("MT-1", "007", "4"), ("MT-2", "007", "1"))
    assert screen._differing(sig(("MT-1", "007", "5"), ("MT-1", "007", "3"), ("MT-2", "007", "1")), listed) == {"MT-1"}
    assert screen._differing(sig(("MT-1", "007", "4"), ("MT-1", "007", "5")), listed) == {"MT-2"}


def test_queries_of_later_calls_queue_behind_earlier_ones_until_released(world, monkeypatch):
    monkeypatch.setattr(screen, "CHILD_MIN_BYTES", 0)
    monkeypatch.setattr(screen.os, "cpu_count", lambda: 1)  # one worker: the order is observable
    ran, query = [], screen._sqlchild.query
    monkeypatch.setattr(screen._sqlchild, "query", lambda path, sql, args: ran.append(sql) or query(path, sql, args))
    with world.store.begin() as conn:
        first = screen.run_all(conn, {"a": ("SELECT 1", ()), "b": ("SELECT 2", ())})
        second = screen.run_all(conn, {"c": ("SELECT 3", ())})
        pool = conn.info[screen.POOL][1]
        assert (second["c"](), first["a"](), first["b"]()) == ([(3,)], [(1,)], [(2,)])
        assert ran == ["SELECT 1", "SELECT 2", "SELECT 3"]
        screen.release(conn)
        assert screen.POOL not in conn.info and pool._shutdown
        assert screen.run_all(conn, {"d": ("SELECT 4", ())})["d"]() == [(4,)]  # a new queue
        screen.release(conn)


def test_rebuild_releases_its_query_queue_also_when_it_fails(world, monkeypatch):
    monkeypatch.setattr(screen, "CHILD_MIN_BYTES", 0)
    released = []
    monkeypatch.setattr(screen, "release", lambda conn: released.append(screen.POOL in conn.info))
    monkeypatch.setattr(screen, "screened_docs", lambda *a: (_ for _ in ()).throw(RuntimeError("rules broke")))
    with pytest.raises(RuntimeError, match="rules broke"):
        compare(world.store, CompareSection(), routes={}, site="s", clock=world.clock, log=world.log, rebuild=True)
    assert released == [True]


def test_signature_rows_flag_what_is_after_the_watermarks_or_rejected(world):
    world.move(line_key="L1", qty="5", doc_ref="ASN-1")
    world.declare(no="QD1", doc_ref="ASN-1", qty="5")
    world.move(line_key="L2", qty="5", doc_ref="ASN-2")
    world.declare(no="QD2", doc_ref="ASN-2", qty="5", stucd="2")  # rejected
    with world.store.read() as conn:
        def rows(sql: str, mark: int) -> dict:
            return {r[0]: r[2:] for r in conn.exec_driver_sql(sql, (mark,))}
        assert rows(screen.WMS_SIGNATURES, 10_000) == {"ASN-1": (1, 0), "ASN-2": (1, 0)}
        assert rows(screen.WMS_SIGNATURES, 0) == {"ASN-1": (1, 1), "ASN-2": (1, 1)}  # entries after the mark
        assert rows(screen.LIST_SIGNATURES, 10_000) == {"ASN-1": (1, 0), "ASN-2": (1, 1)}
        assert rows(screen.LIST_SIGNATURES, 0) == {"ASN-1": (1, 1), "ASN-2": (1, 1)}


def test_export_list_signature_signs_each_of_its_items_and_an_import_list_none(world):
    world.declare(no="QD1", doc_ref="SO-1", qty="5", io="E")
    world.declare(no="QD2", doc_ref="ASN-2", qty="5", io="I")
    with world.store.begin() as conn:
        for no in ("QD1", "QD2"):
            conn.execute(insert(bond_invt_lines).values(bond_invt_no=no, gds_seqno=2, putrec_seqno=1, gds_mtno="MT-2",
                                                        dcl_unitcd="007", dcl_qty=Decimal("2.5"), receipt_id=1))
    with world.store.read() as conn:
        found = {r[0]: r[1:3] for r in conn.exec_driver_sql(screen.LIST_SIGNATURES, (10_000,))}
    assert found == {"SO-1": (signature(("MT-1", "007", "-5"), ("MT-2", "007", "-2.5")), 2),
                     "ASN-2": (signature(("MT-1", "007", "5"), ("MT-2", "007", "2.5")), 2)}


def test_kept_results_belong_to_their_transaction_and_release_drops_them(world):
    with world.store.begin() as conn:
        screen.keep(conn, periods_store.PENDING, ("sums", 7))
        assert screen.kept(conn, periods_store.PENDING) == ("sums", 7)
    with world.store.begin() as conn:  # the same pooled connection, a later transaction
        assert periods_store.PENDING in conn.info and screen.kept(conn, periods_store.PENDING) is None
        screen.release(conn)
        assert periods_store.PENDING not in conn.info


def test_list_candidates_are_closed_lists_with_a_live_passport_and_lists_with_none_live(tmp_path, log):  # noqa: F811
    from tests.compare.gate_world import GateWorld

    w = GateWorld(tmp_path, log)
    try:
        for no, stucd in (("QD1", "0"), ("QD2", "0"), ("QD3", "0"), ("QD4", "0"), ("QD5", "2")):
            w.declare(no=no, doc_ref=f"ASN-{no}", stucd=stucd)
        w.passport("HF1", lists=("QD1",))
        w.close_list("QD1")  # closed, its truck live: a candidate (trucks may not have passed it all)
        w.passport("HF2", lists=("QD2",))  # open, its truck live: nothing to find without trucks above a line
        w.passport("HF3", lists=("QD3",), stucd="5")  # its only truck voided: a candidate
        w.passport("HF4", lists=("QD4", "QD2"), stucd="6")  # QD4's only truck voided too
        w.passport("HF5", lists=("QD5",), stucd="6")  # rejected list: C3 does not look at it
        with w.store.read() as conn:
            found = {no for (no,) in conn.exec_driver_sql(screen.LIST_CANDIDATES)}
    finally:
        w.store.close()
    assert found == {"QD1", "QD3", "QD4"}
