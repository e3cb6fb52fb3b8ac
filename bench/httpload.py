"""The one piece of HTTP the benches' asyncio load clients share: reading an answer off a kept-alive connection.

The clients write raw HTTP/1.1 on asyncio streams instead of using an HTTP library because
they share the machine's two cores with the server they measure.
"""

from __future__ import annotations

import asyncio


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes, bool]:
    """Send one request and read its answer: (status, body, whether the server closes the connection)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length, close = 0, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
    body = await reader.readexactly(length) if length else b""
    return int(head[9:12]), body, close
