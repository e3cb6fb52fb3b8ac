"""Settings → Connect card (owners and admins): what the card asks, and its printable QR code."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app import mail
from app.auth.decorators import ADMINS, role_required
from app.connect import bp, services
from app.connect.forms import MAX_QUESTIONS, CardSettingsForm
from app.extensions import db
from app.keywords import card_consent


def _card_url() -> str:
    return mail.absolute_url("connect.card", slug=current_user.church.slug)


@bp.route("/settings/connect-card", methods=["GET", "POST"])
@role_required(*ADMINS)
def settings():
    """Turn the card on or off and choose what it asks."""
    church = current_user.church
    card = services.card_of(church.id)
    form = CardSettingsForm()
    form.groups.choices = services.group_choices(church.id)
    if not form.is_submitted():
        if card is not None:
            form.enabled.data = card.enabled
            form.intro.data = card.intro
            for i, question in enumerate((card.questions or [])[:MAX_QUESTIONS]):
                getattr(form, f"question_{i}").data = question
            form.groups.data = list(card.group_ids or [])
            form.frequency.data = card.frequency
            form.origins.data = "\n".join(card.allowed_origins or [])
        else:
            form.frequency.data = card_consent.DEFAULT_FREQUENCY
    if form.validate_on_submit():
        services.save_settings(
            current_user._get_current_object(),
            services.CardSettings(
                enabled=form.enabled.data,
                intro=form.intro.data,
                questions=form.questions(),
                group_ids=list(form.groups.data or []),
                frequency=form.frequency.data,
                allowed_origins=form.parsed_origins,
            ),
        )
        db.session.commit()
        flash("Connect card saved.", "success")
        return redirect(url_for("connect.settings"))
    status = 422 if form.errors else 200
    consent = card_consent.consent_wording(church, card)
    return render_template(
        "connect/settings.html", form=form, card=card, card_url=_card_url(), consent_wording=consent
    ), status


@bp.get("/settings/connect-card/print")
@role_required(*ADMINS)
def print_page():
    """A page to print: the church's name, the QR code and the address under it."""
    return render_template("connect/print.html", church=current_user.church, card_url=_card_url())
