"""SAS231 vehicle approvals and EMS221 write-off approvals through the declaration stage.

No real SAS231 or EMS221 message exists in the reference set (../shared/fixtures/customs has
neither), so these receipts are built here from the official schemas: every section and field
name, in schema order, is taken from `xsd/SAS/SAS231.xsd` (HdeApprResult, SasVehicleBsc,
CheckInfo) and `xsd/EMS/EMS221.xsd` + `xsd/EMS/Common_ComplexType.xsd` (EmsChgoffBsc,
EmsChgoffDt); the envelope is that of the real Ningbo receipts. The values are invented.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import structlog
from sqlalchemy import select

from adapters.declarations.inbox import InboxSource
from connector.clock import FixedClock
from connector.declarations import ingest
from connector.store.engine import Store
from connector.store.tables import quarantine, receipts
from connector.store.tables_messages import vehicles, writeoff_lines, writeoffs

SHANGHAI = ZoneInfo("Asia/Shanghai")
VEHICLE = {  # SasVehicleBsc, SAS231.xsd order
    "vehicleNo": "浙A00007", "chgTmsCnt": "1", "vehicleTypecd": "1", "masterCuscd": "3111",
    "dclPreentNo": "202400000012345678", "dclTypecd": "2", "vehicleCusNo": "3111V00001", "etpsno": "330261A004",
    "etpsNm": "宁波高新物流有限公司", "etpsSccd": "913302017532977856", "vehicleWt": "13000.50000", "dclEr": "张三",
    "dclTime": "2024-08-01 09:30:00", "putrecEmapvTime": "2024-03-01 10:00:00",
    "chgEmapvTime": "2024-08-01 10:15:00", "emapvMarkcd": "1", "stucd": "1", "rmk": "", "col1": "", "col2": "",
    "col3": "", "col4": "", "ownerSystem": ""}
WRITEOFF = {  # EmsChgoffBsc, Common_ComplexType.xsd order
    "emsNo": "T3111W000076", "chgoffTmsCnt": "3", "chgoffTypecd": "1", "chgoffBeginTime": "2023-07-01",
    "chgoffDueTime": "2024-06-30", "bizopEtpsSccd": "913302017532977856", "bizopEtpsno": "330261A004",
    "bizopEtpsNm": "宁波高新物流有限公司", "rvsngdEtpsSccd": "913302017532977856", "rcvgdEtpsno": "330261A004",
    "rcvgdEtpsNm": "宁波高新物流有限公司", "impInvtTotalCnt": "412", "expInvtTotalCnt": "398",
    "chgoffMtpckTotalCnt": "2", "chgoffEndprdTotalCnt": "0", "chgoffLfmtTotalCnt": "0", "chgoffImprTotalCnt": "0",
    "impMtpckTotalAmt": "1250000.12345", "expEndprdTotalAmt": "0", "inputTime": "2024-07-02 09:00:00",
    "inputCusrno": "", "chgoffDclTime": "2024-07-02 09:05:00", "fstSpareMarkcd": "", "spareAmt": "",
    "spareQty": "", "rmk": "", "chgoffMarkcd": "1", "emapvMarkcd": "1", "emapvTime": "2024-07-20 16:00:00",
    "dspsMarkcd": "1", "dclSourceMarkcd": "1", "masterCuscd": "3111"}


def line(seqno: int, shd: str, actl: str, dsml: str) -> dict[str, str]:
    """One EmsChgoffDt, Common_ComplexType.xsd order (amounts and the rarer quantities left empty)."""
    qtys = ("shdRemainTotalAmt", "actlRemainTotalAmt", "csmTotalQty", "csmTotalAmt", "impOrExpTotalQty",
            "sdinQty", "sdinTotalAmt", "endprdRetnExchExpQty", "endprdRetnExchImpQty", "lfmtImprQty",
            "lfmtImprTotalAmt", "dprcsCrdwImpexpQty", "reexpQty", "remainMtpckTrfoutQty", "mtpckEndprdDstryQty",
            "lfmtDstryQty", "vrfaddQty", "vrfredQty", "tgblLossQty", "intgbLossQty")
    return {"emsNo": "T3111W000076", "chgoffTmsCnt": "3", "typecd": "I", "seqno": str(seqno), "shdRemainQty": shd,
            **dict.fromkeys(qtys, ""), "actlRemainQty": actl, "dsmlQty": dsml, "dsmlAmt": "", "dsmlRate": "",
            "dclcusInvtAvgUprcAmt": "", "vclrPridInitQty": "", "fstSpareMarkcd": "", "spareAmt": "",
            "spareQty": "", "rmk": ""}


def section(name: str, fields: dict[str, str]) -> str:
    return f"<{name}>" + "".join(f"<{k}>{v}</{k}>" for k, v in fields.items()) + f"</{name}>"


def receipt(message_type: str, business_id: str, result: str, *sections: str, when: str = "2024-08-01 10:15:00") -> bytes:
    """A customs-format receipt: the real Ningbo envelope around the given sections."""
    hde = section("HdeApprResult", {"etpsPreentNo": "202400000012345678", "businessId": business_id, "tmsCnt": "0",
                                    "typecd": "", "manageResult": result, "manageDate": when, "rmk": ""})
    return (f'<?xml version="1.0" encoding="utf-8"?><Package xmlns="http://www.w3.org/2000/09/xmldsig#">'
            f"<EnvelopInfo><version>1.0</version><message_id>CUS0000E010000{business_id}{result}</message_id>"
            f"<message_type>{message_type}</message_type><sender_id>CUS0000</sender_id>"
            f"<receiver_id>E010000</receiver_id><send_time>2024-08-01T10:15:00</send_time></EnvelopInfo>"
            f"<DataInfo><PocketInfo><pocket_id>p1</pocket_id><total_pocket_qty>1</total_pocket_qty>"
            f"<cur_pocket_no>1</cur_pocket_no><is_unstructured></is_unstructured></PocketInfo><BussinessData>"
            f"<{message_type}>{hde}{''.join(sections)}</{message_type}></BussinessData></DataInfo></Package>"
            ).encode()


def sas231(result: str = "1", **changes: str) -> bytes:
    return receipt("SAS231", "浙A00007", result, section("SasVehicleBsc", {**VEHICLE, **changes}),
                   section("CheckInfo", {"note": "车辆备案变更审批通过"}))


def ems221(result: str = "1", *lines: dict[str, str]) -> bytes:
    lines = lines or (line(1, "1200.50000", "1180.25000", "20.25000"), line(2, "300", "300", "0"))
    return receipt("EMS221", "T3111W000076", result, section("EmsChgoffBsc", WRITEOFF),
                   *(section("EmsChgoffDt", one) for one in lines))


@pytest.fixture
def store(tmp_path: Path):
    opened = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    yield opened
    opened.close()


def ingest_files(store: Store, tmp_path: Path, *files: tuple[str, bytes]) -> dict[str, int]:
    inbox = tmp_path / "InBox"
    inbox.mkdir(exist_ok=True)
    for name, data in files:
        (inbox / name).write_bytes(data)
    adapter = InboxSource("inbox", InboxSource.Config(path=inbox, timezone="Asia/Shanghai", settle_seconds=0))
    return ingest(store, "inbox", adapter, FixedClock(datetime(2024, 8, 2, tzinfo=UTC)), structlog.get_logger())


def table(store: Store, t) -> list[dict]:
    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(select(t))]


def test_sas231_stores_the_vehicle_with_exact_weight_and_aware_times(store, tmp_path):
    assert ingest_files(store, tmp_path, ("a.SAS", sas231()))["ingested"] == 1
    [vehicle] = table(store, vehicles)
    assert (vehicle["vehicle_no"], vehicle["chg_tms_cnt"], vehicle["dcl_typecd"], vehicle["vehicle_cus_no"]) == (
        "浙A00007", 1, "2", "3111V00001")
    assert (vehicle["vehicle_wt"], vehicle["stucd"], vehicle["manage_result"], vehicle["result_rank"]) == (
        Decimal("13000.5"), "1", "1", 3)
    assert vehicle["chg_emapv_time"] == datetime(2024, 8, 1, 10, 15, tzinfo=SHANGHAI)
    [row] = table(store, receipts)
    assert (row["message_type"], row["business_id"], row["doc_state"]) == ("SAS231", "浙A00007",
                                                                           "stucd=1 emapvMarkcd=1")


def test_ems221_stores_the_writeoff_head_and_its_remaining_quantities(store, tmp_path):
    ingest_files(store, tmp_path, ("a.EMS", ems221()))
    [head] = table(store, writeoffs)
    assert (head["ems_no"], head["chgoff_tms_cnt"], head["imp_invt_total_cnt"], head["imp_mtpck_total_amt"]) == (
        "T3111W000076", 3, 412, Decimal("1250000.12345"))
    assert head["chgoff_due_time"] == datetime(2024, 6, 30, tzinfo=SHANGHAI) and head["result_rank"] == 3
    lines = sorted(table(store, writeoff_lines), key=lambda r: r["seqno"])
    assert [(r["seqno"], r["shd_remain_qty"], r["actl_remain_qty"], r["dsml_qty"]) for r in lines] == [
        (1, Decimal("1200.5"), Decimal("1180.25"), Decimal("20.25")), (2, Decimal("300"), Decimal("300"), Decimal(0))]
    assert lines[0]["csm_total_qty"] is None and lines[0]["receipt_id"] == head["receipt_id"]


def test_later_writeoff_approval_replaces_the_lines_and_a_rejection_does_not(store, tmp_path):
    ingest_files(store, tmp_path, ("a.EMS", ems221()))
    ingest_files(store, tmp_path, ("b.EMS", ems221("1", line(1, "1200.5", "1200.5", "0"))))
    ingest_files(store, tmp_path, ("c.EMS", ems221("Y", line(1, "1", "1", "0"))))  # stored only: ranks lower
    assert [(r["seqno"], r["dsml_qty"]) for r in table(store, writeoff_lines)] == [(1, Decimal(0))]
    assert [h["manage_result"] for h in table(store, writeoffs)] == ["1"]
    assert len(table(store, receipts)) == 3


def test_approval_receipt_without_body_is_kept_but_moves_no_head(store, tmp_path):
    counts = ingest_files(store, tmp_path, ("a.SAS", receipt("SAS231", "浙A00007", "1")),
                          ("b.EMS", receipt("EMS221", "T3111W000076", "1")))
    assert counts["ingested"] == 2
    assert table(store, vehicles) == [] and table(store, writeoffs) == []


@pytest.mark.parametrize(("data", "reason"), [
    (lambda: sas231(vehicleWt="13,000"), "bad_value"),
    (lambda: sas231(vehicleNo=""), "missing_field"),
    (lambda: ems221("1", line(1, "NaN", "1", "0")), "bad_value"),
    (lambda: ems221("1", {**line(1, "1", "1", "0"), "seqno": ""}), "missing_field"),
], ids=["comma-weight", "no-plate", "nan-quantity", "no-seqno"])
def test_unusable_approval_value_quarantines_the_whole_file(store, tmp_path, data, reason):
    counts = ingest_files(store, tmp_path, ("a.MSG", data()))
    assert (counts["failed"], table(store, receipts), table(store, vehicles), table(store, writeoffs)) == (1, [], [], [])
    assert [q["reason"] for q in table(store, quarantine)] == [reason]


def test_messages_history_of_a_plate_shows_the_vehicle_and_its_receipts(store, tmp_path):
    from connector.message_history import history

    ingest_files(store, tmp_path, ("a.SAS", sas231("Y")), ("b.SAS", sas231("1", stucd="2")))
    with store.read() as conn:
        found = history(conn, "浙A00007")
    assert (found["kind"], found["head"]["stucd"], [r["manage_result"] for r in found["receipts"]]) == (
        "车辆 (vehicle, SAS231)", "2", ["Y", "1"])
