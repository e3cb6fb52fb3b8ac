from flask import Blueprint

bp = Blueprint("billing", __name__)


@bp.app_context_processor
def inject_billing_banners() -> dict:
    """Owners see overdue-payment and allowance banners on every full page (templates/includes/banners.html)."""
    from flask_login import current_user

    from app.htmx import is_fragment_request

    def billing_banners() -> list:
        # Called from base.html only, so fragments and other roles cost nothing.
        if not current_user.is_authenticated or current_user.role != "owner" or is_fragment_request():
            return []
        from app.billing.services import banners

        return banners(current_user.church)

    return {"billing_banners": billing_banners}


from app.billing import routes  # noqa: E402,F401
