"""The connect card: a church's public sign-up page at /c/<slug>, its QR code, and its settings.

routes.py is the public page (no sign-in; works without JavaScript; may be framed by the
church's own site), settings_routes.py the Settings → Connect card pages, services.py what a
submission does. The double opt-in itself (the texts and what YES does) lives with the other
consent words in app/keywords/card_consent.py, which the inbound path already reaches.
"""

from flask import Blueprint

bp = Blueprint("connect", __name__)

from app.connect import routes, settings_routes  # noqa: E402,F401 - declare their views on bp
