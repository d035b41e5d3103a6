"""The whole chain through the real CLI: a PostgreSQL WMS -> ledger -> InBox receipts -> comparator
-> outbox -> a real HTTP receiver (supervision push + signed alert webhook).

The warehouse (bonded ledger T3111W000076, Ningbo, March 2024); item = SKU, 料号, 商品序号:

| WMS document  | item                       | WMS                 | customs                             |
|---------------|----------------------------|---------------------|-------------------------------------|
| IN-2024-0301  | LAMP-01, 9405310000, 2255  | +3894 PCS           | list ...I000000101: 3894, posted    |
| IN-2024-0302  | CABLE-02, 8544492100, 2256 | +500 KG             | list ...I000000102: 480, posted     |
| OUT-2024-0305 | LAMP-01                    | -1000 PCS           | list ...E000000103: 1000, posted    |
| MV-2024-0306  | LAMP-01, location transfer | 200 PCS, no effect  | -                                   |
| CC-2024-0307  | LAMP-01, stock count       | -6 PCS, no list due | -                                   |
| IN-2024-0308  | TOY-03, 9503008900, 2257   | +10 CTN = 240 PCS   | no list at all                      |
| IN-2024-0309  | GIFT-99, not in mapping    | +5 PCS              | -                                   |

so the comparator must open exactly: missing_list (TOY-03), quantity_mismatch (CABLE-02 +20),
balance_mismatch 2255 (ledger 2894, WMS 2888) and balance_mismatch 2256 (ledger 480, WMS 500);
GIFT-99 is quarantined and the rest goes on. One InBox file is a receipt cut off mid-write: it is
moved to `failed/` and the others are ingested. Every date is in March 2024, far outside the
grace windows, so the result does not depend on today.

Receipts are the real gx-customs-bridge INV201/INV211 files (tests/fixtures/customs/) with their
business values replaced and BondInvtDt / BwsDt lines filled in, so the wire format stays real.
The supervision push takes `discrepancy.*`; the firm's alert webhook takes `discrepancy.opened` and
`alert.*` (one `alert.quarantine` per quarantine reason of a run). The chain runs once per
state-store backend (module-scoped fixture: sync, compare, deliver, status, deliver, sync, compare,
discrepancies list); each test checks one aspect of that run.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import io
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import psycopg
import pytest
import structlog
from psycopg import sql
from sqlalchemy import select

from connector import cli
from connector.config.secrets import Secret
from connector.store.engine import Store
from connector.store.tables import outbox, quarantine
from tests.support.http_receiver import Receiver, Recorded
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.external_service

REAL_RECEIPTS = Path(__file__).parent / "fixtures" / "customs" / "gx-customs-bridge"
LEDGER = "T3111W000076"
SITE = "NB-ZONE-E2E"
OPENED = 4  # discrepancies the scenario must open (see the table above)
ALERTS = [("mapping", "wms", "unmapped_sku", 1), ("declaration", "inbox", "unreadable_file", 1)]
SENT = 2 * OPENED + len(ALERTS)  # each discrepancy to both sinks; quarantine alerts to the webhook only
DISCREPANCY_FIELDS = {"id", "kind", "status", "ledger_no", "item_seq", "item_no", "doc_refs", "expected_qty",
                      "actual_qty", "delta_qty", "unit", "first_seen", "last_seen"}
ITEMS = {  # sku: (商品序号, 料号 = HS code, name, declared unit)
    "LAMP-01": (2255, "9405310000", "节日灯", "006"),
    "CABLE-02": (2256, "8544492100", "电缆", "035"),
    "TOY-03": (2257, "9503008900", "塑料玩具", "007"),
}

# -- the WMS ------------------------------------------------------------------------------------

WMS_TABLE = """
CREATE TABLE stock_moves (
    id          serial PRIMARY KEY,
    order_no    text NOT NULL,
    sku         text NOT NULL,
    qty         numeric(18, 5) NOT NULL,
    uom         text NOT NULL,
    move_type   text NOT NULL,
    lot         text,
    location    text,
    occurred_at timestamp without time zone NOT NULL,  -- naive, Asia/Shanghai wall clock
    changed_at  timestamp without time zone NOT NULL
)"""
WMS_ROWS = [  # order_no, sku, qty, uom, move_type, lot, location, occurred_at, changed_at (Shanghai)
    ("IN-2024-0301", "LAMP-01", "3894", "PCS", "RECEIPT", "L240304", "A-01",
     "2024-03-04 09:15:00", "2024-03-04 09:20:00"),
    ("IN-2024-0302", "CABLE-02", "500.00000", "KG", "RECEIPT", "C240304", "B-07",
     "2024-03-04 14:00:00", "2024-03-04 14:02:10"),
    ("OUT-2024-0305", "LAMP-01", "1000", "PCS", "SHIPMENT", "L240304", "A-01",
     "2024-03-06 10:30:00", "2024-03-06 10:31:00"),
    ("MV-2024-0306", "LAMP-01", "200", "PCS", "TRANSFER", "L240304", "A-02",
     "2024-03-06 11:00:00", "2024-03-06 11:00:05"),
    ("CC-2024-0307", "LAMP-01", "-6", "PCS", "COUNT_ADJUST", "L240304", "A-01",
     "2024-03-07 16:00:00", "2024-03-07 16:45:00"),
    ("IN-2024-0308", "TOY-03", "10", "CTN", "RECEIPT", None, "C-03",
     "2024-03-08 07:30:00", "2024-03-08 07:31:00"),
    ("IN-2024-0309", "GIFT-99", "5", "PCS", "RECEIPT", None, "C-04",
     "2024-03-09 10:00:00", "2024-03-09 10:00:30"),
]
WMS_QUERY = """
SELECT 'SM' || lpad(id::text, 8, '0') AS line_key, changed_at, occurred_at, sku, qty, uom,
       move_type AS movement_type, order_no AS doc_ref, lot, location
FROM stock_moves"""

MAPPING = f"""
label = "e2e-nb"
sku_normalise = "nfkc_strip_upper"

[[items]]
sku = "LAMP-01"
bws_no = "{LEDGER}"
gds_seqno = 2255
gds_mtno = "9405310000"
gdecd = "9405310000"
dcl_unitcd = "006"
lawf_unitcd = "006"
units = {{ PCS = 1 }}

[[items]]
sku = "CABLE-02"
bws_no = "{LEDGER}"
gds_seqno = 2256
gds_mtno = "8544492100"
gdecd = "8544492100"
dcl_unitcd = "035"
lawf_unitcd = "035"
units = {{ KG = 1, G = 0.001 }}

[[items]]
sku = "TOY-03"
bws_no = "{LEDGER}"
gds_seqno = 2257
gds_mtno = "9503008900"
gdecd = "9503008900"
dcl_unitcd = "007"
lawf_unitcd = "007"
units = {{ PCS = 1, CTN = 24 }}

[movement_types.RECEIPT]
action = "increase"
direction = "I"

[movement_types.SHIPMENT]
action = "decrease"
direction = "E"

[movement_types.COUNT_ADJUST]
action = "signed"
qty_sign = "any"
needs_list = false

[movement_types.TRANSFER]
action = "none"
"""

# -- customs receipts, from the real files ---------------------------------------------------------


@dataclass(frozen=True)
class ListLine:
    sku: str
    qty: str


@dataclass(frozen=True)
class BondList:
    """One 核注清单: its number, the WMS document it covers, direction, lines and dates."""

    bond_invt_no: str
    inner_no: str
    impexp: str
    lines: tuple[ListLine, ...]
    approved_at: str
    posted_at: str


LISTS = [
    BondList("QD311124I000000101", "IN-2024-0301", "I", (ListLine("LAMP-01", "3894"),),
             "2024-03-04 10:02:11", "2024-03-05 09:00:03"),
    BondList("QD311124I000000102", "IN-2024-0302", "I", (ListLine("CABLE-02", "480"),),
             "2024-03-04 15:10:40", "2024-03-05 09:30:27"),
    BondList("QD311124E000000103", "OUT-2024-0305", "E", (ListLine("LAMP-01", "1000"),),
             "2024-03-06 08:12:00", "2024-03-07 08:00:15"),
]
# Ledger lines (BwsDt) as customs reports them after each posting: (sku, inQty, actlRedcQty, invtGNo)
POSTED = {
    "QD311124I000000101": [("LAMP-01", "3894", "", 1)],
    "QD311124I000000102": [("CABLE-02", "480", "", 1)],
    "QD311124E000000103": [("LAMP-01", "3894", "1000", 1)],
}


def set_field(xml: str, tag: str, value: str, count: int = 1) -> str:
    """Replace the text of `<tag>` (which must occur exactly `count` times) in a real receipt."""
    out, n = re.subn(rf"<{tag}>[^<]*</{tag}>", lambda _: f"<{tag}>{escape(value)}</{tag}>", xml)
    assert n == count, f"<{tag}> occurs {n} times in the template, expected {count}"
    return out


def envelope(xml: str, lst: BondList, message_type: str, sent_at: str) -> str:
    stamp = re.sub(r"\D", "", sent_at)
    message_id = f"CUS0000E010000{stamp}{int(lst.bond_invt_no[-6:]):06d}{'11' if message_type == 'INV211' else '01'}"
    xml = set_field(xml, "message_id", message_id)
    xml = set_field(xml, "file_name", f"{message_id}.INV")
    xml = set_field(xml, "send_time", sent_at.replace(" ", "T"))
    xml = set_field(xml, "pocket_id", f"{lst.bond_invt_no}-{hashlib.md5(message_id.encode()).hexdigest()}")
    xml = set_field(xml, "bondInvtNo", lst.bond_invt_no)
    xml = set_field(xml, "etpsInnerInvtNo", lst.inner_no)
    xml = set_field(xml, "putrecNo", LEDGER)
    xml = set_field(xml, "impexpMarkcd", lst.impexp)
    xml = set_field(xml, "supvModecd", "5000" if lst.impexp == "I" else "5034")
    xml = set_field(xml, "invtDclTime", lst.approved_at[:10] + " 00:00:00")
    return set_field(xml, "prevdTime", lst.approved_at)


def inv201(lst: BondList) -> bytes:
    """核注清单审核回执 (预核扣) with BondInvtBsc and one BondInvtDt per list line."""
    xml = envelope((REAL_RECEIPTS / "INV201.xml").read_text(encoding="utf-8"), lst, "INV201", lst.approved_at)
    xml = set_field(xml, "businessId", lst.bond_invt_no)
    xml = set_field(xml, "manageDate", lst.approved_at)
    lines = "".join(bond_invt_dt(lst, n, line) for n, line in enumerate(lst.lines, start=1))
    return xml.replace("</BondInvtBsc>\n", "</BondInvtBsc>\n" + lines, 1).encode("utf-8")


def bond_invt_dt(lst: BondList, n: int, line: ListLine) -> str:
    seqno, mtno, name, unit = ITEMS[line.sku]
    fields = {"bondInvtNo": lst.bond_invt_no, "chgTmsCnt": "0", "gdsSeqno": str(n), "putrecSeqno": str(seqno),
              "gdsMtno": mtno, "gdecd": mtno, "gdsNm": name, "gdsSpcfModelDesc": "0|0|无品牌|无型号",
              "dclUnitcd": unit, "lawfUnitcd": unit, "secdLawfUnitcd": "", "dclQty": line.qty,
              "lawfQty": line.qty, "secdLawfQty": "", "dclUprcAmt": "3.9", "dclCurrcd": "502", "natcd": "142",
              "destinationNatcd": "142", "lvyrlfModecd": "3", "entryGdsSeqno": str(n), "rmk": ""}
    body = "".join(f"          <{k}>{escape(v)}</{k}>\n" for k, v in fields.items())
    return f"        <BondInvtDt>\n{body}        </BondInvtDt>\n"


def inv211(lst: BondList) -> bytes:
    """核注清单记账回执: the posted head (vrfdedMarkcd 2) and the ledger lines after posting."""
    template = (REAL_RECEIPTS / "INV211.xml").read_text(encoding="utf-8")
    block = re.search(r"        <BwsDt>.*?</BwsDt>\n", template, re.S).group(0)
    xml = envelope(template.replace(block, "@BWSDT@"), lst, "INV211", lst.posted_at)
    xml = set_field(xml, "formalVrfdedTime", lst.posted_at)
    xml = set_field(xml, "entryDclTime", lst.approved_at)
    lines = []
    for sku, in_qty, redc_qty, g_no in POSTED[lst.bond_invt_no]:
        seqno, mtno, name, unit = ITEMS[sku]
        line = block
        for tag, value in (("bwsNo", LEDGER), ("gdsSeqno", str(seqno)), ("gdsMtno", mtno), ("gdecd", mtno),
                           ("gdsNm", name), ("dclUnitcd", unit), ("lawfUnitcd", unit), ("inQty", in_qty),
                           ("inLawfQty", in_qty), ("actlRedcQty", redc_qty), ("invtNo", lst.bond_invt_no),
                           ("invtGNo", str(g_no)), ("modfMarkcd", "3" if lst.impexp == "I" else "1"),
                           ("inDate", lst.posted_at), ("outDate", "" if lst.impexp == "I" else lst.posted_at)):
            line = set_field(line, tag, value)
        lines.append(line)
    return xml.replace("@BWSDT@", "".join(lines)).encode("utf-8")


def fill_inbox(inbox: Path) -> list[str]:
    """The receipts in arrival order, plus one cut off mid-write; all settled an hour ago."""
    files: dict[str, bytes] = {}
    for n, lst in enumerate(LISTS):
        files[f"{2 * n + 1:02d}_INV201_{lst.bond_invt_no}.xml"] = inv201(lst)
        files[f"{2 * n + 2:02d}_INV211_{lst.bond_invt_no}.xml"] = inv211(lst)
    whole = inv211(LISTS[0])
    files["07_INV211_cut_off_mid_write.xml"] = whole[: whole.index(b"\n", len(whole) // 2) + 1]
    inbox.mkdir(parents=True)
    an_hour_ago = time.time() - 3600
    for name, data in files.items():
        (inbox / name).write_bytes(data)
        os.utime(inbox / name, (an_hour_ago, an_hour_ago))
    return sorted(files)


# -- the run ----------------------------------------------------------------------------------------


@dataclass
class Step:
    argv: list[str]
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class ChainRun:
    backend: str
    folder: Path
    config: Path | None
    inbox_files: list[str]
    secrets: dict[str, str]
    steps: dict[str, Step] = field(default_factory=dict)
    pushes: list[Recorded] = field(default_factory=list)
    hooks: list[Recorded] = field(default_factory=list)
    requests_after_second_deliver: int = 0
    outbox_rows: list[dict[str, Any]] = field(default_factory=list)
    quarantine_rows: list[dict[str, Any]] = field(default_factory=list)


def write_config(folder: Path, *, store_url: str, store_secret: bool, wms_url: str, inbox: Path,
                 receiver: Receiver) -> Path:
    store_password = '\npassword = "${E2E_STORE_PASSWORD}"' if store_secret else ""
    config = f'''
[connector]
site = "{SITE}"
timezone = "Asia/Shanghai"

[store]
url = "{store_url}"{store_password}

[sources.wms]
adapter = "sql"
mapping = "mapping.toml"
url = "{wms_url}"
password = "${{E2E_WMS_PASSWORD}}"
timezone = "Asia/Shanghai"
encoding = "utf-8"
query = """{WMS_QUERY}"""
batch_size = 3

[declarations.inbox]
adapter = "inbox"
path = "{inbox}"
timezone = "Asia/Shanghai"

[sinks.supervision]
adapter = "http_push"
url = "{receiver.url_for('/push')}"
allow_plaintext_loopback = true
token = "${{E2E_PUSH_TOKEN}}"
events = ["discrepancy.*"]
timeout_seconds = 5
retries = 0

[sinks.alerts]
adapter = "webhook"
url = "{receiver.url_for('/hooks')}"
allow_plaintext_loopback = true
secret = "${{E2E_WEBHOOK_SECRET}}"
events = ["discrepancy.opened", "alert.*"]
timeout_seconds = 5
retries = 0

[logging]
level = "warning"
format = "json"
'''
    (folder / "mapping.toml").write_text(MAPPING, encoding="utf-8")
    path = folder / "connector.toml"
    path.write_text(config, encoding="utf-8")
    return path


def create_wms(server: PostgresServer, password: str) -> tuple[str, str]:
    """A WMS database with the movements table, read by a role that can only SELECT it."""
    db = server.create_database()
    role = f"wms_reader_{secrets.token_hex(4)}"
    with db.connect(autocommit=True) as conn:
        conn.execute(WMS_TABLE)
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO stock_moves (order_no, sku, qty, uom, move_type, lot, location, "
                            "occurred_at, changed_at) VALUES (%s, %s, %s::numeric, %s, %s, %s, %s, "
                            "%s::timestamp, %s::timestamp)", WMS_ROWS)
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
        conn.execute(sql.SQL("GRANT SELECT ON stock_moves TO {}").format(sql.Identifier(role)))
    return db.name, role


def drop_wms(server: PostgresServer, name: str, role: str) -> None:
    with server.database(name).connect(autocommit=True) as conn:
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
    server.drop_database(name)
    with server.admin() as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@contextlib.contextmanager
def logging_restored() -> Iterator[None]:
    """The CLI configures structlog and the root logger for the process; put both back afterwards."""
    saved_config = structlog.get_config()
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in [h for h in root.handlers if h not in saved_handlers]:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(saved_level)
        structlog.configure(**saved_config)


def run_cli(config: Path, *args: str) -> Step:
    """`connector.cli.main(argv)` with stdout and stderr captured."""
    argv = ["-c", str(config), *args]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return Step(argv, code, out.getvalue(), err.getvalue())


def read_store(url: str, password: Secret | None) -> tuple[list[dict], list[dict]]:
    store = Store.open(url, password=password)
    try:
        with store.read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(
                select(outbox.c.id, outbox.c.sink, outbox.c.event, outbox.c.discrepancy_id,
                       outbox.c.idempotency_key, outbox.c.status, outbox.c.attempts, outbox.c.body))]
            held = [dict(r._mapping) for r in conn.execute(select(quarantine))]
        return rows, held
    finally:
        store.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"], ids=lambda p: f"store={p}")
def chain(request: pytest.FixtureRequest, postgres: PostgresServer,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainRun]:
    backend = request.param
    folder = tmp_path_factory.mktemp(f"e2e-{backend}")
    values = {"E2E_WMS_PASSWORD": secrets.token_urlsafe(18), "E2E_STORE_PASSWORD": postgres.password,
              "E2E_PUSH_TOKEN": secrets.token_urlsafe(24),
              "E2E_WEBHOOK_SECRET": "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()}
    run = ChainRun(backend, folder, None, fill_inbox(folder / "Sas" / "InBox"), values)
    receiver = Receiver()
    wms_name, role = create_wms(postgres, values["E2E_WMS_PASSWORD"])
    store_db = postgres.create_database() if backend == "postgresql" else None
    try:
        with pytest.MonkeyPatch.context() as mp, logging_restored():
            for name, value in values.items():
                mp.setenv(name, value)
            store_url = store_db.url if store_db else f"sqlite:///{folder / 'state.db'}"
            wms_url = f"postgresql+psycopg://{role}@{postgres.host}:{postgres.port}/{wms_name}"
            config = write_config(folder, store_url=store_url, store_secret=store_db is not None,
                                  wms_url=wms_url, inbox=folder / "Sas" / "InBox", receiver=receiver)
            run.config = config
            for label, args in (("sync", ["sync"]), ("compare", ["compare"]), ("deliver", ["deliver"])):
                run.steps[label] = run_cli(config, *args)
            run.pushes = [r for r in receiver.requests if r.path == "/push"]
            run.hooks = [r for r in receiver.requests if r.path == "/hooks"]
            run.steps["status"] = run_cli(config, "status")
            run.steps["deliver_again"] = run_cli(config, "deliver")
            run.requests_after_second_deliver = len(receiver.requests)
            run.steps["sync_again"] = run_cli(config, "sync")
            run.steps["compare_again"] = run_cli(config, "compare")
            run.steps["list"] = run_cli(config, "discrepancies", "list", "--format", "json")
            password = Secret(postgres.password, "${E2E_STORE_PASSWORD}") if store_db else None
            run.outbox_rows, run.quarantine_rows = read_store(store_url, password)
        yield run
    finally:
        receiver.stop()
        if store_db is not None:
            postgres.drop_database(store_db.name)
        drop_wms(postgres, wms_name, role)


def discrepancies_by_kind(run: ChainRun) -> dict[tuple[str, int], dict[str, Any]]:
    return {(d["kind"], d["item_seq"]): d for d in run.steps["list"].json()}


def every_step_succeeded(run: ChainRun) -> None:
    failed = {k: (s.code, s.err[-2000:]) for k, s in run.steps.items() if s.code != 0}
    assert not failed, f"CLI steps failed: {failed}"


# -- the tests --------------------------------------------------------------------------------------


def test_every_cli_step_exits_zero(chain: ChainRun):
    every_step_succeeded(chain)


def test_sync_reads_every_wms_row_posts_the_mapped_ones_and_quarantines_the_unmapped_sku(chain: ChainRun):
    counts = chain.steps["sync"].json()["source:wms"]

    assert counts["pulled"]["read"] == len(WMS_ROWS)
    assert counts["pulled"]["new"] == len(WMS_ROWS)
    assert counts["pulled"]["quarantined_by_reason"] == {}
    assert counts["ledger"] == {"posted": 5, "ignored": 1, "quarantined": 1,
                                "quarantined_by_reason": {"unmapped_sku": 1}}
    mapping_held = [q for q in chain.quarantine_rows if q["stage"] == "mapping"]
    assert [(q["reason"], q["payload"]["sku"], q["resolved_at"]) for q in mapping_held] == [
        ("unmapped_sku", "GIFT-99", None)]


def test_sync_ingests_every_readable_receipt_and_moves_the_cut_off_file_to_failed(chain: ChainRun):
    inbox = chain.folder / "Sas" / "InBox"
    good = [name for name in chain.inbox_files if "cut_off" not in name]

    assert chain.steps["sync"].json()["declarations:inbox"] == {
        "files": len(chain.inbox_files), "ingested": len(good), "duplicate": 0, "failed": 1}
    assert list(inbox.iterdir()) == []
    assert sorted(p.name for p in (inbox.parent / "processed").iterdir()) == good
    failed = inbox.parent / "failed"
    assert sorted(p.name for p in failed.iterdir()) == [
        "07_INV211_cut_off_mid_write.xml", "07_INV211_cut_off_mid_write.xml.reason.txt"]
    assert "not_xml" in (failed / "07_INV211_cut_off_mid_write.xml.reason.txt").read_text(encoding="utf-8")
    declaration_held = [(q["stage"], q["ref"], q["reason"]) for q in chain.quarantine_rows
                        if q["stage"] == "declaration"]
    assert declaration_held == [("declaration", "07_INV211_cut_off_mid_write.xml", "not_xml")]


def test_compare_opens_missing_list_quantity_mismatch_and_two_balance_mismatches(chain: ChainRun):
    assert chain.steps["compare"].json() == {"opened": OPENED, "updated": 0, "resolved": 0, "unchanged": 0,
                                             "in_flight": 0}
    found = discrepancies_by_kind(chain)
    summary = {key: (d["ledger_no"], d["item_no"], d["doc_refs"], d["expected_qty"], d["actual_qty"],
                     d["delta_qty"], d["unit"]) for key, d in found.items()}

    assert summary == {
        ("missing_list", 2257): (LEDGER, "9503008900", ["IN-2024-0308"], "0", "240", "240", "007"),
        ("quantity_mismatch", 2256): (LEDGER, "8544492100", ["IN-2024-0302", "QD311124I000000102"],
                                      "480", "500", "20", "035"),
        ("balance_mismatch", 2255): (LEDGER, "9405310000", [], "2894", "2888", "-6", "006"),
        ("balance_mismatch", 2256): (LEDGER, "8544492100", [], "480", "500", "20", "035"),
    }


def test_naive_wms_times_are_read_as_shanghai_time_through_the_whole_chain(chain: ChainRun):
    missing = discrepancies_by_kind(chain)[("missing_list", 2257)]

    # 2024-03-08 07:30 in Shanghai (UTC+8) is the evening before in UTC
    assert missing["details"]["last_movement_at"] == "2024-03-07T23:30:00+00:00"


def test_deliver_pushes_one_request_per_opened_discrepancy_each_with_its_own_idempotency_key(chain: ChainRun):
    listed = {d["id"]: d for d in chain.steps["list"].json()}
    bodies = [json.loads(r.body) for r in chain.pushes]
    keys = [r.headers.get("idempotency-key", "") for r in chain.pushes]
    push_rows = {row["id"]: row for row in chain.outbox_rows if row["sink"] == "supervision"}

    assert len(chain.pushes) == chain.steps["compare"].json()["opened"] == len(listed)
    assert all(re.fullmatch(r'"[0-9a-f]{64}"', key) for key in keys), keys
    assert {key.strip('"') for key in keys} == set(push_rows)
    assert all(r.method == "POST" and r.headers["content-type"].startswith("application/json") for r in chain.pushes)
    assert {r.headers.get("authorization") for r in chain.pushes} == {f"Bearer {chain.secrets['E2E_PUSH_TOKEN']}"}
    assert sorted(b["discrepancy"]["id"] for b in bodies) == sorted(listed)
    for request, body in zip(chain.pushes, bodies):
        assert body["site"] == SITE and body["event"] == "discrepancy.opened"
        assert DISCREPANCY_FIELDS <= set(body["discrepancy"])
        assert body["discrepancy"]["status"] == "open"
        assert request.body == push_rows[request.headers["idempotency-key"].strip('"')]["body"]
        listed_now = listed[body["discrepancy"]["id"]]
        assert {k: body["discrepancy"][k] for k in DISCREPANCY_FIELDS - {"last_seen"}} == \
            {k: listed_now[k] for k in DISCREPANCY_FIELDS - {"last_seen"}}


def test_deliver_sends_webhooks_signed_with_hmac_sha256_over_id_timestamp_and_body(chain: ChainRun):
    key = base64.b64decode(chain.secrets["E2E_WEBHOOK_SECRET"].removeprefix("whsec_"))
    webhook_ids = {row["id"] for row in chain.outbox_rows if row["sink"] == "alerts"}

    assert len(chain.hooks) == len(webhook_ids) == OPENED + len(ALERTS)
    assert {r.headers["webhook-id"] for r in chain.hooks} == webhook_ids
    for request in chain.hooks:
        message_id, timestamp = request.headers["webhook-id"], request.headers["webhook-timestamp"]
        signed = f"{message_id}.{timestamp}.".encode() + request.body
        expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        assert expected in request.headers["webhook-signature"].split(" ")
        assert abs(int(timestamp) - time.time()) < 600


def test_each_quarantine_reason_of_the_run_raises_one_alert_on_the_webhook_and_none_on_the_push(chain: ChainRun):
    bodies = [json.loads(r.body) for r in chain.hooks]
    alerts = sorted((b["alert"]["stage"], b["alert"]["source"], b["alert"]["reason"], b["alert"]["rows"])
                    for b in bodies if b["event"] == "alert.quarantine")

    assert alerts == sorted(ALERTS)
    assert sorted(b["event"] for b in bodies) == ["alert.quarantine"] * len(ALERTS) + ["discrepancy.opened"] * OPENED
    assert {json.loads(r.body)["event"] for r in chain.pushes} == {"discrepancy.opened"}


def test_after_deliver_every_outbox_row_is_sent_and_a_second_deliver_sends_nothing(chain: ChainRun):
    status = chain.steps["status"].json()

    assert chain.steps["deliver"].json() == {"sent": SENT, "retry": 0, "dead": 0, "deferred": 0, "paused": 0,
                                                "unconfigured": 0}
    assert status["outbox_by_status"] == {"sent": SENT}
    assert {(r["status"], r["attempts"]) for r in chain.outbox_rows} == {("sent", 1)}
    assert chain.steps["deliver_again"].json()["sent"] == 0
    assert chain.requests_after_second_deliver == len(chain.pushes) + len(chain.hooks)
    assert status["run_log_problems"] == []


def test_a_second_sync_and_compare_find_nothing_new_and_queue_nothing(chain: ChainRun):
    again = chain.steps["sync_again"].json()

    assert again["source:wms"]["pulled"]["read"] == 0
    assert again["declarations:inbox"]["files"] == 0
    assert chain.steps["compare_again"].json() == {"opened": 0, "updated": 0, "resolved": 0, "unchanged": OPENED,
                                                   "in_flight": 0}
    assert len(chain.outbox_rows) == SENT


def test_discrepancies_list_json_prints_every_public_field_of_each_open_discrepancy(chain: ChainRun):
    listed = chain.steps["list"].json()

    assert len(listed) == OPENED
    for d in listed:
        assert DISCREPANCY_FIELDS <= set(d), DISCREPANCY_FIELDS - set(d)
        assert d["status"] == "open" and re.fullmatch(r"[0-9a-f]{32}", d["id"])
        assert d["first_seen"] <= d["last_seen"]
    assert [d["kind"] for d in listed] == sorted(d["kind"] for d in listed)


def test_no_secret_appears_in_any_command_output(chain: ChainRun):
    text = "".join(s.out + s.err for s in chain.steps.values())

    for name, value in chain.secrets.items():
        assert value not in text, f"{name} leaked into CLI output"


def test_the_server_refuses_a_wrong_password_so_the_configured_secrets_are_really_used(postgres: PostgresServer):
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(host=postgres.host, port=postgres.port, user=postgres.user, dbname="postgres",
                        password="not-the-password", connect_timeout=5).close()


def test_discrepancies_list_writes_to_sys_stdout_as_it_is_at_call_time(chain: ChainRun, monkeypatch):
    for name, value in chain.secrets.items():
        monkeypatch.setenv(name, value)
    with logging_restored():
        step = run_cli(chain.config, "discrepancies", "list", "--format", "json")

    assert step.code == 0
    assert json.loads(step.out) == chain.steps["list"].json()
