"""Zipped messages (DOMAIN.md §4.1: the client exchanges a zip holding one XML), opened safely.

A zip is untrusted like the XML inside it: the member count, the declared and the actual
uncompressed size are capped before and while reading (a zip bomb stops at the cap), encrypted
members and nested zips are refused, and every problem is a BadInputError naming the file.
"""

from __future__ import annotations

import io
import zipfile
import zlib

from connector.errors import BadInputError

ZIP_MAGIC = b"PK\x03\x04"
MAX_MEMBERS = 16


def is_zip(data: bytes) -> bool:
    return data.startswith(ZIP_MAGIC)


def unzip_one(data: bytes, name: str, max_bytes: int) -> tuple[str, bytes]:
    """(member name, member bytes) of the single message file inside the zip."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise BadInputError("bad_zip", f"{name}: {exc}") from None
    if len(members) != 1:
        raise BadInputError("bad_zip", f"{name}: {len(members)} files inside, expected exactly one message")
    return members[0].filename, _read_member(archive, members[0], name, max_bytes)


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, name: str, max_bytes: int) -> bytes:
    where = f"{name}!{member.filename}"
    if member.flag_bits & 0x1:
        raise BadInputError("bad_zip", f"{where}: encrypted")
    if member.file_size > max_bytes:
        raise BadInputError("too_large", f"{where}: {member.file_size} bytes unpacked, limit {max_bytes}")
    try:
        with archive.open(member) as stream:
            data = stream.read(max_bytes + 1)
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, ValueError, OSError,
            EOFError) as exc:
        raise BadInputError("bad_zip", f"{where}: {type(exc).__name__}: {exc}") from None
    if len(data) > max_bytes:
        raise BadInputError("too_large", f"{where}: more than {max_bytes} bytes unpacked")
    if is_zip(data):
        raise BadInputError("bad_zip", f"{where}: a zip inside a zip")
    return data
