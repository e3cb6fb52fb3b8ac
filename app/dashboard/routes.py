"""The church dashboard."""

from flask import render_template
from flask_login import current_user

from app.auth.decorators import STAFF, role_required
from app.dashboard import bp


@bp.get("/")
@role_required(*STAFF)
def index():
    """The home page after sign-in."""
    return render_template("dashboard/page.html", church=current_user.church)
