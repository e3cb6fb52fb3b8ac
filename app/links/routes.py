"""`GET /l/<code>`: the short link in a broadcast's text. Public; it reads one row and writes nothing."""

from __future__ import annotations

from flask import Response, abort, current_app, request
from werkzeug.utils import redirect

from app.extensions import limiter
from app.links import bp, clicks, codes


class ExactLocation(Response):
    """A response whose Location is sent as stored: Werkzeug would re-quote an ASCII link
    (brackets in a query, an upper-case host), and the link must arrive exactly as written."""

    def get_wsgi_headers(self, environ):
        headers = super().get_wsgi_headers(environ)
        raw = self.headers.get("Location")
        if raw and all(32 < ord(ch) < 127 for ch in raw):
            headers["Location"] = raw
        return headers


@bp.route("/l/<code>", methods=["GET", "HEAD"])
# Limited per client address (LINK_RATE_LIMIT, 300 a minute) by clicks.admit in the same Redis round
# trip that queues the click: a congregation behind one carrier's shared address clicks at once
# after a broadcast, so generous; a script guessing codes (about 47 bits of them) gets nowhere.
@limiter.exempt
def follow(code: str):
    """302 to exactly the stored link (never anywhere else); the click is counted later."""
    if not codes.well_formed(code):
        abort(404)
    purpose = request.headers.get("Sec-Purpose") or request.headers.get("Purpose") or request.headers.get("X-Purpose")
    bot = clicks.is_bot(request.method, request.headers.get("User-Agent"), purpose)
    if not clicks.admit(code, bot, request.remote_addr or "-", current_app.config["LINK_RATE_LIMIT"]):
        abort(429)
    url = codes.target(code)
    if url is None:
        abort(404)
    response = redirect(url, 302, ExactLocation)
    # Every click comes back here to be counted, and the code does not travel on to the target.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
