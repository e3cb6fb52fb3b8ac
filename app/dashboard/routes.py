"""The church dashboard: cards on page load, charts as lazy HTMX partials."""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import abort, render_template, request, url_for
from flask_login import current_user
from werkzeug.routing import BuildError

from app.accounts.onboarding import checklist
from app.auth.decorators import STAFF, role_required
from app.dashboard import bp, series, services
from app.htmx import render
from app.replicas import replica_reads


def local_time(value: datetime) -> str:
    """A timestamp in the signed-in church's timezone, e.g. "Sun Nov 22, 9:00 AM"."""
    local = value.astimezone(ZoneInfo(current_user.church.timezone))
    return local.strftime("%a %b %-d, %-I:%M %p")


def broadcast_url(broadcast_id: int) -> str:
    """Link to a broadcast's page, whichever name the broadcasts blueprint gives it."""
    for endpoint in ("broadcasts.detail", "broadcasts.show", "broadcasts.view"):
        try:
            return url_for(endpoint, broadcast_id=broadcast_id)
        except BuildError:
            continue
    return f"/broadcasts/{broadcast_id}"


@bp.get("/")
@role_required(*STAFF)
@replica_reads
def index():
    """The home page after sign-in: this church's (or this leader's groups') figures."""
    data = services.cached_overview(current_user)
    return render_template(
        "dashboard/page.html",
        church=current_user.church,
        charts=series.DEFAULT_SPANS,
        broadcast_url=broadcast_url,
        local_time=local_time,
        humanize_seconds=services.humanize_seconds,
        onboarding=checklist(current_user),
        **data,
    )


@bp.get("/dashboard/charts/<name>")
@role_required(*STAFF)
@replica_reads
def chart(name: str):
    """One chart (30 or 90 days): the fragment for the lazy panel, a page without JavaScript."""
    if name not in series.CHART_NAMES:
        abort(404)
    span = request.args.get("days", series.DEFAULT_SPANS[name], type=int)
    if span not in series.CHART_SPANS:
        span = series.DEFAULT_SPANS[name]
    data = series.chart(current_user, name, span)
    return render("dashboard/chart_page.html", "dashboard/_chart.html", chart=data, name=name, span=span)
