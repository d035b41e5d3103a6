"""Benchmark: ingesting customs receipts from an InBox folder (`BENCH inbox_files_per_s`).

The folder holds `FILES` receipts (SAS221 / INV201 / SAS223 shapes, each a different document);
the figure is files per second through the whole declaration stage (parse, rank, one store
transaction with the raw bytes, move to processed). The baseline, measured in the same run on
the same files, is reading and hashing each file. A second run on a reopened store and a new
adapter (a restart) must read no file again: `inbox_files_reread_after_restart` is 0.
The default is the issue's 100,000 files (~5 min on the 2-core dev machine, most of it the ingest
itself); CONNECTOR_BENCH_INBOX_FILES=20000 gives a quick run.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import structlog

from adapters.declarations.inbox import InboxSource
from connector.clock import FixedClock
from connector.declarations import ingest
from connector.store.engine import Store

FILES = int(os.environ.get("CONNECTOR_BENCH_INBOX_FILES", "100000"))  # the issue figure; ~5 min
TEMPLATE = ("<Package><EnvelopInfo><message_id>CUS{n:012d}</message_id><message_type>{kind}</message_type>"
            "</EnvelopInfo><DataInfo><BussinessData><{kind}><HdeApprResult><businessId>{doc}</businessId>"
            "<manageResult>1</manageResult><manageDate>2024-07-30 11:48:02</manageDate></HdeApprResult>{body}"
            "</{kind}></BussinessData></DataInfo></Package>")
PASSPORT = ("<SasPassportBsc><passportNo>{doc}</passportNo><bindTypecd>1</bindTypecd><rltTbTypecd>1</rltTbTypecd>"
            "<rltNo>QD311124E{a:09d}\\QD311124E{b:09d}</rltNo><stucd>2</stucd><totalWt>16245.335</totalWt>"
            "<passTime>2024-07-26 17:31:59</passTime></SasPassportBsc>")
LIST = ("<BondInvtBsc><bondInvtNo>{doc}</bondInvtNo><putrecNo>T3111W000076</putrecNo><vrfdedMarkcd>1"
        "</vrfdedMarkcd></BondInvtBsc><BondInvtDt><gdsSeqno>1</gdsSeqno><dclQty>120.12345</dclQty></BondInvtDt>")


def _receipt(n: int) -> bytes:
    if n % 2:
        doc = f"Z3111E24072600000{n:07d}"
        return TEMPLATE.format(n=n, kind="SAS223", doc=doc, body=PASSPORT.format(doc=doc, a=n, b=n + 1)).encode()
    doc = f"QD311124E{n:09d}"
    return TEMPLATE.format(n=n, kind="INV201", doc=doc, body=LIST.format(doc=doc)).encode()


def _fill(inbox: Path) -> None:
    inbox.mkdir(parents=True)
    for n in range(FILES):
        (inbox / f"CUS0000E010000{n:012d}.SAS").write_bytes(_receipt(n))


def _hash_all(inbox: Path) -> float:
    started = time.perf_counter()
    for path in sorted(inbox.iterdir()):
        hashlib.sha256(path.read_bytes()).hexdigest()
    return time.perf_counter() - started


def _ingest(tmp: Path, inbox: Path) -> tuple[dict, float]:
    store = Store.open(f"sqlite:///{tmp / 'state.db'}")
    adapter = InboxSource("inbox", InboxSource.Config(path=inbox, timezone="Asia/Shanghai", settle_seconds=0))
    started = time.perf_counter()
    try:
        counts = ingest(store, "inbox", adapter, FixedClock(datetime(2024, 8, 1, tzinfo=UTC)), structlog.get_logger())
    finally:
        store.close()
    return counts, time.perf_counter() - started


def bench_inbox(tmp: Path) -> Iterator[str]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    inbox = tmp / "Sas" / "InBox"
    _fill(inbox)
    baseline = _hash_all(inbox)
    counts, seconds = _ingest(tmp, inbox)
    restart, _ = _ingest(tmp, inbox)  # a restart: new store connection, new adapter
    structlog.reset_defaults()
    yield f"BENCH inbox_files_per_s {counts['ingested'] / seconds:.0f} files/s"
    yield f"BENCH inbox_baseline_read_and_hash_files_per_s {FILES / baseline:.0f} files/s"
    yield f"BENCH inbox_ratio_to_read_and_hash {baseline / seconds:.4f} ratio"
    yield f"BENCH inbox_files_ingested {counts['ingested']} files"
    yield f"BENCH inbox_files_reread_after_restart {restart['files']} files"


CASES = {"inbox": bench_inbox}
