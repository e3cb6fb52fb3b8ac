"""The simulator's account: which phone numbers and short codes it holds, listed as Telnyx lists them."""

from __future__ import annotations

import json
import re
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from app.delivery.simstate import PROFILE_ID

# What the simulator's account holds, so that `make dev` lets a newcomer add a sending number:
# the demo churches' numbers and every US number 555-0100 to 555-0199 (the range set aside for
# fiction, in any area code), and two short codes. Anything else is "not on your account".
DEMO_NUMBERS = frozenset({"+13125550100", "+13125550200"})
HELD_RANGE = re.compile(r"^\+1[2-9]\d{2}55501\d{2}$")
HELD_SHORT_CODES = ("22395", "55012")
NUMBER_CREATED_AT = "2024-01-08T15:04:05.000Z"


def holds(number: str) -> bool:
    """Whether the simulator's account holds this E.164 number."""
    return number in DEMO_NUMBERS or bool(HELD_RANGE.match(number))


def phone_numbers_page(query: dict[str, str]) -> dict[str, Any]:
    """GET /phone_numbers: the account's numbers matching `filter[phone_number]`, as Telnyx lists them.

    Only that filter is understood; without it the list is the demo numbers (the range is too big to list).
    """
    wanted = query.get("filter[phone_number]", "").strip()
    if wanted:
        numbers = [wanted] if holds(wanted) else []
    else:
        numbers = sorted(DEMO_NUMBERS)
    rows = [
        {
            "record_type": "phone_number",
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"tel:{n}")),
            "phone_number": n,
            "status": "active",
            "phone_number_type": "local",
            "messaging_profile_id": PROFILE_ID,
            "messaging_profile_name": "Koinonia",
            "connection_id": None,
            "tags": [],
            "customer_reference": None,
            "country_iso_alpha2": "US",
            "purchased_at": NUMBER_CREATED_AT,
            "created_at": NUMBER_CREATED_AT,
            "updated_at": NUMBER_CREATED_AT,
        }
        for n in numbers
    ]
    return {"data": rows, "meta": _page_meta(len(rows), query)}


def short_codes_page(query: dict[str, str]) -> dict[str, Any]:
    """GET /short_codes: the account's short codes."""
    rows = [
        {
            "record_type": "short_code",
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sms:{code}")),
            "short_code": code,
            "country_code": "US",
            "messaging_profile_id": PROFILE_ID,
            "tags": [],
            "created_at": NUMBER_CREATED_AT,
            "updated_at": NUMBER_CREATED_AT,
        }
        for code in HELD_SHORT_CODES
    ]
    return {"data": rows, "meta": _page_meta(len(rows), query)}


# -- buying numbers ----------------------------------------------------------------------------------

TOLL_FREE_PREFIX = "833"
_orders: dict[str, dict[str, Any]] = {}
_ordered: set[str] = set()
_lock = threading.Lock()


def available_page(query: dict[str, str]) -> dict[str, Any]:
    """GET /available_phone_numbers: what the simulator offers to buy, from the held range.

    Local numbers in the asked area code (555-0100 to 555-0199, so the account holds them once
    bought), or toll-free ones in 833. Numbers already ordered from this simulator are not offered.
    """
    toll_free = query.get("filter[phone_number_type]") == "toll_free"
    area = TOLL_FREE_PREFIX if toll_free else query.get("filter[national_destination_code]", "312")
    if not (len(area) == 3 and area.isdigit() and area[0] not in "01"):
        return {"data": [], "meta": {"total_results": 0, "best_effort_results": 0}}
    try:
        limit = max(1, min(100, int(query.get("filter[limit]", "10"))))
    except ValueError:
        limit = 10
    with _lock:
        taken = _ordered | DEMO_NUMBERS
    numbers = [n for n in (f"+1{area}55501{i:02d}" for i in range(100)) if n not in taken][:limit]
    rows = [
        {
            "record_type": "available_phone_number",
            "phone_number": n,
            "vanity_format": "",
            "best_effort": False,
            "quickship": True,
            "reservable": True,
            "region_information": [
                {"region_type": "country_code", "region_name": "US"},
                *([] if toll_free else [{"region_type": "rate_center", "region_name": "CHICAGO"}]),
                *([] if toll_free else [{"region_type": "state", "region_name": "IL"}]),
            ],
            "cost_information": {
                "upfront_cost": "1.00",
                "monthly_cost": "2.00" if toll_free else "1.00",
                "currency": "USD",
            },
            "features": [{"name": "sms"}, {"name": "mms"}, {"name": "voice"}],
        }
        for n in numbers
    ]
    return {"data": rows, "meta": {"total_results": len(rows), "best_effort_results": 0}}


def create_order(body: Any) -> tuple[int, dict[str, Any]]:
    """POST /number_orders: one or more numbers from the held range, done at once ("success").

    As some real orders do, an order for a number ending in 99 is "pending" at first: it is done
    once it has been asked about (GET /number_orders/{id}).
    """
    wanted = body.get("phone_numbers") if isinstance(body, dict) else None
    if not isinstance(wanted, list) or not wanted or not all(isinstance(w, dict) for w in wanted):
        return 422, _order_error('phone_numbers must list at least one {"phone_number": ...}')
    numbers = [str(w.get("phone_number") or "") for w in wanted]
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    with _lock:
        for n in numbers:
            if not HELD_RANGE.match(n) or n in DEMO_NUMBERS or n in _ordered:
                return 422, _order_error(f"{n} is not available to order")
        _ordered.update(numbers)
        status = "pending" if any(n.endswith("99") for n in numbers) else "success"
        order = {
            "id": str(uuid.uuid4()),
            "record_type": "number_order",
            "phone_numbers_count": len(numbers),
            "connection_id": None,
            "messaging_profile_id": body.get("messaging_profile_id") or PROFILE_ID,
            "billing_group_id": None,
            "phone_numbers": [
                {
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"tel:{n}")),
                    "record_type": "number_order_phone_number",
                    "phone_number": n,
                    "requirements_met": True,
                    "status": status,
                }
                for n in numbers
            ],
            "sub_number_orders_ids": [],
            "status": status,
            "customer_reference": body.get("customer_reference"),
            "created_at": now,
            "updated_at": now,
            "requirements_met": True,
        }
        _orders[order["id"]] = order
    return 200, {"data": order}


def get_order(order_id: str) -> dict[str, Any] | None:
    """GET /number_orders/{id}."""
    with _lock:
        order = _orders.get(order_id)
        if order is None:
            return None
        answer = {"data": json.loads(json.dumps(order))}  # as it stands now
        order["status"] = "success"
        for number in order["phone_numbers"]:
            number["status"] = "success"
    return answer


def _order_error(detail: str) -> dict[str, Any]:
    return {"errors": [{"code": "10015", "title": "Invalid phone number", "detail": detail}]}


def _page_meta(count: int, query: dict[str, str]) -> dict[str, int]:
    try:
        size = max(1, min(250, int(query.get("page[size]", "20"))))
    except ValueError:
        size = 20
    return {"page_number": 1, "page_size": size, "total_pages": 1 if count else 0, "total_results": count}
