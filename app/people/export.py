"""The member list as CSV: the same query as the page, streamed from a server-side cursor.

The streaming, the connection of its own and the one-export-per-user lock are app.csv_export's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from flask import Response
from sqlalchemy import Select, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from app import audit
from app.csv_export import ExportLock, ExportRunning, stream, when  # noqa: F401 - ExportRunning is the routes' too
from app.models import Branch, Group, GroupMember, Member, User
from app.people.keyset import sort_keys
from app.people.phones import is_e164
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


def _phone(value: str | None) -> str:
    """The stored phone only when it parses as the valid E.164 it should be; anything else is left out.

    Inbound numbers come from the provider, so the column is not trusted: a value that is not a
    phone never reaches the file (the CSV writer lets a whole E.164 cell through unquoted).
    """
    return value if is_e164(value) else ""


def export_select(actor: User, filters: MemberFilters) -> Select:
    """The export's statement: the list's members with their branch and groups, in name order."""
    group_names = (
        select(func.string_agg(Group.name, aggregate_order_by(literal_column("'; '"), Group.name)))
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(GroupMember.member_id == Member.id)
        .scalar_subquery()
    )
    return (
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
        .order_by(*sort_keys("name")[0])
    )


def export_rows(result: Iterable[tuple]) -> Iterator[list[object]]:
    """The CSV rows for the statement's result rows."""
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
            when(opted_out_at),
            source,
            when(consent_at),
            when(created),
            notes,
        ]


def export_response(actor: User, filters: MemberFilters) -> Response:
    """A streamed text/csv download named after the church and the day; ExportRunning if one is under way."""
    require_admin(actor)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    name = f"members-{actor.church.slug}-{stamp}.csv"
    lock = ExportLock(
        "members", actor.id, "Your member export is still downloading. Wait for it to finish, then try again."
    )
    return stream(
        actor,
        lock,
        lambda: audit.record("members.exported", actor=actor, detail={"filters": filters.as_args()}),
        export_select(actor, filters),
        HEADER,
        export_rows,
        name,
    )
