"""Wires a validated configuration into running stages: the one place adapters are built.

Each stage (`sync`, `compare`, `deliver`) is a function of the App; the CLI one-shots and the
daemon's scheduled jobs call the same functions, and each run is recorded in the hash-chained
run log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog

from connector import _progress, alerts, declarations, ledger, runlog, sync
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
        if self.store.migrated:  # an upgrade (or a new store): the start took that long for this
            self.log.info("store_migrated", store=self.store.describe(), **self.store.migrated)
        self._adapters: dict[tuple[str, str], Any] = {}

    def adapter(self, kind: str, name: str):
        """Build (once) the adapter of a config section: sources, declarations or sinks."""
        key = (kind, name)
        if key not in self._adapters:
            cls, settings = self.loaded.adapters[key]
            extra = {"clock": self.clock} if _takes_clock(cls) else {}  # sources, declarations and sinks
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
            pulled = sync.sync_source(self.store, name, adapter, clock=self.clock, log=self.log, batch_size=batch_size,
                                      progress=_progress.for_terminal(name, adapter))  # a bar on a terminal only
        except SourceError as exc:
            self.log.error("source_failed", source=name, error=str(exc))
            pulled = {"error": str(exc)}
            if getattr(exc, "new", False):  # sync.SourceHalted: alert once, on the run that halted it
                alerts.source_halted(self.store, source=name, message=str(exc), routes=self.routes(),
                                     site=self.config.connector.site, now=self.clock.now(),
                                     settings=self.config.delivery)
        posted = ledger.post_source(self.store, name, self.loaded.mappings[name], clock=self.clock, log=self.log)
        for stage, counts in (("source", pulled), ("mapping", posted)):
            self._alert(stage, name, counts.get("quarantined_by_reason", {}))
        return {"pulled": pulled, "ledger": posted}

    def _alert(self, stage: str, source: str, reasons: dict[str, int]) -> None:
        alerts.quarantined(self.store, stage=stage, source=source, reasons=reasons, routes=self.routes(),
                           site=self.config.connector.site, now=self.clock.now(), settings=self.config.delivery)

    def reconcile(self) -> dict[str, Any]:
        """Ledger vs the WMS's on-hand snapshot, for each source that has one (connector/reconcile.py)."""
        return self._recorded("reconcile", self._reconcile)

    def _reconcile(self) -> dict[str, Any]:
        from connector.reconcile import reconcile_source

        counts: dict[str, Any] = {}
        for name in self.config.sources:
            adapter = self.adapter("sources", name)
            if getattr(adapter, "snapshot_query", None):
                counts[f"source:{name}"] = reconcile_source(
                    self.store, name, adapter, self.loaded.mappings[name], routes=self.routes(),
                    site=self.config.connector.site, clock=self.clock, log=self.log)
        return counts

    def compare(self, rebuild: bool = False) -> dict[str, Any]:
        return self._recorded("compare", lambda: compare(
            self.store, self.config.compare, routes=self.routes(), site=self.config.connector.site,
            clock=self.clock, log=self.log, rebuild=rebuild))

    def deliver(self) -> dict[str, Any]:
        sinks = {name: self.adapter("sinks", name) for name in self.config.sinks}
        alerter = alerts.Alerter(self.routes(), self.config.connector.site, self.config.delivery, self.log)
        return self._recorded("deliver", lambda: relay(self.store, sinks, self.config.delivery, self.clock, self.log,
                                                       alerter=alerter))

    def snapshot(self) -> dict[str, Any]:
        """Queue this period's per-item balance snapshot (`snapshot.balance`) to the sinks routed it."""
        from connector.push_document import queue_snapshot

        return self._recorded("snapshot", lambda: {"queued": queue_snapshot(
            self.store, routes=self.routes(), site=self.config.connector.site,
            formula=self.config.compare.balance_formula, now=self.clock.now(),
            every_seconds=self.config.delivery.snapshot_seconds)})

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

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        for adapter in self._adapters.values():
            adapter.close() if hasattr(adapter, "close") else None
        self.store.close()


def with_app(loaded: Loaded, work) -> int:
    """Run a one-shot command `work(app)` with an App that is closed afterwards."""
    with App(loaded) as app:
        return work(app)


def _takes_clock(cls: type) -> bool:
    import inspect

    return "clock" in inspect.signature(cls.__init__).parameters
