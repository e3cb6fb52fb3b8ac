"""Simulator state and Telnyx-shaped payloads: messages, faults, opt-out blocks, counters."""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter, deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from app.delivery.segments import analyze

E164_RE = re.compile(r"^\+[1-9]\d{6,14}$")
PRICE_PER_PART = Decimal("0.0040")
PROFILE_ID = "40017f4a-7c2e-4d5b-9a51-5e1d6c0b9f00"
ORGANIZATION_ID = "d5c4c2b6-1f44-4a2a-9b0e-7a3b8f6d2c11"
CARRIERS = ("T-MOBILE USA, INC.", "CELLCO PARTNERSHIP DBA VERIZON WIRELESS", "AT&T MOBILITY")
# Telnyx applies these at the messaging-profile level, before our app ever sees them.
STOP_WORDS = frozenset({"STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "UNSTOP"})

REQUEST_KINDS = frozenset({"rate_limit", "server_error", "timeout", "opted_out", "invalid"})
DELIVERY_KINDS = frozenset({"delivery_failed", "reply"})
CARRIER_TITLES = {
    "30003": "Unreachable destination handset",
    "30004": "Message blocked",
    "30005": "Unknown destination handset",
    "30006": "Landline or unreachable carrier",
    "30007": "Carrier violation",
    "30008": "Unknown error",
    "40300": "Blocked due to STOP message",
}


def _carrier(number: str) -> str:
    # Stable per number (unlike hash(), which changes per process).
    return CARRIERS[int(number[-1]) % len(CARRIERS)]


def now_iso(moment: datetime | None = None) -> str:
    """Telnyx's timestamp format: ISO 8601, milliseconds, explicit UTC offset."""
    return (moment or datetime.now(UTC)).isoformat(timespec="milliseconds")


def error(code: str, title: str, detail: str, pointer: str | None = None) -> dict[str, Any]:
    """One entry of Telnyx's `errors` array."""
    entry: dict[str, Any] = {"code": code, "title": title, "detail": detail}
    if pointer:
        entry["source"] = {"pointer": pointer}
    entry["meta"] = {"url": f"https://developers.telnyx.com/docs/overview/errors/{code}"}
    return entry


@dataclass
class Fault:
    """A programmed misbehaviour for one destination number ("*" matches any)."""

    kind: str
    to: str = "*"
    times: int | None = None  # None: until cleared
    reset: float = 1.0  # rate_limit: x-ratelimit-reset seconds
    carrier_code: str = "30007"  # delivery_failed: code in the finalized event's errors
    delay: float | None = None  # timeout: how long to hang before dropping the connection
    text: str = "Thanks!"  # reply: what the recipient answers
    seconds: float | None = None  # None: no time limit; else live this long after being programmed
    id: str = ""
    until: float | None = None  # monotonic deadline derived from `seconds`

    def expired(self, now: float) -> bool:
        """True once a time-limited fault has run its course."""
        return self.until is not None and now >= self.until

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the control API (a time-limited fault says how long it has left)."""
        out = asdict(self)
        until = out.pop("until")
        if until is not None:
            out["seconds_left"] = round(max(0.0, until - time.monotonic()), 3)
        return out


class FaultBook:
    """Faults by destination, consumed in the order they were programmed."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, spec: dict[str, Any]) -> Fault:
        """Program a fault from the control API's JSON; ValueError on a bad spec."""
        kind = spec.get("kind")
        if kind not in REQUEST_KINDS | DELIVERY_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        times = spec.get("times")
        seconds = spec.get("seconds")
        if seconds is not None and (isinstance(seconds, bool) or float(seconds) <= 0):
            raise ValueError("'seconds' must be a positive number")
        fault = Fault(
            kind=kind,
            to=str(spec.get("to") or "*"),
            times=None if times is None else int(times),
            reset=float(spec.get("reset", 1.0)),
            carrier_code=str(spec.get("carrier_code") or "30007"),
            delay=None if spec.get("delay") is None else float(spec["delay"]),
            text=str(spec.get("text") or "Thanks!"),
            seconds=None if seconds is None else float(seconds),
            id=uuid.uuid4().hex[:12],
        )
        if fault.seconds is not None:
            fault.until = time.monotonic() + fault.seconds
        self._faults.append(fault)
        return fault

    def take(self, to: str, kinds: frozenset[str]) -> Fault | None:
        """The first live fault of one of `kinds` for `to`, counting one use of it."""
        if not self._faults:
            return None
        now = time.monotonic()
        if any(f.expired(now) for f in self._faults):
            self._faults = [f for f in self._faults if not f.expired(now)]
        for fault in self._faults:
            if fault.kind in kinds and fault.to in (to, "*"):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        """Forget every programmed fault."""
        self._faults.clear()

    def as_list(self) -> list[dict[str, Any]]:
        """JSON form for the control API (time-limited faults that ran out are gone)."""
        now = time.monotonic()
        self._faults = [f for f in self._faults if not f.expired(now)]
        return [f.as_dict() for f in self._faults]


class Ledger:
    """What reached the "provider": accepted messages, per-destination counts, webhook results."""

    def __init__(self, max_messages: int = 100_000) -> None:
        self.messages: deque[dict[str, Any]] = deque(maxlen=max_messages)
        self.accepted: Counter[str] = Counter()
        self.attempts: Counter[str] = Counter()
        self.rejected = 0
        self.webhooks: deque[dict[str, Any]] = deque(maxlen=max_messages)
        self.webhook_counts: Counter[str] = Counter()
        # (member, church number) pairs blocked by a STOP, as Telnyx's profile would.
        self.blocks: set[tuple[str, str]] = set()

    def stats(self, pending: int) -> dict[str, Any]:
        """Counters that let tests prove no destination was texted twice."""
        return {
            "accepted": sum(self.accepted.values()),
            "rejected": self.rejected,
            "by_to": dict(self.accepted),
            "attempts_by_to": dict(self.attempts),
            "duplicates": {to: n for to, n in self.accepted.items() if n > 1},
            "webhooks": {**self.webhook_counts, "pending": pending},
        }

    def reset(self) -> None:
        """Forget messages and counters (faults and blocks are kept)."""
        self.messages.clear()
        self.accepted.clear()
        self.attempts.clear()
        self.rejected = 0
        self.webhooks.clear()
        self.webhook_counts.clear()


def validate_send(body: Any) -> tuple[int, list[dict[str, Any]]] | None:
    """Telnyx's checks on POST /messages: (status, errors) when refused, None when fine."""
    if not isinstance(body, dict):
        return 400, [error("10015", "Bad Request", "The request body must be a JSON object.")]
    problems = []
    for field in ("from", "to"):
        value = body.get(field)
        if not value:
            problems.append(
                error("10004", "Missing required parameter", f"The '{field}' parameter is required.", f"/{field}")
            )
        elif not isinstance(value, str) or not E164_RE.match(value):
            problems.append(
                error(
                    "10016",
                    "Phone number must be in +E.164 format",
                    f"The '{field}' parameter must be in +E.164 format.",
                    f"/{field}",
                )
            )
    media = body.get("media_urls")
    if media is not None and (
        not isinstance(media, list)
        or not all(isinstance(u, str) and u.startswith(("http://", "https://")) for u in media)
    ):
        problems.append(error("10003", "Invalid URL", "media_urls must be a list of URLs.", "/media_urls"))
    text = body.get("text")
    if text is not None and not isinstance(text, str):
        problems.append(error("10015", "Bad Request", "'text' must be a string.", "/text"))
    if not text and not media:
        problems.append(
            error("10004", "Missing required parameter", "Either 'text' or 'media_urls' must be provided.", "/text")
        )
    return (422, problems) if problems else None


def outbound_message(body: dict[str, Any], default_webhook_url: str) -> dict[str, Any]:
    """The message object Telnyx returns from POST /messages."""
    text = body.get("text") or ""
    media_urls = body.get("media_urls") or []
    info = analyze(text)
    parts = max(1, info.segments) if not media_urls else 1
    received = datetime.now(UTC)
    to = body["to"]
    return {
        "record_type": "message",
        "direction": "outbound",
        "id": str(uuid.uuid4()),
        "type": "MMS" if media_urls else "SMS",
        "messaging_profile_id": body.get("messaging_profile_id") or PROFILE_ID,
        "organization_id": ORGANIZATION_ID,
        "from": {"phone_number": body["from"], "carrier": "TELNYX LLC", "line_type": "VoIP"},
        "to": [{"phone_number": to, "status": "queued", "carrier": _carrier(to), "line_type": "Wireless"}],
        "cc": [],
        "text": text,
        "subject": body.get("subject"),
        "media": [{"url": u, "content_type": None, "sha256": None, "size": None} for u in media_urls],
        "webhook_url": body.get("webhook_url") or default_webhook_url or "",
        "webhook_failover_url": body.get("webhook_failover_url") or "",
        "encoding": info.encoding,
        "parts": parts,
        "tags": [],
        "cost": {"amount": f"{PRICE_PER_PART * parts:.4f}", "currency": "USD"},
        "received_at": now_iso(received),
        "sent_at": None,
        "completed_at": None,
        "valid_until": now_iso(received + timedelta(hours=4)),
        "errors": [],
    }


def inbound_message(spec: dict[str, Any]) -> dict[str, Any]:
    """The payload of a `message.received` webhook for a member texting a church number."""
    media = []
    for item in spec.get("media") or []:
        item = {"url": item} if isinstance(item, str) else dict(item)
        media.append(
            {
                "url": item.get("url"),
                "content_type": item.get("content_type"),
                "size": item.get("size"),
                "sha256": item.get("sha256"),
            }
        )
    text = spec.get("text") or ""
    return {
        "record_type": "message",
        "direction": "inbound",
        "id": str(uuid.uuid4()),
        "type": "MMS" if media else "SMS",
        "messaging_profile_id": PROFILE_ID,
        "organization_id": ORGANIZATION_ID,
        "from": {
            "phone_number": spec["from"],
            "carrier": _carrier(spec["from"]),
            "line_type": "Wireless",
            "status": "webhook_delivered",
        },
        "to": [
            {"phone_number": spec["to"], "carrier": "TELNYX LLC", "line_type": "VoIP", "status": "webhook_delivered"}
        ],
        "cc": [],
        "text": text,
        "subject": None,
        "media": media,
        "webhook_url": "",
        "webhook_failover_url": None,
        "encoding": analyze(text).encoding,
        "parts": max(1, analyze(text).segments),
        "tags": [],
        "cost": None,
        "received_at": now_iso(),
        "sent_at": None,
        "completed_at": None,
        "valid_until": None,
        "errors": [],
    }


def event(event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A webhook envelope (`meta` is added per delivery attempt)."""
    return {
        "data": {
            "record_type": "event",
            "id": str(uuid.uuid4()),
            "event_type": event_type,
            "occurred_at": now_iso(),
            "payload": payload,
        }
    }


def with_status(message: dict[str, Any], status: str, **fields: Any) -> dict[str, Any]:
    """A copy of `message` whose recipient has moved to `status`."""
    copy = {**message, **fields}
    copy["to"] = [{**message["to"][0], "status": status}]
    return copy


def keyword(text: str) -> str:
    """The normalised keyword of an inbound text (STOP, START…)."""
    return " ".join(text.strip().upper().split())
