"""The receipt parser on the real customs files, and on the hostile and broken ones customs never sends."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from adapters.declarations.wire import parse
from connector.errors import BadInputError

FIXTURES = Path(__file__).parents[2] / "fixtures" / "customs"

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Package [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Package><EnvelopInfo><message_type>INV201</message_type></EnvelopInfo>&xxe;</Package>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Package>&lol3;</Package>"""


def fixture(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


def parse_fixture(relative: str, **kwargs):
    return parse(fixture(relative), Path(relative).name, **kwargs)


def refused(data: bytes, name: str = "CUS0000E010000.INV", **kwargs) -> BadInputError:
    with pytest.raises(BadInputError) as caught:
        parse(data, name, **kwargs)
    assert name in caught.value.detail
    return caught.value


@pytest.mark.parametrize(("relative", "message_type"), [
    ("gx-customs-bridge/INV201.xml", "INV201"),
    ("gx-customs-bridge/INV202.xml", "INV202"),
    ("gx-customs-bridge/INV211.xml", "INV211"),
    ("gx-customs-bridge/SAS221.xml", "SAS221"),
    ("gx-customs-bridge/SAS223.xml", "SAS223"),
    ("gx-customs-bridge/SAS224.xml", "SAS224"),
    ("gx-customs-bridge/sas253.xml", "SAS253"),
    ("gx-customs-bridge/Successed_INV101_E_example.xml", "CommonResponeMessage"),
    ("gx-customs-bridge/Failed_SAS121_I_example.xml", "CommonResponeMessage"),
    ("data-interface/INV201_receipt_full.xml", "INV201"),
    ("data-interface/INV201_receipt_short.xml", "INV201"),
    ("data-interface/INV202_receipt.xml", "INV202"),
    ("data-interface/SAS221_receipt_short.xml", "SAS221"),
    ("data-interface/SAS223_receipt_stockbill_linked.xml", "SAS223"),
    ("data-interface/CommonResponeMessage_INV101.xml", "CommonResponeMessage"),
])
def test_parse_real_receipt_reads_its_message_type(relative, message_type):
    doc = parse_fixture(relative)
    assert doc.message_type == message_type
    assert doc.name == Path(relative).name
    assert doc.sha256 == hashlib.sha256(fixture(relative)).hexdigest()


def test_parse_with_xmldsig_namespace_reads_business_id():
    doc = parse_fixture("gx-customs-bridge/INV201.xml")
    assert doc.message_id == "CUS0000E0100002024073011480300878902307"
    assert doc.rows["HdeApprResult"][0]["businessId"] == "QD311124E000098849"
    assert doc.rows["BondInvtBsc"][0]["putrecNo"] == "T3111W000076"


def test_parse_without_namespace_reads_passport_line_and_link():
    doc = parse_fixture("gx-customs-bridge/SAS221.xml")
    assert doc.rows["SasPassportDt"] == [{
        "passportNo": "Z3111I240728000000000003", "chgTmsCnt": "0", "passportSeqno": "1",
        "gdsMtno": "9505100090", "gdecd": "9505100090", "gdsNm": "圣诞饰品", "grossWt": "292.8",
        "netWt": "292.8", "rltGdsSeqno": "8", "dclUnitcd": "011", "dclQty": "17568", "rmk": None}]
    assert doc.rows["SasPassportRlt"][0]["rltNo"] == "QD311124I000067647"


def test_parse_inv211_keeps_ledger_quantities_as_wire_text():
    line = parse_fixture("gx-customs-bridge/INV211.xml").rows["BwsDt"][0]
    assert (line["gdsSeqno"], line["inQty"], line["invtNo"]) == ("2255", "3894", "QD311124I000067486")
    assert line["actlIncQty"] is None


def test_parse_sas223_keeps_backslash_joined_rlt_no():
    head = parse_fixture("gx-customs-bridge/SAS223.xml").rows["SasPassportBsc"][0]
    assert head["rltNo"] == r"QD311124E000097136\QD311124E000097138\QD311124E000097139"


def test_parse_whitespace_only_elements_become_none():
    doc = parse_fixture("data-interface/INV201_receipt_full.xml")
    assert doc.rows["HdeApprResult"][0]["rmk"] is None  # "<rmk>\n</rmk>"
    assert doc.rows["BondInvtBsc"][0]["entryNo"] is None
    assert doc.rows["BondInvtBsc"][0]["rmk"] == "PO号：HS-EQ201901-001"


def test_parse_common_response_reads_deal_flag_and_check_info():
    doc = parse_fixture("gx-customs-bridge/Failed_SAS121_I_example.xml")
    row = doc.rows["CommonResponeMessage"][0]
    assert doc.message_id is None
    assert row["DealFlag"] == "-1"
    assert row["CheckInfo"].startswith("报文类型为SAS121")


def test_parse_gbk_file_with_declaration_decodes_names():
    text = fixture("gx-customs-bridge/SAS221.xml").decode("utf-8").replace('encoding="utf-8"', 'encoding="GBK"')
    doc = parse(text.encode("gbk"), "gbk.SAS", encoding="utf-8")
    assert doc.rows["SasPassportDt"][0]["gdsNm"] == "圣诞饰品"


def test_parse_file_without_declaration_uses_configured_encoding():
    gbk = fixture("gx-customs-bridge/INV201.xml").decode("utf-8").encode("gbk")
    doc = parse(gbk, "INV201.INV", encoding="gbk")
    assert doc.rows["BondInvtBsc"][0]["bizopEtpsNm"] == "宁波高新物流有限公司"
    assert refused(gbk, "INV201.INV", encoding="utf-8").reason == "bad_encoding"


def test_parse_utf8_bom_is_accepted():
    doc = parse(b"\xef\xbb\xbf" + fixture("gx-customs-bridge/SAS223.xml"), "bom.SAS")
    assert doc.message_type == "SAS223"


@pytest.mark.parametrize("data", [b"PK\x03\x05\x00\xff\xfe garbage", b"", b"\x00\x01\x02"])
def test_parse_garbage_bytes_is_not_xml(data):
    assert refused(data).reason == "not_xml"


def test_parse_truncated_receipt_is_not_xml():
    data = fixture("gx-customs-bridge/INV211.xml")
    assert refused(data[: len(data) // 2]).reason == "not_xml"


@pytest.mark.parametrize("data", [XXE, BILLION_LAUGHS], ids=["xxe", "billion-laughs"])
def test_parse_document_type_declaration_is_refused_as_unsafe(data):
    assert refused(data).reason == "unsafe_xml"


def test_parse_file_over_the_size_cap_is_refused_before_parsing():
    error = refused(b"<" * 101, max_bytes=100)
    assert error.reason == "too_large"
    assert "101 bytes" in error.detail


def test_parse_enterprise_import_message_reads_it_into_customs_sections():
    doc = parse(fixture("data-interface/INV101_enterprise_import_I_Ibondinvt.xml"), "Ibondinvt.xml")
    assert doc.message_type == "INV101"
    [head] = doc.rows["BondInvtBsc"]
    assert (head["putrecNo"], head["impexpMarkcd"], head["bondInvtTypecd"]) == ("L9013B19A008", "I", "0")
    assert doc.rows["EnterpriseInfo"] == [{"OperCusRegCode": "6104W6003C", "SysId": "Z8", "DelcareFlag": "1"}]


def test_parse_unknown_message_type_keeps_its_sections():
    doc = parse(b"<Package><EnvelopInfo><message_type>CMB201</message_type></EnvelopInfo><DataInfo>"
                b"<BussinessData><CMB201><CmbBsc><no>1</no></CmbBsc></CMB201></BussinessData></DataInfo>"
                b"</Package>", "x.CMB")
    assert (doc.message_type, doc.rows["CmbBsc"]) == ("CMB201", [{"no": "1"}])


@pytest.mark.parametrize("data", [
    b"<Package><DataInfo/></Package>",
    b"<Package><EnvelopInfo><message_id>1</message_id></EnvelopInfo></Package>",
    b"<Something><EnvelopInfo><message_type>INV201</message_type></EnvelopInfo></Something>",
    b"<Package><EnvelopInfo><message_type>INV201</message_type></EnvelopInfo></Package>",
    b"<Package><EnvelopInfo><message_type>SAS223</message_type></EnvelopInfo><DataInfo><BussinessData>"
    b"<SAS223><HdeApprResult><businessId>Z1</businessId></HdeApprResult></SAS223>"
    b"</BussinessData></DataInfo></Package>",
], ids=["no-envelope", "no-message-type", "other-root", "no-body", "sas223-without-head"])
def test_parse_receipt_missing_its_structure_is_missing_field(data):
    assert refused(data).reason == "missing_field"


def test_parse_keeps_the_pocket_info_of_the_envelope():
    doc = parse_fixture("gx-customs-bridge/INV211.xml")
    assert doc.rows["PocketInfo"][0]["total_pocket_qty"] == "1"
    assert doc.rows["PocketInfo"][0]["is_unstructured"] is None
