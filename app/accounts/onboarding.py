"""The onboarding checklist a signed-up church sees on its dashboard until every step is done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import url_for
from sqlalchemy import text
from werkzeug.routing import BuildError

from app.accounts import tokens
from app.extensions import db
from app.models import User


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    done: bool
    url: str | None


def _url(endpoint: str, fallback: str) -> str:
    try:
        return url_for(endpoint)
    except BuildError:
        return fallback


def _progress(church_id: int) -> dict[str, bool]:
    """Which of the church's steps are done, in one round trip."""
    row = db.session.execute(
        text(
            "SELECT EXISTS (SELECT 1 FROM phone_numbers WHERE church_id = :c) AS number, "
            "EXISTS (SELECT 1 FROM members WHERE church_id = :c) AS members, "
            "EXISTS (SELECT 1 FROM broadcasts WHERE church_id = :c AND status IN ('sending', 'sent')) AS broadcast, "
            "((SELECT count(*) FROM users WHERE church_id = :c AND active) > 1 "
            " OR EXISTS (SELECT 1 FROM account_tokens WHERE church_id = :c AND purpose = :invitation "
            "            AND user_id IS NOT NULL)) AS staff"
        ),
        {"c": church_id, "invitation": tokens.INVITATION},
    ).one()
    return dict(row._mapping)


def checklist(user: User) -> list[Step] | None:
    """The steps left for the user's church, or None once it is onboarded (then never asked again).

    Only owners and admins see it; the church is marked onboarded the first time every step is done.
    """
    church = user.church
    if church.onboarded_at is not None or not user.is_admin:
        return None
    done = _progress(church.id)
    steps = [
        Step("verify", "Verify your email address", user.email_verified_at is not None, None),
        Step("number", "Get a sending number", done["number"], _url("settings.new_number", "/settings/numbers/new")),
        Step("members", "Import or add your members", done["members"], _url("people.member_import", "/members/import")),
        Step("broadcast", "Send your first broadcast", done["broadcast"], _url("broadcasts.new", "/broadcasts/new")),
        Step("staff", "Invite your staff", done["staff"], url_for("accounts.staff_page")),
    ]
    if all(step.done for step in steps):
        church.onboarded_at = datetime.now(UTC)
        db.session.commit()
        return None
    return steps
