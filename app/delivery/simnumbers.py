"""The simulator's account: which phone numbers and short codes it holds, listed as Telnyx lists them."""

from __future__ import annotations

import re
import uuid
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


def _page_meta(count: int, query: dict[str, str]) -> dict[str, int]:
    try:
        size = max(1, min(250, int(query.get("page[size]", "20"))))
    except ValueError:
        size = 20
    return {"page_number": 1, "page_size": size, "total_pages": 1 if count else 0, "total_results": count}
