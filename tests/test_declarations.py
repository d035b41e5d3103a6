"""The declaration stage end to end: real receipt files in an InBox, a real SQLite state store."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import structlog
from sqlalchemy import func, select
from sqlalchemy.exc import DatabaseError
from structlog.testing import capture_logs

from adapters.declarations.inbox import InboxSource
from connector.clock import FixedClock
from connector.declarations import ingest
from connector.store.engine import Store
from connector.store.tables import (bond_invt_heads, bond_invt_lines, ledger_lines, passport_lines,
                                    passport_links, passports, quarantine, receipts)

FIXTURES = Path(__file__).parent / "fixtures" / "customs"
SHANGHAI = ZoneInfo("Asia/Shanghai")
GX = "gx-customs-bridge/"
DI = "data-interface/"
SUPPORTED = [GX + n for n in ("INV201.xml", "INV202.xml", "INV211.xml", "SAS221.xml", "SAS223.xml",
                              "SAS224.xml", "sas253.xml", "Successed_INV101_E_example.xml",
                              "Failed_SAS121_I_example.xml")] + [
    DI + n for n in ("INV201_receipt_full.xml", "INV201_receipt_short.xml", "INV202_receipt.xml",
                     "SAS221_receipt_short.xml", "SAS223_receipt_stockbill_linked.xml",
                     "CommonResponeMessage_INV101.xml")]


@pytest.fixture
def store(tmp_path: Path):
    store = Store.open("sqlite:///" + str(tmp_path / "state.db"))
    yield store
    store.close()


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    path = tmp_path / "Sas" / "InBox"
    path.mkdir(parents=True)
    return path


@pytest.fixture
def adapter(inbox: Path) -> InboxSource:
    config = InboxSource.Config(path=inbox, timezone="Asia/Shanghai", settle_seconds=0)
    return InboxSource("inbox", config)


def run(store: Store, adapter: InboxSource) -> dict[str, int]:
    clock = FixedClock(datetime(2024, 8, 1, 12, 0, tzinfo=UTC))
    return ingest(store, "inbox", adapter, clock, structlog.get_logger())


def drop(inbox: Path, relative: str, *edits: tuple[str, str], name: str | None = None) -> Path:
    """Put a fixture (optionally edited) into the InBox under its own or the given name."""
    text = (FIXTURES / relative).read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    path = inbox / (name or Path(relative).name)
    path.write_text(text, encoding="utf-8")
    return path


def rows(store: Store, table, *where) -> list[dict]:
    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table).where(*where))]


def count(store: Store, table) -> int:
    with store.read() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_ingest_inv211_stores_the_ledger_line_with_exact_quantities(store, inbox, adapter):
    drop(inbox, GX + "INV211.xml")
    assert run(store, adapter) == {"files": 1, "ingested": 1, "duplicate": 0, "failed": 0}
    [line] = rows(store, ledger_lines)
    assert (line["bws_no"], line["gds_seqno"], line["gds_mtno"]) == ("T3111W000076", 2255, "9405310000")
    assert line["in_qty"] == Decimal("3894") and isinstance(line["in_qty"], Decimal)
    assert (line["invt_no"], line["invt_g_no"], line["modf_markcd"]) == ("QD311124I000067486", 1, "3")
    assert line["actl_inc_qty"] is None
    assert line["as_of"] == datetime(2024, 7, 27, 7, 41, 3, tzinfo=SHANGHAI)
    assert (adapter.processed / "INV211.xml").exists() and not (inbox / "INV211.xml").exists()


def test_ingest_inv211_posting_head_ranks_final_with_aware_times(store, inbox, adapter):
    drop(inbox, GX + "INV211.xml")
    run(store, adapter)
    [head] = rows(store, bond_invt_heads)
    assert (head["bond_invt_no"], head["vrfded_markcd"], head["result_rank"]) == ("QD311124I000067486", "2", 4)
    assert head["etps_inner_invt_no"] == "临海43447305"
    assert head["formal_vrfded_time"] == datetime(2024, 7, 26, 23, 41, 3, tzinfo=UTC)
    [receipt] = rows(store, receipts)
    assert (receipt["message_type"], receipt["business_id"], receipt["file_name"]) == (
        "INV211", "QD311124I000067486", "INV211.xml")
    assert head["receipt_id"] == receipt["id"]


def test_ingest_inv201_stores_the_head_and_the_receipt_result(store, inbox, adapter):
    drop(inbox, GX + "INV201.xml")
    run(store, adapter)
    [head] = rows(store, bond_invt_heads)
    assert (head["manage_result"], head["result_rank"], head["supv_modecd"]) == ("4", 3, "5034")
    assert head["prevd_time"] == datetime(2024, 7, 30, 11, 48, 1, tzinfo=SHANGHAI)
    assert head["formal_vrfded_time"] is None
    [receipt] = rows(store, receipts)
    assert (receipt["manage_result"], receipt["business_id"]) == ("4", "QD311124E000098849")
    assert receipt["manage_date"] == datetime(2024, 7, 30, 11, 48, 2, tzinfo=SHANGHAI)


def test_ingest_inv201_with_list_lines_stores_them_as_decimals(store, inbox, adapter):
    line = ("<BondInvtDt><gdsSeqno>1</gdsSeqno><putrecSeqno>2255</putrecSeqno><gdsMtno>9405310000"
            "</gdsMtno><dclUnitcd>006</dclUnitcd><dclQty>120.50000</dclQty><lawfQty></lawfQty>"
            "</BondInvtDt></INV201>")
    drop(inbox, GX + "INV201.xml", ("</INV201>", line))
    run(store, adapter)
    [stored] = rows(store, bond_invt_lines)
    assert (stored["bond_invt_no"], stored["gds_seqno"], stored["putrec_seqno"]) == ("QD311124E000098849", 1, 2255)
    assert stored["dcl_qty"] == Decimal("120.5") and stored["lawf_qty"] is None


def test_ingest_sas221_stores_the_passport_line_and_link(store, inbox, adapter):
    drop(inbox, GX + "SAS221.xml")
    run(store, adapter)
    [passport] = rows(store, passports)
    assert (passport["passport_no"], passport["bind_typecd"], passport["result_rank"]) == (
        "Z3111I240728000000000003", "3", 3)
    assert passport["total_wt"] == Decimal("14292.8") and passport["pass_collect_wt"] is None
    [line] = rows(store, passport_lines)
    assert (line["passport_seqno"], line["rlt_gds_seqno"], line["dcl_qty"]) == (1, 8, Decimal("17568"))
    assert rows(store, passport_links) == [{"passport_no": "Z3111I240728000000000003",
                                           "rlt_tb_typecd": "1", "rlt_no": "QD311124I000067647"}]


def test_ingest_sas223_splits_rlt_no_into_three_links(store, inbox, adapter):
    drop(inbox, GX + "SAS223.xml")
    run(store, adapter)
    links = rows(store, passport_links)
    assert sorted(link["rlt_no"] for link in links) == [
        "QD311124E000097136", "QD311124E000097138", "QD311124E000097139"]
    assert {(link["passport_no"], link["rlt_tb_typecd"]) for link in links} == {("Z3111E240726000000000456", "1")}
    [passport] = rows(store, passports)
    assert (passport["stucd"], passport["result_rank"], passport["wt_error"]) == ("2", 4, Decimal("16245.335"))
    assert passport["pass_time"] == datetime(2024, 7, 26, 9, 31, 59, tzinfo=UTC)


def test_ingest_sas223_after_sas221_updates_the_passport_and_keeps_its_lines(store, inbox, adapter):
    drop(inbox, GX + "SAS221.xml")
    run(store, adapter)
    drop(inbox, GX + "SAS223.xml", ("Z3111E240726000000000456", "Z3111I240728000000000003"),
         ("<passCollectWt>0</passCollectWt>", "<passCollectWt>14290</passCollectWt>"))
    run(store, adapter)
    [passport] = rows(store, passports)
    assert (passport["stucd"], passport["pass_collect_wt"], passport["result_rank"]) == ("2", Decimal("14290"), 4)
    assert count(store, passport_lines) == 1
    assert count(store, passport_links) == 3


def test_ingest_lower_rank_receipt_bringing_the_lines_stamps_the_head_with_its_receipt(store, inbox, adapter):
    drop(inbox, GX + "SAS223.xml", ("Z3111E240726000000000456", "Z3111I240728000000000003"), name="1.SAS")
    run(store, adapter)
    drop(inbox, GX + "SAS221.xml", name="2.SAS")  # ranks lower: its head is refused, its truck line kept
    run(store, adapter)
    [passport] = rows(store, passports)
    newest = max(r["id"] for r in rows(store, receipts))
    assert (passport["stucd"], passport["result_rank"], passport["receipt_id"]) == ("2", 4, newest)
    assert count(store, passport_lines) == 1


def test_ingest_every_supported_fixture_records_one_receipt_each(store, inbox, adapter):
    for relative in SUPPORTED:
        drop(inbox, relative)
    assert run(store, adapter) == {"files": len(SUPPORTED), "ingested": len(SUPPORTED), "duplicate": 0, "failed": 0}
    stored = {r["file_name"]: r for r in rows(store, receipts)}
    assert len(stored) == len(SUPPORTED)
    assert stored["Failed_SAS121_I_example.xml"]["manage_result"] == "-1"
    assert stored["INV202.xml"]["business_id"] == "QD311124E000097307"
    assert stored["sas253.xml"]["message_type"] == "SAS253"
    assert list(inbox.iterdir()) == []
    assert count(store, quarantine) == 0


def test_ingest_receipt_without_body_moves_only_the_head_status(store, inbox, adapter):
    drop(inbox, DI + "INV201_receipt_short.xml")
    run(store, adapter)
    [head] = rows(store, bond_invt_heads)
    assert (head["bond_invt_no"], head["manage_result"], head["result_rank"]) == ("QD900819I201903281726", "1", 3)
    assert head["putrec_no"] is None


def test_ingest_unusable_files_are_put_aside_and_later_files_still_ingested(store, inbox, adapter):
    (inbox / "a_garbage.INV").write_bytes(b"PK\x03\x04\x00\xff garbage")
    (inbox / "b_xxe.INV").write_bytes(b'<!DOCTYPE P [<!ENTITY x SYSTEM "file:///etc/passwd">]><P>&x;</P>')
    (inbox / "c_truncated.INV").write_bytes((FIXTURES / GX / "INV211.xml").read_bytes()[:900])
    drop(inbox, GX + "INV211.xml", ("<inQty>3894</inQty>", "<inQty>NaN</inQty>"), name="d_nan.INV")
    drop(inbox, GX + "INV211.xml", name="e_good.INV")
    with capture_logs() as logs:
        assert run(store, adapter) == {"files": 5, "ingested": 1, "duplicate": 0, "failed": 4}
    expected = {"a_garbage.INV": "bad_zip", "b_xxe.INV": "unsafe_xml", "c_truncated.INV": "not_xml",
                "d_nan.INV": "bad_value"}
    assert {q["ref"]: q["reason"] for q in rows(store, quarantine)} == expected
    assert {q["stage"] for q in rows(store, quarantine)} == {"declaration"}
    for name, reason in expected.items():
        assert (adapter.failed_dir / name).exists()
        assert reason in (adapter.failed_dir / f"{name}.reason.txt").read_text(encoding="utf-8")
    warned = {e["file"]: e["reason"] for e in logs if e["event"] == "declaration_file_failed"}
    assert warned == expected
    assert [r["file_name"] for r in rows(store, receipts)] == ["e_good.INV"]
    assert rows(store, ledger_lines)[0]["in_qty"] == Decimal("3894")


def test_ingest_store_failure_leaves_the_file_in_the_inbox_uncommitted(store, inbox, adapter):
    with store.begin() as conn:
        conn.exec_driver_sql("CREATE TRIGGER disk_full BEFORE INSERT ON ledger_lines "
                             "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    drop(inbox, GX + "INV211.xml")
    with pytest.raises(DatabaseError, match="disk full"):
        run(store, adapter)
    assert (inbox / "INV211.xml").exists()
    assert not adapter.processed.exists()
    assert (count(store, receipts), count(store, bond_invt_heads)) == (0, 0)
    with store.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER disk_full")
    assert run(store, adapter)["ingested"] == 1
    assert count(store, ledger_lines) == 1


def test_ingest_same_bytes_again_only_moves_the_file(store, inbox, adapter):
    drop(inbox, GX + "SAS223.xml")
    run(store, adapter)
    drop(inbox, GX + "SAS223.xml")  # e.g. committed but not moved before a crash
    drop(inbox, GX + "SAS223.xml", name="copy.SAS")
    assert run(store, adapter) == {"files": 2, "ingested": 0, "duplicate": 2, "failed": 0}
    assert (count(store, receipts), count(store, passports), count(store, passport_links)) == (1, 1, 3)
    assert sorted(p.name for p in adapter.processed.iterdir()) == ["SAS223.xml", "SAS223_1.xml", "copy.SAS"]


def test_ingest_later_lower_rank_receipt_does_not_overwrite_an_approved_head(store, inbox, adapter):
    drop(inbox, GX + "INV201.xml", name="1.INV")
    run(store, adapter)
    drop(inbox, GX + "INV201.xml", ("<manageResult>4</manageResult>", "<manageResult>Y</manageResult>"),
         ("<supvModecd>5034</supvModecd>", "<supvModecd>9999</supvModecd>"), name="2.INV")
    assert run(store, adapter)["ingested"] == 1
    [head] = rows(store, bond_invt_heads)
    assert (head["manage_result"], head["result_rank"], head["supv_modecd"]) == ("4", 3, "5034")
    assert count(store, receipts) == 2


def test_ingest_declaration_read_after_a_status_receipt_fills_the_head_and_names_its_receipt(store, inbox, adapter):
    """The status receipt ranks higher, so the head keeps its state; the declaration gives the data
    and is named as the head's newest change (the comparator's ticks find changes by receipt)."""
    short = (FIXTURES / DI / "INV201_receipt_short.xml").read_text(encoding="utf-8")
    (inbox / "1.INV").write_text(short.replace("QD900819I201903281726", "QD311124E000098849"), encoding="utf-8")
    run(store, adapter)
    drop(inbox, GX + "INV201.xml", ("<manageResult>4</manageResult>", "<manageResult>Y</manageResult>"), name="2.INV")
    run(store, adapter)
    [head] = rows(store, bond_invt_heads)
    declared = [r["id"] for r in rows(store, receipts) if r["file_name"] == "2.INV"]
    assert (head["manage_result"], head["result_rank"], head["etps_inner_invt_no"]) == ("1", 3, "COSU6391946850D")
    assert [head["receipt_id"]] == declared


def test_ingest_rejection_after_approval_is_recorded_but_does_not_demote_the_head(store, inbox, adapter):
    drop(inbox, GX + "INV201.xml", name="1.INV")
    drop(inbox, GX + "INV201.xml", ("<manageResult>4</manageResult>", "<manageResult>3</manageResult>"),
         name="2.INV")
    run(store, adapter)
    assert rows(store, bond_invt_heads)[0]["manage_result"] == "4"
    assert sorted(r["manage_result"] for r in rows(store, receipts)) == ["3", "4"]


def inv201_for_inv211_list() -> tuple[tuple[str, str], ...]:
    """Edits that make INV201.xml the approval (预核扣) of the list INV211.xml posts."""
    return (("QD311124E000098849", "QD311124I000067486"),
            ("<prevdTime>2024-07-30 11:48:01</prevdTime>", "<prevdTime>2024-07-25 11:20:47</prevdTime>"))


def test_ingest_inv201_arriving_after_the_inv211_posting_does_not_overwrite_it(store, inbox, adapter):
    drop(inbox, GX + "INV211.xml", name="1.INV")
    drop(inbox, GX + "INV201.xml", *inv201_for_inv211_list(), name="2.INV")
    run(store, adapter)
    [head] = rows(store, bond_invt_heads)
    assert (head["vrfded_markcd"], head["result_rank"], head["supv_modecd"]) == ("2", 4, "5000")


def test_ingest_inv201_with_lines_arriving_after_its_posting_still_stores_the_lines(store, inbox, adapter):
    drop(inbox, GX + "INV211.xml", name="1.INV")
    drop(inbox, GX + "INV201.xml", *inv201_for_inv211_list(), *inv201_with_line(1, pockets=1, qty="3894"),
         name="2.INV")
    run(store, adapter)
    [head] = rows(store, bond_invt_heads)
    assert (head["vrfded_markcd"], head["result_rank"]) == ("2", 4)
    assert [(r["gds_seqno"], r["dcl_qty"]) for r in rows(store, bond_invt_lines)] == [(1, Decimal("3894"))]


def test_ingest_inv211_after_inv201_takes_over_and_keeps_the_approval_code(store, inbox, adapter):
    drop(inbox, GX + "INV201.xml", *inv201_for_inv211_list(), name="1.INV")
    drop(inbox, GX + "INV211.xml", name="2.INV")
    run(store, adapter)
    [head] = rows(store, bond_invt_heads)
    assert (head["vrfded_markcd"], head["result_rank"], head["manage_result"]) == ("2", 4, "4")


def test_ingest_older_posting_arriving_later_keeps_the_newer_ledger_line(store, inbox, adapter):
    drop(inbox, GX + "INV211.xml", name="1.INV")
    drop(inbox, GX + "INV211.xml", ("<inQty>3894</inQty>", "<inQty>1</inQty>"),
         ("<formalVrfdedTime>2024-07-27 07:41:03", "<formalVrfdedTime>2024-07-20 07:41:03"), name="2.INV")
    run(store, adapter)
    assert rows(store, ledger_lines)[0]["in_qty"] == Decimal("3894")
    assert count(store, receipts) == 2


@pytest.mark.parametrize(("edit", "reason"), [
    (("<inQty>3894</inQty>", "<inQty>Infinity</inQty>"), "bad_value"),
    (("<inQty>3894</inQty>", "<inQty>1e30</inQty>"), "bad_value"),
    (("<inQty>3894</inQty>", "<inQty>3,894</inQty>"), "bad_value"),
    (("<gdsSeqno>2255</gdsSeqno>", "<gdsSeqno>2255.5</gdsSeqno>"), "bad_value"),
    (("<gdsSeqno>2255</gdsSeqno>", "<gdsSeqno> </gdsSeqno>"), "missing_field"),
    (("<formalVrfdedTime>2024-07-27 07:41:03", "<formalVrfdedTime>27/07/2024"), "bad_value"),
])
def test_ingest_unconvertible_value_quarantines_the_whole_file(store, inbox, adapter, edit, reason):
    drop(inbox, GX + "INV211.xml", edit)
    assert run(store, adapter)["failed"] == 1
    assert [q["reason"] for q in rows(store, quarantine)] == [reason]
    assert (count(store, receipts), count(store, bond_invt_heads), count(store, ledger_lines)) == (0, 0, 0)


def test_ingest_same_bad_file_failing_again_keeps_one_open_quarantine_entry(store, inbox, adapter):
    (inbox / "bad.INV").write_bytes(b"garbage")
    run(store, adapter)
    (inbox / "bad.INV").write_bytes(b"garbage")
    run(store, adapter)
    assert count(store, quarantine) == 1
    assert sorted(p.name for p in adapter.failed_dir.iterdir() if not p.name.endswith(".txt")) == [
        "bad.INV", "bad_1.INV"]


def inv201_with_line(seqno: int, pockets: int, qty: str = "10") -> tuple[tuple[str, str], ...]:
    line = (f"<BondInvtDt><gdsSeqno>{seqno}</gdsSeqno><dclQty>{qty}</dclQty></BondInvtDt></INV201>")
    return (("</INV201>", line), ("<total_pocket_qty>1</total_pocket_qty>",
                                  f"<total_pocket_qty>{pockets}</total_pocket_qty>"))


def test_ingest_split_message_keeps_the_lines_of_every_pocket(store, inbox, adapter):
    drop(inbox, GX + "INV201.xml", *inv201_with_line(1, pockets=2), name="1.INV")
    drop(inbox, GX + "INV201.xml", *inv201_with_line(2, pockets=2), name="2.INV")
    run(store, adapter)
    assert sorted(line["gds_seqno"] for line in rows(store, bond_invt_lines)) == [1, 2]


def test_ingest_whole_message_replaces_the_lines_of_its_head(store, inbox, adapter):
    drop(inbox, GX + "INV201.xml", *inv201_with_line(1, pockets=2), name="1.INV")
    drop(inbox, GX + "INV201.xml", *inv201_with_line(2, pockets=2), name="2.INV")
    drop(inbox, GX + "INV201.xml", *inv201_with_line(1, pockets=1, qty="7"), name="3.INV")
    run(store, adapter)
    assert [(r["gds_seqno"], r["dcl_qty"]) for r in rows(store, bond_invt_lines)] == [(1, Decimal("7"))]


def test_ingest_stored_receipt_msg_rece_result_is_recorded(store, inbox, adapter):
    (inbox / "INV200.INV").write_text(
        "<Package><EnvelopInfo><message_id>M1</message_id><message_type>INV200</message_type>"
        "</EnvelopInfo><DataInfo><BussinessData><INV200><MsgReceResult><bizNo>QD1</bizNo>"
        "<manageResult>1</manageResult><manageDate>2024-07-30 11:48:02</manageDate></MsgReceResult>"
        "</INV200></BussinessData></DataInfo></Package>", encoding="utf-8")
    assert run(store, adapter)["ingested"] == 1
    [receipt] = rows(store, receipts)
    assert (receipt["message_type"], receipt["business_id"], receipt["manage_result"]) == ("INV200", "QD1", "1")
    assert count(store, bond_invt_heads) == 0


# --- issue 4: both formats, zip, every message kind, status history, evidence -----------------------

STOCK_BILL = """<Package><EnvelopInfo><message_id>S1</message_id><message_type>SAS211</message_type></EnvelopInfo>
<DataInfo><BussinessData><SAS211><HdeApprResult><businessId>X9008I190128000001</businessId>
<manageResult>1</manageResult><manageDate>2019-01-28 10:00:00</manageDate></HdeApprResult>
<SasStockBsc><sasStockNo>X9008I190128000001</sasStockNo><sasDclNo>F9008I19000001</sasDclNo>
<stockTypecd>I</stockTypecd><businessTypecd>A</businessTypecd><centralizedDclTypecd>{central}</centralizedDclTypecd>
<rltBondInvtNo>{rlt}</rltBondInvtNo><dclTime>2019-01-28 09:00:00</dclTime><grossWt>25020.5</grossWt></SasStockBsc>
<SasStockDt><sasStockNo>X9008I190128000001</sasStockNo><sasStockSeqno>1</sasStockSeqno><oriactGdsSeqno>26</oriactGdsSeqno>
<gdsMtno>AK1</gdsMtno><dclUnitcd>011</dclUnitcd><dclQty>12.34567</dclQty><actlPassQty>12.34567</actlPassQty></SasStockDt>
</SAS211></BussinessData></DataInfo></Package>"""
BUSINESS_FORM = """<Package><EnvelopInfo><message_type>SAS201</message_type></EnvelopInfo><DataInfo><BussinessData>
<SAS201><HdeApprResult><businessId>F9008I19000001</businessId><manageResult>1</manageResult></HdeApprResult>
<SasDclBsc><sasDclNo>F9008I19000001</sasDclNo><businessTypecd>A</businessTypecd><directionTypecd>I</directionTypecd>
<validTime>2019-12-31</validTime></SasDclBsc><SasDclDt><sasDclNo>F9008I19000001</sasDclNo><sasDclSeqno>1</sasDclSeqno>
<oriactGdsSeqno>26</oriactGdsSeqno><dclQty>100</dclQty><actlAreainQty>40.5</actlAreainQty>
<actlAreaoutQty>0</actlAreaoutQty><invtVdedtQty>12.34567</invtVdedtQty></SasDclDt></SAS201></BussinessData></DataInfo></Package>"""


def test_ingest_stock_bill_and_business_form_store_their_heads_and_exact_lines(store, inbox):
    from connector.store.tables_messages import business_form_lines, business_forms, stock_bill_lines, stock_bills

    (inbox / "stock.SAS").write_text(STOCK_BILL.format(central="1", rlt=""), encoding="utf-8")
    (inbox / "form.SAS").write_text(BUSINESS_FORM, encoding="utf-8")
    assert run(store, inbox_adapter(inbox))["ingested"] == 2
    [bill] = rows(store, stock_bills)
    assert (bill["sas_stock_no"], bill["centralized_dcl_typecd"], bill["business_typecd"], bill["gross_wt"]) == (
        "X9008I190128000001", "1", "A", Decimal("25020.5"))
    assert bill["dcl_time"] == datetime(2019, 1, 28, 9, tzinfo=SHANGHAI) and bill["rlt_bond_invt_no"] is None
    [line] = rows(store, stock_bill_lines)
    assert (line["oriact_gds_seqno"], line["dcl_qty"], line["actl_pass_qty"]) == (26, Decimal("12.34567"),
                                                                                 Decimal("12.34567"))
    [form] = rows(store, business_forms)
    assert (form["business_typecd"], form["direction_typecd"], form["result_rank"]) == ("A", "I", 3)
    [form_line] = rows(store, business_form_lines)
    assert (form_line["actl_areain_qty"], form_line["invt_vdedt_qty"]) == (Decimal("40.5"), Decimal("12.34567"))


def inbox_adapter(inbox: Path) -> InboxSource:
    return InboxSource("inbox", InboxSource.Config(path=inbox, timezone="Asia/Shanghai", settle_seconds=0))


def test_ingest_collective_list_links_its_stock_bills(store, inbox, adapter):
    from connector.store.tables_messages import cent_dcl_stock_links

    cent = ("<SasCentDclStock><bondInvtNo>QD311124E000098849</bondInvtNo><sasStockNo>X1</sasStockNo></SasCentDclStock>"
            "<SasCentDclStock><bondInvtNo>QD311124E000098849</bondInvtNo><sasStockNo>X2</sasStockNo></SasCentDclStock>"
            "</INV201>")
    drop(inbox, GX + "INV201.xml", ("</INV201>", cent), ("<bondInvtTypecd>0</bondInvtTypecd>",
                                                          "<bondInvtTypecd>1</bondInvtTypecd>"))
    run(store, adapter)
    assert sorted(r["sas_stock_no"] for r in rows(store, cent_dcl_stock_links)) == ["X1", "X2"]
    assert rows(store, bond_invt_heads)[0]["bond_invt_typecd"] == "1"


def test_ingest_zipped_enterprise_and_customs_files_side_by_side(store, inbox, adapter):
    import zipfile

    for relative in (GX + "INV211.xml", DI + "INV101_enterprise_import_E_Ebondinvt.xml"):
        with zipfile.ZipFile(inbox / (Path(relative).stem + ".zip"), "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(Path(relative).name, (FIXTURES / relative).read_bytes())
    assert run(store, adapter) == {"files": 2, "ingested": 2, "duplicate": 0, "failed": 0}
    assert {r["message_type"]: r["business_id"] for r in rows(store, receipts)} == {
        "INV211": "QD311124I000067486", "INV101": "HZQD6104W6003CE20190411B7DF"}
    assert rows(store, ledger_lines)[0]["in_qty"] == Decimal("3894")


def test_ingest_keeps_every_raw_message_compressed_with_its_hash_and_retention(store, inbox, adapter):
    import hashlib
    import zlib

    from connector.store.tables_messages import raw_messages

    path = drop(inbox, GX + "SAS221.xml")
    data = path.read_bytes()
    run(store, adapter)
    [raw] = rows(store, raw_messages)
    assert (raw["sha256"], raw["size_bytes"], raw["business_id"]) == (
        hashlib.sha256(data).hexdigest(), len(data), "Z3111I240728000000000003")
    assert zlib.decompress(raw["content"]) == data and len(raw["content"]) < len(data)
    assert (raw["keep_until"] - raw["received_at"]).days == 1096


def test_ingest_unknown_message_type_is_kept_raw_processed_and_reported(store, inbox, adapter):
    from connector.store.tables_messages import raw_messages

    (inbox / "cmb.CMB").write_text("<Package><EnvelopInfo><message_type>CMB201</message_type></EnvelopInfo>"
                                   "<DataInfo><BussinessData><CMB201/></BussinessData></DataInfo></Package>")
    assert run(store, adapter) == {"files": 1, "ingested": 1, "duplicate": 0, "failed": 0, "unknown": 1}
    assert [(q["ref"], q["reason"]) for q in rows(store, quarantine)] == [("cmb.CMB", "unknown_message_type")]
    assert [r["message_type"] for r in rows(store, raw_messages)] == ["CMB201"]
    assert (adapter.processed / "cmb.CMB").exists()


EXTERNAL_DTD = b'<?xml version="1.0"?><!DOCTYPE Package SYSTEM "http://127.0.0.1:9/evil.dtd"><Package/>'
BOMB = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><Package>&c;</Package>')
XXE = b'<?xml version="1.0"?><!DOCTYPE P [<!ENTITY x SYSTEM "file:///etc/passwd">]><Package>&x;</Package>'


def test_ingest_hostile_files_go_to_failed_with_hash_and_the_rest_goes_on(store, inbox, adapter):
    import hashlib

    for name, data in (("1_xxe.INV", XXE), ("2_bomb.INV", BOMB), ("3_dtd.INV", EXTERNAL_DTD)):
        (inbox / name).write_bytes(data)
    (inbox / "4_big.INV").write_bytes(b"<Package>" + b" " * 6000 + b"</Package>")
    drop(inbox, GX + "INV211.xml", name="5_good.INV")
    small = InboxSource("inbox", InboxSource.Config(path=inbox, timezone="Asia/Shanghai", settle_seconds=0,
                                                    max_file_bytes=5000))
    counts = run(store, small)
    assert (counts["failed"], counts["ingested"]) == (4, 1)
    reasons = {q["ref"]: q["reason"] for q in rows(store, quarantine)}
    assert reasons == {"1_xxe.INV": "unsafe_xml", "2_bomb.INV": "unsafe_xml", "3_dtd.INV": "unsafe_xml",
                       "4_big.INV": "too_large"}
    note = (small.failed_dir / "1_xxe.INV.reason.txt").read_text(encoding="utf-8")
    assert hashlib.sha256(XXE).hexdigest() in note


def test_ingest_receipts_out_of_order_keep_all_and_the_highest_rank_wins(store, inbox, adapter):
    list_no = "QD311124I000067486"
    drop(inbox, GX + "INV211.xml", name="1.INV")  # 正式核扣 arrives first
    drop(inbox, GX + "INV201.xml", *inv201_for_inv211_list(), name="2.INV")  # then 预核扣
    drop(inbox, GX + "INV201.xml", *inv201_for_inv211_list(), ("<manageResult>4</manageResult>",
                                                             "<manageResult>Y</manageResult>"), name="3.INV")
    run(store, adapter)
    history = sorted((r["message_type"], r["manage_result"], r["result_rank"]) for r in
                     rows(store, receipts, receipts.c.business_id == list_no))
    assert history == [("INV201", "4", 3), ("INV201", "Y", 1), ("INV211", None, 4)]
    [head] = rows(store, bond_invt_heads)
    assert (head["vrfded_markcd"], head["result_rank"], head["list_stat"]) == ("2", 4, None)


TWO_STEP = "Z3105I241030T00000000075"
ENTRY_RLT = "".join(f"<Sas2stepPassportRlt><passportNo>{TWO_STEP}</passportNo><entryId>{entry}</entryId>"
                    f"</Sas2stepPassportRlt>" for entry in ("311120241119970515", "311120241119970516"))


def test_ingest_two_step_passport_stores_its_entry_links_and_a_gate_pass_keeps_them(store, inbox, adapter):
    from connector.store.tables_messages import passport_entry_links

    drop(inbox, GX + "sas253.xml", ("<message_type>SAS253</message_type>", "<message_type>SAS251</message_type>"),
         ("<SAS253>", "<SAS251>"), ("</SAS253>", "</SAS251>"),
         ("</Sas2stepPassportBsc>", "</Sas2stepPassportBsc>" + ENTRY_RLT), name="a_SAS251.xml")
    drop(inbox, GX + "sas253.xml", name="b_SAS253.xml")  # the gate pass carries no entry list
    assert run(store, adapter)["ingested"] == 2
    with store.read() as conn:
        links = conn.execute(select(passport_entry_links.c.passport_no, passport_entry_links.c.entry_id)
                             .order_by(passport_entry_links.c.entry_id)).all()
        head = conn.execute(select(passports).where(passports.c.passport_no == TWO_STEP)).one()
    assert links == [(TWO_STEP, "311120241119970515"), (TWO_STEP, "311120241119970516")]
    assert head.result_rank == 4  # SAS253 result 1: passed the gate
    from connector.message_history import history

    with store.read() as conn:
        assert history(conn, TWO_STEP)["entries"] == ["311120241119970515", "311120241119970516"]
