"""How TelnyxClient reads Telnyx's answers, including shapes the simulator never produces."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from app.delivery.base import OptedOut, PermanentError, RateLimited, TransientError
from app.delivery.telnyx import _error_for, _parse_success

REQUEST = httpx.Request("POST", "https://api.telnyx.com/v2/messages")


def response(status: int, json: object = None, headers: dict | None = None, text: str | None = None):
    if text is not None:
        return httpx.Response(status, text=text, headers=headers, request=REQUEST)
    return httpx.Response(status, json=json, headers=headers, request=REQUEST)


def success(cost: object) -> dict:
    return {"data": {"id": "m1", "to": [{"status": "queued"}], "parts": 3, "cost": cost}}


@pytest.mark.parametrize(
    ("cost", "amount", "currency"),
    [
        ({"amount": "0.0120", "currency": "USD"}, Decimal("0.0120"), "USD"),
        ({"amount": 0.012, "currency": "USD"}, Decimal("0.012"), "USD"),
        ({"amount": None, "currency": None}, None, None),
        (None, None, None),
    ],
)
def test_cost_may_be_string_number_or_null(cost, amount, currency):
    result = _parse_success(response(200, success(cost)))
    assert (result.provider_message_id, result.status, result.parts) == ("m1", "queued", 3)
    assert (result.cost, result.currency) == (amount, currency)


def test_unreadable_success_is_treated_as_maybe_sent():
    with pytest.raises(TransientError) as caught:
        _parse_success(response(200, text="<html>ok</html>"))
    assert caught.value.maybe_sent


def test_opt_out_is_found_even_when_not_the_first_error():
    errors = {"errors": [{"code": "10015", "title": "Bad"}, {"code": 40300, "title": "Blocked due to STOP message"}]}
    assert isinstance(_error_for(response(403, errors)), OptedOut)


def test_429_without_reset_header_waits_one_second():
    error = _error_for(response(429, {"errors": [{"code": "10011"}]}))
    assert isinstance(error, RateLimited) and error.retry_after == 1.0


def test_429_reads_x_ratelimit_reset():
    error = _error_for(response(429, {}, headers={"x-ratelimit-reset": "7"}))
    assert error.retry_after == 7.0


def test_gateway_timeout_may_have_been_sent_but_503_was_not():
    assert _error_for(response(504, text="Gateway Timeout")).maybe_sent
    plain = _error_for(response(503, text="busy"))
    assert isinstance(plain, TransientError) and not plain.maybe_sent


def test_other_4xx_are_permanent_with_first_error_fields():
    error = _error_for(response(400, {"errors": [{"code": "40310", "title": "Invalid 'to' address", "detail": "d"}]}))
    assert type(error) is PermanentError
    assert (error.code, error.title, error.detail, error.http_status) == ("40310", "Invalid 'to' address", "d", 400)
