"""Double opt-in for the connect card: the texts it sends and what a reply of YES does.

A person who ticks the card's SMS box is sent a confirmation asking them to reply YES; only that
reply opts them in (a consent ledger row of source `form`). Until then the card's marker, a
connect_submissions row in status `pending`, waits; it lapses after PENDING_DAYS. STOP wins: a
STOP while pending cancels the marker, and a number that opted out is never texted by the card.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, select, update

from app import stats
from app.extensions import db
from app.models import Church, ConnectCard, ConnectSubmission, ConsentEvent, Member

PENDING_DAYS = 30
DEFAULT_FREQUENCY = "Up to 4 msgs/month"
# "yes", "Y", "YES!", " Yes. ": the whole message, trimmed, punctuation after it allowed.
_YES = re.compile(r"(?:YES|Y)[!.]{0,3}")


def is_yes(word: str) -> bool:
    """Whether a normalised message (keywords.normalize) is a YES."""
    return bool(_YES.fullmatch(word))


def frequency_of(card: ConnectCard | None) -> str:
    return ((card.frequency if card else None) or DEFAULT_FREQUENCY).strip()


def consent_wording(church: Church, card: ConnectCard | None) -> str:
    """The checkbox text carriers require: who texts, how often, rates, STOP and HELP."""
    return (
        f"Yes, I agree to receive text messages from {church.name} at the number above. "
        f"{frequency_of(card)}. Msg & data rates may apply. Reply STOP to cancel, HELP for help."
    )


def confirmation_text(church: Church, card: ConnectCard | None) -> str:
    """The one text a card sends before consent: it asks for YES."""
    return (
        f"{church.name}: thanks for your connect card! Reply YES to get texts from {church.name}. "
        f"{frequency_of(card)}. Msg & data rates may apply. Reply STOP to cancel, HELP for help."
    )


def welcome_text(church: Church, card: ConnectCard | None) -> str:
    """The answer to YES: they are in."""
    return (
        f"{church.name}: welcome! You're subscribed to our texts. {frequency_of(card)}. "
        "Msg & data rates may apply. Reply STOP to cancel, HELP for help."
    )


def _pending_filter(member_id: int, now: datetime):
    return (
        ConnectSubmission.member_id == member_id,
        ConnectSubmission.status == "pending",
        ConnectSubmission.created_at > now - timedelta(days=PENDING_DAYS),
    )


def has_pending(member: Member, now: datetime | None = None) -> bool:
    """Whether the member has a connect card awaiting their YES."""
    now = now or datetime.now(UTC)
    return bool(db.session.scalar(select(exists().where(*_pending_filter(member.id, now)))))


def confirm(church: Church, member: Member, church_number: str, word: str, at: datetime) -> str | None:
    """Opt the member in on a YES to a pending card; the welcome text, or None when nothing was pending."""
    confirmed = db.session.execute(
        update(ConnectSubmission)
        .where(*_pending_filter(member.id, at))
        .values(status="confirmed", confirmed_at=at)
        .returning(ConnectSubmission.id)
    ).all()
    if not confirmed:
        return None
    was_out = member.opted_out_at is not None
    member.opted_out_at = None
    member.consent_source, member.consent_at = "form", at
    db.session.add(
        ConsentEvent(
            church_id=member.church_id,
            member_id=member.id,
            action="opt_in",
            source="form",
            keyword=word[:32],
            phone_number=church_number,
            detail="Connect card, confirmed by replying YES",
        )
    )
    if was_out:
        stats.bump(church.id, stats.church_day(church.timezone, at), opt_ins=1)
    card = db.session.get(ConnectCard, church.id)
    return welcome_text(church, card)


def cancel_pending(member: Member) -> bool:
    """A STOP while a card waits: the marker is cancelled, so a later YES does nothing."""
    stopped = db.session.execute(
        update(ConnectSubmission)
        .where(ConnectSubmission.member_id == member.id, ConnectSubmission.status == "pending")
        .values(status="stopped")
        .returning(ConnectSubmission.id)
    ).all()
    return bool(stopped)


def never_consented_by_card(member: Member) -> bool:
    """A member the card left out for want of consent (no STOP, no carrier block on record).

    Such a person may be asked again by a new card; anyone whose opt-out the ledger records
    (STOP, a carrier block, an import) may not: STOP wins.
    """
    opted_out_in_ledger = db.session.scalar(
        select(exists().where(ConsentEvent.member_id == member.id, ConsentEvent.action == "opt_out"))
    )
    if opted_out_in_ledger:
        return False
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    ConnectSubmission.member_id == member.id,
                    ConnectSubmission.status.in_(("pending", "no_consent", "expired")),
                )
            )
        )
    )
