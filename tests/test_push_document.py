"""The versioned supervision push document and the periodic per-item balance snapshot."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from connector.push_document import SCHEMA, SCHEMA_VERSION, discrepancy_event, queue_snapshot
from connector.store.engine import Store
from connector.store.tables import ledger_lines, outbox, receipts

T0 = datetime(2025, 3, 4, 1, 15, tzinfo=UTC)
ROW = {"id": "d1", "kind": "balance_mismatch", "status": "open", "version": 2, "ledger_no": "T3111W000076",
       "item_seq": 2255, "item_no": "LAMP-01", "unit": "007", "delta_qty": "-2", "doc_refs": [],
       "details": {"shdRemainQty": "10", "actlRemainQty": "8", "dsmlQty": "-2", "dsmlRate": "-0.2"}}


def test_discrepancy_event_has_envelope_item_and_customs_names():
    doc = discrepancy_event("discrepancy.updated", "zone-1", ROW, T0)
    assert (doc["schema"], doc["schema_version"], doc["event_id"]) == (SCHEMA, SCHEMA_VERSION, "d1:2")
    assert doc["item"] == {"bwsNo": "T3111W000076", "gdsSeqno": 2255, "gdsMtno": "LAMP-01", "dclUnitcd": "007"}
    assert doc["customs"] == {"shdRemainQty": "10", "actlRemainQty": "8", "dsmlQty": "-2", "dsmlRate": "-0.2"}
    assert doc["discrepancy"] == ROW


def test_snapshot_is_queued_once_per_period_with_per_item_balances(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    with store.begin() as conn:
        rid = conn.execute(receipts.insert().values(source="inbox", file_name="a", sha256="0" * 64,
                                                    message_type="INV211", received_at=T0)).inserted_primary_key[0]
        conn.execute(ledger_lines.insert().values(bws_no="T3111W000076", gds_seqno=2255, gds_mtno="LAMP-01",
                                                  dcl_unitcd="007", in_qty=Decimal("10"), actl_inc_qty=Decimal(0),
                                                  actl_redc_qty=Decimal("4"), receipt_id=rid, updated_at=T0))
    routes = {"customs": ["discrepancy.*", "snapshot.*"], "bot": ["alert.*"]}
    for minutes in (0, 30, 60 * 22):  # one period of a day: one snapshot
        assert queue_snapshot(store, routes=routes, site="zone-1", formula="in_plus_actual",
                              now=T0 + timedelta(minutes=minutes), every_seconds=86400) == 1
    with store.read() as conn:
        rows = conn.execute(select(outbox.c.sink, outbox.c.body)).all()
    store.close()
    [(sink, body)] = rows
    doc = json.loads(body)
    assert sink == "customs" and doc["event"] == "snapshot.balance"
    assert doc["items"] == [{"bwsNo": "T3111W000076", "gdsSeqno": 2255, "gdsMtno": "LAMP-01", "dclUnitcd": "007",
                             "shdRemainQty": "6", "actlRemainQty": "0", "dsmlQty": "-6", "dsmlRate": "-1.000000"}]
