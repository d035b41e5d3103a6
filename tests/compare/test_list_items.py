"""compare_list_items keeps the 料号 of orphan 核注清单 only: recorded by a rebuild, re-recorded by the
ticks that dirty their document, dropped once a movement names it."""

from __future__ import annotations

from sqlalchemy import select

from connector.compare import list_items
from connector.store.tables_compare_periods import compare_list_items
from tests.compare.test_engine import world  # noqa: F401 (the fixture)
from tests.support.wms import log  # noqa: F401


def kept(w) -> dict[str, str]:
    with w.store.read() as conn:
        return dict(conn.execute(select(compare_list_items)).all())


def test_orphan_list_is_kept_until_a_movement_names_its_document(world):  # noqa: F811
    world.declare(no="QD1", doc_ref="ASN-1", mtno="MT-1")
    world.declare(no="QD2", doc_ref="ASN-2", mtno="MT-2")
    world.move(line_key="L2", doc_ref="ASN-2")
    world.compare()  # the first run: a rebuild
    assert kept(world) == {"QD1": "MT-1"}
    world.move(line_key="L1", doc_ref="ASN-1")
    world.compare()
    assert kept(world) == {}


def test_forget_returns_the_recorded_items_and_drops_the_rows(world):  # noqa: F811
    world.declare(no="QD1", doc_ref="ASN-1", mtno="MT-1")
    world.compare()
    with world.store.begin() as conn:
        assert list_items.forget(conn, {"QD1", "QD9"}) == {"MT-1"}
    assert kept(world) == {}


def test_rebuild_records_from_the_screen_the_lists_a_full_refill_records(world):  # noqa: F811
    world.declare(no="QD1", doc_ref="ASN-1", mtno="MT-1")  # orphan
    world.declare(no="QD3", doc_ref="ASN-3", mtno="MT-2", stucd="2")  # orphan, rejected
    world.declare(no="QD2", doc_ref="ASN-2", mtno="MT-2")
    world.move(line_key="L2", doc_ref="ASN-2")  # named: not an orphan
    world.move(line_key="L4", doc_ref="ASN-4")  # a document without lists
    world.compare()  # the first run: a rebuild, from the screen's documents
    assert kept(world) == {"QD1": "MT-1", "QD3": "MT-2"}
    with world.store.begin() as conn:
        list_items.refill(conn)  # every list looked up
    assert kept(world) == {"QD1": "MT-1", "QD3": "MT-2"}
