"""The comparator's loads: a rebuild's screened documents read through one JSON parameter give the
rows the per-document lookups give."""

from __future__ import annotations

import pytest

from connector.compare import load
from tests.compare.test_engine import World
from tests.support.wms import log  # noqa: F401


@pytest.fixture
def world(tmp_path, log):  # noqa: F811
    w = World(tmp_path, log)
    w.move(line_key="L1", qty="4", doc_ref="ASN-1")
    w.move(line_key="L2", qty="2", doc_ref="ASN-1", sku="SKU-2")
    w.declare(no="QD1", doc_ref="ASN-1", qty="3")
    w.move(line_key="L3", qty="1", doc_ref="入库-2")  # a document reference beyond ASCII
    w.declare(no="QD2", doc_ref="入库-2", qty="1", mtno="MT-2")
    w.declare(no="QD3", doc_ref="ASN-3", qty="6")
    yield w
    w.store.close()


def test_wanted_queries_read_what_the_lookups_per_document_read(world):
    items = {"ASN-1": {"MT-1"}, "入库-2": None, "ASN-3": None, "ASN-9": None}
    with world.store.read() as conn:
        found = {name: list(conn.exec_driver_sql(sql, params)) for name, (sql, params) in
                 load.wanted_queries(items).items()}
        moved = load.doc_items(conn, set(items), None, items, found["entries"])
        listed = load.list_items(conn, set(items), None, items, found["lists"])
        assert sorted(moved, key=repr) == sorted(load.doc_items(conn, set(items), None, items), key=repr)
        assert sorted(listed, key=repr) == sorted(load.list_items(conn, set(items), None, items), key=repr)
    assert {(w.doc_ref, w.gds_mtno) for w in moved} == {("ASN-1", "MT-1"), ("入库-2", "MT-1")}  # not ASN-1's MT-2
    assert {(x.etps_inner_invt_no, x.gds_mtno) for x in listed} == {("ASN-1", "MT-1"), ("入库-2", "MT-2"),
                                                                   ("ASN-3", "MT-1")}
