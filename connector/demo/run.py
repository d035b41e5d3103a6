"""`connector demo`: the whole chain on a generated bonded warehouse, with nothing to install.

It writes a month of WMS movements (SQLite), the item mapping, an InBox of customs receipts and a
config file into a fresh work folder, starts a local HTTP receiver standing in for the supervision
platform and the alert channel, then runs sync, compare and deliver exactly as the daemon does
and prints what each stage did. The webhook secret is generated for the run and given to the
config by reference (`${CONNECTOR_DEMO_WEBHOOK_SECRET}`), never written to a file.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from connector.app import App
from connector.clock import FixedClock
from connector.config.load import load
from connector.demo import report
from connector.demo.inbox import InboxFiles, write_inbox
from connector.demo.receiver import DemoReceiver
from connector.demo.scenario import Doc, build_documents
from connector.demo.warehouse import QUERY, WmsStats, mapping_toml, write_wms

SECRET_ENV = "CONNECTOR_DEMO_WEBHOOK_SECRET"
MARKER = ".connector-demo"
SITE = "demo-zone-warehouse"


class DemoFolderError(Exception):
    """The work folder exists and does not look like an earlier demo run: it is not wiped."""


@dataclass(frozen=True)
class Generated:
    workdir: Path
    docs: list[Doc]
    wms: WmsStats
    inbox: InboxFiles


def run_demo(workdir: Path, out: TextIO | None = None, now: datetime | None = None) -> int:
    """Generate the demo warehouse in `workdir` (wiped first), run every stage, print a report to
    `out` (default: the current sys.stdout). `now` fixes the clock; the month ends four days before it.
    """
    out, now = out or sys.stdout, _utc(now)
    started = time.monotonic()
    try:
        workdir = prepare(workdir)
    except DemoFolderError as exc:
        print(f"connector demo: {exc}", file=sys.stderr)
        return 1
    generated = generate(workdir, now)
    with webhook_secret(), DemoReceiver() as receiver:
        config_path = workdir / "config.toml"
        config_path.write_text(config_toml(workdir, receiver.url), encoding="utf-8")
        counts, snapshot = run_chain(config_path, now)
        report.print_report(out, report.Run(generated, now, counts, snapshot, receiver.received(),
                                            time.monotonic() - started))
    return 0


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC).replace(microsecond=0)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


def prepare(workdir: Path) -> Path:
    """A fresh, empty work folder (an earlier demo run's folder is wiped; anything else is refused)."""
    workdir = workdir.expanduser().resolve()
    if workdir.exists():
        if not workdir.is_dir() or (any(workdir.iterdir()) and not (workdir / MARKER).is_file()):
            raise DemoFolderError(f"{workdir} exists and is not a demo work folder; not wiping it")
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / MARKER).write_text("created by `connector demo`; wiped on every run\n", encoding="utf-8")
    return workdir


def generate(workdir: Path, now: datetime) -> Generated:
    """The demo WMS database, its mapping and the InBox of customs receipts."""
    docs = build_documents(now)
    wms = write_wms(workdir / "wms.sqlite", docs)
    (workdir / "mapping.toml").write_text(mapping_toml(), encoding="utf-8")
    inbox = write_inbox(workdir / "InBox", docs)
    return Generated(workdir, docs, wms, inbox)


@contextmanager
def webhook_secret() -> Iterator[None]:
    """Set ${CONNECTOR_DEMO_WEBHOOK_SECRET} to a fresh secret for this run; restore it afterwards."""
    previous = os.environ.get(SECRET_ENV)
    os.environ[SECRET_ENV] = new_webhook_secret()
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(SECRET_ENV, None)
        else:
            os.environ[SECRET_ENV] = previous


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes (never printed or stored)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


CONFIG_TEMPLATE = """\
# Written by `connector demo`. Paths point into the demo work folder.
[connector]
site = {site}
timezone = "Asia/Shanghai"

[store]
url = {store_url}

[sources.wms]
adapter = "sql"
url = {wms_url}
timezone = "Asia/Shanghai"
encoding = "utf-8"
lag_seconds = 300
mapping = "mapping.toml"
query = \"\"\"
{query}
\"\"\"

[declarations.inbox]
adapter = "inbox"
path = {inbox}
processed_path = {processed}
failed_path = {failed}
timezone = "Asia/Shanghai"

[sinks.supervision]  # the supervision platform gets discrepancies only
adapter = "http_push"
url = {push_url}
allow_plaintext_loopback = true  # the demo receiver is http://127.0.0.1 on this host; real sinks use https://
events = ["discrepancy.*"]

[sinks.alerts]  # every event: discrepancies and quarantine alerts
adapter = "webhook"
url = {alerts_url}
allow_plaintext_loopback = true
secret = "${{{secret_env}}}"  # by reference; the demo sets it for its own run only
"""


def config_toml(workdir: Path, receiver_url: str) -> str:
    """The demo's config file: absolute paths into the work folder, secrets by reference only."""
    def q(value: object) -> str:
        return json.dumps(str(value), ensure_ascii=False)

    return CONFIG_TEMPLATE.format(
        site=q(SITE), store_url=q(f"sqlite:///{workdir / 'state.db'}"),
        wms_url=q(f"sqlite:///{workdir / 'wms.sqlite'}"), query=QUERY, inbox=q(workdir / "InBox"),
        processed=q(workdir / "processed"), failed=q(workdir / "failed"),
        push_url=q(receiver_url + "/"), alerts_url=q(receiver_url + "/alerts"), secret_env=SECRET_ENV)


def run_chain(config_path: Path, now: datetime) -> tuple[dict[str, Any], report.Snapshot]:
    """Load the config and run sync, compare and deliver once, as `connector run` would."""
    app = App(load(config_path), clock=FixedClock(now))
    try:
        counts = {"sync": app.sync(), "compare": app.compare(), "deliver": app.deliver()}
        with app.store.read() as conn:
            snapshot = report.snapshot(conn)
    finally:
        app.close()
    return counts, snapshot
