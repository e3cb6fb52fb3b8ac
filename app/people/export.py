"""The member list as CSV: the same query as the page, streamed from a server-side cursor."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import chain

from flask import Response, stream_with_context
from sqlalchemy import func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from app.extensions import db
from app.models import Branch, Group, GroupMember, Member, User
from app.people.phones import is_e164
from app.people.queries import MemberFilters, member_select
from app.people.services import require_admin
from app.security import csvfiles

HEADER = [
    "first_name",
    "last_name",
    "phone",
    "email",
    "branch",
    "groups",
    "language",
    "opted_out",
    "opted_out_at",
    "consent_source",
    "consent_at",
    "created_at",
    "notes",
]
BATCH = 1000


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else ""


def _phone(value: str | None) -> str:
    """The stored phone only when it parses as the valid E.164 it should be; anything else is left out.

    Inbound numbers come from the provider, so the column is not trusted: a value that is not a
    phone never reaches the file (the CSV writer lets a whole E.164 cell through unquoted).
    """
    return value if is_e164(value) else ""


def export_rows(actor: User, filters: MemberFilters) -> Iterator[list[object]]:
    """The rows of the export, fetched BATCH at a time from one server-side cursor (never all in memory)."""
    group_names = (
        select(func.string_agg(Group.name, aggregate_order_by(literal_column("'; '"), Group.name)))
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(GroupMember.member_id == Member.id)
        .scalar_subquery()
    )
    stmt = (
        member_select(actor, filters)
        .outerjoin(Branch, Branch.id == Member.branch_id)
        .with_only_columns(
            Member.first_name,
            Member.last_name,
            Member.phone_e164,
            Member.email,
            Branch.name,
            group_names,
            Member.language,
            Member.opted_out_at,
            Member.consent_source,
            Member.consent_at,
            Member.created_at,
            Member.notes,
        )
        .order_by(func.lower(Member.last_name), func.lower(Member.first_name), Member.id)
    )
    result = db.session.execute(stmt.execution_options(yield_per=BATCH))
    for first, last, phone, email, branch, groups, language, opted_out_at, source, consent_at, created, notes in result:
        yield [
            first,
            last,
            _phone(phone),
            email,
            branch,
            groups,
            language,
            "yes" if opted_out_at else "no",
            _when(opted_out_at),
            source,
            _when(consent_at),
            _when(created),
            notes,
        ]


def export_response(actor: User, filters: MemberFilters) -> Response:
    """A streamed text/csv download named after the church and the day."""
    require_admin(actor)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    name = f"members-{actor.church.slug}-{stamp}.csv"
    body = stream_with_context(csvfiles.chunks(chain([HEADER], export_rows(actor, filters)), BATCH))
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response
