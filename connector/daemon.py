"""`connector run`: APScheduler 3.x runs sync, compare and deliver; systemd is told how it goes.

Each stage is one job with `max_instances=1`, `coalesce=True` and an explicit misfire grace, so a
slow run is never stacked. The main thread only waits: it pings the systemd watchdog after a job
has really finished since the last ping (never from a free-running loop), re-reads the
configuration on SIGHUP (the new one must validate fully, else the old one stays) and on SIGTERM
stops taking new runs and waits for the running ones.
"""

from __future__ import annotations

import signal
import threading
import time

import structlog
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from connector import notify
from connector.app import App
from connector.config.load import Loaded, load
from connector.reconcile import every_seconds
from connector.errors import ConfigError

log = structlog.get_logger("connector.daemon")
STAGES = ("sync", "compare", "deliver")


class Daemon:
    def __init__(self, loaded: Loaded, config_path: str):
        self.config_path = config_path
        self.app = App(loaded)
        self.stop = threading.Event()
        self.reload = threading.Event()
        self.ticked = threading.Event()
        self.scheduler = BackgroundScheduler(executors={"default": ThreadPoolExecutor(len(STAGES))},
                                             timezone="UTC")
        self.scheduler.add_listener(self._on_job, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)

    def schedule(self) -> None:
        every = self.app.config.schedule
        for stage in STAGES:
            self.scheduler.add_job(self._run_stage, "interval", args=[stage], id=stage,
                                   seconds=getattr(every, f"{stage}_seconds"), max_instances=1, coalesce=True,
                                   misfire_grace_time=every.misfire_grace_seconds, replace_existing=True,
                                   next_run_time=_now())
        reconcile = every_seconds(self.app)
        if reconcile:  # sources: ledger vs each WMS's on-hand snapshot (hard deletes, omitted movements)
            self.scheduler.add_job(self._run_stage, "interval", args=["reconcile"], id="reconcile", seconds=reconcile,
                                   max_instances=1, coalesce=True, misfire_grace_time=every.misfire_grace_seconds,
                                   replace_existing=True)
        snapshot = self.app.config.delivery.snapshot_seconds
        if snapshot:  # delivery: one balance snapshot per period; asking more often queues nothing new
            self.scheduler.add_job(self._run_stage, "interval", args=["snapshot"], id="snapshot",
                                   seconds=min(snapshot, 600), max_instances=1, coalesce=True,
                                   misfire_grace_time=every.misfire_grace_seconds, replace_existing=True,
                                   next_run_time=_now())

    def _run_stage(self, stage: str) -> None:
        try:
            getattr(self.app, stage)()
        except Exception:
            log.exception("stage_failed", stage=stage)
            raise

    def _on_job(self, event) -> None:
        self.ticked.set()

    def serve(self) -> int:
        self.schedule()
        self.scheduler.start()
        notify.ready()
        log.info("daemon_started", stages=list(STAGES))
        interval = (notify.watchdog_interval() or 60.0) / 2
        while not self.stop.wait(min(interval, 5.0)):
            self._heartbeat()
            if self.reload.is_set():
                self._reload()
        return self._shutdown()

    def _heartbeat(self) -> None:
        if self.ticked.is_set():
            self.ticked.clear()
            notify.watchdog()

    def _reload(self) -> None:
        self.reload.clear()
        notify.reloading()
        try:
            loaded = load(self.config_path)
        except ConfigError as exc:
            log.error("reload_refused_config_invalid", problems=exc.problems)
        else:
            self.scheduler.pause()
            old, self.app = self.app, App(loaded)
            old.close()
            self.schedule()
            self.scheduler.resume()
            log.info("config_reloaded")
        notify.ready()

    def _shutdown(self) -> int:
        notify.stopping()
        log.info("daemon_stopping")
        self.scheduler.shutdown(wait=True)
        self.app.close()
        log.info("daemon_stopped")
        return 0

    def install_signals(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self.stop.set())
        signal.signal(signal.SIGINT, lambda *_: self.stop.set())
        signal.signal(signal.SIGHUP, lambda *_: self.reload.set())


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def run_daemon(loaded: Loaded, config_path: str) -> int:
    daemon = Daemon(loaded, config_path)
    daemon.install_signals()
    started = time.monotonic()
    code = daemon.serve()
    log.info("daemon_exit", seconds=round(time.monotonic() - started, 1))
    return code
