"""Whose dashboard figures: the whole church, or the members of the groups a leader leads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import text

from app.extensions import db
from app.models import User

Days = dict[date, dict[str, int]]


@dataclass(frozen=True)
class Scope:
    """Whose figures: the whole church, or the members of some groups (a leader's)."""

    church_id: int
    timezone: str
    user_id: int
    group_ids: tuple[int, ...] | None = None

    @property
    def is_groups(self) -> bool:
        return self.group_ids is not None


def scope_for(user: User) -> Scope:
    """Leaders see their groups; owners and admins see the church."""
    church = user.church
    if not user.is_leader:
        return Scope(church.id, church.timezone, user.id)
    ids = db.session.scalars(
        text("SELECT group_id FROM group_leaders WHERE church_id = :c AND user_id = :u ORDER BY group_id"),
        {"c": church.id, "u": user.id},
    ).all()
    return Scope(church.id, church.timezone, user.id, tuple(ids))


def start_of(day: date, tz: str) -> datetime:
    """Midnight at the start of `day` in the church's timezone."""
    return datetime.combine(day, time(), ZoneInfo(tz))
