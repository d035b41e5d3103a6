"""The rebuild's documents evaluated in a child process: the same findings, and no process left behind."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import select

from connector.compare import _docs_child, engine, load, screen, units
from connector.config.schema import CompareSection
from connector.store.tables import discrepancies
from tests.compare.test_engine import NOW, World
from tests.support.wms import log  # noqa: F401


@pytest.fixture
def world(tmp_path, log, monkeypatch):  # noqa: F811
    monkeypatch.setattr(screen, "CHILD_MIN_BYTES", 0)  # every store file gets its children
    w = World(tmp_path, log)
    w.move(line_key="L1", qty="4", doc_ref="ASN-1")
    w.declare(no="QD1", doc_ref="ASN-1", qty="3.75")  # quantity
    w.move(line_key="L2", qty="1", doc_ref="ASN-2")
    w.declare(no="QD2", doc_ref="ASN-2", qty="1", stucd="2")  # rejected but moved
    w.move(line_key="L3", qty="2", doc_ref="ASN-3", at=NOW - timedelta(hours=1))  # in flight
    w.declare(no="QD4", doc_ref="ASN-4", qty="6")  # list without movement
    w.move(line_key="L5", qty="5", doc_ref="ASN-5")
    w.declare(no="QD5", doc_ref="ASN-5", qty="5")  # equal: screened out
    yield w
    w.store.close()


def screened(conn) -> tuple[dict, set]:
    found = {name: (lambda rows=list(conn.exec_driver_sql(sql)): rows)
             for name, sql in (("wms", screen.WMS_SIGNATURES), ("lists", screen.LIST_SIGNATURES))}
    return screen.screened_docs(found, {"entry_id": 10_000, "receipt_id": 10_000})


def in_process(conn, docs, moved) -> tuple[list, dict]:
    load.want(conn, docs)
    out = units.Outcome()
    units.documents(conn, out, set(docs), CompareSection(), NOW, None, docs, moved)
    return out.found, out.held


def test_child_findings_equal_the_ones_evaluated_in_process(world):
    with world.store.read() as conn:
        docs, moved = screened(conn)
        expected = in_process(conn, docs, moved)
        with _docs_child.started(conn) as child:
            found = child.submit(docs, moved, CompareSection(), NOW)()
    assert set(docs) == {"ASN-1", "ASN-2", "ASN-3", "ASN-4"}
    assert found == expected
    assert sorted(d.kind for d, _ in found[0]) == ["list_without_movement", "quantity_mismatch", "state_mismatch"]
    assert len(found[1]) == 1  # ASN-3's missing list, held back in flight


def test_rebuild_with_the_child_opens_what_the_rebuild_in_process_opens(world, monkeypatch):
    world.compare()
    with world.store.read() as conn:
        before = {r.id: r.content_hash for r in conn.execute(select(discrepancies))}
    counts = engine.compare(world.store, CompareSection(), routes={}, site="s", clock=world.clock, log=world.log,
                            rebuild=True)
    assert (counts["opened"], counts["updated"], counts["resolved"], counts["unchanged"]) == (0, 0, 0, 3)
    monkeypatch.setattr(_docs_child, "DocsChild", lambda path: pytest.fail("a child was started"))
    monkeypatch.setattr(screen, "CHILD_MIN_BYTES", 1 << 40)  # no child: the same findings
    engine.compare(world.store, CompareSection(), routes={}, site="s", clock=world.clock, log=world.log, rebuild=True)
    with world.store.read() as conn:
        assert {r.id: r.content_hash for r in conn.execute(select(discrepancies))} == before


def test_child_that_cannot_start_leaves_the_documents_to_the_rebuild(world, monkeypatch):
    monkeypatch.setattr(_docs_child.sys, "executable", str(world.store_folder / "no-python"))
    counts = world.compare()
    assert counts["opened"] == 3


def test_child_gone_before_the_documents_are_handed_over_leaves_them_to_the_rebuild(world, monkeypatch):
    started = _docs_child.DocsChild

    def killed(path):
        child = started(path)
        child._child.kill()
        child._child.wait()
        return child
    monkeypatch.setattr(_docs_child, "DocsChild", killed)
    assert world.compare()["opened"] == 3


def test_child_error_is_raised_with_its_cause_and_the_child_is_reaped(world):
    with world.store.read() as conn:
        docs, moved = screened(conn)
    child = _docs_child.DocsChild(str(world.store_folder / "missing.db"))
    with pytest.raises(sqlite3.OperationalError, match="documents failed in their child process: .*unable to open"):
        child.submit(docs, moved, CompareSection(), NOW)()
    assert child._child.returncode is not None and child._child.stdout.closed
    child.close()  # again: nothing left to do


def test_rebuild_that_fails_stops_its_child(world, monkeypatch):
    children = []
    started = _docs_child.DocsChild
    monkeypatch.setattr(_docs_child, "DocsChild", lambda path: children.append(started(path)) or children[-1])
    monkeypatch.setattr(screen, "scope", lambda *a: (_ for _ in ()).throw(RuntimeError("screen broke")))
    with pytest.raises(RuntimeError, match="screen broke"):
        engine.compare(world.store, CompareSection(), routes={}, site="s", clock=world.clock, log=world.log,
                       rebuild=True)
    assert len(children) == 1 and children[0]._child.returncode is not None and children[0]._child.stdin.closed
