"""A test store with the declaration side of C3/C4/C6/C8: passports (lines, links), 出入库单, 集报 links."""

from __future__ import annotations

from decimal import Decimal

from connector.config.secrets import Secret
from connector.store.engine import Store
from connector.store.tables import (
    bond_invt_heads,
    passport_lines,
    passport_links,
    passports,
)
from connector.store.tables_messages import cent_dcl_stock_links, stock_bills
from tests.compare.test_engine import LONG_AGO, World


class GateWorld(World):
    def passport(self, no="HF1", lists=("QD1",), qty="10", stucd="2", passed=True, total_wt=None,
                 collect_wt=None, at=LONG_AGO, seq=1):
        """A passport (one truck line for list line `seq`) naming `lists`; passed = gate pass time set."""
        with self.store.begin() as conn:
            rid = self.receipt(conn, f"{no}.xml", "SAS223", at)
            for table in (passports, passport_lines, passport_links):
                conn.execute(table.delete().where(table.c.passport_no == no))
            conn.execute(passports.insert().values(
                passport_no=no, stucd=stucd, bind_typecd="1" if len(lists) > 1 else "3", dcl_time=at,
                pass_time=at if passed else None, total_wt=_dec(total_wt), pass_collect_wt=_dec(collect_wt),
                receipt_id=rid, updated_at=at))
            if qty is not None:
                conn.execute(passport_lines.insert().values(
                    passport_no=no, passport_seqno=1, rlt_gds_seqno=seq, dcl_qty=Decimal(qty)))
            for list_no in lists:
                conn.execute(passport_links.insert().values(passport_no=no, rlt_tb_typecd="1", rlt_no=list_no))

    def close_list(self, no="QD1", at=LONG_AGO):
        """The list formally deducted (vrfdedMarkcd=2): every truck should have passed."""
        with self.store.begin() as conn:
            rid = self.receipt(conn, f"{no}-211.xml", "INV211", at)
            conn.execute(bond_invt_heads.update().where(bond_invt_heads.c.bond_invt_no == no)
                         .values(vrfded_markcd="2", receipt_id=rid, updated_at=at))

    def stock_bill(self, no="X1", collected="1", at=LONG_AGO, dcl_typecd="1"):
        with self.store.begin() as conn:
            rid = self.receipt(conn, f"{no}.xml", "SAS211", at)
            conn.execute(stock_bills.delete().where(stock_bills.c.sas_stock_no == no))
            conn.execute(stock_bills.insert().values(
                sas_stock_no=no, centralized_dcl_typecd=collected, dcl_typecd=dcl_typecd, dcl_time=at,
                receipt_id=rid, updated_at=at))

    def collect(self, list_no="QD9", stock_no="X1", at=LONG_AGO):
        """A 集报 核注清单 naming the bill (SasCentDclStock)."""
        with self.store.begin() as conn:
            rid = self.receipt(conn, f"{list_no}-{stock_no}.xml", "INV201", at)
            conn.execute(cent_dcl_stock_links.delete().where(cent_dcl_stock_links.c.bond_invt_no == list_no,
                                                             cent_dcl_stock_links.c.sas_stock_no == stock_no))
            conn.execute(cent_dcl_stock_links.insert().values(bond_invt_no=list_no, sas_stock_no=stock_no,
                                                              receipt_id=rid))


def _dec(value) -> Decimal | None:
    return None if value is None else Decimal(value)


def on_postgres(world, pg):
    """The same world on a throwaway PostgreSQL store (`fresh_pg_db`) instead of its SQLite one."""
    world.store.close()
    world.store = Store.open(pg.url, password=Secret(pg.password, "${TEST_STORE_PASSWORD}"))
    return world
