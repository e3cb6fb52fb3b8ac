"""Web Push for new replies: a text into a thread assigned to someone goes to their devices.

The inbound path enqueues `notify_inbound(message_id)` after its commit (never inside the
webhook request). The job sends to each of the assignee's subscriptions with pywebpush
(RFC 8291 aes128gcm, VAPID per RFC 8292). A push service answering 404 or 410 has dropped the
subscription, so Koinonia drops it too; any other failure is retried by `deliver`, a job per
subscription with RQ's retries, which rebuilds the payload from the message so no message text
waits in Redis.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from flask import current_app
from pywebpush import WebPushException, webpush
from rq import Retry
from sqlalchemy import delete, text, update

from app.extensions import db, rds
from app.inbox.inbound import preview_of
from app.inbox.templating import contact_name
from app.models import PushSubscription
from app.notifications.subscriptions import endpoint_allowed
from app.notifications.vapid import signer

log = logging.getLogger(__name__)

TTL = 24 * 3600  # a reply notification older than a day is noise
TIMEOUT = 10  # seconds per push service request
RETRY = Retry(max=3, interval=[15, 60, 300])
TEXT_MAX = 200
SENT, GONE, FAILED = "sent", "gone", "failed"


class PushFailed(Exception):
    """A push service failed for now; RQ retries the job."""


@dataclass(frozen=True)
class Target:
    subscription_id: int
    endpoint: str
    p256dh: str
    auth: str
    payload: dict[str, Any]


def notify_inbound(message_id: int) -> None:
    """RQ job: tell the assignee's devices about a new inbound text; retry failures one by one."""
    if not current_app.config.get("VAPID_PRIVATE_KEY"):
        return
    for target in targets(message_id):
        if send(target) == FAILED:
            rds.queue("default").enqueue(
                "app.notifications.push.deliver", target.subscription_id, message_id, retry=RETRY, failure_ttl=86400
            )
    db.session.commit()


def deliver(subscription_id: int, message_id: int) -> None:
    """RQ job: one more try for one subscription; raises PushFailed so RQ tries again later."""
    if not current_app.config.get("VAPID_PRIVATE_KEY"):
        return
    outcomes = [send(target) for target in targets(message_id, subscription_id)]
    db.session.commit()
    if FAILED in outcomes:
        raise PushFailed(f"push subscription {subscription_id} failed")


TARGETS_SQL = text(
    """
    SELECT s.id, s.endpoint, s.p256dh, s.auth, c.id AS conversation_id, m.body, m.media,
           mem.first_name, mem.last_name, mem.phone_e164, coalesce(ns.include_text, false) AS include_text
    FROM conversation_messages m
    JOIN conversations c ON c.id = m.conversation_id AND c.church_id = m.church_id
    JOIN members mem ON mem.id = c.member_id
    JOIN users u ON u.id = c.assignee_id AND u.church_id = c.church_id AND u.active
    LEFT JOIN notification_settings ns ON ns.user_id = u.id
    JOIN push_subscriptions s ON s.user_id = u.id AND s.church_id = u.church_id
    WHERE m.id = :message_id AND m.direction = 'in' AND coalesce(ns.push, true)
      AND (CAST(:subscription_id AS bigint) IS NULL OR s.id = :subscription_id)
    ORDER BY s.id
    """
)


def targets(message_id: int, subscription_id: int | None = None) -> list[Target]:
    """The assignee's subscriptions and what to tell them, in one query (none if push is off)."""
    rows = db.session.execute(TARGETS_SQL, {"message_id": message_id, "subscription_id": subscription_id})
    return [Target(r.id, r.endpoint, r.p256dh, r.auth, payload_for(r)) for r in rows]


def payload_for(row: Any) -> dict[str, Any]:
    """{title, body, url, tag}: who wrote and a link; the text only when the user chose it."""
    who = contact_name(row)
    if row.include_text:
        body = preview_of(row.body, row.media or [])[:TEXT_MAX]
    else:
        body = "Open the thread to read it."
    base = current_app.config["APP_BASE_URL"]
    return {
        "title": f"New text from {who}",
        "body": body,
        "url": f"{base}/inbox/{row.conversation_id}",
        "tag": f"conversation-{row.conversation_id}",
    }


def send(target: Target) -> str:
    """Post one encrypted notification; record the outcome on the subscription."""
    config = current_app.config
    if not endpoint_allowed(target.endpoint, config["KOINONIA_ENV"]):
        outcome = GONE  # kept from before a stricter allow-list: never posted to
    else:
        outcome = _post(target, config["VAPID_PRIVATE_KEY"], config["VAPID_SUBJECT"])
    sub = PushSubscription.id == target.subscription_id
    if outcome == GONE:
        db.session.execute(delete(PushSubscription).where(sub))
    elif outcome == SENT:
        db.session.execute(update(PushSubscription).where(sub).values(last_success_at=datetime.now(UTC), failures=0))
    else:
        db.session.execute(update(PushSubscription).where(sub).values(failures=PushSubscription.failures + 1))
    return outcome


def _post(target: Target, private_key: str, subject: str) -> str:
    session = requests.Session()
    session.max_redirects = 0  # a push service answers; it never sends us elsewhere
    try:
        webpush(
            subscription_info={"endpoint": target.endpoint, "keys": {"p256dh": target.p256dh, "auth": target.auth}},
            data=json.dumps(target.payload),
            vapid_private_key=signer(private_key),
            vapid_claims={"sub": subject},  # pywebpush adds aud (the endpoint's origin) and exp
            ttl=TTL,
            timeout=TIMEOUT,
            requests_session=session,
        )
        return SENT
    except WebPushException as err:
        status = err.response.status_code if err.response is not None else None
        if status in (404, 410):
            return GONE
        log.warning("push service answered %s for subscription %s", status, target.subscription_id)
        return FAILED
    except requests.RequestException as err:
        log.warning("push service unreachable for subscription %s: %s", target.subscription_id, type(err).__name__)
        return FAILED
    finally:
        session.close()
