"""Versioned schema migrations (Alembic), run from code; an unknown newer version is refused."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from connector.errors import SchemaVersionError

SCRIPTS = Path(__file__).with_name("migrations")


def alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(SCRIPTS))
    return cfg


def known_revisions() -> set[str]:
    scripts = ScriptDirectory.from_config(alembic_config())
    return {rev.revision for rev in scripts.walk_revisions()}


def head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the store to the newest schema this connector knows; refuse one it does not know."""
    found = current(engine)
    if found is not None and found not in known_revisions():
        raise SchemaVersionError(
            f"state store schema version {found!r} is unknown to this connector (newest known: "
            f"{head()!r}); it was written by a newer release. Upgrade the connector; the store is untouched."
        )
    if found == head():
        return
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
