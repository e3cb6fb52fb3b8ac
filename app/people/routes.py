"""Members and groups."""

from flask import render_template

from app.auth.decorators import STAFF, role_required
from app.people import bp


@bp.get("/members")
@role_required(*STAFF)
def members():
    """The member list."""
    return render_template("placeholder.html", title="Members")


@bp.get("/groups")
@role_required(*STAFF)
def groups():
    """The group list."""
    return render_template("placeholder.html", title="Groups")


@bp.get("/members/<int:member_id>")
@role_required(*STAFF)
def member(member_id: int):
    """One member."""
    from app.tenancy import get_member_or_404

    member = get_member_or_404(member_id)
    return render_template("placeholder.html", title=member.full_name)
