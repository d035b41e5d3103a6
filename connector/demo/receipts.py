"""The sections of customs receipts, in the data-centre wire format (camelCase, DOMAIN.md §1.2 b).

Field names and order follow the real receipts in fixtures/customs/gx-customs-bridge (INV201,
INV211, SAS221, SAS223). Each builder returns `[(section, {field: text})]`; empty text is an
empty element, as customs sends it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from connector.demo.catalog import BWS_NO, COMPANY, CUSTOMS_DISTRICT
from connector.demo.customs import LineState, ListLine, ListPlan, Posting

Section = tuple[str, dict[str, str]]
CUSTOMS_TIME = "%Y-%m-%d %H:%M:%S"
VEHICLE_WT, FRAME_WT = Decimal(4200), Decimal(0)
GATE_READING_DELTA = Decimal("3.4")  # the weighbridge read a little more than declared


def num(value: Decimal | None) -> str:
    """Customs decimal text: no exponent, no trailing zeros; empty for none."""
    if value is None:
        return ""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def qty(value: Decimal) -> str:
    """Ledger quantities: customs leaves a zero quantity empty."""
    return "" if value == 0 else num(value)


def when(value: datetime | None) -> str:
    return value.strftime(CUSTOMS_TIME) if value else ""


def inv201(plan: ListPlan) -> list[Section]:
    """核注清单审批回执, manageResult 4 = 预核扣 (provisional deduction)."""
    result = {"etpsPreentNo": plan.invt_preent_no, "businessId": plan.bond_invt_no, "tmsCnt": "0",
              "typecd": "1", "manageResult": "4", "manageDate": when(plan.prevd_time), "rmk": ""}
    return [("HdeApprResult", result), ("BondInvtBsc", bond_invt_bsc(plan, posted=False))] + [
        ("BondInvtDt", bond_invt_dt(plan, line)) for line in plan.lines]


def inv211(posting: Posting) -> list[Section]:
    """核注清单记账回执: the list head after 正式核扣 and the ledger lines it posted."""
    return [("BondInvtBsc", bond_invt_bsc(posting.plan, posted=True))] + [
        ("BwsDt", bws_dt(state)) for state in posting.states]


def bond_invt_bsc(plan: ListPlan, *, posted: bool) -> dict[str, str]:
    doc, first_line = plan.doc, doc_side(plan.doc.supv_modecd, plan.doc.direction)
    parties = {f"{role}{suffix}": COMPANY[key] for role in ("bizopEtps", "dclEtps")
               for suffix, key in (("Sccd", "sccd"), ("no", "no"), ("Nm", "name"))}
    return {
        "bondInvtNo": plan.bond_invt_no, "chgTmsCnt": "0", "invtPreentNo": plan.invt_preent_no,
        "putrecNo": BWS_NO, "etpsInnerInvtNo": doc.no, **parties,
        "rvsngdEtpsSccd": COMPANY["sccd"], "rcvgdEtpsno": COMPANY["no"], "rcvgdEtpsNm": COMPANY["name"],
        "invtDclTime": when(plan.declared_at), "entryDclTime": when(plan.prevd_time) if posted else "",
        "entryNo": "", "rltInvtNo": "", "rltPutrecNo": "", "rltEntryNo": "",
        "impexpPortcd": CUSTOMS_DISTRICT, "dclPlcCuscd": CUSTOMS_DISTRICT, "impexpMarkcd": doc.direction,
        "mtpckEndprdMarkcd": "I", "supvModecd": doc.supv_modecd, "trspModecd": first_line[0],
        "stshipTrsarvNatcd": first_line[1], "applyNo": "", "dclcusFlag": "1", "dclcusTypecd": "2",
        "prevdTime": when(plan.prevd_time), "formalVrfdedTime": when(plan.formal_time) if posted else "",
        "invtIochkptStucd": "3" if posted else "0", "vrfdedMarkcd": "2" if posted else "1", "invtStucd": "0",
        "vrfdedModecd": "E" if doc.direction == "E" else "D", "duCode": "", "rmk": "", "bondInvtTypecd": "0",
        "entryStucd": "1" if posted else "0", "passportUsedTypecd": "3" if posted else "1",
        "param1": "", "param2": "", "param3": "", "param4": "", "needEntryModified": "", "levyBlAmt": "",
        "dclTypecd": "1",
    }


def doc_side(supv_modecd: str, direction: str) -> tuple[str, str]:
    """(trspModecd, stshipTrsarvNatcd): 一线 by sea to/from abroad, 二线 by road within China."""
    if supv_modecd == "5000":
        return "4", "142"
    return "2", "116" if direction == "I" else "344"


def bond_invt_dt(plan: ListPlan, line: ListLine) -> dict[str, str]:
    item = line.item
    total = line.dcl_qty * item.unit_price
    return {
        "bondInvtNo": plan.bond_invt_no, "gdsSeqno": str(line.seq), "putrecSeqno": str(item.seqno),
        "gdsMtno": item.mtno, "gdecd": item.gdecd, "gdsNm": item.name, "gdsSpcfModelDesc": item.spec,
        "dclUnitcd": item.dcl_unit, "dclQty": num(line.dcl_qty), "lawfUnitcd": item.lawf_unit,
        "lawfQty": num(item.legal(line.dcl_qty)), "secdLawfUnitcd": "", "secdLawfQty": "",
        "dclUprcAmt": num(item.unit_price), "dclTotalAmt": num(total), "dclCurrcd": "502",
        "natcd": item.natcd, "lvyrlfModecd": "3", "modfMarkcd": "3",
        "grossWt": num(line.dcl_qty * item.unit_weight), "netWt": num(line.dcl_qty * item.unit_weight),
    }


def bws_dt(state: LineState) -> dict[str, str]:
    item = state.item
    return {
        "bwsNo": BWS_NO, "chgTmsCnt": "0", "gdsSeqno": str(item.seqno), "inDate": when(state.in_date),
        "gdsMtno": item.mtno, "gdecd": item.gdecd, "gdsNm": item.name, "gdsSpcfModelDesc": item.spec,
        "natcd": item.natcd, "dclUnitcd": item.dcl_unit, "lawfUnitcd": item.lawf_unit, "secdLawfUnitcd": "",
        "dclUprcAmt": num(item.unit_price), "dclCurrcd": "502", "avgPrice": num(item.unit_price),
        "totalAmt": num(state.balance * item.unit_price), "inQty": num(state.in_qty),
        "inLawfQty": num(item.legal(state.in_qty)), "inSecdLawfQty": "",
        "actlIncQty": qty(state.actl_inc_qty), "actlRedcQty": qty(state.actl_redc_qty),
        "prevdIncQty": qty(state.prevd_inc_qty), "prevdRedcQty": qty(state.prevd_redc_qty),
        "outDate": when(state.out_date), "limitDate": "", "inType": "", "invtNo": state.invt_no,
        "invtGNo": str(state.invt_g_no), "cusmExeMarkcd": "1", "rmk": "", "modfMarkcd": state.modf_markcd,
    }


def passport_no(plan: ListPlan) -> str:
    return f"Z{CUSTOMS_DISTRICT}{plan.doc.direction}{plan.doc.at:%y%m%d}{plan.doc.at:%H%M}00000001"


def passport_bsc(plan: ListPlan, *, passed_at: datetime | None) -> dict[str, str]:
    """SasPassportBsc of a 一车一票 passport; with `passed_at` as the gate-pass receipt shows it."""
    gross = sum((ln.dcl_qty * ln.item.unit_weight for ln in plan.lines), Decimal(0))
    total = VEHICLE_WT + FRAME_WT + gross
    collected = total + GATE_READING_DELTA if passed_at else None
    return {
        "passportNo": passport_no(plan), "chgTmsCnt": "0", "passportTypecd": "2",
        "sasPassportPreentNo": _passport_preent_no(plan), "dclTypecd": "1", "ioTypecd": plan.doc.direction,
        "bindTypecd": "2", "masterCuscd": CUSTOMS_DISTRICT, "rltTbTypecd": "1", "rltNo": plan.bond_invt_no,
        "areainEtpsno": COMPANY["no"], "areainEtpsNm": COMPANY["name"], "areainEtpsSccd": COMPANY["sccd"],
        "vehicleNo": "浙B7D215", "vehicleIcNo": "浙B7D215" if passed_at else "", "containerNo": "",
        "vehicleWt": num(VEHICLE_WT), "vehicleFrameNo": "", "vehicleFrameWt": num(FRAME_WT),
        "containerType": "", "containerWt": "", "totalWt": num(total), "passCollectWt": num(collected),
        "wtError": num(total - collected) if collected is not None else "", "totalGrossWt": num(gross),
        "totalNetWt": num(gross), "dclErConc": "李四", "dclTime": when(plan.prevd_time), "passID": "",
        "secdPassId": "", "passTime": when(passed_at), "secdPassTime": "", "stucd": "2" if passed_at else "1",
        "emapvMarkcd": "1", "logisticsStucd": "1" if passed_at else "0", "ownerSystem": "1", "rmk": "", "col1": "",
    }


def sas221(plan: ListPlan, approved_at: datetime) -> list[Section]:
    """核放单审核回执 with the passport's lines and its link to the list."""
    number = passport_no(plan)
    lines = [("SasPassportDt", {
        "passportNo": number, "chgTmsCnt": "0", "passportSeqno": str(ln.seq), "gdsMtno": ln.item.mtno,
        "gdecd": ln.item.gdecd, "gdsNm": ln.item.name, "grossWt": num(ln.dcl_qty * ln.item.unit_weight),
        "netWt": num(ln.dcl_qty * ln.item.unit_weight), "rltGdsSeqno": str(ln.seq),
        "dclUnitcd": ln.item.dcl_unit, "dclQty": num(ln.dcl_qty), "rmk": ""}) for ln in plan.lines]
    link = ("SasPassportRlt", {"passportNo": number, "rltTbTypecd": "1", "rltNo": plan.bond_invt_no})
    return [("HdeApprResult", _result(plan, number, approved_at, "1")),
            ("SasPassportBsc", passport_bsc(plan, passed_at=None)), *lines, link]


def sas223(plan: ListPlan, passed_at: datetime) -> list[Section]:
    """核放单过卡回执: the truck passed the gate; carries the weighbridge reading."""
    number = passport_no(plan)
    return [("HdeApprResult", _result(plan, number, passed_at, "1")),
            ("SasPassportBsc", passport_bsc(plan, passed_at=passed_at))]


def _passport_preent_no(plan: ListPlan) -> str:
    return f"{plan.doc.at:%Y}0000{694400000 + int(plan.invt_preent_no[-6:]):010d}"


def _result(plan: ListPlan, business_id: str, at: datetime, result: str) -> dict[str, str]:
    return {"etpsPreentNo": _passport_preent_no(plan), "businessId": business_id, "tmsCnt": "0", "typecd": "1",
            "manageResult": result, "manageDate": when(at), "rmk": ""}
