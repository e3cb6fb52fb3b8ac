"""The error summary every form page shows at the top after a failed submit (the GOV.UK pattern).

The layout asks for it once, so no form template has to: every WTForms form in the page's
context that carries field errors contributes a link to each failing field.
"""

from __future__ import annotations

from jinja2 import pass_context
from wtforms import Form


def _messages(errors) -> list[str]:
    """Field errors as plain strings; enclosures (FieldList, FormField) nest lists and dicts."""
    if isinstance(errors, dict):
        return [m for value in errors.values() for m in _messages(value)]
    if isinstance(errors, list | tuple):
        return [m for value in errors for m in _messages(value)]
    return [str(errors)] if errors else []


def form_error_links(*forms: Form) -> list[tuple[str, str]]:
    """(field id, message) for each field error of the given forms, in field order."""
    links: list[tuple[str, str]] = []
    seen: set[int] = set()
    for form in forms:
        if id(form) in seen:
            continue
        seen.add(id(form))
        for field in form:
            for message in _messages(field.errors):
                links.append((field.id, message))
        # Errors a page checks beside the fields (the composer's audience) name their own anchor.
        links.extend(getattr(form, "anchored_errors", None) or [])
    return links


@pass_context
def error_summary(context) -> list[tuple[str, str]]:
    """The error links of every form the page was rendered with."""
    forms = [value for value in context.get_all().values() if isinstance(value, Form)]
    return form_error_links(*forms)
