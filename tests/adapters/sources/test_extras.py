"""WMS extras (`extra_columns`): vehicle, gross weight and dispatch time decoded into Movement.extra."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from connector import sync
from connector.store.tables import movements, quarantine
from tests.support.wms import QUERY, clock, log, make_source, store, wms  # noqa: F401

EXTRAS = {"vehicle_no": "truck_no", "gross_wt": "gross_weight", "dispatched_at": "loaded_at"}
WITH_EXTRAS = QUERY.replace(" FROM moves", ", truck_no, gross_weight, loaded_at FROM moves")


@pytest.fixture
def trucks(wms):  # noqa: F811
    wms.execute("ALTER TABLE moves ADD COLUMN truck_no; ALTER TABLE moves ADD COLUMN gross_weight; "
                "ALTER TABLE moves ADD COLUMN loaded_at")
    return wms


def extras_source(make_source, wms, **fields):  # noqa: F811
    return make_source(wms, query=WITH_EXTRAS, extra_columns=EXTRAS, **fields)


def test_extras_are_decoded_with_the_source_zone_and_exact_weights(trucks, make_source):  # noqa: F811
    trucks.add("L1", truck_no=" 沪A12345 ", gross_weight="1250.50", loaded_at="2025-03-01 08:30:00")
    trucks.add("L2", gross_weight=980)
    [first, second] = extras_source(make_source, trucks).fetch(None, 10).movements
    assert first.extra == {"vehicle_no": "沪A12345", "gross_wt": "1250.5", "dispatched_at": "2025-03-01T00:30:00+00:00"}
    assert second.extra == {"gross_wt": "980"}  # NULLs leave their key out


def test_extras_of_a_gbk_source_are_decoded_in_its_encoding(trucks, make_source):  # noqa: F811
    trucks.add("L1", truck_no="粤B99999".encode("gbk"))
    [movement] = extras_source(make_source, trucks, encoding="gbk").fetch(None, 10).movements
    assert movement.extra == {"vehicle_no": "粤B99999"}


@pytest.mark.parametrize(("fields", "reason"), [
    ({"gross_weight": "12,5"}, "weight_invalid"),
    ({"gross_weight": -3}, "weight_invalid"),
    ({"gross_weight": "1e20"}, "weight_invalid"),
    ({"loaded_at": "yesterday"}, "time_invalid"),
    ({"truck_no": b"\xff\xfe"}, "encoding_error"),
])
def test_a_bad_extra_quarantines_the_row_with_its_reason(trucks, make_source, store, clock, log, fields, reason):  # noqa: F811
    trucks.add("bad", **fields)
    trucks.add("good", truck_no="沪A1")
    counts = sync.sync_source(store, "wms", extras_source(make_source, trucks), clock=clock, log=log, batch_size=10)
    assert counts["quarantined_by_reason"] == {reason: 1}
    with store.read() as conn:
        assert [r.ref for r in conn.execute(select(quarantine))] == ["bad"]
        assert [r.line_key for r in conn.execute(select(movements))] == ["good"]


def test_extras_are_stored_and_a_changed_extra_is_a_new_revision(trucks, make_source, store, clock, log):  # noqa: F811
    trucks.add("L1", truck_no="沪A1", gross_weight="10")
    source = extras_source(make_source, trucks)
    sync.sync_source(store, "wms", source, clock=clock, log=log, batch_size=10)
    trucks.update("L1", gross_weight="11", changed_at="2025-03-01 10:00:00")
    counts = sync.sync_source(store, "wms", source, clock=clock, log=log, batch_size=10)
    assert counts["revised"] == 1
    with store.read() as conn:
        rows = conn.exec_driver_sql("SELECT revision, extra FROM movements ORDER BY revision").all()
    assert [(r[0], json.loads(r[1])) for r in rows] == [(1, {"vehicle_no": "沪A1", "gross_wt": "10"}),
                                                        (2, {"vehicle_no": "沪A1", "gross_wt": "11"})]


def test_turning_extras_on_changes_no_hash_of_a_row_without_them(trucks, make_source, store, clock, log):  # noqa: F811
    trucks.add("L1")
    sync.sync_source(store, "wms", make_source(trucks), clock=clock, log=log, batch_size=10)
    trucks.update("L1", changed_at="2025-03-01 10:00:00")  # re-read with extras on, none filled
    counts = sync.sync_source(store, "wms", extras_source(make_source, trucks), clock=clock, log=log, batch_size=10)
    assert (counts["unchanged"], counts.get("revised", 0)) == (1, 0)


def test_a_missing_extra_column_is_a_fatal_source_error(wms, make_source):  # noqa: F811
    from connector.errors import FatalSourceError

    wms.add("L1")
    with pytest.raises(FatalSourceError, match="truck_no"):
        make_source(wms, extra_columns={"vehicle_no": "truck_no"}).fetch(None, 10)


def test_extra_columns_accept_known_keys_and_plain_column_names_only(wms, make_source):  # noqa: F811
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="colour"):
        make_source(wms, extra_columns={"colour": "c"})
    with pytest.raises(ValidationError, match="not a column name"):
        make_source(wms, extra_columns={"vehicle_no": "t.truck_no"})


def test_a_profile_can_name_extra_columns(trucks, make_source, tmp_path):  # noqa: F811
    columns = ", ".join(f'{c} = "{c}"' for c in ("line_key", "changed_at", "occurred_at", "sku", "qty", "uom",
                                                 "movement_type", "doc_ref", "truck_no"))
    profile = tmp_path / "trucks.toml"
    profile.write_text(f'extra_columns = {{ vehicle_no = "truck_no" }}\n[[parts]]\nfrom = "moves"\n'
                       f'columns = {{ {columns} }}\n', encoding="utf-8")
    trucks.add("L1", truck_no="沪A1")
    [movement] = make_source(trucks, query=None, profile=str(profile)).fetch(None, 10).movements
    assert movement.extra == {"vehicle_no": "沪A1"}
