"""The Telnyx v2 simulator server: the messages API, signed webhooks, and a /_sim control API."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.delivery import simnumbers, simpage, simpco
from app.delivery import simstate as st
from app.delivery.simcontrol import control
from app.delivery.simhttp import ClientPool, Request, Response, serve_connection
from app.delivery.simmail import MailSink
from app.delivery.simwebhooks import WebhookMixin
from app.security.signatures import public_key_b64

T = TypeVar("T")
DELIVERY_FAILED = frozenset({"delivery_failed"})
REPLY = frozenset({"reply"})


def json_response(status: int, obj: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    """A JSON response with Telnyx's request-id header."""
    extra = [("x-request-id", uuid.uuid4().hex), *(headers or [])]
    return Response(status, json.dumps(obj).encode(), extra)


def errors_response(status: int, *errors: dict[str, Any], headers: list[tuple[str, str]] | None = None) -> Response:
    """Telnyx's error envelope."""
    return json_response(status, {"errors": list(errors)}, headers)


def _authorized(req: Request) -> bool:
    auth = req.headers.get("authorization", "")
    return auth.startswith("Bearer ") and bool(auth[7:].strip())


def _unauthorized() -> Response:
    return errors_response(
        401,
        st.error(
            "10009",
            "Authentication failed",
            "The required authentication headers were either invalid or not included in the request.",
        ),
    )


class Simulator(WebhookMixin):
    """A loopback server that TelnyxClient cannot tell from api.telnyx.com/v2.

    In tests: `with Simulator(webhook_url=...) as sim:` runs it on a background thread;
    `sim.api_base` is what TELNYX_API_BASE should be, `sim.public_key_b64` TELNYX_PUBLIC_KEY.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_url: str | None = None,
        private_key: Ed25519PrivateKey | None = None,
        *,
        webhooks: bool = True,
        webhook_delay_ms: float = 50,
        webhook_timeout: float = 2.0,
        webhook_attempts: int = 3,
        webhook_retry_delay: float = 1.0,
        webhook_concurrency: int = 64,
        hang_seconds: float = 15.0,
        reply_rate: float = 0.0,
        reply_text: str = "Amen! See you Sunday.",
        max_messages: int = 100_000,
    ) -> None:
        self.host, self.port = host, port
        self.webhook_url = webhook_url or ""
        self.private_key = private_key or Ed25519PrivateKey.generate()
        self.public_key_b64 = public_key_b64(self.private_key)
        self.webhooks = webhooks
        self.webhook_delay = webhook_delay_ms / 1000
        self.webhook_timeout = webhook_timeout
        self.webhook_attempts = webhook_attempts
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_concurrency = webhook_concurrency
        self.hang_seconds = hang_seconds
        self.reply_rate, self.reply_text = reply_rate, reply_text
        self.faults = st.FaultBook()
        self.ledger = st.Ledger(max_messages)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._queue: asyncio.Queue[tuple[float, Callable[[], Any]]] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._pool = ClientPool()
        self._inflight = 0
        # The SMTP sink whose mail /mail lists (make dev's; None when it runs none).
        self.mail_sink: MailSink | None = None
        # Texts sent in from the page at / (newest first), shown there.
        self.sent_in: deque[dict[str, Any]] = deque(maxlen=20)
        # The fake Planning Center People API under /pco (app.delivery.simpco).
        self.pco = simpco.PlanningCenterFake()

    @property
    def url(self) -> str:
        """Root URL of the server (the control API lives under /_sim)."""
        return f"http://{self.host}:{self.port}"

    @property
    def pco_api_base(self) -> str:
        """The value for PCO_API_BASE."""
        return f"{self.url}{simpco.PREFIX}"

    @property
    def api_base(self) -> str:
        """The value for TELNYX_API_BASE."""
        return f"{self.url}/v2"

    # -- lifecycle ---------------------------------------------------------------------------

    async def startup(self) -> None:
        """Bind the port and start the webhook workers on the running loop."""
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._server = await asyncio.start_server(
            lambda r, w: serve_connection(r, w, self._handle), self.host, self.port, backlog=1024
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._workers = [asyncio.create_task(self._webhook_worker()) for _ in range(self.webhook_concurrency)]

    async def shutdown(self) -> None:
        """Stop accepting, cancel pending webhooks, close connections."""
        if self._server:
            self._server.close()
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._pool.close()

    def start(self) -> Simulator:
        """Run the server on a daemon thread; returns once the port is bound."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.startup())
            except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.shutdown())
            # Open keep-alive connections still have handler tasks; end them before closing.
            leftovers = asyncio.all_tasks(loop)
            for task in leftovers:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
            loop.close()

        self._thread = threading.Thread(target=run, name="telnyx-simulator", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop the background thread started by start()."""
        if self._loop and self._thread:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- thread-safe helpers for tests (run on the server's loop) -----------------------------

    def _call(self, fn: Callable[[], T]) -> T:
        assert self._loop is not None, "simulator not started"

        async def run() -> T:
            result = fn()
            return await result if asyncio.iscoroutine(result) else result  # type: ignore[return-value]

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=60)

    def add_fault(self, to: str = "*", kind: str = "server_error", **spec: Any) -> dict[str, Any]:
        """Program a fault (same fields as POST /_sim/faults)."""
        return self._call(lambda: self.faults.add({"to": to, "kind": kind, **spec}).as_dict())

    def clear_faults(self) -> None:
        """Remove all faults and STOP blocks."""
        self._call(self._clear_faults)

    def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        """Accepted messages, oldest first."""
        return self._call(lambda: [m.copy() for m in self.ledger.messages if to in (None, m["to"])])

    def stats(self) -> dict[str, Any]:
        """Per-destination counters and webhook totals."""
        return self._call(lambda: self.ledger.stats(self._pending()))

    def webhook_log(self) -> list[dict[str, Any]]:
        """One entry per webhook event delivered or given up on."""
        return self._call(lambda: list(self.ledger.webhooks))

    def reset(self) -> None:
        """Forget messages, counters, faults and blocks."""
        self._call(lambda: (self.ledger.reset(), self._clear_faults()))

    def inbound(
        self,
        from_: str,
        to: str,
        text: str = "",
        media: list[Any] | None = None,
        *,
        wait: bool = True,
        webhook_url: str | None = None,
    ) -> dict[str, Any]:
        """Have `from_` text `to`: posts a signed message.received webhook."""
        spec = {"from": from_, "to": to, "text": text, "media": media or [], "wait": wait, "webhook_url": webhook_url}
        return self._call(lambda: self._inbound(spec))

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no webhook is queued or in flight; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._call(self._pending) == 0:
                return True
            time.sleep(0.01)
        return False

    # -- request handling -------------------------------------------------------------------

    def _clear_faults(self) -> int:
        count = len(self.faults.as_list()) + len(self.ledger.blocks)
        self.faults.clear()
        self.ledger.blocks.clear()
        return count

    async def _handle(self, req: Request) -> Response:
        if req.method == "POST" and req.path in ("/v2/messages", "/messages"):
            return await self._send(req)
        if req.method == "GET" and req.path in ("/v2/phone_numbers", "/v2/short_codes"):
            return self._numbers(req)
        if req.path == "/v2/available_phone_numbers" or req.path.startswith("/v2/number_orders"):
            return self._buy_numbers(req)
        if simpco.handles(req.path):
            return simpco.handle(self, req)
        if req.path.startswith("/_sim/"):
            return await control(self, req)
        if simpage.handles(req.path):
            return await simpage.handle(self, req)
        if req.method == "GET" and self.mail_sink is not None and req.path.startswith("/mail"):
            page = self.mail_sink.page(req.path)
            if page is not None:
                status, content_type, body, headers = page
                return Response(status, body, headers, content_type=content_type)
        return errors_response(
            404, st.error("10005", "Resource not found", "The requested resource or URL could not be found.")
        )

    def _numbers(self, req: Request) -> Response:
        """The account's phone numbers or short codes (what it holds: simnumbers)."""
        if not _authorized(req):
            return _unauthorized()
        if req.path.endswith("/short_codes"):
            return json_response(200, simnumbers.short_codes_page(req.query))
        return json_response(200, simnumbers.phone_numbers_page(req.query))

    def _buy_numbers(self, req: Request) -> Response:
        """Searching for numbers to buy and ordering them (simnumbers)."""
        if not _authorized(req):
            return _unauthorized()
        if req.method == "GET" and req.path == "/v2/available_phone_numbers":
            return json_response(200, simnumbers.available_page(req.query))
        if req.method == "POST" and req.path == "/v2/number_orders":
            try:
                body = json.loads(req.body)
            except ValueError:
                body = None
            status, answer = simnumbers.create_order(body)
            return json_response(status, answer)
        if req.method == "GET" and req.path.startswith("/v2/number_orders/"):
            found = simnumbers.get_order(req.path.rsplit("/", 1)[1])
            if found is not None:
                return json_response(200, found)
        return errors_response(
            404, st.error("10005", "Resource not found", "The requested resource or URL could not be found.")
        )

    async def _send(self, req: Request) -> Response:
        if not _authorized(req):
            self.ledger.rejected += 1
            return _unauthorized()
        try:
            body = json.loads(req.body)
        except ValueError:
            body = None
        problem = st.validate_send(body)
        if problem:
            self.ledger.rejected += 1
            return errors_response(problem[0], *problem[1])
        sender, to = body["from"], body["to"]
        self.ledger.attempts[to] += 1
        fault = self.faults.take(to, st.REQUEST_KINDS)
        if fault is None and (sender, to) in self.ledger.blocks:
            fault = st.Fault(kind="opted_out", to=to)
        if fault is not None:
            self.ledger.rejected += 1
            return await self._refuse(fault, req, sender, to)
        message = st.outbound_message(body, self.webhook_url)
        failure = self.faults.take(to, DELIVERY_FAILED)
        reply = self.faults.take(to, REPLY)
        self.ledger.accepted[to] += 1
        record = {
            "id": message["id"],
            "from": sender,
            "to": to,
            "text": message["text"],
            "media_urls": body.get("media_urls") or [],
            "type": message["type"],
            "parts": message["parts"],
            "encoding": message["encoding"],
            "status": "queued",
            "webhook_url": message["webhook_url"],
            "time": message["received_at"],
        }
        self.ledger.messages.append(record)
        if self.webhooks and message["webhook_url"]:
            self._enqueue(self.webhook_delay, lambda: self._progress(message, record, failure, reply))
        else:
            record["status"] = "delivery_failed" if failure else "delivered"
        return json_response(200, {"data": message})

    async def _refuse(self, fault: st.Fault, req: Request, sender: str, to: str) -> Response:
        if fault.kind == "rate_limit":
            reset = f"{fault.reset:g}"
            return errors_response(
                429,
                st.error("10011", "Too many requests", "You have exceeded the maximum number of allowed requests."),
                headers=[("x-ratelimit-limit", "50"), ("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", reset)],
            )
        if fault.kind == "server_error":
            return errors_response(500, st.error("10007", "Unexpected error", "An unexpected error occured."))
        if fault.kind == "opted_out":
            return errors_response(
                400,
                st.error(
                    "40300",
                    "Blocked due to STOP message",
                    f"Messages cannot be sent from '{sender}' to '{to}' due to an existing block rule.",
                    "/to",
                ),
            )
        if fault.kind == "invalid":
            return errors_response(
                400, st.error("40310", "Invalid 'to' address", "The 'to' address is not a valid mobile number.", "/to")
            )
        # timeout: hang until the client gives up (it closes, read() returns) or we do.
        try:
            await asyncio.wait_for(req.reader.read(1), fault.delay or self.hang_seconds)
        except (TimeoutError, ConnectionError):
            pass
        return Response(drop=True)
