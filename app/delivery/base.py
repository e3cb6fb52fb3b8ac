"""What every SMS provider client returns and raises, independent of the provider."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class SendResult:
    """The provider accepted a message: its id, first status, segment count and price."""

    provider_message_id: str
    status: str
    parts: int
    cost: Decimal | None
    currency: str | None


class ProviderError(Exception):
    """The provider refused or failed a request; `code` is the provider's error code."""

    #: Whether trying the same request again later can succeed.
    retryable: bool = False

    def __init__(
        self,
        code: str | None = None,
        title: str | None = None,
        detail: str | None = None,
        http_status: int | None = None,
    ) -> None:
        self.code = code
        self.title = title
        self.detail = detail
        self.http_status = http_status
        super().__init__(self._summary())

    def _summary(self) -> str:
        parts = [str(p) for p in (self.http_status, self.code, self.title, self.detail) if p]
        return " ".join(parts) or self.__class__.__name__


class RateLimited(ProviderError):
    """HTTP 429: the account or number is over its limit; wait `retry_after` seconds."""

    retryable = True

    def __init__(
        self,
        retry_after: float = 1.0,
        code: str | None = "10011",
        title: str | None = "Too many requests",
        detail: str | None = None,
        http_status: int | None = 429,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(code, title, detail, http_status)


class TransientError(ProviderError):
    """5xx, timeout or connection failure: worth retrying with backoff.

    `maybe_sent` is True when the request may have reached the provider before it failed
    (read timeout, connection dropped mid-response, 504): retrying could text someone twice,
    so callers that promise at-most-once delivery should park the message instead.
    """

    retryable = True

    def __init__(
        self,
        code: str | None = None,
        title: str | None = None,
        detail: str | None = None,
        http_status: int | None = None,
        *,
        maybe_sent: bool = False,
    ) -> None:
        self.maybe_sent = maybe_sent
        super().__init__(code, title, detail, http_status)


class PermanentError(ProviderError):
    """A 4xx other than 429: the same request will fail again; do not retry."""


class OptedOut(PermanentError):
    """Telnyx error 40300: the recipient texted STOP to this number; record an opt-out."""


@runtime_checkable
class Provider(Protocol):
    """An SMS/MMS sender. Implementations are thread-safe and reuse connections."""

    def send(
        self,
        from_: str,
        to: str,
        text: str,
        media_urls: list[str] | None = None,
        webhook_url: str | None = None,
    ) -> SendResult:
        """Send one message; raise a ProviderError subclass when it is not accepted."""
        ...

    def holds_number(self, number: str) -> bool:
        """Whether the account holds `number` (E.164, or a short code's digits) and it is active."""
        ...

    def close(self) -> None:
        """Release pooled connections."""
        ...
