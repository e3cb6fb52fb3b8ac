"""Inbox jobs: sending one conversation message (staff reply or keyword auto-reply).

Runs on the "high" queue so a reply never waits behind a 10,000-recipient broadcast.
Just before the provider call the job commits `send_started_at` on the message row (locked
until then), so a duplicated job finds the mark and does nothing: one text per message row,
never two. The mark also outlives a worker killed during the call: the periodic
sweep_replies() marks such a reply "unknown" (maybe sent, never re-sent), and re-queues one
whose job was lost before it began (certainly not sent).

Replies share the sending number's rate limit and the provider circuit with broadcasts
(app.delivery.guards): a reply never pushes a number over its rate, and while the circuit
is open a reply waits (still "sending") and is tried again when it may close, instead of
spending its tries against a provider that is down.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from flask import current_app
from sqlalchemy import select, text

from app import cache, media, stats
from app.delivery import OptedOut, Provider, ProviderError, TransientError, make_provider
from app.delivery.engine import record_provider_opt_outs
from app.delivery.guards import circuit_breaker, rate_limiter
from app.delivery.retry import retry_delay, should_retry
from app.extensions import db, rds
from app.inbox.services import sending_number
from app.models import Church, Conversation, ConversationMessage, Member, PhoneNumber
from app.security.masking import mask_phone
from app.usage import record_usage

log = logging.getLogger(__name__)

MAX_WAIT = 5.0  # seconds a reply job sleeps between tries; longer waits are not worth holding it
# The provider blocks every text after STOP and answers the member with its own carrier-required
# confirmation; our confirmation, refused with 40300, was therefore answered all the same. It is a
# success ("sent", marked with this code), counted neither as sent by us nor as a failure.
CARRIER_CONFIRMED = "carrier_confirmed"


@lru_cache(maxsize=1)
def _provider_for(api_base: str, api_key: str, profile: str | None) -> Provider:
    return make_provider(
        {"TELNYX_API_BASE": api_base, "TELNYX_API_KEY": api_key, "TELNYX_MESSAGING_PROFILE_ID": profile}
    )


def provider() -> Provider:
    """One pooled provider client per process."""
    cfg = current_app.config
    return _provider_for(cfg["TELNYX_API_BASE"], cfg["TELNYX_API_KEY"], cfg.get("TELNYX_MESSAGING_PROFILE_ID"))


def send_message(message_id: int) -> str:
    """Send a 'sending' outbound message; returns the status it ends in."""
    message = db.session.scalar(
        select(ConversationMessage).where(ConversationMessage.id == message_id).with_for_update()
    )
    if (
        message is None
        or message.direction != "out"
        or message.status != "sending"
        or message.provider_message_id
        or message.send_started_at is not None  # another run began it: it may have gone out
    ):
        db.session.rollback()
        return "skipped"
    conversation = db.session.get(Conversation, message.conversation_id)
    member = db.session.get(Member, conversation.member_id)
    church = db.session.get(Church, message.church_id)
    # Staff and API replies, and automations' texts, to someone who opted out are refused here too,
    # their consent read afresh in SQL at this moment; auto-replies answer the member's own text
    # (the STOP confirmation itself), so they go.
    if (not message.is_automatic or message.automated) and _opted_out(member.id):
        return _finish(message, "failed", "opted_out")
    from_e164, to_e164 = sending_number(conversation), member.phone_e164
    if not from_e164 or not to_e164:
        return _finish(message, "failed", "no_number")
    circuit = circuit_breaker()
    state = circuit.state()
    probe = state["state"] == "half_open"
    if state["state"] == "open" or (probe and not circuit.allow()):
        return _later(message, state["retry_in"] or 1.0, "provider circuit open")
    if not rate_limiter().acquire(from_e164, _number_type(from_e164), timeout=MAX_WAIT):
        return _later(message, 1.0, "sending number at its rate limit")
    body, media_urls = message.body, _media_urls(message)
    member_id, church_id, tz = member.id, church.id, church.timezone
    stop_confirmation = message.is_automatic and member.opted_out_at is not None
    message.send_started_at = datetime.now(UTC)
    db.session.commit()  # releases the row: the mark now stops any other run of this job
    attempt = 0
    while True:
        attempt += 1
        try:
            result = provider().send(from_e164, to_e164, body, media_urls=media_urls)
            break
        except TransientError as exc:
            circuit.record_failure()
            now = circuit.state()
            if not exc.maybe_sent and (probe or now["state"] != "closed"):
                return _later(message, now["retry_in"] or 1.0, "provider circuit open", begun=True)
            if should_retry(exc, attempt):
                time.sleep(min(retry_delay(exc, attempt), MAX_WAIT))
                continue
            log.warning("reply to %s not sent: %s", mask_phone(to_e164), exc)
            # Possibly accepted by the provider: 'unknown' until a webhook says otherwise.
            return _finish(message, "unknown" if exc.maybe_sent else "failed", exc.code or "provider_error")
        except OptedOut as exc:
            _answered(circuit, probe)
            # The same opt-out, ledger row and stats as a broadcast refused with 40300.
            record_provider_opt_outs([member_id], from_e164)
            if stop_confirmation:
                return _finish(message, "sent", CARRIER_CONFIRMED)
            return _finish(message, "failed", exc.code or "40300")
        except ProviderError as exc:  # rate limited (429) or refused (other 4xx): the provider answered
            if should_retry(exc, attempt):
                time.sleep(min(retry_delay(exc, attempt), MAX_WAIT))
                continue
            _answered(circuit, probe)
            log.warning("reply to %s not sent: %s", mask_phone(to_e164), exc)
            return _finish(message, "failed", exc.code or "provider_error")
    _answered(circuit, probe)
    message.provider_message_id = result.provider_message_id
    day = stats.church_day(tz)
    stats.bump(church_id, day, sent=1, segments=result.parts)
    record_usage(church_id, result.parts)
    db.session.commit()
    return message.status


def _opted_out(member_id: int) -> bool:
    """Whether the member is opted out now (SQL, not the session's copy of the row)."""
    return bool(
        db.session.execute(
            text("SELECT opted_out_at IS NOT NULL FROM members WHERE id = :id"), {"id": member_id}
        ).scalar()
    )


def _later(message: ConversationMessage, seconds: float, why: str, *, begun: bool = False) -> str:
    """Try this reply again in `seconds` (jittered); it stays "sending" and nothing went out.

    `begun`: its send was marked begun (the provider refused it unsent), so the mark is cleared
    for the next run.
    """
    message_id = message.id
    db.session.rollback()  # releases the row lock; the message is unchanged
    if begun:
        message.send_started_at = None
        db.session.commit()
    delay = max(1.0, float(seconds)) + random.uniform(0, 1)
    # The sweeper leaves a reply alone while its deferred job is due.
    rds.client.set(_WAITING.format(id=message_id), 1, ex=int(delay) + 60)
    rds.queue("high").enqueue_in(timedelta(seconds=delay), "app.inbox.tasks.send_message", message_id, result_ttl=0)
    log.info("reply %s waits %.0f s: %s", message_id, delay, why)
    return "deferred"


def _answered(circuit, probe: bool) -> None:
    """The provider answered: as the half-open probe, that closes the circuit."""
    if probe:
        circuit.record_success()


def _number_type(e164: str) -> str:
    return db.session.scalar(select(PhoneNumber.number_type).where(PhoneNumber.e164 == e164)) or "long_code"


def _media_urls(message: ConversationMessage) -> list[str] | None:
    # A stored picture gets a freshly signed URL each time it is sent.
    urls = [url for m in message.media or [] if isinstance(m, dict) and (url := media.url_of(m))]
    return urls or None


def _finish(message: ConversationMessage, status: str, error_code: str | None) -> str:
    message.status = status
    message.error_code = error_code
    if status == "failed":
        stats.bump(message.church_id, stats.church_day(_timezone(message.church_id)), failed=1)
    db.session.commit()
    return status


def _timezone(church_id: int) -> str:
    return db.session.scalar(select(Church.timezone).where(Church.id == church_id)) or "UTC"


# -- periodic ---------------------------------------------------------------------------------

_WAITING = "koinonia:inbox:reply-waits:{id}"
LOST_AFTER = timedelta(minutes=5)  # a provider call that began this long ago has ended, one way or another


def sweep_replies() -> tuple[int, int]:
    """Periodic: settle replies left "sending"; returns (marked unknown, queued again).

    Begun and never answered (the worker died during the call): "unknown", as a broadcast
    recipient would be; the provider may have it, so it is not sent again. Never begun: its job
    was lost (Redis down at enqueue time, say), so it is queued again, unless a deferred job of
    its own is due (_later). Should both run, the second finds the first one's mark.
    """
    lost = db.session.execute(
        text(
            "UPDATE conversation_messages SET status = 'unknown', error_code = 'worker_lost' "
            "WHERE status = 'sending' AND direction = 'out' AND provider_message_id IS NULL "
            "AND send_started_at < now() - make_interval(secs => :lost) "
            "RETURNING church_id, conversation_id"
        ),
        {"lost": LOST_AFTER.total_seconds()},
    ).all()
    cache.bump(*(("conversation", church_id, conversation_id) for church_id, conversation_id in lost))
    waiting = db.session.scalars(
        text(
            "SELECT id FROM conversation_messages WHERE status = 'sending' AND direction = 'out' "
            "AND provider_message_id IS NULL AND send_started_at IS NULL "
            "AND created_at < now() - make_interval(secs => :after) ORDER BY created_at LIMIT 500"
        ),
        # Not begun by then: its job was lost (or it waits on the circuit, see _WAITING).
        {"after": current_app.config.get("REQUEUE_LOST_JOBS_AFTER_SECONDS") or 120},
    ).all()
    db.session.commit()
    if waiting:
        deferred = rds.client.mget([_WAITING.format(id=i) for i in waiting])
        waiting = [i for i, due in zip(waiting, deferred, strict=True) if due is None]
    queue = rds.queue("high")
    for message_id in waiting:
        queue.enqueue("app.inbox.tasks.send_message", message_id, result_ttl=0)
    if lost or waiting:
        log.warning("replies left sending: %d marked unknown, %d queued again", len(lost), len(waiting))
    return len(lost), len(waiting)
