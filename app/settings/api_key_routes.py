"""API keys at /settings/api-keys: owners make, rotate and revoke the keys of /api/v1."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, Length

from app.api.v1 import keys
from app.auth.decorators import OWNERS, role_required
from app.errors import ValidationError
from app.extensions import db
from app.models.api_keys import API_SCOPES, ApiKey
from app.settings import bp
from app.tenancy import get_or_404

SCOPE_LABELS = {
    "read": "read: members, groups",
    "members:write": "members:write: add, change and delete members and groups",
    "messages:send": "messages:send: send broadcasts and replies",
    "webhooks:manage": "webhooks:manage: webhook endpoints",
}


class ApiKeyForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Name the key after what will use it."), Length(max=100)])
    scopes = SelectMultipleField(
        "Scopes",
        choices=[(s, SCOPE_LABELS[s]) for s in API_SCOPES],
        default=["read"],
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        validators=[DataRequired("Choose at least one scope.")],
    )


def _page(form: ApiKeyForm, new_secret: str | None = None, status: int = 200):
    rows = keys.church_keys(current_user.church_id)
    return render_template("settings/api_keys.html", form=form, rows=rows, new_secret=new_secret), status


@bp.route("/settings/api-keys", methods=["GET", "POST"])
@role_required(*OWNERS)
def api_keys():
    """The church's API keys, and the form that makes one (its key is shown on the next page only)."""
    form = ApiKeyForm()
    if not form.is_submitted():
        return _page(form)
    if form.validate():
        try:
            made = keys.create_key(current_user, form.name.data, form.scopes.data)
        except ValidationError as err:
            for name, messages in err.details.items():
                getattr(form, name).errors = list(messages)
        else:
            db.session.commit()
            return _shown_once(made)
    return _page(form, status=422)


def _shown_once(made: keys.NewKey):
    # Rendered in the POST's answer, never stored: reloading the page cannot show it again.
    response, status = _page(ApiKeyForm(formdata=None), new_secret=made.secret)
    return response, 201, {"Cache-Control": "no-store"}


@bp.post("/settings/api-keys/<int:api_key_id>/rotate")
@role_required(*OWNERS)
def rotate_api_key(api_key_id: int):
    """A new key with the same scopes; the old one works for another 24 hours."""
    key = get_or_404(ApiKey, api_key_id)
    try:
        made = keys.rotate_key(current_user, key)
    except ValidationError as err:
        flash(err.message, "error")
        return redirect(url_for("settings.api_keys"))
    db.session.commit()
    return _shown_once(made)


@bp.post("/settings/api-keys/<int:api_key_id>/revoke")
@role_required(*OWNERS)
def revoke_api_key(api_key_id: int):
    """Stop a key at once."""
    key = get_or_404(ApiKey, api_key_id)
    keys.revoke_key(current_user, key)
    db.session.commit()
    flash(f"“{key.name}” is revoked; requests with it now answer 401.", "success")
    return redirect(url_for("settings.api_keys"))
