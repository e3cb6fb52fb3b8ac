"""Operations: queues, circuit state, webhook backlog, dead letters and their replay."""

from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.auth.decorators import ADMINS, role_required
from app.dead_letters import KINDS, replay_dead_letter
from app.extensions import db
from app.htmx import is_fragment_request, render
from app.models import DeadLetter
from app.ops import bp, services
from app.security.inputs import parse_id
from app.tenancy import get_or_404, scoped
from app.webhook_processor import backlog

PAGE_SIZE = 50


def _status() -> dict:
    """What the status panel shows this user; each part degrades to None when its store is down.

    A church's admins see their church's figures; the shared queues and webhook backlog, which
    count every church's work, only an operator (OPS_ADMIN_EMAILS).
    """
    church_id = current_user.church_id
    operator = services.is_operator(current_user, current_app.config.get("OPS_ADMIN_EMAILS", frozenset()))
    status: dict = {"operator": operator}
    parts = [
        ("circuit", services.circuit_state),
        ("broadcasts", lambda: services.broadcasts_in_flight(church_id)),
        ("dead_letters", lambda: services.dead_letter_counts(church_id)),
        ("recipients", lambda: services.recipient_backlog(church_id)),
    ]
    if operator:
        parts += [("queues", services.queue_depths), ("webhooks", backlog)]
    for name, read in parts:
        try:
            status[name] = read()
        except Exception:  # noqa: BLE001 - the page must show what it can
            db.session.rollback()
            status[name] = None
    return status


@bp.get("/ops")
@role_required(*ADMINS)
def index():
    """Operational status: queues, provider circuit, webhook backlog, dead letters (polls itself)."""
    return render("ops/page.html", "ops/_status.html", ops=_status())


@bp.get("/ops/dead-letters")
@role_required(*ADMINS)
def dead_letters():
    """This church's dead letters, newest first, keyset-paged by id."""
    query = scoped(DeadLetter).order_by(DeadLetter.id.desc()).limit(PAGE_SIZE + 1)
    before = parse_id(request.args.get("before"))
    if before:
        query = query.where(DeadLetter.id < before)
    rows = list(db.session.scalars(query))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return render(
        "ops/dead_letters.html",
        "ops/_dead_letter_rows.html",
        letters=rows,
        next_before=rows[-1].id if more and rows else None,
        kinds=KINDS,
    )


@bp.post("/ops/dead-letters/<int:dead_letter_id>/replay")
@role_required(*ADMINS)
def replay(dead_letter_id: int):
    """Replay one dead letter: only work that never reached the provider is tried again."""
    letter = get_or_404(DeadLetter, dead_letter_id)
    try:
        outcome, ok = replay_dead_letter(letter), True
    except (ValueError, KeyError) as exc:
        db.session.rollback()
        outcome, ok = f"This dead letter cannot be replayed: {exc}", False
    if is_fragment_request():
        letter = db.session.scalar(select(DeadLetter).where(DeadLetter.id == dead_letter_id))
        return render("ops/_dead_letter_row.html", letter=letter, kinds=KINDS, outcome=outcome, ok=ok)
    flash(outcome, "success" if ok else "error")
    return redirect(url_for("ops.dead_letters"))
