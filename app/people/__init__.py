from flask import Blueprint

from app.people.templating import member_name, member_phone, member_time

bp = Blueprint("people", __name__)
bp.add_app_template_filter(member_phone)
bp.add_app_template_filter(member_time)
bp.add_app_template_filter(member_name)

# Each of these declares its views on bp.
from app.people import group_routes, routes  # noqa: E402,F401
from app.people.imports import routes as import_routes  # noqa: E402,F401
