"""Receipts of different rank give the same 核注清单 whatever order they arrive in (hypothesis).

The Single Window client drops a list's receipts into the InBox as they come, and after an outage
all at once: a status-only receipt (HdeApprResult alone) or the 正式核扣 posting can be read before
the declaration that carries the list's data. Heads follow the ranking for their state, but a
receipt's data must not be lost because a higher-ranked receipt was read first. For any subset of
these receipts (one of each rank) in any order, one InBox run per file or all in one run, the
stored head (its receipt stamp aside) and lines must be those of the receipts read in rank order.
The two declaration receipts carry the same data (one list version, two states). Where receipts
ranked below the stored head disagree on a field it lacks, the first one read gives it (the limit
stated in connector/_declaration_store.py `_fill`): that is so for the approval code
(`manage_result`, which the posting does not carry and which no rule reads), so of it the test
asks only that it is kept whenever a receipt read carries one.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.declarations.inbox import InboxSource
from connector.store.engine import Store
from connector.store.tables import bond_invt_heads, bond_invt_lines
from tests.test_declarations import DI, GX, drop, inv201_for_inv211_list, inv201_with_line, rows, run

LIST_NO = "QD311124I000067486"  # the list INV211.xml posts; INV201.xml is edited to describe it
RECEIPTS = {  # name -> (rank, the file's fixture and edits)
    "stored": (1, (GX + "INV201.xml", *inv201_for_inv211_list(), ("<manageResult>4</manageResult>",
                                                                   "<manageResult>Y</manageResult>"),
                   *inv201_with_line(1, pockets=1, qty="7"))),
    "review": (2, (GX + "INV201.xml", *inv201_for_inv211_list(), ("<manageResult>4</manageResult>",
                                                                   "<manageResult>2</manageResult>"))),
    "approved": (3, (DI + "INV201_receipt_short.xml", ("QD900819I201903281726", LIST_NO),
                     ("<manageResult>1</manageResult>", "<manageResult>4</manageResult>"))),
    "posted": (4, (GX + "INV211.xml",)),
}


def ingest(order: list[str], one_run: bool) -> tuple[dict, list]:
    """The list's head (without its receipt stamp) and lines after reading the receipts in `order`."""
    with tempfile.TemporaryDirectory() as folder:
        inbox = Path(folder) / "InBox"
        inbox.mkdir()
        adapter = InboxSource("inbox", InboxSource.Config(path=inbox, timezone="Asia/Shanghai", settle_seconds=0))
        store = Store.open(f"sqlite:///{folder}/state.db")
        try:
            for i, name in enumerate(order):
                relative, *edits = RECEIPTS[name][1]
                drop(inbox, relative, *edits, name=f"{i:02d}-{name}.INV")  # read in name order
                if not one_run:
                    run(store, adapter)
            run(store, adapter)
            [head] = rows(store, bond_invt_heads)
            lines = [{k: v for k, v in r.items() if k != "receipt_id"} for r in rows(store, bond_invt_lines)]
        finally:
            store.close()
    return {k: v for k, v in head.items() if k not in ("receipt_id", "updated_at")}, lines


@settings(max_examples=40, deadline=None)
@given(order=st.permutations(sorted(RECEIPTS)).flatmap(
    lambda names: st.integers(2, len(names)).map(lambda n: names[:n])), one_run=st.booleans())
def test_receipts_of_different_rank_give_the_same_list_in_any_order(order, one_run):
    by_rank = sorted(order, key=lambda name: RECEIPTS[name][0])
    (head, lines), (expected, expected_lines) = ingest(order, one_run), ingest(by_rank, one_run=False)
    assert head.pop("manage_result") is not None, order  # every pair holds a receipt with an approval code
    expected.pop("manage_result")
    assert (head, lines) == (expected, expected_lines), order


def test_a_status_receipt_read_first_does_not_keep_the_declarations_data_out():
    head, lines = ingest(["approved", "stored"], one_run=False)
    assert (head["manage_result"], head["result_rank"]) == ("4", 3)  # the state: the higher rank's
    assert (head["etps_inner_invt_no"], head["supv_modecd"], len(lines)) == ("COSU6391946850D", "5034", 1)
