"""Keywords: the consent words (STOP, START, HELP) and each church's join keywords.

services.py acts on inbound texts (called by app/inbox/inbound.py) and lists a church's
keywords; routes.py and forms.py are the Settings → Join keywords pages (the keywords blueprint, under
/settings/keywords; the navigation counts them as Settings).
"""

from flask import Blueprint

bp = Blueprint("keywords", __name__)

from app.keywords import routes  # noqa: E402,F401 - declares its views on bp
