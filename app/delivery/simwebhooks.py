"""The simulator's webhook side: Telnyx-like delivery of signed events, with retries."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.delivery import simstate as st
from app.delivery.simhttp import BadRequest, ClientPool
from app.security.signatures import sign_telnyx

log = logging.getLogger("koinonia.simulator")


class WebhookMixin:
    """Queue, workers and delivery of webhook events; mixed into Simulator."""

    private_key: Ed25519PrivateKey
    webhook_url: str
    webhook_delay: float
    webhook_timeout: float
    webhook_attempts: int
    webhook_retry_delay: float
    reply_rate: float
    reply_text: str
    ledger: st.Ledger
    _loop: asyncio.AbstractEventLoop | None
    _queue: asyncio.Queue[tuple[float, Callable[[], Any]]] | None
    _pool: ClientPool
    _inflight: int

    def _pending(self) -> int:
        return (self._queue.qsize() if self._queue else 0) + self._inflight

    def _enqueue(self, delay: float, job: Callable[[], Any]) -> None:
        assert self._loop is not None and self._queue is not None
        self._queue.put_nowait((self._loop.time() + delay, job))

    async def _webhook_worker(self) -> None:
        assert self._loop is not None and self._queue is not None
        while True:
            due, job = await self._queue.get()
            self._inflight += 1
            try:
                wait = due - self._loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                await job()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - one bad job must not kill the worker
                log.exception("simulator webhook job failed")
            finally:
                self._inflight -= 1

    async def _progress(
        self, message: dict[str, Any], record: dict[str, Any], failure: st.Fault | None, reply: st.Fault | None
    ) -> None:
        url = message["webhook_url"]
        sent_at = st.now_iso()
        record["status"] = "sent"
        await self.deliver(url, st.event("message.sent", st.with_status(message, "sent", sent_at=sent_at)))
        done = {"sent_at": sent_at, "completed_at": st.now_iso()}
        if failure:
            code = failure.carrier_code
            title = st.CARRIER_TITLES.get(code, "Delivery failed")
            final = st.with_status(
                message,
                "delivery_failed",
                **done,
                errors=[{"code": code, "title": title, "detail": f"{title} ({code})."}],
            )
            record["status"] = "delivery_failed"
        else:
            final = st.with_status(message, "delivered", **done)
            record["status"] = "delivered"
        await self.deliver(url, st.event("message.finalized", final))
        if not failure and (reply or (self.reply_rate and random.random() < self.reply_rate)):
            text = reply.text if reply else self.reply_text
            spec = {"from": record["to"], "to": record["from"], "text": text}
            self._enqueue(self.webhook_delay, lambda: self._inbound({**spec, "wait": True}))

    async def _inbound(self, spec: dict[str, Any]) -> dict[str, Any]:
        payload = st.inbound_message(spec)
        word = st.keyword(payload["text"])
        pair = (spec["to"], spec["from"])  # replies from the church number to this member
        if word in st.STOP_WORDS:
            self.ledger.blocks.add(pair)
        elif word in st.START_WORDS:
            self.ledger.blocks.discard(pair)
        envelope = st.event("message.received", payload)
        url = spec.get("webhook_url") or self.webhook_url
        if not url:
            raise ValueError("no webhook URL: start the simulator with webhook_url or pass one")
        result = {"id": payload["id"], "event_id": envelope["data"]["id"], "webhook_url": url}
        if spec.get("wait", True):
            result["delivered"] = await self.deliver(url, envelope)
        else:
            self._enqueue(0, lambda: self.deliver(url, envelope))
        return result

    async def deliver(self, url: str, envelope: dict[str, Any]) -> bool:
        """POST a signed event to `url`, up to `webhook_attempts` times, like Telnyx does."""
        data = envelope["data"]
        entry = {
            "event_id": data["id"],
            "event_type": data["event_type"],
            "message_id": data["payload"].get("id"),
            "url": url,
            "attempts": 0,
        }
        status: int | str | None = None
        for attempt in range(1, self.webhook_attempts + 1):
            envelope["meta"] = {"attempt": attempt, "delivered_to": url}
            body = json.dumps(envelope).encode()
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "telnyx-webhooks",
                **sign_telnyx(body, self.private_key, int(time.time())),
            }
            entry["attempts"] = attempt
            try:
                status = await self._pool.post(url, body, headers, self.webhook_timeout)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, BadRequest, ValueError) as exc:
                status = type(exc).__name__
            if isinstance(status, int) and 200 <= status < 300:
                self.ledger.webhook_counts["delivered"] += 1
                self.ledger.webhooks.append({**entry, "status": status, "ok": True})
                return True
            if attempt < self.webhook_attempts:
                self.ledger.webhook_counts["retried"] += 1
                await asyncio.sleep(self.webhook_retry_delay * attempt)
        self.ledger.webhook_counts["failed"] += 1
        self.ledger.webhooks.append({**entry, "status": status, "ok": False})
        log.warning(
            "webhook %s to %s failed after %d attempts: %s", data["event_type"], url, self.webhook_attempts, status
        )
        return False
