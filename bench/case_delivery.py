"""Delivery benchmarks: outbox -> relay -> a local HTTP receiver that answers 503 to 10 % of requests.

- deliver_msgs_per_s: a backlog of messages drained by the relay (SQLite store, one commit per
  outcome, retries with the same key), beside a baseline of bare httpx POSTs of the same bodies to
  the same receiver (no store, no faults) and their ratio.
- deliver_latency_p50_ms / _p99_ms: messages enqueued one by one (as the comparator does) while
  the relay polls every 20 ms; latency = receiver's first 2xx - commit of the outbox row. It is
  the latency the relay adds, without the `deliver_seconds` schedule interval.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import structlog

from adapters.sinks.http_push import HttpPushSink
from connector.clock import SystemClock
from connector.config.schema import DeliverySection
from connector.outbox import enqueue, relay
from connector.store.engine import Store

BACKLOG, STREAM, STREAM_PER_SECOND, FAULT_RATE = 2000, 600, 150, 0.10
SETTINGS = DeliverySection(batch_size=200, backoff_base_seconds=1, backoff_max_seconds=2, max_attempts=50,
                           circuit_failure_threshold=8)


class FaultyReceiver:
    """Answers 503 to FAULT_RATE of requests (seeded); records the first 2xx time of each key."""

    def __init__(self, fault_rate: float):
        self.rng, self.lock, self.fault_rate = random.Random(7), threading.Lock(), fault_rate
        self.delivered: dict[str, float] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/push"

    def _handler(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.lock:
                    fail = outer.rng.random() < outer.fault_rate
                    key = self.headers.get("Idempotency-Key", "").strip('"')
                    if not fail:
                        outer.delivered.setdefault(key, time.monotonic())
                self.send_response(503 if fail else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def _payload(n: int) -> dict:
    return {"schema": "bonded-connector/supervision", "event": "discrepancy.opened", "id": f"d{n}",
            "item": {"bwsNo": "T3111W000076", "gdsSeqno": n}, "dsmlQty": "-2"}


def _drain(store: Store, sink: HttpPushSink, pending: int) -> None:
    log, sent = structlog.get_logger("bench"), 0
    while sent < pending:
        sent += relay(store, {"push": sink}, SETTINGS, SystemClock(), log)["sent"]
        time.sleep(0.01)


def _quiet() -> None:
    """Only BENCH lines on stdout: the relay's per-message info/warning events are dropped."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))


def bench_throughput(tmp: Path) -> Iterator[str]:
    _quiet()
    receiver = FaultyReceiver(FAULT_RATE)
    store = Store.open(f"sqlite:///{tmp / 'state.db'}")
    sink = HttpPushSink("push", HttpPushSink.Config(url=receiver.url, retries=0, allow_plaintext_loopback=True))
    now = datetime.now(UTC)
    with store.begin() as conn:
        for n in range(BACKLOG):
            enqueue(conn, sink="push", event="discrepancy.opened", key=f"d{n}:1", discrepancy_id=f"d{n}",
                    payload=_payload(n), now=now, seq=1)
    started = time.perf_counter()
    _drain(store, sink, BACKLOG)
    seconds = time.perf_counter() - started
    baseline = _baseline(receiver.url)
    sink.close()
    store.close()
    receiver.stop()
    yield f"BENCH deliver_msgs_per_s {BACKLOG / seconds:.0f} msgs/s"
    yield f"BENCH deliver_baseline_bare_httpx_posts_per_s {baseline:.0f} msgs/s"
    yield f"BENCH deliver_ratio_to_bare_posts {BACKLOG / seconds / baseline:.4f} ratio"


def _baseline(url: str) -> float:
    """Bare POSTs of the same bodies through one httpx client to a receiver that never fails."""
    clean = FaultyReceiver(0.0)
    bodies = [str(_payload(n)).encode() for n in range(BACKLOG)]
    with httpx.Client(trust_env=False) as client:
        started = time.perf_counter()
        for n, body in enumerate(bodies):
            client.post(clean.url, content=body, headers={"Idempotency-Key": f'"{n}"'})
        seconds = time.perf_counter() - started
    clean.stop()
    return BACKLOG / seconds


def bench_latency(tmp: Path) -> Iterator[str]:
    _quiet()
    receiver = FaultyReceiver(FAULT_RATE)
    store = Store.open(f"sqlite:///{tmp / 'state.db'}")
    sink = HttpPushSink("push", HttpPushSink.Config(url=receiver.url, retries=0, allow_plaintext_loopback=True))
    queued: dict[str, float] = {}
    done = threading.Event()
    poller = threading.Thread(target=_poll, args=(store, sink, done))
    poller.start()
    for n in range(STREAM):
        with store.begin() as conn:
            mid = enqueue(conn, sink="push", event="discrepancy.opened", key=f"s{n}:1", discrepancy_id=f"s{n}",
                          payload=_payload(n), now=datetime.now(UTC), seq=1)
        queued[mid] = time.monotonic()
        time.sleep(1 / STREAM_PER_SECOND)
    while len(receiver.delivered) < STREAM:
        time.sleep(0.05)
    done.set()
    poller.join()
    sink.close()
    store.close()
    receiver.stop()
    latencies = sorted((receiver.delivered[k] - t) * 1000 for k, t in queued.items())
    yield f"BENCH deliver_latency_p50_ms {statistics.median(latencies):.1f} ms"
    yield f"BENCH deliver_latency_p99_ms {latencies[int(len(latencies) * 0.99) - 1]:.1f} ms"


def _poll(store: Store, sink: HttpPushSink, done: threading.Event) -> None:
    log = structlog.get_logger("bench")
    while not done.is_set():
        relay(store, {"push": sink}, SETTINGS, SystemClock(), log)
        time.sleep(0.02)


CASES = {"deliver_throughput": bench_throughput, "deliver_latency": bench_latency}
