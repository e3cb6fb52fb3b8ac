"""The one place that tells an HTMX fragment request from a full page request."""

from __future__ import annotations

import json

from flask import Response, render_template, request


def is_fragment_request() -> bool:
    """True for an HTMX request that swaps part of a page (not boosted, not a history restore)."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def render(page: str, fragment: str | None = None, *, status: int = 200, **context) -> tuple[str, int]:
    """Render `fragment` for HTMX swaps, `page` (which includes that same fragment) otherwise."""
    template = fragment if fragment and is_fragment_request() else page
    return render_template(template, **context), status


def trigger(response: Response, events: dict[str, object] | list[str]) -> Response:
    """Add an HX-Trigger header firing the given (kebab-case) client events."""
    payload = events if isinstance(events, dict) else {name: True for name in events}
    response.headers["HX-Trigger"] = json.dumps(payload)
    return response


def add_vary_header(response: Response) -> Response:
    """Caches must key on HX-Request: the same URL answers a page or a fragment."""
    response.vary.add("HX-Request")
    return response
