"""The simulator's SMTP sink: keeps every mail it receives and lists them at /mail.

`make dev` runs it inside the simulator process (`--smtp-port`), so a newcomer reads
verification and reset mails in the browser without a mail account; the tests start one on a
free loopback port (`MailSink().start()`) and read what arrived with `messages()`.

Pages: `/mail` (newest first), `/mail/<id>` (headers, the text with its links clickable, the
HTML in a sandboxed iframe: no scripts, no forms, no same origin), `/mail/<id>/html` (the HTML
part alone, with a CSP sandbox of its own) and `/mail/messages.json`. Development only: it
shows anything it is sent.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import logging
import re
import socket
import threading
import time
from collections import deque
from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

MAX_MESSAGES = 500
MAX_BYTES = 5 * 1024 * 1024
URL_RE = re.compile(r"https?://[^\s<>\"']+")
HTML_CSP = (
    "sandbox allow-top-navigation-by-user-activation; default-src 'none'; img-src data:; style-src 'unsafe-inline'"
)
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'"

# aiosmtpd narrates every SMTP command at INFO; what arrived is on /mail.
logging.getLogger("mail.log").setLevel(logging.WARNING)

Page = tuple[int, str, bytes, list[tuple[str, str]]]  # status, content type, body, headers


class MailSink:
    """An SMTP server that accepts every mail and keeps the last MAX_MESSAGES in memory."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self._messages: deque[dict[str, Any]] = deque(maxlen=MAX_MESSAGES)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._controller: Controller | None = None
        self._server: asyncio.AbstractServer | None = None
        self._refuse: list[str] = []  # replies for the next deliveries (tests: a flaky server)
        self.attempts = 0  # deliveries tried, refused ones included

    # -- running it --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The value for SMTP_URL."""
        return f"smtp://{self.host}:{self.port}"

    async def serve(self) -> None:
        """Listen on the running event loop (the simulator's)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._smtp, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def start(self) -> MailSink:
        """Listen on a thread of its own (tests); a free port is picked when none was given."""
        if not self.port:
            with socket.socket() as s:
                s.bind((self.host, 0))
                self.port = s.getsockname()[1]
        self._controller = Controller(self, hostname=self.host, port=self.port, data_size_limit=MAX_BYTES)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> MailSink:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _smtp(self) -> SMTP:
        return SMTP(self, hostname="koinonia-mail-sink", data_size_limit=MAX_BYTES)

    # -- receiving ---------------------------------------------------------------------------

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        """aiosmtpd hook: keep the mail (or refuse it, when told to)."""
        with self._lock:
            self.attempts += 1
            if self._refuse:
                return self._refuse.pop(0)
        self.keep(envelope.content, envelope.mail_from, list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def keep(self, raw: bytes, mail_from: str, rcpt_tos: list[str]) -> dict[str, Any]:
        msg = message_from_bytes(raw, policy=policy.default)
        text_part = msg.get_body(("plain",))
        html_part = msg.get_body(("html",))
        with self._lock:
            kept = {
                "id": next(self._ids),
                "received_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "mail_from": mail_from,
                "rcpt_tos": rcpt_tos,
                "from": str(msg.get("From", "")),
                "to": str(msg.get("To", "")),
                "subject": str(msg.get("Subject", "")),
                "text": text_part.get_content() if text_part else "",
                "html": html_part.get_content() if html_part else "",
            }
            self._messages.append(kept)
            self._arrived.notify_all()
        return kept

    # -- reading -----------------------------------------------------------------------------

    def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        """What arrived, oldest first (only mail for `to` when given)."""
        with self._lock:
            found = list(self._messages)
        if to:
            found = [m for m in found if to.lower() in (r.lower() for r in m["rcpt_tos"])]
        return found

    def clear(self) -> None:
        """Forget every mail, refusal and attempt."""
        with self._lock:
            self._messages.clear()
            self._refuse.clear()
            self.attempts = 0

    def refuse_next(self, count: int, reply: str = "451 4.3.0 Try again later") -> None:
        """Refuse the next `count` deliveries with `reply` (a 4xx is temporary, a 5xx final)."""
        with self._lock:
            self._refuse.extend([reply] * count)

    def wait_for(self, to: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Block until `count` mails for `to` arrived; returns them (fewer on timeout)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = [m for m in self._messages if to.lower() in (r.lower() for r in m["rcpt_tos"])]
                left = deadline - time.monotonic()
                if len(found) >= count or left <= 0:
                    return found
                self._arrived.wait(left)

    def get(self, message_id: int) -> dict[str, Any] | None:
        with self._lock:
            return next((m for m in self._messages if m["id"] == message_id), None)

    # -- pages -------------------------------------------------------------------------------

    def page(self, path: str) -> Page | None:
        """The /mail pages; None for paths that are not the sink's."""
        if path in ("/mail", "/mail/"):
            return 200, "text/html; charset=utf-8", self._index().encode(), [("content-security-policy", PAGE_CSP)]
        if path == "/mail/messages.json":
            return 200, "application/json", json.dumps(self.messages()).encode(), []
        parts = path.split("/")  # "", "mail", id[, "html"]
        if len(parts) in (3, 4) and parts[1] == "mail" and parts[2].isdigit():
            message = self.get(int(parts[2]))
            if message is None:
                return 404, "text/plain; charset=utf-8", b"no such mail", []
            if len(parts) == 4 and parts[3] == "html":
                body = with_top_target(message["html"]).encode()
                return 200, "text/html; charset=utf-8", body, [("content-security-policy", HTML_CSP)]
            if len(parts) == 3:
                body = self._show(message).encode()
                return 200, "text/html; charset=utf-8", body, [("content-security-policy", PAGE_CSP)]
        return None

    def _index(self) -> str:
        rows = "".join(
            f"<tr><td>{_e(m['received_at'])}</td><td>{_e(m['to'])}</td>"
            f'<td><a href="/mail/{m["id"]}">{_e(m["subject"]) or "(no subject)"}</a></td></tr>'
            for m in reversed(self.messages())
        )
        body = (
            "<table><thead><tr><th>Received (UTC)</th><th>To</th><th>Subject</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
            if rows
            else "<p>No mail yet. Mail Koinonia sends in development arrives here.</p>"
        )
        return _layout("Mail sink", f"<h1>Mail received</h1>{body}")

    def _show(self, m: dict[str, Any]) -> str:
        head = "".join(
            f"<tr><th>{label}</th><td>{_e(m[key])}</td></tr>"
            for label, key in (("Subject", "subject"), ("From", "from"), ("To", "to"), ("Received", "received_at"))
        )
        html_part = (
            f'<h2>HTML</h2><iframe title="HTML body" sandbox="allow-top-navigation-by-user-activation" '
            f'src="/mail/{m["id"]}/html"></iframe>'
            if m["html"]
            else ""
        )
        return _layout(
            m["subject"] or "Mail",
            f'<p><a href="/mail">&larr; All mail</a></p><h1>{_e(m["subject"])}</h1><table>{head}</table>'
            f"<h2>Text</h2><pre>{linkify(m['text'])}</pre>{html_part}",
        )


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def linkify(text: str) -> str:
    """Escape `text` and make its http(s) links clickable."""
    out, last = [], 0
    for match in URL_RE.finditer(text):
        out.append(_e(text[last : match.start()]))
        url = _e(match.group(0))
        out.append(f'<a href="{url}">{url}</a>')
        last = match.end()
    out.append(_e(text[last:]))
    return "".join(out)


def with_top_target(document: str) -> str:
    """The mail's HTML with links opening in the top window (a click leaves the sandboxed frame)."""
    base = '<base target="_top">'
    at = document.lower().find("<head>")
    return document[: at + 6] + base + document[at + 6 :] if at >= 0 else base + document


def _layout(title: str, body: str) -> str:
    style = (
        "body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1f2933}"
        "table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .6rem;"
        "border-bottom:1px solid #e4e7eb;vertical-align:top}pre{white-space:pre-wrap;background:#f5f7fa;"
        "padding:1rem;border-radius:6px}iframe{width:100%;height:32rem;border:1px solid #cbd2d9;border-radius:6px}"
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f"<style>{style}</style></head><body>{body}</body></html>"
    )
