"""The Ningbo bridge's JSON input (INV101/SAS121/ICP101) read into the customs sections, exactly."""

from __future__ import annotations

import io
import json
import random
import zipfile
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from adapters.declarations.wire import parse
from connector._declaration_rows import to_records
from connector.errors import BadInputError

BRIDGE = Path(__file__).parents[2] / "fixtures" / "customs" / "gx-customs-bridge"
SHANGHAI = ZoneInfo("Asia/Shanghai")
NUMBERED_SAS121 = b"""{"head": {"seqNo": "202400000069449716", "passportNo": "Z3111I240903000000000007",
  "etpsPreentNo": "1", "ioTypecd": "I", "passportTypecd": "3", "bindTypecd": "3", "rltTbTypecd": "1",
  "rltNo": "QD311124I000077976", "vehicleWt": 13000, "totalGrossWt": 1130.98, "dclTime": "20240903"},
 "list": [{"passportSeqNo": "6", "rltGdsSeqno": 6, "dclQty": 1348.00000, "grossWt": "87.62", "netWt": 0.1}],
 "acmp": [{"passPortNo": "Z3111I240903000000000007", "rtlBillTypecd": "1", "rtlBillNo": "QD311124I000077976"}]}"""


def refused(data: bytes, name: str = "x.json") -> str:
    with pytest.raises(BadInputError) as caught:
        parse(data, name)
    assert name in caught.value.detail
    return caught.value.reason


def test_wrapped_sas121_maps_head_list_and_acmp_to_the_customs_sections():
    doc = parse(NUMBERED_SAS121, "sas121.json")
    assert (doc.message_type, doc.message_id, sorted(doc.rows)) == (
        "SAS121", None, ["SasPassportBsc", "SasPassportDt", "SasPassportRlt"])
    assert doc.rows["SasPassportBsc"][0]["sasPassportPreentNo"] == "202400000069449716"
    assert doc.rows["SasPassportDt"] == [{"passportSeqno": "6", "rltGdsSeqno": "6", "dclQty": "1348.00000",
                                          "grossWt": "87.62", "netWt": "0.1"}]
    assert doc.rows["SasPassportRlt"] == [{"passportNo": "Z3111I240903000000000007", "rltTbTypecd": "1",
                                           "rltNo": "QD311124I000077976"}]


def test_numbered_bridge_declaration_stores_its_head_and_decimal_lines():
    records = to_records(parse(NUMBERED_SAS121, "sas121.json"), SHANGHAI)
    [head] = records.passports
    assert (head["passport_no"], head["vehicle_wt"], head["total_gross_wt"], head["manage_result"]) == (
        "Z3111I240903000000000007", Decimal("13000"), Decimal("1130.98"), None)
    assert (records.rank, records.receipt["business_id"]) == (0, "Z3111I240903000000000007")
    [line] = records.passport_lines
    assert (line["passport_seqno"], line["dcl_qty"], line["net_wt"]) == (6, Decimal("1348.00000"), Decimal("0.1"))
    assert records.passport_links == [{"passport_no": "Z3111I240903000000000007", "rlt_tb_typecd": "1",
                                       "rlt_no": "QD311124I000077976"}]


@pytest.mark.parametrize("path", sorted(BRIDGE.glob("*.json")), ids=lambda p: p.name)
def test_message_type_comes_from_the_keys_not_the_file_name(path):
    data = path.read_bytes()
    assert parse(data, "upload.json").message_type == parse(data, path.name).message_type


def test_zipped_bridge_json_is_read_and_kept_as_received():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("icp101.json", (BRIDGE / "icp101.json").read_bytes())
    doc = parse(buffer.getvalue(), "icp101.zip")
    assert (doc.message_type, doc.rows["Sas2stepPassportRlt"], doc.raw) == (
        "ICP101", [{"entryId": "311120241119970515"}], buffer.getvalue())


def test_odd_key_case_is_camelcased_like_the_import_format():
    head = parse((BRIDGE / "icp101.json").read_bytes(), "icp101.json").rows["Sas2stepPassportBsc"][0]
    assert head["inputCreditCode"] == "913302017532977856" and "InputCreditCode" not in head


@pytest.mark.parametrize(("data", "reason"), [
    (b'{"dclQty": NaN, "passportSeqNo": "1"}', "bad_json"),
    (b'{"passportSeqNo": "1", "passportSeqNo": "2"}', "bad_json"),
    (b'{"passportSeqNo": "1", "PassportSeqNo": "2"}', "bad_json"),
    (b'{"passportSeqNo": true}', "bad_json"),
    (b'{"passportSeqNo": "1", "gdsNm": "a\\u0000b"}', "bad_json"),
    (b'{"head": {"putrecNo": "T1"}, "list": [["1"]]}', "bad_json"),
    (b'{"putrecNo": ', "bad_json"),
    (b'{"head": {"putrecNo": "T1"}, "acmp": []}', "unknown_json"),
    (b'{"user": "x", "password": "y"}', "unknown_json"),
    (b'{"head": "x"}', "unknown_json"),
    ('{"putrecNo": "T1"}'.encode("utf-16"), "not_xml"),
    ('{"putrecNo": "账册"}'.encode("gbk"), "bad_encoding"),
    (b"[" * 100_000 + b"{", "not_xml"),
    (b'{"a":' * 100_000, "bad_json"),
], ids=["nan", "repeated-key", "repeated-after-camelcase", "boolean", "nul", "nested-row", "truncated",
        "part-of-another-type", "not-a-bridge-message", "head-not-object", "utf16", "gbk", "array", "deep"])
def test_unusable_json_is_refused_with_its_reason(data, reason):
    assert refused(data) == reason


def test_absurd_json_number_is_refused_by_the_row_converter():
    data = json.dumps({"head": {"passportNo": "Z1", "passportTypecd": "3"}, "list": []}).replace(
        '"3"}', '"3", "totalWt": 1e999999999}').encode()
    with pytest.raises(BadInputError) as caught:
        to_records(parse(data, "sas121.json"), SHANGHAI)
    assert caught.value.reason == "bad_value"


HOSTILE = [b"NaN", b"1e999999999", b"-0", b'"3,894"', b"[]", b"{}", b"null", b'"\\u0000"', b"true", b"1" * 5000]


def mutate(rng: random.Random, data: bytes) -> bytes:
    """Flip a byte, cut the file, or put a hostile value after a random key."""
    out, kind = bytearray(data), rng.randrange(3)
    if kind == 0:
        out[rng.randrange(len(out))] = rng.randrange(256)
    elif kind == 1:
        del out[rng.randrange(1, len(out)):]
    else:
        colon = rng.choice([i for i, b in enumerate(out) if b == ord(":")])
        end = min((out.find(c, colon) for c in b",}" if out.find(c, colon) > 0), default=len(out))
        out[colon + 1:end] = rng.choice(HOSTILE)
    return bytes(out)


def test_mutated_bridge_json_either_reads_or_is_refused_never_crashes():
    """Seeded mutations of every JSON fixture: a document or a BadInputError, nothing else."""
    rng = random.Random(20240903)
    sources = [p.read_bytes() for p in sorted(BRIDGE.glob("*.json"))] + [NUMBERED_SAS121]
    outcomes = set()
    for _ in range(400):
        try:
            to_records(parse(mutate(rng, rng.choice(sources)), "m.json"), SHANGHAI)
            outcomes.add("read")
        except BadInputError as exc:
            outcomes.add(exc.reason)
    assert "read" in outcomes and {"bad_json", "bad_value"} <= outcomes
