"""Loads of the declaration-side rules: C3/C8 per 核注清单 (its passports), C4 per passport, C6 per 出入库单.

A list unit reads the list, the passports naming it (`passport_links`, `rltTbTypecd=1`), every line of
those passports and the lines of the other lists they name (一车多票: a truck line is allocated across
all the lists of its passport). Like `load.py`, each loader takes the unit keys (None = all) and an
optional `as_of` (declaration rows last updated by then).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, select

from connector.compare.load import chunks, raw, rows
from connector.compare.rules.gate import ListLine, Passport, PassportLine
from connector.compare.rules.periods import StockBill
from connector.store.tables import bond_invt_heads as H
from connector.store.tables import bond_invt_lines as BL
from connector.store.tables import passport_lines as PL
from connector.store.tables import passport_links as LK
from connector.store.tables import passports as PP
from connector.store.tables import receipts as R
from connector.store.tables_messages import cent_dcl_stock_links as CL
from connector.store.tables_messages import stock_bills as SB

VOID_PASSPORT = ("5", "6")  # stucd 已删除 deleted, 已作废 voided
VOID_DCL = "3"  # dclTypecd 作废 (void) on a passport or 出入库单
CLOSED_LIST = ("2", "3")  # vrfdedMarkcd 已核扣 / 已核销: every truck should have passed
LIST_LINK = "1"  # rltTbTypecd 核注清单
T = datetime.fromisoformat


def _dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _in(conn: Connection, query, column, keys):
    """Rows of `query` (None keys = all of them, else chunked IN lookups through an index)."""
    if keys is None:
        return list(rows(conn, query))
    return [r for part in chunks(keys) for r in rows(conn, query.where(column.in_(part)))]


def links(conn: Connection, lists: set[str] | None, passports: set[str] | None = None) -> dict[str, set[str]]:
    """passport -> the lists it names, for every passport naming one of `lists` (None = every link)."""
    query = select(LK.c.passport_no, LK.c.rlt_no).where(LK.c.rlt_tb_typecd == LIST_LINK)
    nos = passports
    if lists is not None:
        nos = {p for p, _ in _in(conn, query, LK.c.rlt_no, lists)} | (passports or set())
    out: dict[str, set[str]] = defaultdict(set)
    for p, no in _in(conn, query, LK.c.passport_no, nos):
        out[p].add(no)
    return dict(out)


def passports(conn: Connection, nos: set[str] | None, linked: dict[str, set[str]],
              as_of: datetime | None = None) -> dict[str, Passport]:
    """Passports with their lines (dclQty per rltGdsSeqno) and the lists they name."""
    query = select(PP.c.passport_no, PP.c.stucd, PP.c.dcl_typecd, raw(PP.c.pass_time), raw(PP.c.total_wt),
                   raw(PP.c.total_gross_wt), raw(PP.c.pass_collect_wt), raw(PP.c.dcl_time), raw(PP.c.updated_at))
    if as_of is not None:
        query = query.where(PP.c.updated_at <= as_of)
    heads = _in(conn, query, PP.c.passport_no, nos)
    lines: dict[str, list[PassportLine]] = defaultdict(list)
    line_query = select(PL.c.passport_no, PL.c.passport_seqno, PL.c.rlt_gds_seqno, PL.c.gds_mtno, raw(PL.c.dcl_qty))
    for p, seq, rlt, mtno, qty in _in(conn, line_query, PL.c.passport_no, None if nos is None else {h[0] for h in heads}):
        lines[p].append(PassportLine(p, seq, rlt, mtno, _dec(qty) or Decimal(0)))
    return {h[0]: Passport(h[0], tuple(sorted(linked.get(h[0], ()))), tuple(sorted(lines[h[0]], key=lambda x: x.seqno)),
                           void=h[1] in VOID_PASSPORT or h[2] == VOID_DCL, passed_at=h[3] and T(h[3]),
                           total_wt=_dec(h[4]), total_gross_wt=_dec(h[5]), pass_collect_wt=_dec(h[6]),
                           declared_at=T(h[7] or h[8])) for h in heads}


def list_heads(conn: Connection, nos: set[str] | None, as_of: datetime | None = None) -> dict[str, tuple]:
    """bond_invt_no -> (document, closed, void, declared_at, putrec_no)."""
    query = select(H.c.bond_invt_no, H.c.etps_inner_invt_no, H.c.vrfded_markcd, H.c.invt_stucd,
                   raw(H.c.invt_dcl_time), raw(H.c.updated_at), H.c.putrec_no)
    if as_of is not None:
        query = query.where(H.c.updated_at <= as_of)
    return {r[0]: (r[1], r[2] in CLOSED_LIST, r[3] in ("2", "3"), T(r[4] or r[5]), r[6])
            for r in _in(conn, query, H.c.bond_invt_no, nos)}


def list_lines(conn: Connection, heads: dict[str, tuple], wanted: dict[str, set[int] | None]) -> dict[str, list[ListLine]]:
    """The lines C3 reads: every line of a list wanted with None, else just the given 商品序号
    (a line no truck line names takes no part in the allocation)."""
    query = select(BL.c.bond_invt_no, BL.c.gds_seqno, BL.c.gds_mtno, raw(BL.c.dcl_qty), BL.c.dcl_unitcd,
                   BL.c.putrec_seqno)
    whole = {no for no, seqs in wanted.items() if seqs is None}
    found = _in(conn, query, BL.c.bond_invt_no, whole)
    some = sorted(no for no in wanted if no not in whole)
    for part in chunks(some):  # both IN lists together use the primary key
        seqs = {seq for no in part for seq in wanted[no]}
        found += [r for r in rows(conn, query.where(BL.c.bond_invt_no.in_(part), BL.c.gds_seqno.in_(seqs)))
                  if r[1] in wanted[r[0]]]
    out: dict[str, list[ListLine]] = defaultdict(list)
    for no, seq, mtno, qty, unit, putrec_seqno in found:
        _, closed, _, declared_at, putrec_no = heads[no]
        out[no].append(ListLine(no, seq, mtno, _dec(qty) or Decimal(0), unit, declared_at, closed, putrec_no,
                                putrec_seqno))
    return out


def stock_bills(conn: Connection, nos: set[str] | None, as_of: datetime | None = None) -> list[StockBill]:
    """出入库单 of 分送集报 (centralizedDclTypecd 1 or 2), not void; collected when 2 or linked."""
    query = (select(SB.c.sas_stock_no, SB.c.centralized_dcl_typecd, raw(SB.c.dcl_time), raw(SB.c.updated_at),
                    SB.c.rlt_bond_invt_no)
             .where(SB.c.centralized_dcl_typecd.in_(("1", "2")), (SB.c.dcl_typecd.is_(None)) | (SB.c.dcl_typecd != VOID_DCL)))
    if as_of is not None:
        query = query.where(SB.c.updated_at <= as_of)
    bills = _in(conn, query, SB.c.sas_stock_no, nos)
    link_query = select(CL.c.sas_stock_no, CL.c.bond_invt_no)
    if as_of is not None:  # a 集报 link is known from the receipt that brought it
        link_query = link_query.join(R, R.c.id == CL.c.receipt_id).where(R.c.received_at <= as_of)
    linked = {s: no for s, no in _in(conn, link_query, CL.c.sas_stock_no, None if nos is None else {b[0] for b in bills})}
    return [StockBill(b[0], T(b[2] or b[3]), b[1] == "2" or b[0] in linked, b[4] or linked.get(b[0])) for b in bills]
