"""Wires a validated configuration into running stages: the one place adapters are built.

Each stage (`sync`, `compare`, `deliver`) is a function of the App; the CLI one-shots and the
daemon's scheduled jobs call the same functions, and each run is recorded in the hash-chained
run log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog

from connector import alerts, declarations, ledger, runlog, sync
from connector.clock import Clock, SystemClock
from connector.compare.engine import compare
from connector.config.load import Loaded
from connector.errors import SourceError
from connector.outbox import relay
from connector.store.engine import Store

DEFAULT_ROUTES = ["*"]


class App:
    def __init__(self, loaded: Loaded, *, clock: Clock | None = None, store: Store | None = None):
        self.loaded = loaded
        self.config = loaded.config
        self.clock = clock or SystemClock()
        self.log = structlog.get_logger("connector")
        self.store = store or Store.open(self.config.store.url, password=self.config.store.password,
                                         busy_timeout=self.config.store.busy_timeout_seconds)
        self._adapters: dict[tuple[str, str], Any] = {}

    def adapter(self, kind: str, name: str):
        """Build (once) the adapter of a config section: sources, declarations or sinks."""
        key = (kind, name)
        if key not in self._adapters:
            cls, settings = self.loaded.adapters[key]
            extra = {"clock": self.clock} if kind in ("sources", "sinks") and _takes_clock(cls) else {}
            self._adapters[key] = cls(name, settings, **extra)
        return self._adapters[key]

    def sync(self) -> dict[str, Any]:
        """Pull every WMS source, post its movements to the ledger, ingest declaration files."""
        return self._recorded("sync", self._sync)

    def _sync(self) -> dict[str, Any]:
        counts: dict[str, Any] = {}
        for name in self.config.sources:
            counts[f"source:{name}"] = self._sync_source(name)
        for name in self.config.declarations:
            adapter = self.adapter("declarations", name)
            ingested = declarations.ingest(self.store, name, adapter, self.clock, self.log)
            counts[f"declarations:{name}"] = ingested
            if ingested.get("failed"):
                self._alert("declaration", name, {"unreadable_file": ingested["failed"]})
        return counts

    def _sync_source(self, name: str) -> dict[str, Any]:
        adapter = self.adapter("sources", name)
        batch_size = getattr(adapter.config, "batch_size", 5000)
        try:
            pulled = sync.sync_source(self.store, name, adapter, clock=self.clock, log=self.log, batch_size=batch_size)
        except SourceError as exc:
            self.log.error("source_failed", source=name, error=str(exc))
            pulled = {"error": str(exc)}
        posted = ledger.post_source(self.store, name, self.loaded.mappings[name], clock=self.clock, log=self.log)
        for stage, counts in (("source", pulled), ("mapping", posted)):
            self._alert(stage, name, counts.get("quarantined_by_reason", {}))
        return {"pulled": pulled, "ledger": posted}

    def _alert(self, stage: str, source: str, reasons: dict[str, int]) -> None:
        alerts.quarantined(self.store, stage=stage, source=source, reasons=reasons, routes=self.routes(),
                           site=self.config.connector.site, now=self.clock.now())

    def compare(self) -> dict[str, Any]:
        return self._recorded("compare", lambda: compare(
            self.store, self.config.compare, routes=self.routes(), site=self.config.connector.site,
            clock=self.clock, log=self.log))

    def deliver(self) -> dict[str, Any]:
        sinks = {name: self.adapter("sinks", name) for name in self.config.sinks}
        return self._recorded("deliver", lambda: relay(self.store, sinks, self.config.delivery, self.clock, self.log))

    def routes(self) -> dict[str, list[str]]:
        return {name: self.loaded.events_for(name) for name in self.config.sinks}

    def _recorded(self, job: str, work) -> dict[str, Any]:
        started = self.clock.now()
        status, counts = "ok", {}
        try:
            counts = work()
            return counts
        except Exception as exc:
            status, counts = "failed", {"error": f"{type(exc).__name__}: {exc}"}
            raise
        finally:
            self._record(job, started, self.clock.now(), status, counts)

    def _record(self, job: str, started: datetime, finished: datetime, status: str, counts: dict) -> None:
        with self.store.begin() as conn:
            runlog.record(conn, job, started, finished, status, counts)

    def close(self) -> None:
        for adapter in self._adapters.values():
            adapter.close() if hasattr(adapter, "close") else None
        self.store.close()


def _takes_clock(cls: type) -> bool:
    import inspect

    return "clock" in inspect.signature(cls.__init__).parameters
