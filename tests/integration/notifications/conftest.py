"""Notification test helpers: a loopback push service, VAPID keys, and a browser's key pair."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from rq import SimpleWorker

from app.extensions import rds
from app.notifications.vapid import b64url, new_key_pair


@dataclass
class Posted:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class PushService:
    """A push service on loopback (RFC 8030's POST to the endpoint): records what it is sent."""

    url: str
    received: list[Posted] = field(default_factory=list)
    status: dict[str, int] = field(default_factory=dict)  # path -> status to answer (201 otherwise)


@pytest.fixture
def push_service():
    service = PushService(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            service.received.append(Posted(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(service.status.get(self.path, 201))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def vapid(app):
    """Koinonia's VAPID pair for the test; push is off without one."""
    public, private = new_key_pair()
    old = {k: app.config.get(k) for k in ("VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY", "VAPID_SUBJECT")}
    app.config.update(VAPID_PUBLIC_KEY=public, VAPID_PRIVATE_KEY=private, VAPID_SUBJECT="mailto:ops@example.org")
    yield public
    app.config.update(old)


@dataclass
class BrowserKeys:
    """What a browser holds for one subscription: its ECDH key pair and auth secret."""

    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    @classmethod
    def generate(cls) -> BrowserKeys:
        return cls(ec.generate_private_key(ec.SECP256R1()), os.urandom(16))

    def subscription(self, endpoint: str) -> dict:
        public = self.private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return {"endpoint": endpoint, "keys": {"p256dh": b64url(public), "auth": b64url(self.auth_secret)}}

    def decrypt(self, body: bytes) -> dict:
        plain = http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth_secret, version="aes128gcm")
        return json.loads(plain)


def run_default_queue() -> None:
    """Run the default queue's jobs in this process (no fork: the test's transaction)."""
    SimpleWorker([rds.queue("default")], connection=rds.client).work(burst=True)


def default_jobs() -> list:
    return rds.queue("default").get_jobs()
