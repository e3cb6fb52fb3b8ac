"""Buying a sending number from the provider: search what is on offer, order one, add it.

Telnyx sells a number only after a search has offered it (`GET /available_phone_numbers`), then
takes an order (`POST /number_orders`) that is usually done at once ("success") and otherwise
finishes a little later ("pending"): a job then asks again until it is done, and adds the number.
Numbers are bought on Koinonia's provider account, so each church may hold a bounded number of them.
"""

from __future__ import annotations

import logging

from rq import Retry
from sqlalchemy import func, select

from app import audit
from app.delivery import AvailableNumber, Provider, ProviderError
from app.errors import Conflict, PermissionDenied
from app.extensions import db
from app.jobs import enqueue_after_commit
from app.models import Church, PhoneNumber, User

log = logging.getLogger(__name__)

MAX_NUMBERS = 5  # per church: every number is rented every month on Koinonia's account
OFFERED = 10
NOT_OFFERED = "That number is no longer available. Search again and pick another."
TOO_MANY = f"Your church already has {MAX_NUMBERS} sending numbers, the most it can have."
UNAVAILABLE = "We could not reach Telnyx just now. Try again in a minute."
# The pending order is asked about every 15 s for 10 minutes, then left to support.
FINISH_RETRY = Retry(max=40, interval=15)


class OrderPending(Exception):
    """The provider has not finished the order yet: RQ runs the job again (FINISH_RETRY)."""


def require_owner(actor: User) -> None:
    if not actor.is_owner:
        raise PermissionDenied("Only the church's owner can buy a number.")


def find(actor: User, provider: Provider, *, area_code: str | None, toll_free: bool) -> list[AvailableNumber]:
    """Numbers on offer, less any that some church already sends from."""
    require_owner(actor)
    try:
        offered = provider.available_numbers(area_code=area_code, toll_free=toll_free, limit=2 * OFFERED)
    except ProviderError as err:
        log.warning("number search failed", extra={"error": str(err)})
        raise Conflict(UNAVAILABLE) from None
    wanted = [o.phone_number for o in offered]
    used = set(db.session.scalars(select(PhoneNumber.e164).where(PhoneNumber.e164.in_(wanted)))) if wanted else set()
    return [o for o in offered if o.phone_number not in used][:OFFERED]


def order(actor: User, provider: Provider, e164: str, number_type: str) -> PhoneNumber | None:
    """Order `e164` for the actor's church: the new number, or None while the order is pending."""
    require_owner(actor)
    # One order at a time per church (the lock ends with the transaction), so two clicks cannot
    # both pass the count below.
    db.session.execute(select(Church.id).where(Church.id == actor.church_id).with_for_update())
    held = db.session.scalar(select(func.count()).where(PhoneNumber.church_id == actor.church_id))
    if held >= MAX_NUMBERS:
        raise Conflict(TOO_MANY)
    if db.session.scalar(select(PhoneNumber.id).where(PhoneNumber.e164 == e164)) is not None:
        raise Conflict(NOT_OFFERED)
    try:
        placed = provider.order_number(e164)
    except ProviderError as err:
        log.warning("number order failed", extra={"error": str(err)})
        raise Conflict(UNAVAILABLE if err.retryable else NOT_OFFERED) from None
    audit.record("number.bought", detail={"number": e164, "order": placed.status}, actor=actor)
    if placed.status == "success":
        return _add(actor.church_id, e164, number_type, placed.messaging_profile_id)
    if placed.status == "failure":
        raise Conflict(NOT_OFFERED)
    enqueue_after_commit(
        "default", "app.settings.buying.finish", actor.church_id, placed.id, e164, number_type, retry=FINISH_RETRY
    )
    return None


def finish(church_id: int, order_id: str, e164: str, number_type: str) -> None:
    """RQ job: add the number of a pending order once the provider has completed it."""
    from flask import current_app

    from app.delivery import make_provider

    provider = make_provider(current_app.config)
    try:
        placed = provider.number_order(order_id)
    finally:
        provider.close()
    if placed.status == "pending":
        raise OrderPending(order_id)
    if placed.status != "success":
        log.warning("number order failed", extra={"order_id": order_id})
        return
    _add(church_id, e164, number_type, placed.messaging_profile_id)
    db.session.commit()


def _add(church_id: int, e164: str, number_type: str, profile_id: str | None) -> PhoneNumber:
    first = db.session.scalar(select(PhoneNumber.id).where(PhoneNumber.church_id == church_id).limit(1)) is None
    number = PhoneNumber(
        church_id=church_id, e164=e164, number_type=number_type, is_default=first, messaging_profile_id=profile_id
    )
    db.session.add(number)
    db.session.flush()
    return number
