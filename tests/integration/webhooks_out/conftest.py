"""A real receiver on loopback that keeps what it is sent and answers the statuses it is told to."""

from __future__ import annotations

import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rq import SimpleWorker
from standardwebhooks.webhooks import Webhook

from app.extensions import rds
from app.outbound_webhooks import endpoints
from tests.integration.api.conftest import api, api_as, make_key, openapi_check  # noqa: F401 - shared fixtures
from tests.integration.connect.conftest import card, groups  # noqa: F401 - shared fixtures
from tests.integration.imports.conftest import make_import, run_import  # noqa: F401 - shared fixtures
from tests.integration.inbox.conftest import simulator  # noqa: F401 - shared fixtures


class Receiver:
    """Requests received (headers, body) and the statuses to answer next (then 200)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.answers: deque[int] = deque()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/koinonia"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.answers.popleft() if receiver.answers else 200
                reply = (b"x" * 5000) if status >= 500 else b'{"ok":true}'
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        return Handler

    def verified(self, secret: str) -> list[dict]:
        """Every body received, each verified with standardwebhooks as a receiver would."""
        return [Webhook(secret).verify(body, headers) for headers, body in self.requests]


@pytest.fixture
def receiver():
    made = Receiver()
    made.thread.start()
    yield made
    made.server.shutdown()
    made.server.server_close()


@pytest.fixture
def owner(db):
    from app.auth.services import find_user_by_email

    return find_user_by_email("admin@example.org")


@pytest.fixture
def hook(db, owner, receiver):
    """An endpoint of Grace for every event, pointed at the receiver; `.secret` signs its requests."""
    from app.models.webhooks import EVENT_TYPES

    made = endpoints.create(owner, receiver.url, list(EVENT_TYPES), "Receiver")
    db.session.commit()
    return made


def run_worker() -> None:
    """Run the queued deliveries with a real RQ worker, in this process (and this test's transaction)."""
    SimpleWorker([rds.queue("default")], connection=rds.client).work(burst=True)
