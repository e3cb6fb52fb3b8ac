"""Fixtures for delivery tests: a real Redis, the real simulator, and a real webhook receiver."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis

from app.delivery.simulator import Simulator

# The app's tests flushdb() their Redis database between tests; delivery tests use another
# database on the same server so a concurrent run can never wipe a circuit mid-test.
DELIVERY_REDIS_DB = 14


@pytest.fixture(scope="session")
def delivery_redis_url() -> str:
    """TEST_REDIS_URL (default the `make test` server) pointed at the delivery tests' database."""
    base = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:63809/0")
    url = urlunsplit(urlsplit(base)._replace(path=f"/{DELIVERY_REDIS_DB}"))
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {url}: run `make test`, or set TEST_REDIS_URL")
    return url


@pytest.fixture
def redis_prefix(delivery_redis_url: str) -> Iterator[str]:
    """A key prefix unique to this test; its keys are deleted afterwards."""
    prefix = f"test:{uuid.uuid4().hex[:10]}"
    yield prefix
    client = redis.Redis.from_url(delivery_redis_url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)


@dataclass
class Received:
    """One webhook as it arrived on the wire."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class WebhookSink:
    """A plain HTTP server that records webhooks; `statuses` scripts its answers."""

    url: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self, event_type: str | None = None) -> list[dict]:
        with self.lock:
            items = [r.json for r in self.received]
        return [e for e in items if event_type in (None, e["data"]["event_type"])]

    def wait_for(self, count: int, event_type: str | None = None, timeout: float = 5.0) -> list[dict]:
        """Block until `count` events (of a type) have arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = self.events(event_type)
            if len(events) >= count:
                return events
            time.sleep(0.01)
        raise AssertionError(f"expected {count} {event_type or ''} webhooks, got {len(self.events(event_type))}")


@pytest.fixture
def webhook_sink() -> Iterator[WebhookSink]:
    """A real HTTP/1.1 server on loopback standing in for the app's /webhooks/telnyx."""
    sink: WebhookSink

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with sink.lock:
                sink.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                status = sink.statuses.pop(0) if sink.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    sink = WebhookSink(url=f"http://127.0.0.1:{server.server_address[1]}/webhooks/telnyx")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield sink
    server.shutdown()
    server.server_close()


@pytest.fixture
def simulator(webhook_sink: WebhookSink) -> Iterator[Simulator]:
    """The Telnyx simulator on an ephemeral loopback port, posting webhooks to `webhook_sink`."""
    sim = Simulator(webhook_url=webhook_sink.url, webhook_delay_ms=5, webhook_retry_delay=0.05, webhook_timeout=2.0)
    with sim:
        yield sim
