"""A test store for the rules reading WMS movement fields (C4 WMS gross, C5, C7) and C9: movements with
`extra` (vehicle, gross weight, dispatch time), location and lot; passports with a vehicle and tare;
EMS221 write-off approvals."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from connector import ledger, sync
from connector.model import Movement
from connector.store.tables import passport_links, passports
from connector.store.tables_messages import writeoff_lines, writeoffs
from tests.compare.gate_world import GateWorld
from tests.compare.test_engine import LONG_AGO


class WmsWorld(GateWorld):
    def ship(self, line_key="S1", qty="5", vehicle="浙B12345", gross=None, at=LONG_AGO, location=None, lot=None,
             sku="SKU-1", doc_ref=None, movement_type="issue", dispatched_at: datetime | None = None):
        """A WMS movement with the dispatch fields in `extra` (vehicle None: none given)."""
        extra = {k: v for k, v in (("vehicle_no", vehicle), ("gross_wt", gross),
                                   ("dispatched_at", dispatched_at and dispatched_at.isoformat())) if v is not None}
        m = Movement(source="wms", line_key=line_key, sku=sku, qty=Decimal(qty), uom="EA", movement_type=movement_type,
                     doc_ref=doc_ref, occurred_at=at, changed_at=at, location=location, lot=lot, extra=extra)
        with self.store.begin() as conn:
            sync.stage_movements(conn, "wms", [m], self.clock.now())
        ledger.post_source(self.store, "wms", self.mapping, clock=self.clock, log=self.log)

    def truck(self, no="HF7", vehicle="浙B12345", io="E", stucd="2", at=LONG_AGO, gross=None, tare=None,
              collect=None, total_wt=None, lists=(), updated=None):
        """An SAS223 passport head with its vehicle (`tare`: vehicleWt; frame and container 0)."""
        with self.store.begin() as conn:
            rid = self.receipt(conn, f"{no}.xml", "SAS223", at)
            conn.execute(passports.delete().where(passports.c.passport_no == no))
            conn.execute(passport_links.delete().where(passport_links.c.passport_no == no))
            conn.execute(passports.insert().values(
                passport_no=no, stucd=stucd, io_typecd=io, vehicle_no=vehicle, dcl_time=at,
                pass_time=at if stucd == "2" else None, total_gross_wt=_dec(gross), vehicle_wt=_dec(tare),
                vehicle_frame_wt=None if tare is None else Decimal(0), total_wt=_dec(total_wt),
                pass_collect_wt=_dec(collect), receipt_id=rid, updated_at=updated or at))
            for list_no in lists:
                conn.execute(passport_links.insert().values(passport_no=no, rlt_tb_typecd="1", rlt_no=list_no))

    def approve_writeoff(self, ems_no="T2345W000001", tms=1, begin=LONG_AGO, lines=(), at=LONG_AGO):
        """An EMS221 approval: `lines` of (seqno, vclr, vrfadd, vrfred, shd, actl) figures (text or None)."""
        with self.store.begin() as conn:
            rid = self.receipt(conn, f"EMS221-{ems_no}-{tms}.xml", "EMS221", at)
            key = (writeoffs.c.ems_no == ems_no, writeoffs.c.chgoff_tms_cnt == tms)
            conn.execute(writeoffs.delete().where(*key))
            conn.execute(writeoff_lines.delete().where(writeoff_lines.c.ems_no == ems_no,
                                                       writeoff_lines.c.chgoff_tms_cnt == tms))
            conn.execute(writeoffs.insert().values(ems_no=ems_no, chgoff_tms_cnt=tms, chgoff_begin_time=begin,
                                                   manage_result="1", receipt_id=rid, updated_at=at))
            for seqno, vclr, add, red, shd, actl in lines:
                conn.execute(writeoff_lines.insert().values(
                    ems_no=ems_no, chgoff_tms_cnt=tms, typecd="I", seqno=seqno, vclr_prid_init_qty=_dec(vclr),
                    vrfadd_qty=_dec(add), vrfred_qty=_dec(red), shd_remain_qty=_dec(shd), actl_remain_qty=_dec(actl),
                    receipt_id=rid))


def _dec(value) -> Decimal | None:
    return None if value is None else Decimal(value)
