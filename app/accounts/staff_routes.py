"""The staff page (/settings/staff) and the invitation link (/invite/<token>)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user

from app.accounts import bp, invitations, staff, tokens
from app.accounts.forms import AcceptInvitationForm, InviteForm, RoleForm, TransferForm
from app.accounts.routes import address_taken, link_gone, signed_in_from_link
from app.auth.decorators import ADMINS, OWNERS, role_required
from app.errors import AppError
from app.extensions import db, limiter
from app.models import Church, Group, User
from app.security import login_throttle
from app.tenancy import get_or_404, scoped

INVITATIONS_PER_HOUR = "20 per hour"


def church_rate_key() -> str:
    """Invitations are counted per church: every admin of a church shares one allowance."""
    if current_user.is_authenticated:
        return f"church:{current_user.church_id}"
    return get_remote_address()


# Invitations and resends share the allowance; a refused form (422) costs nothing.
invitation_limit = limiter.shared_limit(
    INVITATIONS_PER_HOUR,
    scope="staff-invitations",
    key_func=church_rate_key,
    methods=["POST"],
    deduct_when=lambda response: response.status_code in (302, 303),
)


def _actor() -> User:
    """The signed-in user itself (services lock and refresh it), not the request's proxy."""
    return current_user._get_current_object()


def _group_choices() -> list[tuple[int, str]]:
    rows = db.session.execute(scoped(Group).with_only_columns(Group.id, Group.name).order_by(Group.name))
    return [(gid, name) for gid, name in rows]


def _staff_page(form: InviteForm | None = None, status: int = 200):
    church_id = current_user.church_id
    form = form or InviteForm(formdata=None, group_choices=_group_choices())
    return render_template(
        "accounts/staff.html",
        form=form,
        staff=staff.staff(church_id),
        pending=invitations.pending(church_id),
        role_form=RoleForm(formdata=None),
    ), status


def _refused(err: AppError):
    """A refused change (the last owner, an admin acting on the owner): the page, with why."""
    db.session.rollback()
    flash(err.message, "error")
    return _staff_page(status=err.status)


@bp.get("/settings/staff")
@role_required(*ADMINS)
def staff_page():
    """The church's staff, pending invitations and the invitation form."""
    return _staff_page()


@bp.post("/settings/staff/invite")
@role_required(*ADMINS)
@invitation_limit
def invite():
    """Invite a person by email as an admin or leader."""
    form = InviteForm(group_choices=_group_choices())
    if not form.validate_on_submit():
        return _staff_page(form, 422)
    try:
        invitations.invite(_actor(), form.email.data, form.role.data, form.groups.data or [])
    except invitations.AlreadyStaff as err:
        db.session.rollback()
        form.email.errors.append(err.message)
        return _staff_page(form, 422)
    db.session.commit()
    flash(f"Invitation sent to {form.email.data.strip()}.", "success")
    return redirect(url_for("accounts.staff_page"))


def _on_invitation(invitation_id: int, change, message: str):
    """Apply `change` to one of the church's unused invitations (404 for any other id), then say so."""
    invitation = invitations.get_invitation(current_user.church_id, invitation_id)
    if invitation is None:
        abort(404)
    email = invitation.email
    change(_actor(), invitation)
    db.session.commit()
    flash(message.format(email=email), "success")
    return redirect(url_for("accounts.staff_page"))


@bp.post("/settings/staff/invitations/<int:invitation_id>/resend")
@role_required(*ADMINS)
@invitation_limit
def resend_invitation(invitation_id: int):
    """Mail a new link; the old one stops working."""
    message = "A new invitation is on its way to {email}; the earlier link no longer works."
    return _on_invitation(invitation_id, invitations.resend, message)


@bp.post("/settings/staff/invitations/<int:invitation_id>/revoke")
@role_required(*ADMINS)
def revoke_invitation(invitation_id: int):
    """Withdraw an invitation: its link stops working."""
    return _on_invitation(invitation_id, invitations.revoke, "The invitation to {email} was withdrawn.")


@bp.post("/settings/staff/<int:user_id>/role")
@role_required(*ADMINS)
def change_role(user_id: int):
    """Make a person admin or leader."""
    get_or_404(User, user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        flash("Choose admin or leader.", "error")
        return _staff_page(status=422)
    try:
        target = staff.change_role(_actor(), user_id, form.role.data)
    except AppError as err:
        return _refused(err)
    db.session.commit()
    flash(f"{target.display_name} is now {'an admin' if target.role == 'admin' else 'a leader'}.", "success")
    return _after_change(target)


def _after_change(target: User):
    """Back to the staff page, or to the dashboard when the actor just gave up managing staff."""
    if target.id == current_user.id:
        login_user(target)  # the role change ended this session too: carry on at the new one
        if not target.is_admin:
            return redirect(url_for("dashboard.index"))
    return redirect(url_for("accounts.staff_page"))


def _set_active(user_id: int, active: bool, done: str):
    get_or_404(User, user_id)
    try:
        target = staff.set_active(_actor(), user_id, active)
    except AppError as err:
        return _refused(err)
    db.session.commit()
    flash(f"{target.display_name} {done}.", "success")
    return redirect(url_for("accounts.staff_page"))


@bp.post("/settings/staff/<int:user_id>/deactivate")
@role_required(*ADMINS)
def deactivate(user_id: int):
    """Deactivate a person: they are signed out everywhere and cannot sign in."""
    return _set_active(user_id, False, "was deactivated and signed out everywhere")


@bp.post("/settings/staff/<int:user_id>/reactivate")
@role_required(*ADMINS)
def reactivate(user_id: int):
    """Let a deactivated person sign in again."""
    return _set_active(user_id, True, "can sign in again")


@bp.route("/settings/staff/<int:user_id>/transfer", methods=["GET", "POST"])
@role_required(*OWNERS)
def transfer_ownership(user_id: int):
    """Hand ownership to another person (asks for the owner's password); the owner becomes an admin."""
    target = get_or_404(User, user_id)
    if target.id == current_user.id or target.is_owner or not target.active:
        abort(404)
    form = TransferForm()
    status = 200
    if form.validate_on_submit():
        attempt = login_throttle.charge(request.remote_addr or "unknown", current_user.email)
        if attempt.refused:
            form.password.errors.append("Too many wrong passwords. Try again later.")
            return render_template("accounts/transfer.html", form=form, target=target), 429
        actor = _actor()
        try:
            new_owner = staff.transfer_ownership(actor, user_id, form.password.data)
        except AppError as err:
            return _refused(err)
        if new_owner is not None:
            attempt.refund()
            db.session.commit()
            login_user(actor)  # the new role ended this session: carry on as an admin
            flash(f"{new_owner.display_name} is now the owner; you are an admin.", "success")
            return redirect(url_for("accounts.staff_page"))
        form.password.errors.append("That is not your current password.")
    if request.method == "POST":
        status = 422
    return render_template("accounts/transfer.html", form=form, target=target), status


# --- accepting an invitation ------------------------------------------------------------------


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    """Join a church from a mailed invitation: name and password, then signed in."""
    row = tokens.peek(tokens.INVITATION, token)
    if row is None:
        return link_gone("invitation")
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        try:
            user = invitations.accept(token, form.name.data, form.password.data)
        except invitations.EmailTaken:
            return address_taken()
        if user is None:
            db.session.rollback()
            return link_gone("invitation")
        return signed_in_from_link(user, f"Welcome to {user.church.name} on Koinonia!")
    church = db.session.get(Church, row.church_id)
    role = (row.payload or {}).get("role")
    page = render_template("accounts/invite.html", form=form, token=token, invitation=row, church=church, role=role)
    return page, 422 if request.method == "POST" else 200
