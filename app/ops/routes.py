"""Operations: queues, circuit state, dead letters."""

from flask import render_template

from app.auth.decorators import ADMINS, role_required
from app.ops import bp


@bp.get("/ops")
@role_required(*ADMINS)
def index():
    """Operational status for the church's sends."""
    return render_template("placeholder.html", title="Ops")
