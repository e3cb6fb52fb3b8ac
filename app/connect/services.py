"""What the connect card does: its settings, and a card sent in (member, groups, the YES text).

Consent comes first: a card never opts anyone in. Ticking the SMS box sends one confirmation
text asking for YES (app.keywords.card_consent); the YES opts them in. A new person is saved
as not opted in (opted_out_at set, no consent on record) so no broadcast or reply reaches them
before that YES; an existing member keeps the consent they already had. A number whose opt-out
the ledger records (STOP, a carrier block) is never texted by the card: STOP wins.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import segno
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from app import audit, cache
from app.auth.decorators import ADMINS
from app.errors import PermissionDenied
from app.extensions import db
from app.inbox.inbound import find_or_open_conversation
from app.inbox.services import queue_outbound
from app.keywords import card_consent
from app.models import Church, ConnectCard, ConnectSubmission, Group, GroupMember, Member, PhoneNumber, User
from app.outbound_webhooks import events as webhook_events
from app.security.masking import mask_phone

log = logging.getLogger(__name__)


@dataclass
class CardSettings:
    enabled: bool
    intro: str | None
    questions: list[str]
    group_ids: list[int]
    frequency: str
    allowed_origins: list[str]


@dataclass
class CardInput:
    first_name: str
    last_name: str
    phone_e164: str
    email: str | None
    consent: bool
    answers: list[dict[str, str]] = field(default_factory=list)
    group_ids: list[int] = field(default_factory=list)


def card_of(church_id: int) -> ConnectCard | None:
    """The church's card settings, None before the first save."""
    return db.session.get(ConnectCard, church_id)


def church_by_slug(slug: str) -> Church | None:
    if not slug or len(slug) > 100:
        return None
    return db.session.scalar(select(Church).where(Church.slug == slug))


def open_card(slug: str) -> tuple[Church, ConnectCard] | None:
    """The church and its card when the card is open to the public."""
    church = church_by_slug(slug)
    card = card_of(church.id) if church else None
    if church is None or card is None or not card.enabled:
        return None
    return church, card


def group_choices(church_id: int, only: list[int] | None = None) -> list[tuple[int, str]]:
    """(id, name) of the church's groups by name, limited to `only` when given."""
    query = select(Group.id, Group.name).where(Group.church_id == church_id).order_by(Group.name)
    if only is not None:
        if not only:
            return []
        query = query.where(Group.id.in_(only))
    return [(gid, name) for gid, name in db.session.execute(query)]


def save_settings(actor: User, values: CardSettings) -> ConnectCard:
    """Save the church's card (owners and admins); groups are kept to the church's own."""
    if actor.role not in ADMINS:
        raise PermissionDenied("Only owners and admins can change the connect card.")
    card = card_of(actor.church_id) or ConnectCard(church_id=actor.church_id)
    own = {gid for gid, _ in group_choices(actor.church_id)}
    card.enabled = values.enabled
    card.intro = (values.intro or "").strip() or None
    card.questions = list(values.questions)
    card.group_ids = [g for g in dict.fromkeys(values.group_ids) if g in own]
    card.frequency = values.frequency.strip()
    card.allowed_origins = list(values.allowed_origins)
    db.session.add(card)
    db.session.flush()
    audit.record(
        "settings.changed",
        target=("connect_card", actor.church_id),
        detail={"connect_card": {"enabled": card.enabled}},
        actor=actor,
    )
    return card


def frame_ancestors(card: ConnectCard) -> str:
    """The CSP frame-ancestors source list: ourselves and the sites the church named."""
    return " ".join(["'self'", *card.allowed_origins])


def qr_svg(url: str) -> bytes:
    """The QR code of `url` as an SVG document (segno, error correction M)."""
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(
        buffer, kind="svg", scale=8, border=4, xmldecl=True, title="Connect card QR code"
    )
    return buffer.getvalue()


def submit(church: Church, card: ConnectCard, data: CardInput) -> ConnectSubmission:
    """Keep a card: the member (found by phone or added), their groups, and the YES text when allowed."""
    now = datetime.now(UTC)
    inserted_id = db.session.scalar(
        insert(Member)
        .values(
            church_id=church.id,
            phone_e164=data.phone_e164,
            first_name=data.first_name,
            last_name=data.last_name,
            email=data.email,
            # Not opted in until they reply YES: nothing texts them before that.
            opted_out_at=now,
        )
        .on_conflict_do_nothing(index_elements=["church_id", "phone_e164"])
        .returning(Member.id)
    )
    member = db.session.scalars(
        select(Member).where(Member.church_id == church.id, Member.phone_e164 == data.phone_e164)
    ).one()
    if inserted_id is None:
        _fill_blanks(member, data)
    else:
        webhook_events.member_created(member, "card")
    group_ids = [g for g in data.group_ids if g in set(card.group_ids)]
    group_ids = [gid for gid, _ in group_choices(church.id, group_ids)] if group_ids else []
    if group_ids:
        rows = [{"church_id": church.id, "group_id": g, "member_id": member.id} for g in group_ids]
        db.session.execute(insert(GroupMember).values(rows).on_conflict_do_nothing())
    status = _status(member, data, new=inserted_id is not None)
    submission = ConnectSubmission(
        church_id=church.id,
        member_id=member.id,
        answers=data.answers,
        group_ids=group_ids,
        consent=data.consent,
        status=status,
    )
    db.session.add(submission)
    db.session.flush()
    if status == "pending":
        _send_confirmation(church, card, member)
    # The member and memberships were written set-based (ON CONFLICT): the registry does not see them.
    cache.bump(("members", church.id), ("groups", church.id))
    log.info(
        "connect card received",
        extra={"church_id": church.id, "member_id": member.id, "status": status, "phone": mask_phone(data.phone_e164)},
    )
    return submission


def _fill_blanks(member: Member, data: CardInput) -> None:
    # Anyone can type any number, so a card only fills what the church does not know yet;
    # it never renames a member the church already has.
    if member.is_unknown or not (member.first_name or member.last_name):
        member.first_name, member.last_name = data.first_name, data.last_name
        member.is_unknown = False
    if not member.email and data.email:
        member.email = data.email


def _status(member: Member, data: CardInput, *, new: bool) -> str:
    if not data.consent:
        return "no_consent"
    if new or member.opted_out_at is None or card_consent.never_consented_by_card(member):
        return "pending"
    return "suppressed"  # they opted out (STOP, a carrier block): STOP wins, nothing is sent


def _send_confirmation(church: Church, card: ConnectCard, member: Member) -> None:
    number = db.session.scalar(
        select(PhoneNumber)
        .where(PhoneNumber.church_id == church.id)
        .order_by(PhoneNumber.is_default.desc(), PhoneNumber.id)
        .limit(1)
    )
    if number is None:
        log.warning("connect card: the church has no number to text from", extra={"church_id": church.id})
        return
    conversation = find_or_open_conversation(church.id, member.id, number)
    queue_outbound(
        conversation, member, card_consent.confirmation_text(church, card), from_e164=number.e164, author_id=None
    )
