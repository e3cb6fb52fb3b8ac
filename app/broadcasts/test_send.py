""" "Send a test to me": the composer's draft, texted once to the signed-in staff member's own phone.

It takes the delivery path every text takes (the church's sending number, the per-number rate
limit, the shared circuit breaker, the provider client) from a worker job, and its segments count
against the church's allowance like any other text. It is not a broadcast: nobody else receives
it and the broadcasts list does not show it.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import select

from app import merge, stats
from app.billing import allowance
from app.broadcasts.audience import default_number
from app.delivery import ProviderError, TransientError, make_provider
from app.delivery.guards import circuit_breaker, rate_limiter
from app.delivery.segments import analyze
from app.errors import ValidationError
from app.extensions import db
from app.jobs import enqueue_after_commit
from app.models import Church, PhoneNumber, User
from app.people.custom_fields import merge_fields
from app.security.masking import mask_phone
from app.usage import record_usage

log = logging.getLogger(__name__)

TEST_QUEUE = "high"
MAX_WAIT = 10.0  # seconds a test may wait for room under the sending number's rate limit


def queue_test(user: User, body: str, media_urls: list[str]) -> str:
    """Check and queue the test text; returns the number it goes to (E.164). Raises ValidationError."""
    if not user.phone_e164:
        raise ValidationError("Add your mobile number on your account page first.")
    if not (body or "").strip():
        raise ValidationError("Write the message first.")
    church = user.church
    # Staff are not members: custom fields render their fallbacks, as for a member without a value.
    text = merge.render(body, _as_member(user), church, custom_keys=merge_fields(church.id).keys)
    check = allowance.check(church, analyze(text).segments)
    if not check.ok:
        raise ValidationError(check.reason or "The church's monthly allowance is used up.")
    from_e164 = default_number(church.id)
    if not from_e164:
        raise ValidationError("The church has no sending number yet.")
    enqueue_after_commit(
        TEST_QUEUE, "app.broadcasts.test_send.send_test", church.id, from_e164, user.phone_e164, text, media_urls
    )
    return user.phone_e164


def _as_member(user: User) -> SimpleNamespace:
    """The staff member's name as merge values ({first_name} is their first word)."""
    first, _, last = (user.name or "").strip().partition(" ")
    return SimpleNamespace(first_name=first or None, last_name=last or None)


def send_test(church_id: int, from_e164: str, to_e164: str, text: str, media_urls: list[str]) -> str:
    """Worker job: send the test once through the provider; returns "sent" or "failed"."""
    circuit = circuit_breaker()
    if circuit.state()["state"] == "open":
        log.warning("test text to %s not sent: provider circuit open", mask_phone(to_e164))
        return "failed"
    number_type = db.session.scalar(select(PhoneNumber.number_type).where(PhoneNumber.e164 == from_e164))
    if not rate_limiter().acquire(from_e164, number_type or "long_code", timeout=MAX_WAIT):
        log.warning("test text to %s not sent: sending number at its rate limit", mask_phone(to_e164))
        return "failed"
    provider = make_provider(current_app.config)
    try:
        result = provider.send(from_e164, to_e164, text, media_urls=media_urls or None)
    except ProviderError as exc:
        if isinstance(exc, TransientError):
            circuit.record_failure()
        log.warning("test text to %s not sent: %s", mask_phone(to_e164), exc)
        return "failed"
    finally:
        provider.close()
    tz = db.session.scalar(select(Church.timezone).where(Church.id == church_id)) or "UTC"
    stats.bump(church_id, stats.church_day(tz), sent=1, segments=result.parts)
    record_usage(church_id, result.parts)
    db.session.commit()
    return "sent"
