"""The InBox source on real folders: what it picks up, how it moves files, what its config accepts."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from adapters.declarations.inbox import InboxSource
from connector.errors import BadInputError, SourceError

FIXTURES = Path(__file__).parents[2] / "fixtures" / "customs"
INV211 = FIXTURES / "gx-customs-bridge" / "INV211.xml"


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    path = tmp_path / "Sas" / "InBox"
    path.mkdir(parents=True)
    return path


def source(inbox: Path, **overrides) -> InboxSource:
    settings = {"path": inbox, "timezone": "Asia/Shanghai", "settle_seconds": 0, **overrides}
    return InboxSource("inbox", InboxSource.Config(**settings))


def drop(inbox: Path, name: str, data: bytes | None = None) -> Path:
    path = inbox / name
    path.write_bytes(INV211.read_bytes() if data is None else data)
    return path


def test_config_without_timezone_is_refused(inbox):
    with pytest.raises(ValidationError, match="timezone"):
        InboxSource.Config(path=inbox)


def test_config_with_unknown_timezone_or_key_is_refused(inbox):
    with pytest.raises(ValidationError, match="unknown time zone"):
        InboxSource.Config(path=inbox, timezone="China/Beijing")
    with pytest.raises(ValidationError, match="extra"):
        InboxSource.Config(path=inbox, timezone="Asia/Shanghai", inbox_dir="x")


def test_config_with_unknown_encoding_is_refused(inbox):
    with pytest.raises(ValidationError, match="encoding"):
        InboxSource.Config(path=inbox, timezone="Asia/Shanghai", encoding="klingon")


def test_default_destinations_are_beside_the_inbox(inbox):
    adapter = source(inbox)
    assert adapter.processed == inbox.parent / "processed"
    assert adapter.failed_dir == inbox.parent / "failed"
    assert str(adapter.timezone) == "Asia/Shanghai"


def test_pending_yields_ready_files_sorted_by_name(inbox):
    for name in ("b.SAS", "a.INV", "c.INVT"):
        drop(inbox, name)
    assert [p.name for p in source(inbox).pending()] == ["a.INV", "b.SAS", "c.INVT"]


def test_pending_skips_temporary_hidden_and_partial_files_and_folders(inbox):
    for name in ("x.tmp", ".hidden.INV", "~lock.INV", "y.part", "z.xml.reason.txt", "real.INV"):
        drop(inbox, name)
    (inbox / "sub.INV").mkdir()
    assert [p.name for p in source(inbox).pending()] == ["real.INV"]


def test_pending_leaves_a_file_still_being_written_for_the_next_run(inbox):
    fresh = drop(inbox, "fresh.INV")
    old = drop(inbox, "old.INV")
    past = time.time() - 60
    os.utime(old, (past, past))
    assert [p.name for p in source(inbox, settle_seconds=30).pending()] == ["old.INV"]
    assert fresh.exists()


def test_pending_honours_include_patterns(inbox):
    drop(inbox, "a.INV")
    drop(inbox, "b.zip")
    assert [p.name for p in source(inbox, include=("*.INV",)).pending()] == ["a.INV"]


def test_pending_on_a_missing_inbox_is_a_source_error(tmp_path):
    with pytest.raises(SourceError, match="cannot list InBox"):
        list(source(tmp_path / "gone").pending())


def test_read_parses_the_file_with_its_name(inbox):
    path = drop(inbox, "CUS0000E0100002024072707410800877650546.INV")
    doc = source(inbox).read(path)
    assert doc.name == path.name
    assert doc.message_type == "INV211"
    assert doc.rows["BwsDt"][0]["gdsSeqno"] == "2255"


def test_read_refuses_a_file_over_the_cap_without_reading_it(inbox):
    path = drop(inbox, "big.INV")
    with pytest.raises(BadInputError) as caught:
        source(inbox, max_file_bytes=100).read(path)
    assert caught.value.reason == "too_large"


def test_read_of_a_vanished_file_is_unreadable(inbox):
    with pytest.raises(BadInputError) as caught:
        source(inbox).read(inbox / "gone.INV")
    assert (caught.value.reason, "gone.INV" in caught.value.detail) == ("unreadable", True)


def test_done_moves_the_file_to_processed_creating_the_folder(inbox):
    path = drop(inbox, "a.INV")
    adapter = source(inbox)
    adapter.done(path)
    assert not path.exists()
    assert (adapter.processed / "a.INV").read_bytes() == INV211.read_bytes()


def test_done_never_overwrites_a_processed_file_of_the_same_name(inbox):
    adapter = source(inbox)
    adapter.processed.mkdir()
    (adapter.processed / "a.INV").write_bytes(b"earlier")
    (adapter.processed / "a_1.INV").write_bytes(b"earlier too")
    adapter.done(drop(inbox, "a.INV"))
    assert (adapter.processed / "a.INV").read_bytes() == b"earlier"
    assert (adapter.processed / "a_1.INV").read_bytes() == b"earlier too"
    assert (adapter.processed / "a_2.INV").read_bytes() == INV211.read_bytes()


def test_failed_moves_the_file_aside_with_a_reason_file(inbox):
    path = drop(inbox, "bad.INV", b"garbage")
    adapter = source(inbox, failed_path=inbox.parent / "rejected")
    adapter.failed(path, "not_xml: bad.INV: does not start with '<'")
    assert not path.exists()
    assert (inbox.parent / "rejected" / "bad.INV").read_bytes() == b"garbage"
    note = (inbox.parent / "rejected" / "bad.INV.reason.txt").read_text(encoding="utf-8")
    assert "reason: not_xml: bad.INV" in note
    assert f"sha256: {hashlib.sha256(b'garbage').hexdigest()}" in note


def test_failed_twice_with_one_name_keeps_both_files_and_reasons(inbox):
    adapter = source(inbox)
    adapter.failed(drop(inbox, "bad.INV", b"one"), "not_xml: one")
    adapter.failed(drop(inbox, "bad.INV", b"two"), "not_xml: two")
    assert (adapter.failed_dir / "bad.INV").read_bytes() == b"one"
    assert (adapter.failed_dir / "bad_1.INV").read_bytes() == b"two"
    assert "two" in (adapter.failed_dir / "bad_1.INV.reason.txt").read_text(encoding="utf-8")


def test_done_of_a_vanished_file_is_a_source_error_and_leaves_no_placeholder(inbox):
    adapter = source(inbox)
    with pytest.raises(SourceError, match="cannot move"):
        adapter.done(inbox / "gone.INV")
    assert list(adapter.processed.iterdir()) == []


def test_check_describes_the_folders_and_pending_count(inbox):
    drop(inbox, "a.INV")
    description = source(inbox).check()
    assert f"InBox {inbox} (1 pending)" in description
    assert str(inbox.parent / "processed") in description


def test_check_on_a_missing_inbox_is_a_source_error(tmp_path):
    with pytest.raises(SourceError, match="is not a folder"):
        source(tmp_path / "gone").check()


def test_check_with_a_destination_that_is_a_file_is_a_source_error(inbox):
    (inbox.parent / "processed").write_text("not a folder")
    with pytest.raises(SourceError, match="processed is not a folder"):
        source(inbox).check()



def test_done_across_file_systems_falls_back_to_a_reserved_move(inbox, tmp_path):
    import shutil
    import tempfile

    other = Path(tempfile.mkdtemp(dir="/dev/shm")) if Path("/dev/shm").is_dir() else None
    if other is None or os.stat(other).st_dev == os.stat(inbox).st_dev:
        pytest.skip("needs a second file system (/dev/shm) to make hard links impossible")
    try:
        (other / "processed").mkdir()
        (other / "processed" / "a.INV").write_bytes(b"older")
        adapter = InboxSource("inbox", InboxSource.Config(path=inbox, timezone="Asia/Shanghai", settle_seconds=0,
                                                          processed_path=other / "processed"))
        adapter.done(drop(inbox, "a.INV", b"<x/>"))
        assert (other / "processed" / "a_1.INV").read_bytes() == b"<x/>" and not (inbox / "a.INV").exists()
        assert (other / "processed" / "a.INV").read_bytes() == b"older"
    finally:
        shutil.rmtree(other)
