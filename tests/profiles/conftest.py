"""Run the connector on a WMS fixture with only a profile and a mapping file (no query, no Python)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from connector import logs
from connector.app import App
from connector.config.load import load
from connector.store.tables import ledger_entries, movements
from tests.profiles.loaders import FIXTURES


class Site:
    """A config file naming one profile-driven source; `app` runs it; helpers read the outcome."""

    def __init__(self, folder: Path, profile: str, url: str, mapping: str, password: str | None = None,
                 settings: tuple[str, ...] = ()):
        """`url` is a SQLAlchemy URL, or an ODBC connection string when it starts with `Driver=`;
        `settings`: more TOML lines of the source (e.g. 'cursor = "snapshot"')."""
        where = f'odbc = "{url}"' if url.startswith("Driver=") else f'url = "{url}"'
        lines = ["[connector]", 'site = "前海保税仓"', "[store]", f'url = "sqlite:///{folder / "state.db"}"',
                 "[sources.wms]", 'adapter = "sql"', f'profile = "{profile}"', where,
                 f'mapping = "{FIXTURES / "mappings" / mapping}"', *settings]
        if password is not None:
            lines.append('password = "${WMS_PW}"')
        self.path = folder / "config.toml"
        self.path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        logs.configure("info", "json")  # as the CLI and the daemon do: log lines on stderr, stdout for output
        self.app = App(load(self.path, environ={"WMS_PW": password or ""}))

    def stock(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        with self.app.store.read() as conn:
            for mtno, qty in conn.execute(select(ledger_entries.c.gds_mtno, ledger_entries.c.dcl_qty)):
                totals[mtno] += qty
        return dict(totals)

    def entries(self, doc_ref: str) -> list:
        with self.app.store.read() as conn:
            return list(conn.execute(select(ledger_entries).where(ledger_entries.c.doc_ref == doc_ref)
                                     .order_by(ledger_entries.c.id)))

    def revisions(self, line_key: str) -> list[int]:
        with self.app.store.read() as conn:
            return [r.revision for r in conn.execute(select(movements).where(movements.c.line_key == line_key))]


@pytest.fixture
def make_site(tmp_path):
    sites: list[Site] = []

    def make(*args, **kwargs) -> Site:
        sites.append(Site(tmp_path, *args, **kwargs))
        return sites[-1]

    yield make
    for site in sites:
        site.app.close()


STORY_END = {"NB-14-I7": Decimal(73), "SSD-1TB": Decimal(382), "CU-WIRE-2.5": Decimal("1247.0")}
