"""The demo InBox: customs receipts written as the Single Window client leaves them (DOMAIN.md §4.1).

File names are `CUS0000E010000<yyyymmddHHMMSS><seq>.INV|.SAS` (sender, receiver, send time, a
sequence), so sorting by name is sorting by send time. Like the real receipts, some files carry
`xmlns="http://www.w3.org/2000/09/xmldsig#"` on `<Package>` and some do not, some start with an
XML declaration and some do not. One file is a receipt cut off half-way (a re-sent posting
receipt the client did not finish writing): it cannot be parsed and must end in the failed folder.
Each file's modification time is its send time, so the InBox adapter sees it as settled.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from connector.demo.customs import ListPlan, Posting, plan_lists, postings
from connector.demo.receipts import Section, inv201, inv211, passport_no, sas221, sas223
from connector.demo.scenario import ZONE, Doc

XMLDSIG = "http://www.w3.org/2000/09/xmldsig#"
DECLARATION = '<?xml version="1.0" encoding="utf-8" standalone="yes"?>'
SEQ_START = 880_215_001
SEND_TIME = "%Y-%m-%dT%H:%M:%S"


@dataclass(frozen=True)
class Receipt:
    at: datetime  # send time, Asia/Shanghai wall clock
    message_type: str
    sections: list[Section]
    business_id: str
    truncated: bool = False


@dataclass(frozen=True)
class InboxFiles:
    names: list[str]
    types: list[str]  # message type of each file
    bad: str  # the unreadable file
    lists: list[ListPlan]
    postings: list[Posting]


def write_inbox(folder: Path, docs: list[Doc]) -> InboxFiles:
    """Write every receipt of the month into `folder`; return what was written."""
    plans = plan_lists(docs)
    posted = postings(plans)
    receipts = sorted(_receipts(plans, posted), key=lambda r: (r.at, r.message_type))
    folder.mkdir(parents=True, exist_ok=True)
    names = [_write(folder, r, n) for n, r in enumerate(receipts)]
    bad = next(name for name, r in zip(names, receipts, strict=True) if r.truncated)
    return InboxFiles(names, [r.message_type for r in receipts], bad, plans, posted)


def _receipts(plans: list[ListPlan], posted: list[Posting]) -> list[Receipt]:
    out = [Receipt(p.prevd_time, "INV201", inv201(p), p.bond_invt_no) for p in plans]
    out += [Receipt(p.plan.formal_time, "INV211", inv211(p), p.plan.bond_invt_no) for p in posted]
    return out + _passports(plans) + [_resent_cut_off(posted)]


def _passports(plans: list[ListPlan]) -> list[Receipt]:
    """Passport approval and gate pass for the latest delivery (its list is not posted yet)."""
    plan = max((p for p in plans if p.doc.direction == "E"), key=lambda p: p.doc.at)
    approved, passed = plan.prevd_time + timedelta(minutes=50), plan.doc.at + timedelta(minutes=75)
    number = passport_no(plan)
    return [Receipt(approved, "SAS221", sas221(plan, approved), number),
            Receipt(passed, "SAS223", sas223(plan, passed), number)]


def _resent_cut_off(posted: list[Posting]) -> Receipt:
    """A re-sent copy of the posting receipt of the list whose quantity differs, cut off mid-file."""
    posting = next(p for p in posted if p.plan.doc.declared_qty)
    at = posting.plan.formal_time + timedelta(days=3, hours=5)
    return Receipt(at, "INV211", inv211(posting), posting.plan.bond_invt_no, truncated=True)


def _write(folder: Path, receipt: Receipt, n: int) -> str:
    ext = "INV" if receipt.message_type.startswith("INV") else "SAS"
    stem = f"CUS0000E010000{receipt.at:%Y%m%d%H%M%S}{SEQ_START + n:011d}"
    name = f"{stem}.{ext}"
    data = render(receipt, stem, name, namespaced=ext == "INV" and n % 2 == 0,
                  declared=receipt.message_type != "INV201" or n % 3 == 0)
    if receipt.truncated:
        data = data[:data.rfind(b"</", 0, len(data) * 3 // 5)]
    path = folder / name
    path.write_bytes(data)
    stamp = min(receipt.at.replace(tzinfo=ZONE).timestamp(), time.time() - 60)
    os.utime(path, (stamp, stamp))
    return name


def render(receipt: Receipt, stem: str, name: str, *, namespaced: bool, declared: bool) -> bytes:
    """One receipt as customs XML bytes (UTF-8)."""
    package = Element("Package", {"xmlns": XMLDSIG} if namespaced else {})
    _fill(SubElement(package, "EnvelopInfo"), {
        "version": "1.0", "message_id": stem, "file_name": name, "message_type": receipt.message_type,
        "sender_id": "CUS0000", "receiver_id": "E010000", "send_time": receipt.at.strftime(SEND_TIME)})
    data = SubElement(package, "DataInfo")
    pocket = f"{receipt.business_id}-{hashlib.sha256(name.encode()).hexdigest()[:32]}"
    _fill(SubElement(data, "PocketInfo"), {"pocket_id": pocket, "total_pocket_qty": "1",
                                           "cur_pocket_no": "1", "is_unstructured": ""})
    body = SubElement(SubElement(data, "BussinessData"), receipt.message_type)
    for section, fields in receipt.sections:
        _fill(SubElement(body, section), fields)
    indent(package, "  ")
    text = tostring(package, encoding="unicode", short_empty_elements=False)
    return ((DECLARATION + "\n" if declared else "") + text + "\n").encode("utf-8")


def _fill(parent: Element, fields: dict[str, str]) -> None:
    for tag, value in fields.items():
        SubElement(parent, tag).text = value
