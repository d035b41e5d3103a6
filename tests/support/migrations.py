"""Moving an unmigrated store engine to a given Alembic revision, for upgrade/downgrade tests."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from connector.config.secrets import Secret
from connector.store import migrate


@dataclass(frozen=True)
class Target:
    """An engine on an empty store database, and what `Store.open` needs to open the same one."""

    engine: Engine
    url: str
    password: Secret | None


def step_to(engine: Engine, step, revision: str) -> None:
    """`step` is alembic.command.upgrade or .downgrade; runs in one transaction on `engine`."""
    with engine.begin() as conn:
        cfg = migrate.alembic_config()
        cfg.attributes["connection"] = conn
        step(cfg, revision)
