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


@dataclass(frozen=True, slots=True)
class AvailableNumber:
    """A number the provider offers to buy: where it is and what it costs (strings, as quoted)."""

    phone_number: str
    number_type: str  # "long_code" or "toll_free", as Koinonia names them
    locality: str | None
    region: str | None
    monthly_cost: str | None
    upfront_cost: str | None
    currency: str | None


@dataclass(frozen=True, slots=True)
class NumberOrder:
    """An order for one number: "pending" until the provider has it on the account, then "success"."""

    id: str
    status: str  # "pending", "success" or "failure"
    phone_number: str
    messaging_profile_id: str | None


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

    def available_numbers(self, *, area_code: str | None, toll_free: bool, limit: int) -> list[AvailableNumber]:
        """Numbers on offer that can send SMS: local ones in an area code, or toll-free ones."""
        ...

    def order_number(self, phone_number: str) -> NumberOrder:
        """Buy one number found by `available_numbers`, on the account's messaging profile."""
        ...

    def number_order(self, order_id: str) -> NumberOrder:
        """How an order stands now."""
        ...

    def close(self) -> None:
        """Release pooled connections."""
        ...
