"""The member list as CSV: the same query as the page, streamed from a server-side cursor."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime

from flask import Response, stream_with_context
from sqlalchemy import func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from app.extensions import db
from app.models import Branch, Group, GroupMember, Member, User
from app.people.queries import MemberFilters, member_select
from app.people.services import require_admin

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
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """Text as a spreadsheet will not run it: a leading = + - @ becomes literal (CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_rows(actor: User, filters: MemberFilters) -> Iterator[list[str]]:
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
        # The phone is E.164 we wrote ourselves (digits after "+"), so it is left as it is.
        yield [
            _cell(first),
            _cell(last),
            phone or "",
            _cell(email),
            _cell(branch),
            _cell(groups),
            _cell(language),
            "yes" if opted_out_at else "no",
            _cell(opted_out_at),
            _cell(source),
            _cell(consent_at),
            _cell(created),
            _cell(notes),
        ]


def _csv_chunks(rows: Iterator[list[str]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for n, row in enumerate(rows, 1):
        writer.writerow(row)
        if n % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def export_response(actor: User, filters: MemberFilters) -> Response:
    """A streamed text/csv download named after the church and the day."""
    require_admin(actor)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    name = f"members-{actor.church.slug}-{stamp}.csv"
    body = stream_with_context(_csv_chunks(export_rows(actor, filters)))
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response
