"""Join keywords (Settings → Join keywords): a member texts e.g. JOIN YOUTH and joins that group.

Owners manage them. The words STOP, START, HELP and the rest are reserved for consent and
cannot be join keywords.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.auth.decorators import OWNERS, role_required
from app.deletion import deleted
from app.extensions import db
from app.keywords import bp
from app.keywords.forms import KeywordForm
from app.keywords.services import church_keywords
from app.models import Keyword
from app.tenancy import get_or_404


@bp.route("/settings/keywords", methods=["GET", "POST"])
@role_required(*OWNERS)
def index():
    """List join keywords and add one."""
    form = KeywordForm()
    if form.validate_on_submit():
        keyword = Keyword(church_id=current_user.church_id)
        form.apply(keyword)
        db.session.add(keyword)
        db.session.commit()
        flash(f"Keyword {keyword.word} added.", "success")
        return redirect(url_for("keywords.index"))
    status = 422 if form.errors else 200
    return render_template("keywords/page.html", form=form, keywords=church_keywords(current_user.church_id)), status


@bp.route("/settings/keywords/<int:keyword_id>", methods=["GET", "POST"])
@role_required(*OWNERS)
def edit(keyword_id: int):
    """Change a join keyword."""
    keyword = get_or_404(Keyword, keyword_id)
    form = KeywordForm(obj=keyword, keyword_id=keyword.id)
    if not form.is_submitted():
        form.group_id.data = str(keyword.group_id or "")
    if form.validate_on_submit():
        form.apply(keyword)
        db.session.commit()
        flash(f"Keyword {keyword.word} saved.", "success")
        return redirect(url_for("keywords.index"))
    status = 422 if form.errors else 200
    return render_template("keywords/edit.html", form=form, keyword=keyword), status


@bp.post("/settings/keywords/<int:keyword_id>/delete")
@role_required(*OWNERS)
def delete(keyword_id: int):
    """Remove a join keyword (members already in the group stay there)."""
    keyword = get_or_404(Keyword, keyword_id)
    db.session.delete(keyword)
    return deleted(f"Keyword {keyword.word} removed.", url_for("keywords.index"))
