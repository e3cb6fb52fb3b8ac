"""Automations: workflows that walk a person through timed steps after a trigger (a welcome series).

enrollment.py decides who enters (set-based, from what other domains record), engine.py runs due
steps from the scheduler exactly once, services.py saves workflows and reports on them,
routes.py and forms.py are the /automations pages, tasks.py the periodic job and the CLI
(`flask automations run`, `flask automations advance --hours N` in development).
"""

from flask import Blueprint

bp = Blueprint("automations", __name__, cli_group="automations")

from app.automations import routes, tasks  # noqa: E402,F401 - declare views and commands on bp
