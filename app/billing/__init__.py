from flask import Blueprint, current_app
from flask_login import current_user

from app import cache
from app.billing.services import banners
from app.htmx import is_fragment_request

bp = Blueprint("billing", __name__)


def cached_banners(church) -> list:
    """services.banners(church), kept by this process while the church's plan, subscription and usage stand.

    The banners sit on every owner page and cost three queries; BANNER_CACHE_SECONDS bounds how
    long a payment's grace period can run past before its banner changes.
    """
    deps = [("church", church.id), ("billing", church.id)]
    ttl = current_app.config["BANNER_CACHE_SECONDS"]
    return cache.remember(f"banners:{church.id}", deps, ttl, lambda: banners(church))


@bp.app_context_processor
def inject_billing_banners() -> dict:
    """Owners see overdue-payment and allowance banners on every full page (templates/includes/banners.html)."""

    def billing_banners() -> list:
        # Called from base.html only, so fragments and other roles cost nothing.
        if not current_user.is_authenticated or not current_user.is_owner or is_fragment_request():
            return []
        return cached_banners(current_user.church)

    return {"billing_banners": billing_banners}


from app.billing import routes  # noqa: E402,F401
