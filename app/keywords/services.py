"""Keywords in inbound texts: opt-out, opt-in, help, and the church's own join keywords (and their list).

The whole message counts, trimmed and in any case ("stop", " Stop "), never a word inside a
longer message ("please don't stop texting me" is a message, not an opt-out).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from app import cache, merge, stats
from app.extensions import db
from app.keywords import card_consent
from app.models import Church, ConsentEvent, Conversation, Group, GroupMember, Keyword, Member, PhoneNumber
from app.outbound_webhooks import events as webhook_events

log = logging.getLogger(__name__)

OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN_WORDS = frozenset({"START", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})


@dataclass(frozen=True)
class KeywordResult:
    """What a keyword did: its kind (opt_out, opt_in, help, join or None) and the reply to send."""

    kind: str | None
    keyword: str | None = None
    reply: str | None = None


def normalize(text: str | None) -> str:
    """The keyword form of a message: trimmed, upper case, inner spaces collapsed."""
    return " ".join((text or "").strip().upper().split())


def default_help_text(church: Church) -> str:
    """The HELP answer when the church has not written its own."""
    return (
        f"{church.name}: texts from your church. Reply STOP to opt out, START to opt back in. "
        "Msg & data rates may apply."
    )


def opt_out_reply(church: Church) -> str:
    return f"{church.name}: you are unsubscribed and will get no more texts from us. Reply START to resubscribe."


def opt_in_reply(church: Church) -> str:
    return f"{church.name}: you are subscribed again. Reply STOP to opt out, HELP for help."


def apply_keyword(
    church: Church, member: Member, conversation: Conversation, number: PhoneNumber, text: str, at: datetime
) -> KeywordResult:
    """Act on a keyword message (consent, group joins) and say which reply it wants."""
    word = normalize(text)
    if not word:
        return KeywordResult(None)
    if word in OPT_OUT_WORDS:
        # Someone the connect card is still asking is not opted in yet, but their STOP counts.
        awaiting_yes = card_consent.cancel_pending(member)
        changed = set_opt_out(church, member, number.e164, word, at, force=awaiting_yes)
        # One confirmation per opt-out: a second STOP from someone already out gets none.
        return KeywordResult("opt_out", word, opt_out_reply(church) if changed else None)
    if word in OPT_IN_WORDS:
        set_opt_in(church, member, number.e164, word, at)
        return KeywordResult("opt_in", word, opt_in_reply(church))
    if word in HELP_WORDS:
        # HELP is answered even to someone opted out: carriers require it.
        help_text = (church.help_text or "").strip() or default_help_text(church)
        return KeywordResult("help", word, merge.render(help_text, member, church))
    if card_consent.is_yes(word) and member.id is not None:
        welcome = card_consent.confirm(church, member, number.e164, word, at)
        if welcome is not None:
            return KeywordResult("card_yes", word, welcome)
    keyword = find_join_keyword(church.id, word)
    if keyword is not None:
        if member.opted_out_at is not None:
            # Someone who texted STOP hears nothing more until they text START.
            return KeywordResult("join", word, None)
        join_group(church, member, keyword, number.e164, word, at)
        reply = (keyword.auto_reply or "").strip()
        return KeywordResult("join", word, merge.render(reply, member, church) or None)
    return KeywordResult(None)


def set_opt_out(
    church: Church, member: Member, church_number: str, word: str, at: datetime, *, force: bool = False
) -> bool:
    """Opt a member out of every number of the church; False when they already were.

    `force`: record it even though they are not opted in (a connect card awaiting their YES).
    """
    if member.opted_out_at is not None and not force:
        return False
    member.opted_out_at = member.opted_out_at or at
    _ledger(member, "opt_out", word, church_number)
    stats.bump(church.id, stats.church_day(church.timezone, at), opt_outs=1)
    webhook_events.member_opted_out(member, "keyword", word, church_number, at)
    return True


def set_opt_in(church: Church, member: Member, church_number: str, word: str, at: datetime) -> bool:
    """Opt a member back in; False when they were not opted out."""
    if member.opted_out_at is None:
        return False
    member.opted_out_at = None
    member.consent_source, member.consent_at = "keyword", at
    _ledger(member, "opt_in", word, church_number)
    stats.bump(church.id, stats.church_day(church.timezone, at), opt_ins=1)
    return True


def _ledger(member: Member, action: str, word: str, church_number: str) -> None:
    db.session.add(
        ConsentEvent(
            church_id=member.church_id,
            member_id=member.id,
            action=action,
            source="keyword",
            keyword=word,
            phone_number=church_number,
        )
    )


def find_join_keyword(church_id: int, word: str) -> Keyword | None:
    """The church's join keyword matching `word` (stored words are compared normalised)."""
    candidates = db.session.scalars(
        select(Keyword).where(Keyword.church_id == church_id, func.upper(func.trim(Keyword.word)) == word)
    ).all()
    if candidates:
        return candidates[0]
    # Words saved with odd spacing ("JOIN  YOUTH") still match.
    for keyword in db.session.scalars(select(Keyword).where(Keyword.church_id == church_id)):
        if normalize(keyword.word) == word:
            return keyword
    return None


def join_group(church: Church, member: Member, keyword: Keyword, church_number: str, word: str, at: datetime) -> None:
    """Add the sender to the keyword's group; texting a join keyword is consent, recorded in the ledger."""
    if keyword.group_id is not None:
        db.session.execute(
            insert(GroupMember)
            .values(church_id=church.id, group_id=keyword.group_id, member_id=member.id)
            .on_conflict_do_nothing()
        )
        cache.bump(("groups", church.id))
    if member.consent_at is None:
        member.consent_source, member.consent_at = "keyword", at
    _ledger(member, "opt_in", word, church_number)


def church_keywords(church_id: int) -> list[tuple[Keyword, str | None]]:
    """The church's join keywords in word order, each with its group's name (None without a group)."""
    rows = db.session.execute(
        select(Keyword, Group.name)
        .outerjoin(Group, Group.id == Keyword.group_id)
        .where(Keyword.church_id == church_id)
        .order_by(Keyword.word)
    ).all()
    return [(k, name) for k, name in rows]
