"""Telling a staff member about a person by mail: what an automation's "notify staff" step sends."""

from __future__ import annotations

import logging

from app import mail
from app.models import Member, User

log = logging.getLogger(__name__)

NOTE_MAX = 500


def notify_staff(user: User, member: Member, *, note: str, about: str) -> bool:
    """Mail `user` about `member` (sent from a job after the caller commits); False when they have no address."""
    if not user.email:
        return False
    try:
        mail.send(
            user.email,
            "staff_notice",
            church_id=user.church_id,
            name=user.name,
            who=member.full_name,
            note=(note or "").strip()[:NOTE_MAX],
            about=about,
            link=mail.absolute_url("people.member", member_id=member.id),
        )
    except ValueError:  # an address mail cannot take
        log.warning("staff notice not sent: unusable address", extra={"user_id": user.id})
        return False
    return True
