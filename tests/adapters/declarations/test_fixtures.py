"""Every real customs file in tests/fixtures/customs, plain and zipped, read into store rows.

Each expectation below was read off the file itself (document numbers, ledger numbers, line
quantities, weights, statuses). The rows are those `to_records` produces: exactly what the
declaration stage writes. The bridge's JSON files (INV101/SAS121/ICP101 as the firm drafted them,
not yet numbered by customs) keep their values as wire text and store no head.
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from adapters.declarations.wire import parse
from connector._declaration_rows import Records, to_records

FIXTURES = Path(__file__).parents[2] / "fixtures" / "customs"
SHANGHAI = ZoneInfo("Asia/Shanghai")
GX, DI = "gx-customs-bridge/", "data-interface/"


def sh(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)


def zipped(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def first(records: Records, attr: str) -> dict:
    return getattr(records, attr)[0]


def check_inv201_ningbo(r: Records, doc) -> None:
    head = first(r, "bond_invt_heads")
    assert (head["bond_invt_no"], head["putrec_no"], head["impexp_markcd"], head["supv_modecd"]) == (
        "QD311124E000098849", "T3111W000076", "E", "5034")
    assert (head["vrfded_markcd"], head["manage_result"], head["etps_inner_invt_no"]) == ("1", "4", "COSU6391946850D")
    assert head["prevd_time"] == sh(2024, 7, 30, 11, 48, 1)
    assert (r.receipt["result_rank"], r.receipt["doc_state"].split()[0]) == (3, "vrfdedMarkcd=1")


def check_inv202_ningbo(r: Records, doc) -> None:
    assert (r.receipt["business_id"], r.receipt["manage_result"]) == ("QD311124E000097307", "1")
    assert doc.rows["InvApprResult"][0]["entrySeqNo"]


def check_inv211(r: Records, doc) -> None:
    head = first(r, "bond_invt_heads")
    assert (head["bond_invt_no"], head["vrfded_markcd"], head["entry_stucd"], head["passport_used_typecd"]) == (
        "QD311124I000067486", "2", "1", "3")
    assert head["formal_vrfded_time"] == sh(2024, 7, 27, 7, 41, 3) and r.rank == 4
    line = first(r, "ledger_lines")
    assert (line["bws_no"], line["gds_seqno"], line["in_qty"], line["invt_no"], line["invt_g_no"]) == (
        "T3111W000076", 2255, Decimal("3894"), "QD311124I000067486", 1)


def check_sas221_ningbo(r: Records, doc) -> None:
    head = first(r, "passports")
    assert (head["passport_no"], head["bind_typecd"], head["stucd"], head["logistics_stucd"]) == (
        "Z3111I240728000000000003", "3", "1", "0")
    assert (head["total_wt"], head["vehicle_wt"], head["vehicle_frame_wt"], head["total_gross_wt"]) == (
        Decimal("14292.8"), Decimal("13000"), Decimal("1000"), Decimal("292.8"))
    line = first(r, "passport_lines")
    assert (line["rlt_gds_seqno"], line["dcl_qty"], line["gross_wt"]) == (8, Decimal("17568"), Decimal("292.8"))
    assert r.passport_links == [{"passport_no": "Z3111I240728000000000003", "rlt_tb_typecd": "1",
                                 "rlt_no": "QD311124I000067647"}]


def check_sas223_ningbo(r: Records, doc) -> None:
    head = first(r, "passports")
    assert (head["passport_no"], head["bind_typecd"], head["stucd"], head["wt_error"], head["pass_collect_wt"]) == (
        "Z3111E240726000000000456", "1", "2", Decimal("16245.335"), Decimal("0"))
    assert head["pass_time"] == sh(2024, 7, 26, 17, 31, 59) and r.rank == 4
    assert sorted(link["rlt_no"] for link in r.passport_links) == [
        "QD311124E000097136", "QD311124E000097138", "QD311124E000097139"]


def check_sas224(r: Records, doc) -> None:
    head = first(r, "passports")
    assert (head["passport_no"], head["manage_result"], head["total_wt"]) == (
        "Z3111I240728000000000111", "3", Decimal("16674.08"))
    assert r.rank == 2  # 3 ranks as review: it never overwrites a passed passport


def check_sas253(r: Records, doc) -> None:
    head = first(r, "passports")
    assert (head["passport_no"], head["stucd"], head["logistics_stucd"], head["pass_id"]) == (
        "Z3105I241030T00000000075", "2", "1", "NB")
    assert head["pass_time"] == sh(2024, 10, 30, 15, 40, 55) and r.rank == 4


def common_response(seq_no: str | None, flag: str):
    def check(r: Records, doc) -> None:
        assert (doc.message_type, r.receipt["business_id"], r.receipt["manage_result"]) == (
            "CommonResponeMessage", seq_no, flag)
    return check


def check_inv101(inner: str, direction: str, lines: int, first_qty: str):
    def check(r: Records, doc) -> None:
        head = doc.rows["BondInvtBsc"][0]
        assert (doc.message_type, head["putrecNo"], head["impexpMarkcd"], head["etpsInnerInvtNo"]) == (
            "INV101", "L9013B19A008", direction, inner)
        assert len(doc.rows["BondInvtDt"]) == lines and doc.rows["BondInvtDt"][0]["dclQty"] == first_qty
        assert doc.rows["EnterpriseInfo"][0]["DelcareFlag"] == "1"
        assert (r.receipt["business_id"], r.rank, r.bond_invt_heads) == (inner, 0, [])
    return check


def check_inv201_xian_full(r: Records, doc) -> None:
    head = first(r, "bond_invt_heads")
    assert (head["bond_invt_no"], head["putrec_no"], head["supv_modecd"], head["vrfded_markcd"]) == (
        "QD900819I000000011", "T9008D000009", "5300", "1")


def check_inv201_xian_short(r: Records, doc) -> None:
    head = first(r, "bond_invt_heads")
    assert (head["bond_invt_no"], head["manage_result"], head.get("putrec_no")) == ("QD900819I201903281726", "1", None)


def check_inv202_xian(r: Records, doc) -> None:
    assert r.receipt["business_id"] == "QD900919E201903061439"


def check_sas221_xian_short(r: Records, doc) -> None:
    assert first(r, "passports") == {"passport_no": "Z9008I19010300999", "manage_result": "1", "result_rank": 3}


def check_sas223_xian(r: Records, doc) -> None:
    head = first(r, "passports")
    assert (head["passport_no"], head["passport_typecd"], head["rlt_tb_typecd"], head["stucd"]) == (
        "Z9008I190128000000000007", "4", "2", "4")
    assert (head["total_wt"], head["container_wt"], head["wt_error"]) == (
        Decimal("70340"), Decimal("16800"), Decimal("70340"))
    assert r.passport_links == [{"passport_no": "Z9008I190128000000000007", "rlt_tb_typecd": "2",
                                 "rlt_no": "X9008I190128000001"}]


def check_inv101_bridge_head(r: Records, doc) -> None:
    [head] = doc.rows["BondInvtBsc"]
    assert (doc.message_type, head["putrecNo"], head["impexpMarkcd"], head["bondInvtTypecd"]) == (
        "INV101", "T3111W000076", "I", "0")
    assert (head["supvModecd"], head["dclcusFlag"], head["invtDclTime"]) == ("5000", "1", "20240903")
    assert (r.receipt["business_id"], r.rank, r.bond_invt_heads) == ("1", 0, [])  # no QD number yet


def check_inv101_bridge_list(r: Records, doc) -> None:
    [line] = doc.rows["BondInvtDt"]
    assert (doc.message_type, line["gdsSeqno"], line["gdsMtno"], line["gdsNm"]) == (
        "INV101", "1", "9405310000", "圣诞灯")
    assert (line["dclQty"], line["lawfQty"], line["secdLawfQty"], line["modfMarkcd"]) == ("324", "324", "573.48", "3")
    assert (r.receipt["business_id"], r.bond_invt_lines) == (None, [])


def check_sas121_bridge_head(r: Records, doc) -> None:
    [head] = doc.rows["SasPassportBsc"]
    assert (doc.message_type, head["passportTypecd"], head["bindTypecd"], head["rltNo"]) == (
        "SAS121", "3", "3", "QD311124I000077976")
    assert (head["vehicleWt"], head["vehicleFrameWt"], head["totalGrossWt"], head["totalWt"]) == (
        "13000", "1000", "1130.98", "15130.98")
    assert (r.receipt["business_id"], r.receipt["manage_date"], r.passports) == ("1", sh(2024, 9, 3), [])


def check_sas121_bridge_list(r: Records, doc) -> None:
    [line] = doc.rows["SasPassportDt"]
    assert (doc.message_type, line["passportSeqno"], line["rltGdsSeqno"], line["gdsMtno"]) == (
        "SAS121", "6", "6", "4016920000")
    assert (line["dclQty"], line["grossWt"], line["netWt"]) == ("1348", "87.62", "87.62")
    assert r.passport_lines == []


def check_icp101_bridge(preent_no: str, vehicle: str, entries: list[str]):
    def check(r: Records, doc) -> None:
        assert doc.message_type == "ICP101"
        heads = doc.rows.get("Sas2stepPassportBsc", [])
        assert [(h["etpsPreentNo"], h["vehicleNo"], h["areainEtpsSccd"]) for h in heads] == (
            [(preent_no, vehicle, "913302017532977856")] if preent_no else [])
        assert [row["entryId"] for row in doc.rows.get("Sas2stepPassportRlt", [])] == entries
        assert (r.receipt["business_id"], r.passports, r.passport_entry_links) == (preent_no, [], [])
    return check


EXPECTED = {
    GX + "INV201.xml": check_inv201_ningbo,
    GX + "INV202.xml": check_inv202_ningbo,
    GX + "INV211.xml": check_inv211,
    GX + "SAS221.xml": check_sas221_ningbo,
    GX + "SAS223.xml": check_sas223_ningbo,
    GX + "SAS224.xml": check_sas224,
    GX + "sas253.xml": check_sas253,
    GX + "Successed_INV101_E_example.xml": common_response("202400000122534496", "0"),
    GX + "common_resp_msg.xml": common_response("202400000122534496", "0"),
    GX + "Failed_SAS121_I_example.xml": common_response(None, "-1"),
    DI + "CommonResponeMessage_INV101.xml": common_response("eport201904110842", "0"),
    DI + "CommonResponeMessage_SAS121.xml": common_response("eport201904081009", "0"),
    DI + "INV101_enterprise_import_I_Ibondinvt.xml": check_inv101("HZQD6104W6003CI20190410C64E", "I", 5, "120"),
    DI + "INV101_enterprise_import_E_Ebondinvt.xml": check_inv101("HZQD6104W6003CE20190411B7DF", "E", 2, "1"),
    DI + "INV201_receipt_full.xml": check_inv201_xian_full,
    DI + "INV201_receipt_short.xml": check_inv201_xian_short,
    DI + "INV202_receipt.xml": check_inv202_xian,
    DI + "SAS221_receipt_short.xml": check_sas221_xian_short,
    DI + "SAS223_receipt_stockbill_linked.xml": check_sas223_xian,
    GX + "inv101_head.json": check_inv101_bridge_head,
    GX + "inv101_list.json": check_inv101_bridge_list,
    GX + "sas121_head.json": check_sas121_bridge_head,
    GX + "sas121_list.json": check_sas121_bridge_list,
    GX + "icp101.json": check_icp101_bridge("测试报文2", "浙A00008", ["311120241119970515"]),
    GX + "icp101_head.json": check_icp101_bridge("1", "浙A00007", []),
    GX + "icp101_rlt_list.json": check_icp101_bridge(None, None, ["311120241119970515"]),
}


def test_every_fixture_file_has_an_expectation():
    on_disk = {str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*") if p.is_file() and p.name != "README.md"}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("packing", ["plain", "zip"])
@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_fixture_parses_to_its_key_fields(relative, packing):
    data = (FIXTURES / relative).read_bytes()
    name = Path(relative).name
    if packing == "zip":
        data, name = zipped(name, data), name + ".zip"
    doc = parse(data, name)
    assert doc.raw == data
    EXPECTED[relative](to_records(doc, SHANGHAI), doc)
