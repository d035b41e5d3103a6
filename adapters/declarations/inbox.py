"""Declaration source: the Single Window client's InBox folder (DOMAIN.md §4.1).

The client (a Windows desktop program) writes customs receipts and its own import results
(`Successed_*` / `Failed_*`) as XML or zip files into `<imp-path>/Sas/InBox`; this adapter reads them, usually over a share mounted on the
connector's host. Files are only read here; the ingestion stage commits their rows and then calls
`done` (move to `processed`) or `failed` (move to `failed` with a `.reason.txt` beside it), so
the InBox holds exactly the files not yet dealt with. A moved file never overwrites another: a
name already taken gets a `_1`, `_2`, ... suffix.
"""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from adapters.declarations import wire
from adapters.declarations._common import EvidenceSettings
from connector.abc import DeclarationDocument, DeclarationSource
from connector.clock import Clock, SystemClock
from connector.config.schema import check_encoding, check_timezone
from connector.errors import BadInputError, RetryableSourceError, SourceError


class InboxSource(DeclarationSource):
    """Reads customs receipt files from a Single Window client InBox."""

    class Config(EvidenceSettings):
        path: Path = Field(description="the client's InBox folder, e.g. <imp-path>/Sas/InBox")
        processed_path: Path | None = Field(
            default=None, description="where ingested files go; default: `processed` beside the "
            "InBox (<path>/../processed), outside the folder the client writes to")
        failed_path: Path | None = Field(
            default=None, description="where unusable files go, each with <file>.reason.txt; "
            "default: `failed` beside the InBox (<path>/../failed)")
        timezone: str = Field(description="zone of the wall-clock times in the files; customs "
                              "sends Asia/Shanghai. Required: a wrong zone shifts every time")
        encoding: str = Field(default="utf-8", description="text encoding of files whose XML "
                              "declaration names none (a declared encoding always wins)")
        max_file_bytes: int = Field(default=wire.DEFAULT_MAX_BYTES, ge=1,
                                    description="larger files are refused unread (default 20 MiB)")
        include: tuple[str, ...] = Field(default=("*",), description="file name patterns to read")
        exclude: tuple[str, ...] = Field(
            default=(".*", "~*", "*.tmp", "*.part", "*.partial", "*.crdownload", "*.reason.txt"),
            description="file name patterns never read: hidden, temporary, partly written")
        settle_seconds: float = Field(default=5, ge=0, description="a file modified less than this "
                                      "long ago may still be being written: leave it for the next run")

        _tz = field_validator("timezone")(check_timezone)
        _enc = field_validator("encoding")(check_encoding)

    def __init__(self, name: str, config: InboxSource.Config, clock: Clock | None = None):
        self.name = name
        self.config = config
        self.clock = clock or SystemClock()  # stamps failed_at; `settle_seconds` compares real file mtimes
        self.timezone = ZoneInfo(config.timezone)
        self.inbox = config.path
        self.processed = config.processed_path or config.path.parent / "processed"
        self.failed_dir = config.failed_path or config.path.parent / "failed"
        self.raw_retention_days = config.raw_retention_days

    def pending(self) -> Iterator[Path]:
        """Files ready to read, sorted by name (customs names sort by send time)."""
        try:
            entries = sorted(self.inbox.iterdir(), key=lambda p: p.name)
        except OSError as exc:
            raise RetryableSourceError(f"{self.name}: cannot list InBox {self.inbox}: {exc}") from exc
        now = time.time()
        return iter([p for p in entries if self._ready(p, now)])

    def _ready(self, path: Path, now: float) -> bool:
        name = path.name
        if not any(fnmatch.fnmatchcase(name, pat) for pat in self.config.include):
            return False
        if any(fnmatch.fnmatchcase(name, pat) for pat in self.config.exclude):
            return False
        try:
            stat = path.stat()
        except OSError:  # vanished between listing and stat: not ours to handle
            return False
        return path.is_file() and now - stat.st_mtime >= self.config.settle_seconds

    def read(self, handle: Path) -> DeclarationDocument:
        """Parse one file; the size is checked before a byte of it is read."""
        data = self._read_capped(handle)
        return wire.parse(data, handle.name, max_bytes=self.config.max_file_bytes,
                          encoding=self.config.encoding)

    def _read_capped(self, path: Path) -> bytes:
        limit = self.config.max_file_bytes
        try:
            size = path.stat().st_size
            if size > limit:
                raise BadInputError("too_large", f"{path.name}: {size} bytes, limit {limit}")
            with path.open("rb") as f:
                return f.read(limit + 1)  # a file still growing is caught by parse's own check
        except OSError as exc:
            raise BadInputError("unreadable", f"{path.name}: {exc.strerror or exc}") from exc

    def done(self, handle: Path) -> None:
        self._move(handle, self.processed)

    def failed(self, handle: Path, reason: str) -> None:
        """Move the file aside and write why (with its hash, for the audit trail) beside it."""
        target = self._move(handle, self.failed_dir)
        try:
            note = (f"reason: {reason}\nfile: {handle.name}\nsha256: {_sha256(target)}\n"
                    f"failed_at: {self.clock.now().isoformat(timespec='seconds')}\n")
            target.with_name(target.name + ".reason.txt").write_text(note, encoding="utf-8")
        except OSError as exc:
            raise RetryableSourceError(f"{self.name}: cannot write reason for {target}: {exc}") from exc

    def _move(self, path: Path, folder: Path) -> Path:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RetryableSourceError(f"{self.name}: cannot use {folder}: {exc}") from exc
        try:
            moved = _link_move(folder, path)
        except OSError as exc:
            raise RetryableSourceError(f"{self.name}: cannot move {path} to {folder}: {exc}") from exc
        if moved is not None:
            return moved
        try:
            target = _reserve(folder, path.name)
        except OSError as exc:
            raise RetryableSourceError(f"{self.name}: cannot use {folder}: {exc}") from exc
        try:
            shutil.move(str(path), str(target))
        except OSError as exc:
            target.unlink(missing_ok=True)  # our empty placeholder, never someone's file
            raise RetryableSourceError(f"{self.name}: cannot move {path} to {folder}: {exc}") from exc
        return target

    def check(self) -> str:
        """Can the InBox be read and both destination folders be written (or created)?"""
        problems = [p for p in (_readable(self.inbox), _writable(self.processed),
                                _writable(self.failed_dir)) if p]
        if problems:
            raise SourceError(f"{self.name}: " + "; ".join(problems))
        return (f"InBox {self.inbox} ({len(list(self.pending()))} pending), "
                f"processed {self.processed}, failed {self.failed_dir}")


def _candidates(folder: Path, name: str) -> Iterator[Path]:
    stem, suffix = os.path.splitext(name)
    for n in range(10_000):
        yield folder / (name if n == 0 else f"{stem}_{n}{suffix}")


def _link_move(folder: Path, path: Path) -> Path | None:
    """Move by hard link + unlink: atomic, never replaces a file, no placeholder to create.

    None when the folders cannot hard-link (another file system, a share without links): the
    caller then reserves a name and moves.
    """
    for candidate in _candidates(folder, path.name):
        try:
            os.link(path, candidate)
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                return None
            raise
        path.unlink()
        return candidate
    raise FileExistsError(f"no free name for {path.name} in {folder}")


def _reserve(folder: Path, name: str) -> Path:
    """Claim a free name by creating it exclusively; the move then replaces only our placeholder."""
    for candidate in _candidates(folder, name):
        try:
            with candidate.open("xb"):
                return candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"no free name for {name} in {folder}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _readable(folder: Path) -> str | None:
    if not folder.is_dir():
        return f"InBox {folder} is not a folder"
    return None if os.access(folder, os.R_OK | os.X_OK) else f"InBox {folder} is not readable"


def _writable(folder: Path) -> str | None:
    """A missing folder is fine if it can be created (its nearest existing parent is writable)."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        return f"{folder} is not a folder"
    return None if os.access(probe, os.W_OK | os.X_OK) else f"{folder} is not writable"
