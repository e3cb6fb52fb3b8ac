"""Which URLs Koinonia may POST a church's events to (server-side request forgery).

Whoever owns an endpoint chooses its URL, and workers call it from inside our network, so a URL
must be https and every address its host resolves to must be public: not private, loopback,
link-local, multicast or reserved. The check runs when the endpoint is saved and again at each
send, on the addresses the request then connects to (the request goes to the checked address,
so a DNS answer that changes between the check and the connection changes nothing).
In development and test, loopback `http://` is allowed so a local receiver can stand in.
"""

from __future__ import annotations

import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.models.webhooks import URL_MAX

LOCAL_ENVIRONMENTS = ("development", "test")
RESOLVE_TIMEOUT = 3.0  # seconds: a slow resolver does not hold a request or a worker
_resolver = ThreadPoolExecutor(max_workers=4, thread_name_prefix="koinonia-resolve")


class UrlRefused(ValueError):
    """The URL may not be called; the message says why, for the person who typed it."""


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (a vetted address) and what to call it (Host, TLS name)."""

    scheme: str
    host: str
    port: int
    path: str  # path and query
    addresses: tuple[str, ...]

    def url_for(self, address: str) -> str:
        literal = f"[{address}]" if ":" in address else address
        return f"{self.scheme}://{literal}:{self.port}{self.path}"

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


def parse(url: str, environment: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of a URL we may call, before any lookup; UrlRefused otherwise."""
    if not isinstance(url, str) or not url.strip():
        raise UrlRefused("Enter the URL that should receive the events.")
    url = url.strip()
    if len(url) > URL_MAX:
        raise UrlRefused(f"At most {URL_MAX} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused("This is not a URL.") from None
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("https", "http") or not host:
        raise UrlRefused("Enter a full URL starting with https://")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("A URL with a user name or password in it is not accepted.")
    if parts.scheme == "http" and environment not in LOCAL_ENVIRONMENTS:
        raise UrlRefused("The URL must start with https://")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


def _allowed(address: str, scheme: str, environment: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return environment in LOCAL_ENVIRONMENTS
    if scheme == "http":  # plain http only ever to this machine, and only outside production
        return False
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


def _lookup(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


def resolve(url: str, environment: str) -> Target:
    """The URL checked and its host resolved: every address must be one we may call."""
    scheme, host, port, path = parse(url, environment)
    try:
        addresses = _resolver.submit(_lookup, host, port).result(timeout=RESOLVE_TIMEOUT)
    except (OSError, UnicodeError, FutureTimeout):
        raise UrlRefused(f"The host {host} could not be found.") from None
    if not addresses:
        raise UrlRefused(f"The host {host} could not be found.")
    refused = [a for a in addresses if not _allowed(a, scheme, environment)]
    if refused:
        raise UrlRefused("This URL points at a private, loopback or reserved address; use a public https URL.")
    return Target(scheme, host, port, path, tuple(addresses))
