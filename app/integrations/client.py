"""A small Planning Center People API v2 client: JSON:API pages, HTTP Basic, 429 and Retry-After.

Planning Center answers 429 past its rate limit (100 requests per 20 seconds per user by
default, and it may change) with `Retry-After` in seconds; every answer also carries
`X-PCO-API-Request-Rate-Count/Limit/Period`. The client waits out a 429 (at most MAX_WAIT
seconds a time, MAX_THROTTLES times a page) and slows down before it reaches the limit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx

log = logging.getLogger(__name__)

PER_PAGE = 100  # Planning Center's maximum
MAX_WAIT = 60.0
MAX_THROTTLES = 8
TIMEOUT = httpx.Timeout(20.0, connect=5.0)
USER_AGENT = "Koinonia (Planning Center People sync)"


class PcoError(Exception):
    """Planning Center could not be read; `message` is for the church's admin."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message, self.status = message, status


class PcoAuthError(PcoError):
    """The application id and secret were refused (401/403)."""


@dataclass
class Page:
    """One JSON:API page: its resources, the included ones by (type, id), and the next page's URL."""

    data: list[dict[str, Any]]
    included: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    next_url: str | None = None
    total: int | None = None


class PcoClient:
    """Reads one church's Planning Center with its personal access token."""

    def __init__(
        self,
        base: str,
        app_id: str,
        secret: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        on_throttle: Callable[[float], None] | None = None,
    ) -> None:
        self.base = base.rstrip("/")
        self._origin = urlsplit(self.base)
        self._http = httpx.Client(
            auth=(app_id, secret), timeout=TIMEOUT, headers={"User-Agent": USER_AGENT, "Accept": "application/json"}
        )
        self._sleep = sleep
        self._on_throttle = on_throttle or (lambda seconds: None)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PcoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path: str, **params: Any) -> str:
        """An absolute URL under the base for `path` with query `params`."""
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return f"{self.base}{path}" + (f"?{query}" if query else "")

    def people_url(self, since: str | None) -> str:
        """The first page of people changed since `since` (ISO 8601), oldest change first."""
        return self.url(
            "/people/v2/people",
            per_page=PER_PAGE,
            include="emails,phone_numbers",
            order="updated_at",
            **({"where[updated_at][gte]": since} if since else {}),
        )

    def list_results_url(self, list_id: str) -> str:
        """The first page of a list's results (one per person in the list)."""
        return self.url(f"/people/v2/lists/{quote(list_id, safe='')}/list_results", per_page=PER_PAGE)

    def organization(self) -> str | None:
        """The organisation's name (GET /people/v2)."""
        data = self.page_object(self.url("/people/v2"))
        name = (data.get("attributes") or {}).get("name")
        return str(name)[:200] if isinstance(name, str) else None

    def page_object(self, url: str) -> dict[str, Any]:
        """A single resource (`data` is an object)."""
        body = self._get(url)
        data = body.get("data") if isinstance(body, dict) else None
        return data if isinstance(data, dict) else {}

    def lists(self) -> list[dict[str, Any]]:
        """Every list of the organisation: [{"id", "name", "total_people"}] (all pages)."""
        found: list[dict[str, Any]] = []
        url: str | None = self.url("/people/v2/lists", per_page=PER_PAGE)
        while url:
            page = self.page(url)
            for item in page.data:
                attrs = item.get("attributes") or {}
                found.append(
                    {
                        "id": str(item.get("id", ""))[:32],
                        "name": str(attrs.get("name") or f"List {item.get('id')}")[:200],
                        "total_people": int(attrs.get("total_people") or 0),
                    }
                )
            url = page.next_url
        return found

    def page(self, url: str) -> Page:
        """GET one page, waiting out 429s; PcoError when it cannot be had."""
        return _page_of(self._get(url))

    def _get(self, url: str) -> Any:
        if not self._same_origin(url):
            # links.next comes from the server: never follow it (and the token) elsewhere.
            raise PcoError("Planning Center sent a next-page link to another server.")
        for _ in range(MAX_THROTTLES + 1):
            try:
                response = self._http.get(url)
            except httpx.HTTPError as exc:
                raise PcoError(f"Planning Center could not be reached ({type(exc).__name__}).") from None
            if response.status_code == 429:
                wait = _retry_after(response)
                log.info("planning center asked to wait %.0f s", wait)
                self._on_throttle(wait)
                self._sleep(wait)
                continue
            if response.status_code in (401, 403):
                raise PcoAuthError("Planning Center refused the application id and secret.", response.status_code)
            if response.status_code >= 400:
                raise PcoError(f"Planning Center answered {response.status_code}.", response.status_code)
            self._pace(response)
            try:
                return response.json()
            except ValueError:
                raise PcoError("Planning Center answered something that is not JSON.") from None
        raise PcoError("Planning Center kept answering 429 (too many requests); the sync will try again.", 429)

    def _same_origin(self, url: str) -> bool:
        parts = urlsplit(url)
        return (parts.scheme, parts.netloc) == (self._origin.scheme, self._origin.netloc) and parts.path.startswith(
            self._origin.path
        )

    def _pace(self, response: httpx.Response) -> None:
        """Pause for a moment when the answer says the next requests would reach the limit."""
        try:
            count = int(response.headers.get("X-PCO-API-Request-Rate-Count", "0"))
            limit = int(response.headers.get("X-PCO-API-Request-Rate-Limit", "0"))
        except ValueError:
            return
        if limit and count >= limit - 1:
            period = response.headers.get("X-PCO-API-Request-Rate-Period", "20 seconds").split()[0]
            try:
                seconds = min(float(period), MAX_WAIT)
            except ValueError:
                seconds = 20.0
            self._on_throttle(seconds)
            self._sleep(seconds)


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(max(float(response.headers.get("Retry-After", "1")), 0.0), MAX_WAIT)
    except ValueError:
        return 1.0


def _page_of(body: Any) -> Page:
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise PcoError("Planning Center answered a page without data.")
    included: dict[tuple[str, str], dict[str, Any]] = {}
    for item in body.get("included") or []:
        if isinstance(item, dict):
            included[(str(item.get("type")), str(item.get("id")))] = item
    links = body.get("links") or {}
    meta = body.get("meta") or {}
    total = meta.get("total_count")
    return Page(
        data=[item for item in body["data"] if isinstance(item, dict)],
        included=included,
        next_url=links.get("next") or None,
        total=int(total) if isinstance(total, int) else None,
    )
