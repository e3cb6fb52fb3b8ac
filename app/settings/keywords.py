"""Join keywords (Settings → Join keywords): a member texts e.g. JOIN YOUTH and joins that group.

Owners manage them. The words STOP, START, HELP and the rest are reserved for consent and
cannot be join keywords.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.auth.decorators import OWNERS, role_required
from app.extensions import db
from app.inbox.keywords import HELP_WORDS, OPT_IN_WORDS, OPT_OUT_WORDS, normalize
from app.models import Group, Keyword
from app.settings import bp
from app.tenancy import get_or_404, scoped

RESERVED = OPT_OUT_WORDS | OPT_IN_WORDS | HELP_WORDS


class KeywordForm(FlaskForm):
    word = StringField("Keyword", validators=[DataRequired("Enter the word members text."), Length(max=64)])
    group_id = SelectField("Adds the sender to", coerce=str, validators=[Optional()])
    auto_reply = TextAreaField("Auto-reply", validators=[Optional(), Length(max=480)])

    def __init__(self, *args, keyword_id: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.keyword_id = keyword_id
        groups = db.session.execute(scoped(Group).order_by(Group.name)).scalars()
        self.group_id.choices = [("", "No group (auto-reply only)")] + [(str(g.id), g.name) for g in groups]

    def validate_word(self, field: StringField) -> None:
        word = normalize(field.data)
        if word in RESERVED:
            raise ValidationError(f"{word} is reserved for opt-out, opt-in and help.")
        clash = scoped(Keyword).where(func.upper(func.trim(Keyword.word)) == word)
        if self.keyword_id is not None:
            clash = clash.where(Keyword.id != self.keyword_id)
        if db.session.scalar(clash) is not None:
            raise ValidationError(f"{word} is already a keyword.")
        field.data = word

    def apply(self, keyword: Keyword) -> None:
        keyword.word = self.word.data
        keyword.group_id = int(self.group_id.data) if (self.group_id.data or "").isdigit() else None
        keyword.auto_reply = (self.auto_reply.data or "").strip() or None
        if keyword.group_id is not None:
            get_or_404(Group, keyword.group_id)


def _keywords() -> list[tuple[Keyword, str | None]]:
    rows = db.session.execute(
        select(Keyword, Group.name)
        .outerjoin(Group, Group.id == Keyword.group_id)
        .where(Keyword.church_id == current_user.church_id)
        .order_by(Keyword.word)
    ).all()
    return [(k, name) for k, name in rows]


@bp.route("/settings/keywords", methods=["GET", "POST"])
@role_required(*OWNERS)
def keywords():
    """List join keywords and add one."""
    form = KeywordForm()
    if form.validate_on_submit():
        keyword = Keyword(church_id=current_user.church_id)
        form.apply(keyword)
        db.session.add(keyword)
        db.session.commit()
        flash(f"Keyword {keyword.word} added.", "success")
        return redirect(url_for("settings.keywords"))
    status = 422 if form.errors else 200
    return render_template("settings/keywords.html", form=form, keywords=_keywords()), status


@bp.route("/settings/keywords/<int:keyword_id>", methods=["GET", "POST"])
@role_required(*OWNERS)
def edit_keyword(keyword_id: int):
    """Change a join keyword."""
    keyword = get_or_404(Keyword, keyword_id)
    form = KeywordForm(obj=keyword, keyword_id=keyword.id)
    if not form.is_submitted():
        form.group_id.data = str(keyword.group_id or "")
    if form.validate_on_submit():
        form.apply(keyword)
        db.session.commit()
        flash(f"Keyword {keyword.word} saved.", "success")
        return redirect(url_for("settings.keywords"))
    status = 422 if form.errors else 200
    return render_template("settings/keyword_edit.html", form=form, keyword=keyword), status


@bp.post("/settings/keywords/<int:keyword_id>/delete")
@role_required(*OWNERS)
def delete_keyword(keyword_id: int):
    """Remove a join keyword (members already in the group stay there)."""
    keyword = get_or_404(Keyword, keyword_id)
    db.session.delete(keyword)
    db.session.commit()
    flash(f"Keyword {keyword.word} removed.", "success")
    return redirect(url_for("settings.keywords"))
