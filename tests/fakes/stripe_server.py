"""A small fake of the Stripe API on loopback, for tests and the browser journey.

It speaks the part of the API Koinonia calls (form-encoded requests, Stripe-shaped JSON
objects and errors), serves a plain hosted "Checkout" page whose Pay button creates the
customer and subscription and posts signed events to the app, and a "Customer Portal" page.
Events are signed exactly as Stripe signs them: `Stripe-Signature: t=<unix>,v1=<hex>` with
HMAC-SHA256 of "<t>.<body>" under the endpoint secret.

    with FakeStripe(webhook_url="http://127.0.0.1:8000/webhooks/stripe") as fake:
        fake.api_base, fake.secret_key, fake.webhook_secret, fake.price_ids
"""

from __future__ import annotations

import html
import json
import secrets
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from app.security.signatures import stripe_signature_header

API_VERSION = "2025-03-31.basil"
PRICES = {"starter": 2900, "growth": 7900, "ministry": 19900}
MONTH = 30 * 86400


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (`a[b][0][c]=v`) back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt_is_index = not last and parts[i + 1].isdigit()
            if isinstance(node, list):
                idx = int(part)
                while len(node) <= idx:
                    node.append(None)
                if last:
                    node[idx] = value
                else:
                    if node[idx] is None:
                        node[idx] = [] if nxt_is_index else {}
                    node = node[idx]
            else:
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, [] if nxt_is_index else {})
    return root


class FakeStripe:
    """The fake server; its state lives in dicts guarded by one lock."""

    def __init__(self, webhook_url: str | None = None, webhook_secret: str | None = None) -> None:
        self.webhook_url = webhook_url
        self.secret_key = "sk_test_" + secrets.token_hex(12)
        self.webhook_secret = webhook_secret or "whsec_" + secrets.token_hex(16)
        self.price_ids = {plan: f"price_{plan}_{secrets.token_hex(4)}" for plan in PRICES}
        self.customers: dict[str, dict] = {}
        self.subscriptions: dict[str, dict] = {}
        self.sessions: dict[str, dict] = {}
        self.portal_sessions: dict[str, dict] = {}
        self.idempotent: dict[str, tuple[int, dict]] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self.sent_events: list[dict] = []
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def __enter__(self) -> FakeStripe:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> FakeStripe:
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fake-stripe", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def api_base(self) -> str:
        assert self._server, "FakeStripe is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def price_ids_env(self) -> str:
        """The STRIPE_PRICE_IDS value matching this server's prices."""
        return ",".join(f"{plan}={price}" for plan, price in self.price_ids.items())

    # -- objects --------------------------------------------------------------------------
    def price(self, price_id: str) -> dict:
        plan = next((p for p, pid in self.price_ids.items() if pid == price_id), None)
        return {
            "id": price_id,
            "object": "price",
            "active": True,
            "currency": "usd",
            "unit_amount": PRICES.get(plan or "", 0),
            "recurring": {"interval": "month", "interval_count": 1},
            "lookup_key": plan,
        }

    def create_subscription(
        self, customer: str, price_id: str, metadata: dict | None = None, status: str = "active"
    ) -> dict:
        now = int(time.time())
        sub_id = _id("sub")
        sub = {
            "id": sub_id,
            "object": "subscription",
            "customer": customer,
            "status": status,
            "cancel_at_period_end": False,
            "canceled_at": None,
            "created": now,
            "start_date": now,
            "livemode": False,
            "metadata": metadata or {},
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": _id("si"),
                        "object": "subscription_item",
                        "price": self.price(price_id),
                        "quantity": 1,
                        "subscription": sub_id,
                        "current_period_start": now,
                        "current_period_end": now + MONTH,
                    }
                ],
                "has_more": False,
                "url": f"/v1/subscription_items?subscription={sub_id}",
            },
            "latest_invoice": None,
        }
        with self.lock:
            self.subscriptions[sub_id] = sub
        return sub

    def update_subscription(self, sub_id: str, **changes: Any) -> dict:
        """Change a subscription as Stripe would after a payment, a portal action or a dunning step."""
        with self.lock:
            sub = self.subscriptions[sub_id]
            if "price" in changes:
                sub["items"]["data"][0]["price"] = self.price(changes.pop("price"))
            if "current_period_end" in changes:
                sub["items"]["data"][0]["current_period_end"] = changes.pop("current_period_end")
            sub.update(changes)
            return json.loads(json.dumps(sub))

    def invoice(self, sub: dict, status: str = "paid") -> dict:
        item = sub["items"]["data"][0]
        return {
            "id": _id("in"),
            "object": "invoice",
            "customer": sub["customer"],
            "status": status,
            "amount_due": item["price"]["unit_amount"],
            "amount_paid": item["price"]["unit_amount"] if status == "paid" else 0,
            "currency": "usd",
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": sub["id"], "metadata": sub["metadata"]},
            },
            "lines": {"object": "list", "data": [], "has_more": False},
        }

    # -- events ---------------------------------------------------------------------------
    def event(self, event_type: str, obj: dict, created: int | None = None) -> dict:
        return {
            "id": _id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": created or int(time.time()),
            "type": event_type,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": json.loads(json.dumps(obj))},
        }

    def sign(self, body: bytes, timestamp: int | None = None, secret: str | None = None) -> str:
        return stripe_signature_header(body, secret or self.webhook_secret, timestamp or int(time.time()))

    def send(self, event: dict) -> tuple[int, dict]:
        """POST a signed event to the webhook URL, as Stripe does; returns (status, JSON body)."""
        assert self.webhook_url, "no webhook_url set"
        body = json.dumps(event).encode()
        request = urllib.request.Request(
            self.webhook_url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": self.sign(body)},
        )
        self.sent_events.append(event)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    # -- checkout and portal ----------------------------------------------------------------
    def complete_checkout(self, session_id: str) -> dict:
        """What pressing Pay does: customer, subscription, session complete, then the three events."""
        with self.lock:
            session = self.sessions[session_id]
            if session["status"] == "complete":
                return session
            customer = session.get("customer")
            if not customer:
                customer = _id("cus")
                self.customers[customer] = {
                    "id": customer,
                    "object": "customer",
                    "email": session.get("customer_email"),
                    "created": int(time.time()),
                    "livemode": False,
                    "metadata": {},
                }
            metadata = (session.get("_subscription_data") or {}).get("metadata") or {}
            sub = self.create_subscription(customer, session["_price"], metadata)
            session.update(customer=customer, subscription=sub["id"], status="complete", payment_status="paid")
        if self.webhook_url:
            self.send(self.event("checkout.session.completed", self._public(session)))
            self.send(self.event("customer.subscription.created", sub))
            self.send(self.event("invoice.paid", self.invoice(sub)))
        return session

    @staticmethod
    def _public(obj: dict) -> dict:
        return {k: v for k, v in obj.items() if not k.startswith("_")}


class _Handler(BaseHTTPRequestHandler):
    server_fake: FakeStripe
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    # -- plumbing -------------------------------------------------------------------------
    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        return unflatten(parse_qsl(raw, keep_blank_values=True))

    def _send(self, status: int, payload: dict | str, content_type: str = "application/json") -> None:
        body = (json.dumps(payload) if isinstance(payload, dict) else payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Request-Id", _id("req"))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, url: str) -> None:
        self.send_response(303)
        self.send_header("Location", url)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _error(self, status: int, message: str, code: str | None = None, param: str | None = None) -> None:
        error = {"type": "invalid_request_error", "message": message}
        if code:
            error["code"] = code
        if param:
            error["param"] = param
        self._send(status, {"error": error})

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {self.server_fake.secret_key}":
            return True
        self._send(
            401,
            {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided: sk_test_****"}},
        )
        return False

    # -- routes ---------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        fake, path = self.server_fake, urlsplit(self.path).path
        parts = path.strip("/").split("/")
        if parts[:1] == ["v1"]:
            if not self._authorized():
                return
            fake.requests.append(("GET", path, {}))
            store = {"subscriptions": fake.subscriptions, "customers": fake.customers}.get(
                parts[1] if len(parts) > 1 else ""
            )
            if store is None or len(parts) != 3:
                return self._error(404, f"Unrecognized request URL (GET: {path}).")
            with fake.lock:
                obj = store.get(parts[2])
                if obj is None:
                    kind = parts[1].rstrip("s")
                    return self._error(404, f"No such {kind}: '{parts[2]}'", "resource_missing", "id")
                return self._send(200, fake._public(obj))
        if parts[0] == "checkout" and len(parts) == 2 and parts[1] in fake.sessions:
            return self._send(200, _checkout_page(fake.sessions[parts[1]]), "text/html; charset=utf-8")
        if parts[0] == "portal" and len(parts) == 2 and parts[1] in fake.portal_sessions:
            return self._send(200, _portal_page(fake, fake.portal_sessions[parts[1]]), "text/html; charset=utf-8")
        self._error(404, f"Unrecognized request URL (GET: {path}).")

    def do_POST(self) -> None:  # noqa: N802
        fake, path = self.server_fake, urlsplit(self.path).path
        parts = path.strip("/").split("/")
        params = self._body()
        if parts[:1] == ["v1"]:
            if not self._authorized():
                return
            fake.requests.append(("POST", path, params))
            key = self.headers.get("Idempotency-Key")
            with fake.lock:
                if key and (path, key) in fake.idempotent:
                    status, payload = fake.idempotent[(path, key)]
                    return self._send(status, payload)
                status, payload = self._api_post(path, params)
                if key:
                    fake.idempotent[(path, key)] = (status, payload)
            return self._send(status, payload)
        if parts[0] == "checkout" and len(parts) == 3 and parts[2] == "pay" and parts[1] in fake.sessions:
            session = fake.complete_checkout(parts[1])
            return self._redirect(session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"]))
        if parts[0] == "checkout" and len(parts) == 3 and parts[2] == "cancel" and parts[1] in fake.sessions:
            return self._redirect(fake.sessions[parts[1]]["cancel_url"])
        if parts[0] == "portal" and len(parts) == 3 and parts[1] in fake.portal_sessions:
            return self._portal_action(fake.portal_sessions[parts[1]], parts[2])
        self._error(404, f"Unrecognized request URL (POST: {path}).")

    def _api_post(self, path: str, params: dict) -> tuple[int, dict]:
        fake = self.server_fake
        if path == "/v1/checkout/sessions":
            items = params.get("line_items") or []
            price = (items[0] or {}).get("price") if items else None
            if price not in fake.price_ids.values():
                return 400, {
                    "error": {
                        "type": "invalid_request_error",
                        "message": f"No such price: '{price}'",
                        "code": "resource_missing",
                        "param": "line_items[0][price]",
                    }
                }
            for required in ("success_url", "mode"):
                if not params.get(required):
                    return 400, {
                        "error": {
                            "type": "invalid_request_error",
                            "param": required,
                            "message": f"Missing required param: {required}.",
                        }
                    }
            session_id = _id("cs_test")
            session = {
                "id": session_id,
                "object": "checkout.session",
                "mode": params["mode"],
                "status": "open",
                "payment_status": "unpaid",
                "client_reference_id": params.get("client_reference_id"),
                "customer": params.get("customer"),
                "customer_email": params.get("customer_email"),
                "subscription": None,
                "metadata": params.get("metadata") or {},
                "success_url": params["success_url"],
                "cancel_url": params.get("cancel_url"),
                "url": f"{fake.api_base}/checkout/{session_id}",
                "livemode": False,
                "_price": price,
                "_subscription_data": params.get("subscription_data") or {},
            }
            fake.sessions[session_id] = session
            return 200, fake._public(session)
        if path == "/v1/billing_portal/sessions":
            customer = params.get("customer")
            if customer not in fake.customers:
                return 400, {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "resource_missing",
                        "param": "customer",
                        "message": f"No such customer: '{customer}'",
                    }
                }
            portal_id = _id("bps")
            session = {
                "id": portal_id,
                "object": "billing_portal.session",
                "customer": customer,
                "return_url": params.get("return_url"),
                "flow": params.get("flow_data"),
                "url": f"{fake.api_base}/portal/{portal_id}",
                "livemode": False,
                "created": int(time.time()),
            }
            fake.portal_sessions[portal_id] = session
            return 200, session
        return 404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL (POST: {path})."}}

    def _portal_action(self, session: dict, action: str) -> None:
        fake = self.server_fake
        subs = [s for s in fake.subscriptions.values() if s["customer"] == session["customer"]]
        sub = subs[-1] if subs else None
        return_url = session["return_url"]
        if sub and action == "cancel":
            updated = fake.update_subscription(sub["id"], cancel_at_period_end=True)
            fake.send(fake.event("customer.subscription.updated", updated))
        elif sub and action == "confirm" and session.get("flow"):
            flow = session["flow"]
            item = flow["subscription_update_confirm"]["items"][0]
            updated = fake.update_subscription(sub["id"], price=item["price"])
            fake.send(fake.event("customer.subscription.updated", updated))
            return_url = (((flow.get("after_completion") or {}).get("redirect") or {}).get("return_url")) or return_url
        self._redirect(return_url)


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>"
        f"{html.escape(title)}</title></head><body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )


def _checkout_page(session: dict) -> str:
    price = session["_price"]
    return _page(
        "Fake Stripe Checkout",
        f"<p>Subscribe with price <code>{html.escape(price)}</code> (test mode).</p>"
        f"<form method='post' action='/checkout/{session['id']}/pay'><button type='submit'>Pay</button></form>"
        f"<form method='post' action='/checkout/{session['id']}/cancel'><button type='submit'>Back</button></form>",
    )


def _portal_page(fake: FakeStripe, session: dict) -> str:
    buttons = ""
    if session.get("flow"):
        buttons += (
            f"<form method='post' action='/portal/{session['id']}/confirm'><button>Confirm plan change</button></form>"
        )
    buttons += (
        f"<form method='post' action='/portal/{session['id']}/cancel'><button>Cancel subscription</button></form>"
    )
    buttons += f"<form method='post' action='/portal/{session['id']}/return'><button>Return to Koinonia</button></form>"
    return _page("Fake Stripe Customer Portal", f"<p>Customer {html.escape(session['customer'])}</p>{buttons}")
