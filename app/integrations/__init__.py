"""Integrations with other church software: Planning Center People (Settings → Integrations).

routes.py is the settings page (owners and admins), services.py what it does, sync.py and sql.py
the sync job (set-based, page by page, resumable), client.py the Planning Center API client,
tasks.py the RQ entry points and the hourly schedule (app.periodic).
"""

from flask import Blueprint

bp = Blueprint("integrations", __name__)

from app.integrations import routes  # noqa: E402,F401 - declares its views on bp
