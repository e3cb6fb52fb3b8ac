from flask import Blueprint

from app.inbox.templating import (
    contact_name,
    inbox_stamp,
    inbox_time,
    is_image,
    is_note,
    message_status_note,
    phone,
    status_label,
)
from app.media import url_of

bp = Blueprint("inbox", __name__)
bp.add_app_template_filter(inbox_time)
bp.add_app_template_filter(inbox_stamp)
bp.add_app_template_filter(contact_name)
bp.add_app_template_filter(phone)
bp.add_app_template_filter(status_label)
bp.add_app_template_filter(message_status_note)
bp.add_app_template_filter(url_of, "media_src")
bp.add_app_template_test(is_note, "note")
bp.add_app_template_test(is_image, "image")

# Declares its views on bp.
from app.inbox import media_routes, new_text_routes, routes  # noqa: E402,F401
