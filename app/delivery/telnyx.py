"""Telnyx Messaging API v2 client: one pooled keep-alive HTTP client shared by all threads."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from app.delivery.base import (
    AvailableNumber,
    NumberOrder,
    OptedOut,
    PermanentError,
    ProviderError,
    RateLimited,
    SendResult,
    TransientError,
)

DEFAULT_API_BASE = "https://api.telnyx.com/v2"
OPTED_OUT_CODE = "40300"


class TelnyxClient:
    """Send SMS/MMS through `POST {api_base}/messages`; ask which numbers the account holds.

    `httpx.Client` is thread-safe, so one instance serves a whole ThreadPoolExecutor and
    keeps up to `max_connections` connections alive instead of a TLS handshake per message.
    """

    def __init__(
        self,
        api_base: str,
        api_key: str,
        messaging_profile_id: str | None = None,
        timeout: float = 10.0,
        max_connections: int = 64,
    ) -> None:
        if not api_key:
            raise ValueError("TelnyxClient needs an API key")
        self.api_base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self.messaging_profile_id = messaging_profile_id or None
        self._url = f"{self.api_base}/messages"
        self._http = httpx.Client(
            headers={
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": "koinonia-telnyx/1",
            },
            # Connecting is cheap on loopback and fails fast when Telnyx is down; reading
            # waits for Telnyx to accept the message, which is the slow part.
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                keepalive_expiry=30.0,
            ),
        )

    def send(
        self,
        from_: str,
        to: str,
        text: str,
        media_urls: list[str] | None = None,
        webhook_url: str | None = None,
    ) -> SendResult:
        """Send one message; raise RateLimited/TransientError/PermanentError/OptedOut on failure."""
        body: dict[str, Any] = {"from": from_, "to": to, "type": "MMS" if media_urls else "SMS"}
        if text:
            body["text"] = text
        if media_urls:
            body["media_urls"] = list(media_urls)
        if self.messaging_profile_id:
            body["messaging_profile_id"] = self.messaging_profile_id
        if webhook_url:
            body["webhook_url"] = webhook_url
        try:
            response = self._http.post(self._url, json=body)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Nothing reached Telnyx: safe to retry.
            raise TransientError("connect", type(exc).__name__, str(exc) or None) from exc
        except httpx.WriteTimeout as exc:
            raise TransientError("timeout", "WriteTimeout", str(exc) or None) from exc
        except httpx.TimeoutException as exc:
            # The request went out; Telnyx may have accepted it before we gave up waiting.
            raise TransientError("timeout", type(exc).__name__, str(exc) or None, maybe_sent=True) from exc
        except httpx.TransportError as exc:
            raise TransientError("connection", type(exc).__name__, str(exc) or None, maybe_sent=True) from exc
        if response.status_code == 200 or response.status_code == 201:
            return _parse_success(response)
        raise _error_for(response)

    def holds_number(self, number: str) -> bool:
        """Whether the account holds `number` and it is active: `GET /phone_numbers`, or `/short_codes`.

        `filter[phone_number]` may match more than the exact number, so the answer is read from the
        rows. Short codes are not phone numbers at Telnyx; an account has few, one page holds them.
        """
        if number.startswith("+"):
            rows = self._list("phone_numbers", {"filter[phone_number]": number, "page[size]": "20"})
            return any(r.get("phone_number") == number and r.get("status") == "active" for r in rows)
        rows = self._list("short_codes", {"page[size]": "250"})
        return any(str(r.get("short_code")) == number for r in rows)

    def available_numbers(self, *, area_code: str | None, toll_free: bool, limit: int = 10) -> list[AvailableNumber]:
        """`GET /available_phone_numbers`: US numbers that can text, in an area code or toll-free."""
        params = {
            "filter[country_code]": "US",
            "filter[features][]": "sms",
            "filter[phone_number_type]": "toll_free" if toll_free else "local",
            "filter[limit]": str(limit),
        }
        if area_code and not toll_free:
            params["filter[national_destination_code]"] = area_code
        rows = self._list("available_phone_numbers", params)
        return [_available(r, "toll_free" if toll_free else "long_code") for r in rows if r.get("phone_number")]

    def order_number(self, phone_number: str) -> NumberOrder:
        """`POST /number_orders` for one number, assigned to the messaging profile when one is set.

        An order that fails on the way may still have been placed, so the caller must not simply
        try again: it asks `holds_number` first (an order is only ever for a number on offer).
        """
        body: dict[str, Any] = {"phone_numbers": [{"phone_number": phone_number}]}
        if self.messaging_profile_id:
            body["messaging_profile_id"] = self.messaging_profile_id
        try:
            response = self._http.post(f"{self.api_base}/number_orders", json=body)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise TransientError("connect", type(exc).__name__, str(exc) or None) from exc
        except httpx.TransportError as exc:
            raise TransientError("connection", type(exc).__name__, str(exc) or None, maybe_sent=True) from exc
        return _order(response)

    def number_order(self, order_id: str) -> NumberOrder:
        """`GET /number_orders/{id}`."""
        try:
            response = self._http.get(f"{self.api_base}/number_orders/{order_id}")
        except httpx.TransportError as exc:
            raise TransientError("connection", type(exc).__name__, str(exc) or None) from exc
        return _order(response)

    def _list(self, resource: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """The `data` rows of one page of a list endpoint; ProviderError subclasses on failure."""
        try:
            response = self._http.get(f"{self.api_base}/{resource}", params=params)
        except httpx.TransportError as exc:
            # A read changes nothing at Telnyx: every failure is safe to try again.
            raise TransientError("connection", type(exc).__name__, str(exc) or None) from exc
        if response.status_code != 200:
            raise _error_for(response)
        try:
            rows = response.json()["data"]
        except (ValueError, KeyError, TypeError) as exc:
            raise TransientError("bad_response", "Unreadable list response", response.text[:200], 200) from exc
        return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []

    def close(self) -> None:
        """Close pooled connections."""
        self._http.close()

    def __enter__(self) -> TelnyxClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _available(row: dict[str, Any], number_type: str) -> AvailableNumber:
    regions = {r.get("region_type"): r.get("region_name") for r in row.get("region_information") or ()}
    costs = row.get("cost_information") or {}
    return AvailableNumber(
        phone_number=str(row["phone_number"]),
        number_type=number_type,
        locality=regions.get("location") or regions.get("rate_center"),
        region=regions.get("state"),
        monthly_cost=costs.get("monthly_cost"),
        upfront_cost=costs.get("upfront_cost"),
        currency=costs.get("currency"),
    )


def _order(response: httpx.Response) -> NumberOrder:
    if response.status_code not in (200, 201):
        raise _error_for(response)
    try:
        data = response.json()["data"]
        numbers = data.get("phone_numbers") or [{}]
        return NumberOrder(
            id=str(data["id"]),
            status=str(data.get("status") or "pending"),
            phone_number=str(numbers[0].get("phone_number") or ""),
            messaging_profile_id=data.get("messaging_profile_id"),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise TransientError("bad_response", "Unreadable number order", response.text[:200], 200) from exc


def _parse_success(response: httpx.Response) -> SendResult:
    try:
        data = response.json()["data"]
        message_id = str(data["id"])
    except (ValueError, KeyError, TypeError) as exc:
        # A 2xx means Telnyx took the message; we just cannot tell which id it got.
        raise TransientError(
            "bad_response",
            "Unreadable success response",
            response.text[:200],
            response.status_code,
            maybe_sent=True,
        ) from exc
    recipients = data.get("to") or [{}]
    status = (recipients[0] or {}).get("status") or "queued"
    cost_obj = data.get("cost") or {}
    return SendResult(
        provider_message_id=message_id,
        status=str(status),
        parts=int(data.get("parts") or 1),
        cost=_decimal(cost_obj.get("amount")),
        currency=cost_obj.get("currency"),
    )


def _decimal(value: object) -> Decimal | None:
    # The spec says string, some examples show a number: str() keeps floats exact-looking.
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _errors(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        errors = response.json().get("errors")
    except (ValueError, AttributeError):
        return []
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def _error_for(response: httpx.Response) -> ProviderError:
    status = response.status_code
    errors = _errors(response)
    first = errors[0] if errors else {}
    code = str(first["code"]) if first.get("code") is not None else None
    title = first.get("title") or response.reason_phrase or None
    detail = first.get("detail") or (None if errors else response.text[:200] or None)
    if status == 429:
        return RateLimited(_retry_after(response), code or "10011", title, detail, status)
    if status >= 500:
        # A gateway timeout means the upstream may still have processed the message.
        return TransientError(code, title, detail, status, maybe_sent=status == 504)
    if any(str(e.get("code")) == OPTED_OUT_CODE for e in errors):
        opt = next(e for e in errors if str(e.get("code")) == OPTED_OUT_CODE)
        return OptedOut(OPTED_OUT_CODE, opt.get("title"), opt.get("detail"), status)
    if status == 408:
        return TransientError(code or "10008", title, detail, status)
    return PermanentError(code, title, detail, status)


def _retry_after(response: httpx.Response) -> float:
    for header in ("x-ratelimit-reset", "retry-after"):
        raw = response.headers.get(header)
        if raw:
            try:
                return max(0.0, float(raw))
            except ValueError:
                continue
    return 1.0
