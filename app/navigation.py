"""The main navigation, filtered by role."""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    blueprint: str
    roles: tuple[str, ...]
    also: tuple[str, ...] = ()  # other blueprints whose pages belong to this section
    pages: tuple[str, ...] = ()  # single endpoints of other blueprints that belong to it


NAV = (
    NavItem("Dashboard", "dashboard.index", "dashboard", ("owner", "admin", "leader")),
    NavItem("Inbox", "inbox.index", "inbox", ("owner", "admin", "leader")),
    NavItem("Broadcasts", "broadcasts.index", "broadcasts", ("owner", "admin", "leader")),
    NavItem("Members", "people.members", "people.members", ("owner", "admin", "leader")),
    NavItem("Groups", "people.groups", "people.groups", ("owner", "admin", "leader")),
    NavItem("Automations", "automations.index", "automations", ("owner", "admin")),
    NavItem("Billing", "billing.index", "billing", ("owner",)),
    NavItem(
        "Settings",
        "settings.index",
        "settings",
        ("owner", "admin"),
        also=("keywords",),
        pages=(
            "accounts.staff_page",
            "accounts.invite",
            "accounts.change_role",
            "accounts.transfer_ownership",
            "connect.settings",
            "connect.print_page",
        ),
    ),
    NavItem("Ops", "ops.index", "ops", ("owner", "admin")),
)


def nav_items(user, endpoint: str) -> list[dict]:
    """Links this user may follow, with the current section marked."""
    items = []
    for item in NAV:
        if user.role not in item.roles:
            continue
        # people.* endpoints are split between Members and Groups by the endpoint name.
        if item.blueprint.startswith("people."):
            current = endpoint.startswith("people.") and (("group" in endpoint) == (item.blueprint == "people.groups"))
        else:
            current = endpoint.split(".")[0] in (item.blueprint, *item.also) or endpoint in item.pages
        items.append({"label": item.label, "url": url_for(item.endpoint), "current": current})
    return items
