"""The public connect card: /c/<slug> (no sign-in, no JavaScript needed) and its QR code."""

from __future__ import annotations

from flask import Response, abort, current_app, redirect, render_template, request, url_for
from limits import parse

from app import mail
from app.connect import bp, services
from app.connect.forms import card_form
from app.extensions import csrf, db, limiter
from app.keywords import card_consent
from app.security.headers import CSP
from app.security.throttle import hashed

# Per client address, counted on every POST before any work (Flask-Limiter).
CARD_POSTS_PER_ADDRESS = "10 per hour"
# Per typed phone number: a card asks a number for YES at most this often, whoever sends it.
CARD_POSTS_PER_PHONE = "3 per day"


def _framable(response: Response, card) -> Response:
    """Let the church's own sites frame the card; every other page stays unframable."""
    response.headers["Content-Security-Policy"] = CSP.replace(
        "frame-ancestors 'none'", f"frame-ancestors {services.frame_ancestors(card)}"
    )
    # X-Frame-Options cannot name other sites: the app leaves it off pages whose CSP allows framing.
    return response


def _card_page(church, card, form, status: int = 200, too_many: str | None = None) -> Response:
    html = render_template(
        "connect/card.html",
        church=church,
        card=card,
        form=form,
        consent_wording=card_consent.consent_wording(church, card),
        too_many=too_many,
    )
    return _framable(Response(html, status=status), card)


def _form_for(church, card):
    return card_form(
        church.slug, church.country, card.questions or [], services.group_choices(church.id, card.group_ids or [])
    )


def _phone_allowed(church_id: int, phone_e164: str) -> bool:
    item = parse(current_app.config.get("CONNECT_CARD_PHONE_LIMIT", CARD_POSTS_PER_PHONE))
    return limiter.limiter.hit(item, "connect-card-phone", str(church_id), hashed(phone_e164))


@bp.route("/c/<slug>", methods=["GET", "POST"])
@csrf.exempt  # the form carries its own signed token (forms.CardCSRF): it works framed, without our cookie
@limiter.limit(lambda: current_app.config.get("CONNECT_CARD_ADDRESS_LIMIT", CARD_POSTS_PER_ADDRESS), methods=["POST"])
def card(slug: str):
    """The church's connect card: fill it in, and get one text asking for YES."""
    found = services.open_card(slug)
    if found is None:
        abort(404)
    church, card = found
    form = _form_for(church, card)
    if not form.validate_on_submit():
        return _card_page(church, card, form, 422 if request.method == "POST" else 200)
    if form.website.data:  # the honeypot: a bot is shown what a person would see, and nothing is kept
        return redirect(url_for("connect.thanks", slug=church.slug), 303)
    if not _phone_allowed(church.id, form.phone_e164):
        return _card_page(
            church, card, form, 429, too_many="This number has sent several cards today. Please try again tomorrow."
        )
    services.submit(
        church,
        card,
        services.CardInput(
            first_name=" ".join(form.first_name.data.split()),
            last_name=" ".join((form.last_name.data or "").split()),
            phone_e164=form.phone_e164,
            email=(form.email.data or "").strip().lower() or None,
            consent=bool(form.consent.data),
            answers=form.answers(),
            group_ids=list(form.groups.data or []),
        ),
    )
    db.session.commit()
    # The same page whatever the number's state: it says nothing about who is opted in or out.
    return redirect(url_for("connect.thanks", slug=church.slug), 303)


@bp.get("/c/<slug>/thanks")
def thanks(slug: str):
    """Thank you (the same for everyone)."""
    found = services.open_card(slug)
    if found is None:
        abort(404)
    church, card = found
    return _framable(Response(render_template("connect/thanks.html", church=church, card=card)), card)


@bp.get("/c/<slug>/qr.svg")
def qr(slug: str):
    """The QR code of the card's address, to print on a bulletin or a slide."""
    church = services.church_by_slug(slug)
    if church is None:
        abort(404)
    svg = services.qr_svg(mail.absolute_url("connect.card", slug=church.slug))
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
