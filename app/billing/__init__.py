import time

from flask import Blueprint, current_app

bp = Blueprint("billing", __name__)

# church_id -> (expires at, banners). Per process: the banners sit on every owner page and
# cost three queries, while what they report (usage, payment state) changes over minutes.
_banner_cache: dict[int, tuple[float, list]] = {}


def cached_banners(church) -> list:
    """services.banners(church), reused for BANNER_CACHE_SECONDS (default 15; 0 when testing)."""
    from app.billing.services import banners

    ttl = current_app.config.get("BANNER_CACHE_SECONDS", 0 if current_app.testing else 15)
    if ttl <= 0:
        return banners(church)
    now = time.monotonic()
    hit = _banner_cache.get(church.id)
    if hit and hit[0] > now:
        return hit[1]
    found = banners(church)
    _banner_cache[church.id] = (now + ttl, found)
    return found


@bp.app_context_processor
def inject_billing_banners() -> dict:
    """Owners see overdue-payment and allowance banners on every full page (templates/includes/banners.html)."""
    from flask_login import current_user

    from app.htmx import is_fragment_request

    def billing_banners() -> list:
        # Called from base.html only, so fragments and other roles cost nothing.
        if not current_user.is_authenticated or not current_user.is_owner or is_fragment_request():
            return []
        return cached_banners(current_user.church)

    return {"billing_banners": billing_banners}


from app.billing import routes  # noqa: E402,F401
