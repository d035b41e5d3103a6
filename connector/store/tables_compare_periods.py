"""The comparator's tables for C4 (WMS gross weight), C5 (dispatch), C7 (located stock) and C9 (write-off periods).

All derived, like `tables_compare.py`: `connector compare --rebuild` recomputes them from the stored
revisions, and a tick updates them from the new ledger entries and receipts only.
- `compare_periods`: per ledger line and 核销 (write-off) period, Σ of the WMS ledger entries that
  occurred in it, split by direction (in = 核增 side, out = 核减 side); opening and closing follow by
  summing the earlier periods, so every figure `connector periods` prints is reproducible;
- `compare_dispatches`: the movement revisions whose `extra` names a vehicle (车牌), with the
  dispatch time and the shipped gross weight, looked up by vehicle;
- `compare_passport_vehicles`: the vehicle each passport had when last seen (a passport that moves to
  another vehicle dirties the old one too);
- `compare_places` (0007): C7 located stock, per ledger line, location and lot, kept only while C7 is
  configured (the `places` watermark says so), so a tick adds its new entries instead of re-summing;
- `compare_list_items` (0007): the 料号 of each orphan 核注清单 (no movement names its document) when
  last looked at, so one re-declared with other items dirties the unreferenced movements it may have
  covered (connector/compare/list_items.py).
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from connector.store.tables import metadata, passports
from connector.store.types import AwareDateTime, DecimalText

compare_periods = Table(
    "compare_periods", metadata,
    Column("bws_no", String(20), primary_key=True),
    Column("gds_seqno", Integer, primary_key=True),
    Column("period_start", String(10), primary_key=True),  # local date (Asia/Shanghai) the period starts
    Column("period_end", String(10), nullable=False),  # local date of the next period's start
    Column("in_qty", DecimalText, nullable=False),  # Σ direction I entries (declared unit)
    Column("out_qty", DecimalText, nullable=False),  # −Σ direction E entries
)

compare_dispatches = Table(
    "compare_dispatches", metadata,
    Column("source", String(100), primary_key=True),
    Column("line_key", String(200), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("vehicle_no", String(50), nullable=False),
    Column("dispatched_at", AwareDateTime, nullable=False),
    Column("gross_wt", DecimalText),  # kg; NULL when the WMS gave none
    Column("doc_ref", String(200)),
)
Index("ix_compare_dispatches_vehicle", compare_dispatches.c.vehicle_no)

compare_passport_vehicles = Table(
    "compare_passport_vehicles", metadata,
    Column("passport_no", String(64), primary_key=True),
    Column("vehicle_no", String(50), nullable=False),
)

compare_places = Table(  # 0007
    "compare_places", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bws_no", String(20), nullable=False),
    Column("gds_seqno", Integer, nullable=False),
    Column("location", String(200), nullable=False),  # '' when the movement names none
    Column("lot", String(200)),  # NULL when the movement names none
    Column("gds_mtno", String(64), nullable=False),  # the smallest seen
    Column("qty", DecimalText, nullable=False),  # Σ declared qty of the entries at this place
    Column("last_occurred_at", AwareDateTime, nullable=False),
)
Index("ix_compare_places_line", compare_places.c.bws_no, compare_places.c.gds_seqno)

compare_list_items = Table(  # 0007: the 料号 of each orphan 核注清单's lines, one row per list
    "compare_list_items", metadata,
    Column("bond_invt_no", String(64), primary_key=True),
    Column("mtnos", Text, nullable=False),  # the lines' 料号 joined by \x1f ('' for a line without one)
)

# Index the dispatch units need (a tick looks passports up by vehicle, never scans them).
Index("ix_passports_vehicle", passports.c.vehicle_no)
