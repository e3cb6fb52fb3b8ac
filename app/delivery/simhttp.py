"""Minimal asyncio HTTP/1.1 (server side and a keep-alive client) for the provider simulator.

http.server parses headers with the email package and spends a thread per connection; the
delivery benchmark needs thousands of requests a second on two shared cores, so the
simulator speaks just enough HTTP/1.1 itself: Content-Length and chunked bodies, keep-alive,
Expect: 100-continue.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

MAX_BODY = 2 * 1024 * 1024
_REASONS = {status.value: status.phrase for status in HTTPStatus}


@dataclass(slots=True)
class Request:
    """One parsed HTTP request."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    reader: asyncio.StreamReader = field(repr=False)


@dataclass(slots=True)
class Response:
    """What a handler answers; `drop=True` closes the connection without answering."""

    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "application/json"
    drop: bool = False


Handler = Callable[[Request], Awaitable[Response]]


class BadRequest(Exception):
    """The bytes on the wire are not HTTP we understand."""


async def _read_chunked(reader: asyncio.StreamReader, limit: int) -> bytes:
    body = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise BadRequest("bad chunk size") from None
        if size == 0:
            # Trailers (rare) end with an empty line.
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return bytes(body)
        if len(body) + size > limit:
            raise BadRequest("body too large")
        body += await reader.readexactly(size)
        await reader.readexactly(2)


def _parse_head(head: bytes) -> tuple[list[str], dict[str, str]]:
    """Split a request or status line into its three parts, and parse the headers."""
    lines = head[:-4].decode("latin-1").split("\r\n")
    start = lines[0].split(" ", 2)
    if len(start) < 2:
        raise BadRequest("bad start line")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest("bad header line")
        headers[name.strip().lower()] = value.strip()
    return start, headers


def _keep_alive(version: str, headers: dict[str, str]) -> bool:
    connection = headers.get("connection", "").lower()
    return "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection


_date_cache: tuple[int, str] = (0, "")


def _http_date(now: float) -> str:
    global _date_cache
    second = int(now)
    if _date_cache[0] != second:
        _date_cache = (second, formatdate(second, usegmt=True))
    return _date_cache[1]


def encode_response(response: Response, keep_alive: bool, now: float) -> bytes:
    """Serialise a response with an exact Content-Length."""
    reason = _REASONS.get(response.status, "")
    lines = [
        f"HTTP/1.1 {response.status} {reason}",
        f"Date: {_http_date(now)}",
        f"Content-Type: {response.content_type}",
        f"Content-Length: {len(response.body)}",
        "Connection: keep-alive" if keep_alive else "Connection: close",
    ]
    lines.extend(f"{name}: {value}" for name, value in response.headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + response.body


async def serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handler: Handler) -> None:
    """Answer requests on one connection until the client closes it or asks to."""
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            except asyncio.LimitOverrunError:
                writer.write(encode_response(Response(431), False, time.time()))
                return
            try:
                start, headers = _parse_head(head)
                if len(start) != 3:
                    raise BadRequest("bad request line")
                method, target, version = start
                keep_alive = _keep_alive(version, headers)
                if headers.get("expect", "").lower() == "100-continue":
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                if "chunked" in headers.get("transfer-encoding", "").lower():
                    body = await _read_chunked(reader, MAX_BODY)
                else:
                    length = int(headers.get("content-length") or 0)
                    if length > MAX_BODY:
                        writer.write(encode_response(Response(413), False, time.time()))
                        return
                    body = await reader.readexactly(length) if length else b""
            except (BadRequest, ValueError):
                writer.write(encode_response(Response(400), False, time.time()))
                return
            path, _, qs = target.partition("?")
            request = Request(method.upper(), path, dict(parse_qsl(qs)), headers, body, reader)
            response = await handler(request)
            if response.drop:
                return
            writer.write(encode_response(response, keep_alive, time.time()))
            await writer.drain()
            if not keep_alive:
                return
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        writer.close()


class ClientPool:
    """Keep-alive HTTP/1.1 POSTs to webhook URLs, a few idle connections per origin."""

    def __init__(self, max_idle_per_origin: int = 64) -> None:
        self._idle: dict[tuple[str, str, int], list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = {}
        self._max_idle = max_idle_per_origin
        self._ssl = ssl.create_default_context()

    async def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        """POST `body` to `url`; return the status code, raise OSError/TimeoutError on failure."""
        parts = urlsplit(url)
        https = parts.scheme == "https"
        host = parts.hostname or "127.0.0.1"
        port = parts.port or (443 if https else 80)
        origin = (parts.scheme, host, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        head = [f"POST {target} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {len(body)}"]
        head.extend(f"{k}: {v}" for k, v in headers.items())
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        async with asyncio.timeout(timeout):
            while True:
                conn, reused = self._checkout(origin), True
                if conn is None:
                    conn = await asyncio.open_connection(host, port, ssl=self._ssl if https else None)
                    reused = False
                reader, writer = conn
                try:
                    writer.write(request)
                    await writer.drain()
                    status, keep_alive = await _read_response(reader)
                except (ConnectionError, asyncio.IncompleteReadError, BadRequest):
                    writer.close()
                    # An idle connection the server already closed: try a fresh one, once.
                    if reused:
                        continue
                    raise ConnectionError(f"connection to {host}:{port} failed") from None
                except BaseException:
                    writer.close()
                    raise
                if keep_alive and len(self._idle.setdefault(origin, [])) < self._max_idle:
                    self._idle[origin].append(conn)
                else:
                    writer.close()
                return status

    def _checkout(self, origin: tuple[str, str, int]) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        idle = self._idle.get(origin)
        while idle:
            reader, writer = idle.pop()
            if not reader.at_eof() and not writer.is_closing():
                return reader, writer
            writer.close()
        return None

    def close(self) -> None:
        """Close every idle connection."""
        for conns in self._idle.values():
            for _, writer in conns:
                writer.close()
        self._idle.clear()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    start, headers = _parse_head(head)
    try:
        status = int(start[1])
    except ValueError:
        raise BadRequest("bad status line") from None
    keep_alive = _keep_alive(start[0], headers)
    if status in (204, 304) or 100 <= status < 200:
        return status, keep_alive
    if "chunked" in headers.get("transfer-encoding", "").lower():
        await _read_chunked(reader, MAX_BODY)
    elif "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    else:
        await reader.read()  # body ends when the server closes
        keep_alive = False
    return status, keep_alive
