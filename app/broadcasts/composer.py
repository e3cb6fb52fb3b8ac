"""What the composer tells an admin before sending: the live counter and the deliverability checks.

Everything here is pure (text in, figures and warnings out) except `first_contact_count`,
which asks the database how many newly imported members would hear from the church for
the first time. Checks are warnings, never blocks: the admin may send anyway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import exists, func, select

from app.billing.allowance import check as allowance_check
from app.broadcasts.audience import (
    audience_counts,
    default_number,
    recipients_select,
    sample_member,
    single_branch_number,
)
from app.broadcasts.quiet_hours import in_quiet_hours
from app.delivery.segments import (
    MAX_SEGMENTS,
    PRICE_PER_MMS,
    PRICE_PER_SEGMENT,
    SegmentInfo,
    analyze,
    replace_smart_characters,
)
from app.extensions import db
from app.merge import estimate, render
from app.models import BroadcastRecipient, Member
from app.people.custom_fields import MergeFields, member_merge_values, merge_fields

SHORTENERS = (
    "bit.ly",
    "tinyurl.com",
    "t.co",
    "goo.gl",
    "ow.ly",
    "is.gd",
    "buff.ly",
    "rebrand.ly",
    "cutt.ly",
    "shorturl.at",
    "tiny.cc",
    "bl.ink",
    "t.ly",
    "rb.gy",
    "s.id",
    "v.gd",
)
# A link is explicit (http(s)://, www.) up to the next space, or bare: a run of dot-separated labels
# up to the last label that starts with a known top-level domain, then an optional path. The run is
# matched whole and the domain found in Python: the old `(?:[a-z0-9-]+\.)+(?:com|…)` retried from every
# label of a long run, quadratic time on one request. A run is tried once, from its first word
# boundary (the atomic group commits to it; a later start could only find less), and the lookbehind
# keeps it from being retried from its middle, so every character is read a bounded number of times.
_EXPLICIT = r"\b(?:https?://|www\.)(?=[^\s<>])"
_LINK = re.compile(
    _EXPLICIT + r"[^\s<>]+"
    r"|(?<![a-z0-9-])(?>[a-z0-9-]*?\b)(?!" + _EXPLICIT + r")"
    r"(?P<host>[a-z0-9-]+(?:\.[a-z0-9-]+)+)",
    re.IGNORECASE,
)
_PATH = re.compile(r"/[^\s<>]*")
_EXPLICIT_START = re.compile(_EXPLICIT, re.IGNORECASE)
_TLD = re.compile(r"(?i)com|org|net|info|ly|co|gl|gd|gy|id|at|cc|io|me|us|be|ink|link|church")
_MERGE = re.compile(r"\{[^{}]*\}")
_WORD = re.compile(r"[^\W\d_]{2,}")
STOP_HINT = re.compile(r"(?i)\b(reply|text)\s+stop\b")
MAX_GOOD_SEGMENTS = 3


@dataclass(frozen=True)
class Counter:
    """The live counter under the message box."""

    chars: int
    info: SegmentInfo
    recipients: int
    media: bool = False
    remaining_allowance: int | None = None

    @property
    def encoding(self) -> str:
        return self.info.encoding

    @property
    def segments(self) -> int:
        return self.info.segments

    @property
    def total_segments(self) -> int:
        return self.segments * self.recipients

    @property
    def cost(self) -> Decimal:
        if self.media:
            return (PRICE_PER_MMS * self.recipients).quantize(Decimal("0.01"))
        return (PRICE_PER_SEGMENT * self.total_segments).quantize(Decimal("0.01"))

    @property
    def left_after(self) -> int | None:
        """Allowance left after this send (negative when it does not fit)."""
        if self.remaining_allowance is None:
            return None
        return self.remaining_allowance - self.total_segments

    @property
    def fixable(self) -> bool:
        """True when replacing smart quotes and dashes would change the text."""
        return any(replace_smart_characters(ch) != ch for ch in self.info.unicode_chars)


def count(body: str, recipients: int, *, media: bool = False, remaining_allowance: int | None = None) -> Counter:
    """Characters, encoding, segments and cost of `body` sent to `recipients` people."""
    body = normalise_newlines(body)
    return Counter(len(body), analyze(body), recipients, media, remaining_allowance)


def normalise_newlines(body: str) -> str:
    """Browsers post CRLF; the phone gets LF, so count what is sent."""
    return body.replace("\r\n", "\n")


@dataclass(frozen=True)
class Check:
    """One line of the deliverability check."""

    level: str  # "ok" or "warn"
    message: str


@dataclass
class CheckInput:
    body: str
    church_name: str
    segments: int
    first_contacts: int = 0
    media_urls: list[str] = field(default_factory=list)


def links(body: str) -> list[str]:
    """The URLs (or bare domains) a message contains."""
    text = _MERGE.sub(" ", body)
    found = []
    pos = 0
    while match := _LINK.search(text, pos):
        pos = match.end()
        if match.group("host") is None:
            found.append(match.group(0))
            continue
        labels = match.group("host").split(".")
        # The last label (not the first) that starts with a known top-level domain ends the host.
        last = next((i for i in range(len(labels) - 1, 0, -1) if _TLD.match(labels[i])), None)
        if last is None:
            # No domain in the run, but an explicit link may start inside it ("Sunday.https://…").
            explicit = _EXPLICIT_START.search(text, match.start("host"), match.end() + len("://x"))
            if explicit and explicit.start() > match.start():
                pos = explicit.start()
            continue
        tld = _TLD.match(labels[last]).group(0)
        link = ".".join(labels[:last]) + "." + tld
        pos = match.start("host") + len(link)
        if tld == labels[last] and last == len(labels) - 1 and (path := _PATH.match(text, pos)):
            link += path.group(0)
            pos = path.end()
        found.append(link)
    return [link.rstrip(".,;:!?)") for link in found]


def shorteners(body: str) -> list[str]:
    """Links that go through a public URL shortener, which carriers filter as spam."""
    found = []
    for link in links(body):
        host = re.sub(r"(?i)^(https?://)?(www\.)?", "", link).split("/")[0].lower()
        if host in SHORTENERS:
            found.append(link)
    return found


def mostly_caps(body: str) -> bool:
    """More than half of the words (of two letters or more) written in capitals."""
    words = _WORD.findall(_MERGE.sub(" ", body))
    if len(words) < 3:
        return False
    upper = sum(1 for w in words if w.isupper())
    return upper * 2 > len(words)


def names_church(body: str, church_name: str) -> bool:
    """The message says who it is from: the church's name, a distinctive part of it, or {church_name}."""
    if "{church_name" in body:
        return True
    lowered = body.lower()
    if church_name.lower() in lowered:
        return True
    # "Grace" or "Grace Community" is enough; generic words ("church", "chapel") are not.
    generic = {"church", "chapel", "community", "the", "of", "ministries", "ministry", "fellowship", "saint", "st"}
    words = [w for w in re.findall(r"[\w']+", church_name.lower()) if w not in generic and len(w) > 2]
    return any(re.search(rf"\b{re.escape(w)}\b", lowered) for w in words)


def deliverability_checks(data: CheckInput) -> list[Check]:
    """Warnings an admin should see before sending; an empty list of warnings reads as all clear."""
    body = data.body
    checks: list[Check] = []
    short = shorteners(body)
    if short:
        checks.append(
            Check(
                "warn", f"Link shortener ({', '.join(short)}): carriers often filter these as spam. Use the full link."
            )
        )
    elif links(body):
        checks.append(Check("warn", "Contains a link: links raise spam filtering; use your own domain, in full."))
    if body.strip() and not names_church(body, data.church_name):
        checks.append(
            Check("warn", f"Doesn't name the church: start with “{data.church_name}:” or add {{church_name}}.")
        )
    if mostly_caps(body):
        checks.append(Check("warn", "Mostly CAPITALS: it reads as shouting and looks like spam to carriers."))
    if data.segments > MAX_SEGMENTS:
        checks.append(Check("warn", f"{data.segments} segments: providers refuse more than {MAX_SEGMENTS}."))
    elif data.segments > MAX_GOOD_SEGMENTS:
        checks.append(Check("warn", f"{data.segments} segments per person: long texts cost more; aim for 3 or fewer."))
    if data.first_contacts and not STOP_HINT.search(body):
        people = "person" if data.first_contacts == 1 else "people"
        checks.append(
            Check(
                "warn",
                f"First text to {data.first_contacts} newly imported {people}: add “Reply STOP to opt out”.",
            )
        )
    if not checks and body.strip():
        checks.append(Check("ok", "No deliverability problems found."))
    return checks


def first_contact_count(church_id: int, member_ids_select) -> int:
    """Imported members in the audience who have never been sent a broadcast.

    `member_ids_select` is a SELECT of the audience's member ids (opted-out ones already left out).
    """
    audience = member_ids_select.subquery()
    stmt = (
        select(func.count())
        .select_from(Member)
        .where(
            Member.church_id == church_id,
            Member.id.in_(select(audience.c[0])),
            Member.consent_source == "import",
            ~exists().where(BroadcastRecipient.member_id == Member.id),
        )
    )
    return db.session.scalar(stmt) or 0


@dataclass
class Summary:
    """Everything the composer's side panel and the confirmation step show."""

    counter: Counter
    counts: object  # AudienceCounts
    allowance: object  # app.billing.allowance.Allowance for this send
    checks: list[Check]
    preview: str
    preview_member: object | None
    from_number: str | None
    branch_number: bool
    quiet_hours: bool


def summarise(
    church,
    body: str,
    media_urls: list[str],
    spec,
    *,
    send_at: datetime | None = None,
    counted: str | None = None,
    custom: MergeFields | None = None,
) -> Summary:
    """Counter, audience counts, allowance, checks and preview for a draft (a few aggregate queries).

    `counted` is the text as sent when it differs from the body as typed (short tracked links):
    the counter and the preview follow it, the checks read what was typed. `custom` is the
    church's merge fields when the caller has read them already.
    """
    body = normalise_newlines(body or "")
    sent = counted if counted is not None else body
    counts = audience_counts(church.id, spec)
    custom = custom if custom is not None else merge_fields(church.id)
    info = analyze(estimate(sent, church, custom.estimates))
    counter = Counter(len(sent), info, counts.recipients, bool(media_urls))
    allowance = allowance_check(church, counter.total_segments)
    counter = Counter(len(sent), info, counts.recipients, bool(media_urls), allowance.remaining)
    member = sample_member(church.id, spec)
    first = first_contact_count(church.id, recipients_select(church.id, spec)) if not spec.is_empty else 0
    checks = deliverability_checks(CheckInput(body, church.name, info.segments, first, media_urls))
    quiet = in_quiet_hours(church, send_at or datetime.now(UTC))
    branch_number = single_branch_number(church.id, spec)
    return Summary(
        counter=counter,
        counts=counts,
        allowance=allowance,
        checks=checks,
        preview=render(
            sent, member, church, member_merge_values(church.id, member.id if member else None), custom.keys
        ),
        preview_member=member,
        from_number=branch_number or default_number(church.id),
        branch_number=branch_number is not None,
        quiet_hours=quiet,
    )
