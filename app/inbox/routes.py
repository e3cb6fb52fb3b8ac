"""The shared conversation inbox."""

from flask import render_template

from app.auth.decorators import STAFF, role_required
from app.inbox import bp


@bp.get("/inbox")
@role_required(*STAFF)
def index():
    """The inbox."""
    return render_template("placeholder.html", title="Inbox")
