"""The full rebuild's fast pass on SQLite: which documents can have a finding, and the WMS balances.

A document whose movements and live 核注清单 lines agree item for item — one entry and one list line
per 料号, same declared unit, the same quantity text with the list's sign (I +, E −), no rejected or
deleted list — gives no C2/C8 finding and holds nothing in flight, so the rebuild need not load it.
SQLite builds one signature per document on each side (`group_concat`, in C); only documents whose
signatures differ, or that changed after the watermarks, are evaluated by the rules. The check is
conservative: anything it cannot prove equal (NULLs, duplicates, odd characters, `-0`) is evaluated.

WMS balances, where C9's period sums cannot give them (periods_store.balances), are summed by SQLite
exactly: integer parts as integers, fractions as integers in units of 10⁻⁹; a ledger line with any
quantity it cannot split that way is summed in Python instead.
Lists (C3/C8) and passports (C4) are screened the same way: only those that could give a finding are
evaluated. PostgreSQL stores skip the screen (`scope` returns nothing: every unit is evaluated).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from functools import cache

from sqlalchemy import Connection

from connector.compare import _sqlchild, load
from connector.compare.rules.inputs import WmsBalance
from connector.compare.settings import CompareSection

POOL = "compare_query_pool"  # conn.info key (`keep`): the rebuild's queue of child queries
_KEPT: set[str] = set()  # every key `keep` has used
CHILD_MIN_BYTES = 32 << 20  # a smaller store is read in line: starting processes would cost more
ITEM, FIELD = "\x1e", "\x1f"
_I, _F = f"'{ITEM}'", f"'{FIELD}'"  # as SQL literals: cheaper per row than char(30), char(31)
WMS_SIGNATURES = (  # (document, signature, items, anything after the entry watermark); an item: qty, 料号, unit
    f"SELECT doc_ref, group_concat(dcl_qty || {_F} || gds_mtno || {_F} || dcl_unitcd, {_I}), count(*), "
    "max(id) > ? FROM ledger_entries WHERE needs_list = 1 AND doc_ref IS NOT NULL GROUP BY doc_ref")
LIST_SIGNATURES = (  # (document, signature, items, after the receipt watermark or rejected / deleted)
    f"SELECT h.etps_inner_invt_no, group_concat(iif(h.impexp_markcd = 'E', '-' || replace(g.sig, {_I}, {_I} || '-'), "
    f"g.sig), {_I}), sum(g.n), coalesce(max(max(h.receipt_id, g.receipt)) > ? OR max(h.invt_stucd IN ('2', '3')), 0) "
    f"FROM (SELECT bond_invt_no, group_concat(dcl_qty || {_F} || gds_mtno || {_F} || dcl_unitcd, {_I}) AS sig, "
    "count(*) AS n, max(receipt_id) AS receipt FROM bond_invt_lines GROUP BY bond_invt_no) g "  # per list, no join:
    "JOIN bond_invt_heads h ON h.bond_invt_no = g.bond_invt_no "  # an export list's sign put before each of its items
    "WHERE h.etps_inner_invt_no IS NOT NULL GROUP BY h.etps_inner_invt_no")
LIVE = "coalesce(p.stucd, '') NOT IN ('5', '6') AND coalesce(p.dcl_typecd, '') <> '3'"
LIST_CANDIDATES = (  # C3/C8: closed with a live passport, or no live passport (OVER_BOUND: trucks above a line)
    "SELECT k.rlt_no FROM passport_links k JOIN passports p ON p.passport_no = k.passport_no "
    "JOIN bond_invt_heads h ON h.bond_invt_no = k.rlt_no WHERE k.rlt_tb_typecd = '1' "
    "AND coalesce(h.invt_stucd, '') NOT IN ('2', '3') GROUP BY k.rlt_no "
    "HAVING coalesce(max(h.vrfded_markcd IN ('2', '3')), 0) OR NOT max(" + LIVE + ")")


def _frac(c: str) -> str:
    return f"CASE WHEN instr({c}, '.') > 0 THEN substr({c}, instr({c}, '.') + 1) ELSE '' END"


def _nanos(c: str) -> str:
    """A decimal text as an exact integer count of 10⁻⁹ (only where `_odd` is false)."""
    return (f"(CAST({c} AS INTEGER) * 1000000000 + CAST(substr({_frac(c)} || '000000000', 1, 9) AS INTEGER) "
            f"* CASE WHEN substr({c}, 1, 1) = '-' THEN -1 ELSE 1 END)")


def _odd(c: str) -> str:
    """Texts `_nanos` cannot take exactly: NULL, > 9 decimals, > 7 characters before the point
    (so a sum of many stays far inside 64-bit integers), not plain decimal text."""
    return (f"({c} IS NULL OR length({_frac(c)}) > 9 OR instr({c} || '.', '.') > 8 "
            f"OR {c} GLOB '*[^0-9.-]*' OR {c} GLOB '?*-*')")


OVER_BOUND = (  # every live truck line a list line could take, summed exactly, above the line
    f"SELECT t.rlt_no FROM (SELECT k.rlt_no, pl.rlt_gds_seqno AS seq, sum({_nanos('pl.dcl_qty')}) AS qty, "
    f"max({_odd('pl.dcl_qty')}) AS odd FROM passport_links k JOIN passports p ON p.passport_no = k.passport_no "
    "JOIN passport_lines pl ON pl.passport_no = k.passport_no WHERE k.rlt_tb_typecd = '1' AND " + LIVE + " "
    "GROUP BY k.rlt_no, pl.rlt_gds_seqno) t JOIN bond_invt_lines l ON l.bond_invt_no = t.rlt_no "
    f"AND l.gds_seqno = t.seq WHERE t.odd OR {_odd('l.dcl_qty')} OR t.qty > {_nanos('l.dcl_qty')}")
GATE_CANDIDATES = (  # C4: weighed and off by more than the tolerance (floats, with a margin)
    "SELECT passport_no FROM passports p WHERE " + LIVE + " AND total_wt IS NOT NULL "
    "AND CAST(coalesce(pass_collect_wt, '0') AS REAL) <> 0 AND abs(CAST(pass_collect_wt AS REAL) - "
    "CAST(total_wt AS REAL)) > max(?, ? * abs(CAST(total_wt AS REAL))) * (1 - 1e-9) - 1e-9")
_FRAC = "CASE WHEN instr(dcl_qty, '.') > 0 THEN substr(dcl_qty, instr(dcl_qty, '.') + 1) ELSE '' END"
_WHOLE = "CAST(CAST(dcl_qty AS INTEGER) AS TEXT) = dcl_qty"  # a plain integer: most quantities
BALANCES = (
    "SELECT bws_no, gds_seqno, min(gds_mtno), min(dcl_unitcd), sum(CAST(dcl_qty AS INTEGER)), "
    f"sum(CASE WHEN {_WHOLE} THEN 0 ELSE CAST(substr({_FRAC} || '000000000', 1, 9) AS INTEGER) "
    "* CASE WHEN substr(dcl_qty, 1, 1) = '-' THEN -1 ELSE 1 END END), "
    f"max(CASE WHEN {_WHOLE} THEN 0 ELSE length({_FRAC}) > 9 OR instr(dcl_qty || '.', '.') > 13 "
    "OR dcl_qty GLOB '*[^0-9.-]*' OR dcl_qty GLOB '?*-*' END), "
    "max(occurred_at) FROM ledger_entries INDEXED BY ix_ledger_entries_item WHERE id <= ? GROUP BY bws_no, gds_seqno")


def run_all(conn: Connection, jobs: dict[str, tuple[str, tuple]]) -> dict[str, Callable[[], list[tuple]]]:
    """Start read-only queries; each result is fetched by calling it. On a SQLite file of some size
    they run one per core, each in its own child process (_sqlchild.py: threads here would fight the
    rules for the GIL), so the caller's Python work and the queries share the cores; in the order
    given, and behind the queries of earlier calls in the same transaction (the rebuild's screen
    first, then C9's period sums and C7's conversions, which are needed later). The rebuild holds the
    store's write lock, so the children read the state its transaction started from (and never the
    derived tables it rewrites); the screen's queries are also bounded by, or checked against, the
    watermarks."""
    path = conn.engine.url.database
    if not path or path == ":memory:" or os.path.getsize(path) < CHILD_MIN_BYTES:  # small: in line
        done = {name: list(conn.exec_driver_sql(sql, params)) for name, (sql, params) in jobs.items()}
        return {name: (lambda rows=rows: rows) for name, rows in done.items()}
    pool = _pool(conn)
    futures = {name: pool.submit(_sqlchild.query, path, sql, params) for name, (sql, params) in jobs.items()}
    return {name: f.result for name, f in futures.items()}


def _pool(conn: Connection) -> ThreadPoolExecutor:
    """The transaction's queue of child queries, one worker per core (`release` ends it)."""
    pool = kept(conn, POOL)
    if pool is None:
        pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="compare-query")
        keep(conn, POOL, pool)
    return pool


def keep(conn: Connection, key: str, value) -> None:
    """Keep `value` in `conn.info` for the rest of this transaction: a rebuild's pending results (the
    query queue, C9's period sums, C7's conversions), all dropped by `release`."""
    _KEPT.add(key)
    conn.info[key] = (conn.get_transaction(), value)


def kept(conn: Connection, key: str, pop: bool = False):
    """What `keep` kept in this transaction (None: nothing, or only what an earlier one left)."""
    transaction, value = (conn.info.pop if pop else conn.info.get)(key, (None, None))
    return value if transaction is conn.get_transaction() else None


def release(conn: Connection) -> None:
    """After a rebuild (also a failed one): no new child starts (those running finish unwaited), and
    nothing it kept stays behind in the connection."""
    _, pool = conn.info.get(POOL, (None, None))
    for key in _KEPT:
        conn.info.pop(key, None)
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def _differing(wsig: str | None, lsig: str | None) -> set[str] | None:
    """The 料号 whose movements and list lines differ (None: evaluate the whole document). An item
    text on both sides takes no part in any C2 finding of its document, so it need not be loaded;
    a 料号 with any differing text is loaded whole. None when an item text repeats on one side (its
    count matters, which sets do not keep) or a differing item does not split into three fields."""
    moved, listed = (wsig or "").split(ITEM), (lsig or "").split(ITEM)
    moved_set, listed_set = set(moved), set(listed)
    changed = moved_set ^ listed_set
    if len(moved_set) != len(moved) or len(listed_set) != len(listed) or any(x.count(FIELD) != 2 for x in changed):
        return None
    return {x.split(FIELD)[1] for x in changed}  # quantity, 料号, unit


def _plain(sig: str | None, items: int) -> bool:
    """The signature holds each of its `items` whole and splits back exactly: no NULL field (SQLite
    drops that item from the group) and no separator inside a value (there would be more of them)."""
    return sig is not None and sig.count(ITEM) == items - 1 and sig.count(FIELD) == 2 * items


def screened_docs(found: dict[str, Callable]) -> tuple[dict[str, set[str] | None], set[str]]:
    """The documents a rebuild must evaluate, each with the 料号 to load (None: all), and every
    document some movement names. Rows: WMS_SIGNATURES and LIST_SIGNATURES, in the same shape, so
    the documents equal on both sides (the common case) are found by one set intersection, in C."""
    wms, lists = found["wms"](), found["lists"]()
    clear = {doc for doc, sig, n, stale in set(wms).intersection(lists)  # _plain, inline: 80,000 calls on the bench
             if not stale and sig is not None and sig.count(ITEM) == n - 1 and sig.count(FIELD) == 2 * n}
    moved = {r[0]: r for r in wms if r[0] not in clear}
    listed = {r[0]: r for r in lists if r[0] not in clear}
    out: dict[str, set[str] | None] = dict.fromkeys(moved.keys() ^ listed.keys())
    for doc in moved.keys() & listed.keys():
        (_, wsig, wn, wstale), (_, lsig, ln, lstale) = moved[doc], listed[doc]
        if wstale or lstale or not (_plain(wsig, wn) and _plain(lsig, ln)):
            out[doc] = None
        elif wsig != lsig and (items := _differing(wsig, lsig)) != set():
            out[doc] = items
    return out, {r[0] for r in wms}


def scope(conn: Connection, marks: dict[str, int], s: CompareSection) -> dict[str, Callable]:
    """What a rebuild must evaluate per unit kind (a kind left out: every key of it; values are
    called when needed, so the queries still running overlap the rules; "docs" computes once), and
    "doc_rows": the queries of the screened documents' rows (load.wanted_queries); on other databases {}."""
    if conn.dialect.name != "sqlite":
        return {}
    limits = (float(s.weight_tolerance_kg), float(s.weight_tolerance_rate))
    found = run_all(conn, {"wms": (WMS_SIGNATURES, (marks["entry_id"],)),
                           "lists": (LIST_SIGNATURES, (marks["receipt_id"],)),
                           "candidates": (LIST_CANDIDATES, ()), "over": (OVER_BOUND, ()),
                           "gates": (GATE_CANDIDATES, limits)})
    lists = lambda: {no for (no,) in found["candidates"]()} | {no for (no,) in found["over"]()}
    return {"docs": cache(lambda: screened_docs(found)), "lists": lists,
            "gates": lambda: {no for (no,) in found["gates"]()},
            "doc_rows": lambda items: run_all(conn, load.wanted_queries(items))}


def balances(conn: Connection, marks: dict[str, int]) -> dict[tuple[str, int], WmsBalance]:
    """WMS stock per ledger line from the entries up to the watermark (the same result as
    `load.balances_from_entries`, which other databases and odd quantities use), for a rebuild
    without C9's period sums to take them from (periods_store.balances)."""
    if conn.dialect.name != "sqlite":
        return load.balances_from_entries(conn, upto=marks["entry_id"])
    return _balances(conn, list(conn.exec_driver_sql(BALANCES, (marks["entry_id"],))), marks)


def _balances(conn: Connection, found: list[tuple], marks: dict[str, int]) -> dict[tuple[str, int], WmsBalance]:
    out, odd = {}, set()
    for b, s, m, u, whole, frac, bad, last in found:
        if bad:
            odd.add((b, s))
            continue
        out[(b, s)] = WmsBalance(b, s, m, u, load.canonical(Decimal(whole) + Decimal(frac).scaleb(-9)), load.T(last))
    if odd:
        out.update(load.balances_from_entries(conn, upto=marks["entry_id"], keys=odd))
    return out
