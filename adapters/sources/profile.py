"""WMS profiles: a TOML file that says how to read one WMS, so a new WMS needs no Python.

A profile (`mappings/profiles/<name>.toml`, or any path) holds defaults for the source section
(`timezone`, `encoding`, `cursor`, `lag_seconds`, ...) and one or more `[[parts]]`. Each part is
one movement table: `from` (tables and joins), `where`, a column map (the connector's column name
-> a SQL expression of the WMS), an optional `line_key_prefix` (several tables in one source) and
`[parts.movement_types]` (WMS value of the `movement_type` expression -> the code the item
mapping knows). Parts are joined with UNION ALL and compiled for the source's SQL dialect, so
one profile serves SQLite, MySQL and PostgreSQL when its expressions are portable; a part may
override them per dialect (`[parts.dialect.mysql]`). `[snapshot]` is the WMS's on-hand table for
the reconciliation (`connector/reconcile.py`). Unknown movement-type values pass through
unchanged, so the item mapping quarantines them (`unknown_movement_type`): never a default.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from sqlalchemy import (
    String,
    case,
    cast,
    literal,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy.engine import Dialect

from adapters.sources._decode import OPTIONAL, REQUIRED

PROFILE_DIR = Path(__file__).resolve().parents[2] / "mappings" / "profiles"
SOURCE_DEFAULTS = ("timezone", "encoding", "cursor", "lag_seconds", "overlap_seconds", "overlap_every_seconds",
                   "cap_at_open_transactions", "batch_size", "extra_columns")
EXTRA_COLUMNS = ("row_version",)


class ProfileError(ValueError):
    """A profile that cannot be used; the message names the file and the key."""


def profile_path(name: str) -> Path:
    """A bare name is a file in mappings/profiles; anything with a slash or suffix is a path."""
    if "/" in name or name.endswith(".toml"):
        return Path(name)
    return PROFILE_DIR / f"{name}.toml"


def load_profile(name: str) -> dict[str, Any]:
    path = profile_path(name)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        known = ", ".join(sorted(p.stem for p in PROFILE_DIR.glob("*.toml")))
        raise ProfileError(f"no profile {name!r} ({path}); known: {known}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: {exc}") from None
    _check(path, data)
    return data


def _check(path: Path, data: dict[str, Any]) -> None:
    parts = data.get("parts")
    if not isinstance(parts, list) or not parts:
        raise ProfileError(f"{path}: needs at least one [[parts]]")
    for n, part in enumerate(parts):
        missing = [c for c in REQUIRED if c not in part.get("columns", {})]
        if "from" not in part or missing:
            raise ProfileError(f"{path}: parts[{n}] needs `from` and columns {', '.join(missing) or ''}".rstrip())


def source_defaults(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data[k] for k in SOURCE_DEFAULTS if k in data}


def render_query(data: dict[str, Any], dialect: Dialect) -> str:
    """The profile's movement query as one SELECT in the given dialect."""
    present = {c for part in data["parts"] for c in part["columns"]}
    names = REQUIRED + tuple(c for c in OPTIONAL + EXTRA_COLUMNS if c in present)
    names += tuple(sorted({c.lower() for c in data.get("extra_columns", {}).values()} & present - set(names)))
    selects = [_part_select(part, dialect.name, names) for part in data["parts"]]
    query = selects[0] if len(selects) == 1 else union_all(*selects)
    return _sql(query, dialect)


def render_snapshot(data: dict[str, Any], dialect: Dialect) -> str | None:
    """The on-hand snapshot query (columns sku, qty, uom), or None when the profile has none."""
    snap = data.get("snapshot")
    if not snap:
        return None
    snap = {**snap, **snap.get("dialect", {}).get(dialect.name, {})}
    cols = [literal_column(snap["columns"][c]).label(c) for c in ("sku", "qty", "uom")]
    stmt = select(*cols).select_from(text(snap["from"]))
    if snap.get("where"):
        stmt = stmt.where(text(snap["where"]))
    return _sql(stmt, dialect)


def _sql(statement, dialect: Dialect) -> str:
    """Compiled SQL text; `%` un-doubled, since the adapter wraps it in text() that doubles it again."""
    sql = str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    return sql.replace("%%", "%") if dialect.paramstyle in ("format", "pyformat") else sql


def _part_select(part: dict[str, Any], dialect_name: str, names: tuple[str, ...]):
    """One part's SELECT; a column another part has and this one lacks is NULL (UNION needs both)."""
    part = {**part, **part.get("dialect", {}).get(dialect_name, {})}
    columns = {**part["columns"], **part.get("dialect_columns", {}).get(dialect_name, {})}
    exprs = [_column(name, columns.get(name, "NULL"), part).label(name) for name in names]
    stmt = select(*exprs).select_from(text(part["from"]))
    if part.get("where"):
        stmt = stmt.where(text(part["where"]))
    return stmt


def _column(name: str, expression: str, part: dict[str, Any]):
    expr = literal_column(f"({expression})")
    if name == "line_key" and part.get("line_key_prefix"):
        return literal(part["line_key_prefix"]) + cast(expr, String)
    if name == "movement_type" and part.get("movement_types"):
        return case(dict(part["movement_types"]), value=expr, else_=cast(expr, String))
    return expr
