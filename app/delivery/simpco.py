"""A fake Planning Center People API v2 inside the simulator process, under the path prefix /pco.

Set `PCO_API_BASE=http://127.0.0.1:<simulator port>/pco`. It speaks the JSON:API of
api.planningcenteronline.com for what Koinonia reads: `GET /people/v2/people` (`per_page` up to
100, `offset`, `include=emails,phone_numbers`, `where[updated_at][gte]`, `order=updated_at`,
`links.next`, `meta.total_count`), `GET /people/v2/lists` and
`GET /people/v2/lists/{id}/list_results`. Authentication is HTTP Basic (a personal access token's
application id and secret). Like the real API it counts requests per 20 seconds and answers 429
with `Retry-After` past the limit; `fail_next()` (or `POST /_sim/pco/faults`) forces 429s.

People are generated deterministically by `seed(n)`: person i has id 1000+i and a phone in
+1 (312) 6xx-xxxx, except every 17th (no phone), every 23rd (an invalid phone) and every 29th
(the same phone as the person before). Lists: Youth (every 3rd), Worship Team (every 5th),
Volunteers (every 7th).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from app.delivery.simhttp import Request, Response

if TYPE_CHECKING:
    from app.delivery.simserver import Simulator

PREFIX = "/pco"
CONTROL = "/_sim/pco"
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 25
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
FIRST = ("Ruth", "Naomi", "Boaz", "Esther", "Caleb", "Lydia", "Silas", "Priscilla", "Timothy", "Joanna", "Micah")
LAST = ("Adams", "Baker", "Carter", "Diaz", "Evans", "Foster", "Garcia", "Hughes", "Ibarra", "Jensen", "Kim")
SEED_LISTS = (("1", "Youth", 3), ("2", "Worship Team", 5), ("3", "Volunteers", 7))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def seeded_phone(i: int) -> str:
    """The phone of generated person i, as people type it into Planning Center."""
    return f"(312) {600 + (i // 10000) % 400}-{i % 10000:04d}"


class PlanningCenterFake:
    """The fake's state; every method is safe to call from any thread (tests call them directly)."""

    def __init__(self, limit: int = 100, period: float = 20.0) -> None:
        self._lock = threading.Lock()
        self.limit, self.period = limit, period
        self.credentials: tuple[str, str] | None = None  # None: any non-empty id and secret
        self.organization = "Grace Community Church"
        self.people: dict[str, dict[str, Any]] = {}
        self.lists: dict[str, dict[str, Any]] = {}
        self._hits: deque[float] = deque()
        self._forced: deque[int] = deque()  # Retry-After seconds of the 429s to answer next
        self.requests = 0
        self.throttled = 0

    # -- state ------------------------------------------------------------------------------

    def reset(self) -> None:
        """No people, no lists, no faults, counters at zero."""
        with self._lock:
            self.people.clear()
            self.lists.clear()
            self._hits.clear()
            self._forced.clear()
            self.requests = self.throttled = 0

    def seed(self, n: int, lists: bool = True) -> None:
        """Replace everyone with n generated people (and the three lists)."""
        self.reset()
        with self._lock:
            for i in range(1, n + 1):
                phone = seeded_phone(i)
                if i % 29 == 0 and i > 1:
                    phone = seeded_phone(i - 1)
                if i % 17 == 0:
                    phones = []
                elif i % 23 == 0:
                    phones = ["555-12"]
                else:
                    phones = [phone]
                first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
                self._put(
                    str(1000 + i),
                    first,
                    f"{last}{i}",
                    phones,
                    [f"{first.lower()}.{i}@example.net"],
                    EPOCH + timedelta(seconds=i),
                )
            if lists:
                for list_id, name, every in SEED_LISTS:
                    members = [str(1000 + i) for i in range(1, n + 1) if i % every == 0]
                    self.lists[list_id] = {"name": name, "people": members}

    def add_person(
        self,
        person_id: str,
        first_name: str,
        last_name: str,
        phones: list[str] | None = None,
        emails: list[str] | None = None,
        updated_at: datetime | None = None,
    ) -> None:
        """Add or replace one person."""
        with self._lock:
            self._put(person_id, first_name, last_name, phones or [], emails or [], updated_at or datetime.now(UTC))

    def update_person(self, person_id: str, **attributes: Any) -> None:
        """Change a person's first_name/last_name/phones/emails; their updated_at becomes now."""
        with self._lock:
            person = self.people[person_id]
            person.update(attributes)
            person["updated_at"] = max(datetime.now(UTC), person["updated_at"] + timedelta(seconds=1))

    def set_list(self, list_id: str, name: str, person_ids: list[str]) -> None:
        """Add or replace one list."""
        with self._lock:
            self.lists[list_id] = {"name": name, "people": list(person_ids)}

    def fail_next(self, count: int = 1, retry_after: int = 1) -> None:
        """Answer the next `count` API requests with 429 and this Retry-After."""
        with self._lock:
            self._forced.extend([retry_after] * count)

    def _put(self, pid: str, first: str, last: str, phones: list[str], emails: list[str], at: datetime) -> None:
        self.people[pid] = {
            "id": pid,
            "first_name": first,
            "last_name": last,
            "phones": list(phones),
            "emails": list(emails),
            "created_at": min(at, EPOCH),
            "updated_at": at,
        }

    # -- HTTP -------------------------------------------------------------------------------

    def answer(self, req: Request, root: str) -> Response:
        """Answer one request under /pco (root is the server's URL, for links)."""
        with self._lock:
            self.requests += 1
            if not self._authorized(req):
                return _errors(401, "401", "Unauthorized", "Invalid credentials")
            throttled = self._throttle()
            if throttled is not None:
                self.throttled += 1
                return throttled
            path = req.path[len(PREFIX) :].rstrip("/")
            if req.method != "GET":
                return _errors(405, "405", "Method Not Allowed", "Only GET is served by this fake")
            parts = path.split("/")
            if path == "/people/v2/people":
                return self._people(req, root)
            if path == "/people/v2/lists":
                return self._lists(req, root)
            if len(parts) == 6 and parts[1:4] == ["people", "v2", "lists"] and parts[5] == "list_results":
                return self._list_results(req, root, parts[4])
            if path == "/people/v2":
                return _json(
                    200, {"data": {"type": "Organization", "id": "1", "attributes": {"name": self.organization}}}
                )
            return _errors(404, "404", "Not Found", "The resource you requested could not be found")

    def _authorized(self, req: Request) -> bool:
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Basic "):
            return False
        try:
            app_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        if self.credentials is None:
            return bool(app_id and secret)
        return (app_id, secret) == self.credentials

    def _throttle(self) -> Response | None:
        now = time.monotonic()
        if self._forced:
            return self._too_many(self._forced.popleft(), self.limit + 1)
        if not self.limit:
            return None
        while self._hits and self._hits[0] <= now - self.period:
            self._hits.popleft()
        self._hits.append(now)
        if len(self._hits) > self.limit:
            wait = max(1, int(self._hits[0] + self.period - now + 0.999))
            return self._too_many(wait, len(self._hits))
        return None

    def _too_many(self, retry_after: int, count: int) -> Response:
        detail = f"Rate limit exceeded: {count} of {self.limit} requests per {self.period:g} seconds"
        response = _errors(429, "429", "Too Many Requests", detail)
        response.headers += [("Retry-After", str(retry_after)), *self._rate_headers(count)]
        return response

    def _rate_headers(self, count: int) -> list[tuple[str, str]]:
        return [
            ("X-PCO-API-Request-Rate-Count", str(count)),
            ("X-PCO-API-Request-Rate-Limit", str(self.limit)),
            ("X-PCO-API-Request-Rate-Period", f"{self.period:g} seconds"),
        ]

    def _page(self, req: Request, root: str, rows: list[Any]) -> tuple[list[Any], dict[str, Any], dict[str, Any]]:
        try:
            per_page = min(max(int(req.query.get("per_page", DEFAULT_PER_PAGE)), 1), MAX_PER_PAGE)
            offset = max(int(req.query.get("offset", 0)), 0)
        except ValueError:
            per_page, offset = DEFAULT_PER_PAGE, 0
        chunk = rows[offset : offset + per_page]
        base = f"{root}{req.path}"
        query = {k: v for k, v in req.query.items() if k != "offset"}
        links: dict[str, Any] = {"self": f"{base}?{urlencode({**query, 'offset': offset})}"}
        meta: dict[str, Any] = {"total_count": len(rows), "count": len(chunk)}
        if offset + per_page < len(rows):
            links["next"] = f"{base}?{urlencode({**query, 'offset': offset + per_page})}"
            meta["next"] = {"offset": offset + per_page}
        if offset:
            meta["prev"] = {"offset": max(offset - per_page, 0)}
        return chunk, links, meta

    def _people(self, req: Request, root: str) -> Response:
        rows = list(self.people.values())
        since = req.query.get("where[updated_at][gte]")
        if since is not None:
            moment = _parse_iso(since)
            if moment is None:
                return _errors(400, "400", "Bad Request", "where[updated_at][gte] is not a date-time")
            rows = [p for p in rows if p["updated_at"] >= moment]
        order = req.query.get("order", "")
        if order.lstrip("-") == "updated_at":
            rows.sort(key=lambda p: (p["updated_at"], int(p["id"])), reverse=order.startswith("-"))
        else:
            rows.sort(key=lambda p: int(p["id"]))
        chunk, links, meta = self._page(req, root, rows)
        wanted = {part.strip() for part in req.query.get("include", "").split(",") if part.strip()}
        data, included = [], []
        for person in chunk:
            pid = person["id"]
            phones = [
                {
                    "type": "PhoneNumber",
                    "id": f"{pid}{n}",
                    "attributes": {
                        "number": number,
                        "location": "Mobile",
                        "primary": n == 0,
                        "carrier": None,
                        "created_at": _iso(person["created_at"]),
                        "updated_at": _iso(person["updated_at"]),
                    },
                }
                for n, number in enumerate(person["phones"])
            ]
            emails = [
                {
                    "type": "Email",
                    "id": f"{pid}{n}",
                    "attributes": {"address": address, "location": "Home", "primary": n == 0, "blocked": False},
                }
                for n, address in enumerate(person["emails"])
            ]
            data.append(
                {
                    "type": "Person",
                    "id": pid,
                    "attributes": {
                        "first_name": person["first_name"],
                        "last_name": person["last_name"],
                        "name": f"{person['first_name']} {person['last_name']}".strip(),
                        "status": "active",
                        "created_at": _iso(person["created_at"]),
                        "updated_at": _iso(person["updated_at"]),
                    },
                    "relationships": {
                        "emails": {"data": [{"type": "Email", "id": e["id"]} for e in emails]},
                        "phone_numbers": {"data": [{"type": "PhoneNumber", "id": p["id"]} for p in phones]},
                    },
                    "links": {"self": f"{root}{PREFIX}/people/v2/people/{pid}"},
                }
            )
            if "phone_numbers" in wanted:
                included += phones
            if "emails" in wanted:
                included += emails
        meta["can_include"] = ["addresses", "emails", "phone_numbers", "households"]
        return _json(200, {"links": links, "data": data, "included": included, "meta": meta}, self)

    def _lists(self, req: Request, root: str) -> Response:
        rows = sorted(self.lists.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else kv[0])
        chunk, links, meta = self._page(req, root, rows)
        data = [
            {
                "type": "List",
                "id": list_id,
                "attributes": {"name": spec["name"], "total_people": len(spec["people"]), "status": "complete"},
                "links": {"self": f"{root}{PREFIX}/people/v2/lists/{list_id}"},
            }
            for list_id, spec in chunk
        ]
        return _json(200, {"links": links, "data": data, "included": [], "meta": meta}, self)

    def _list_results(self, req: Request, root: str, list_id: str) -> Response:
        spec = self.lists.get(list_id)
        if spec is None:
            return _errors(404, "404", "Not Found", "The resource you requested could not be found")
        chunk, links, meta = self._page(req, root, list(spec["people"]))
        data = [
            {
                "type": "ListResult",
                "id": f"{list_id}-{pid}",
                "attributes": {"created_at": _iso(EPOCH), "updated_at": _iso(EPOCH)},
                "relationships": {
                    "person": {"data": {"type": "Person", "id": pid}},
                    "list": {"data": {"type": "List", "id": list_id}},
                },
            }
            for pid in chunk
        ]
        return _json(200, {"links": links, "data": data, "included": [], "meta": meta}, self)

    # -- control API ------------------------------------------------------------------------

    def control(self, req: Request) -> Response:
        """/_sim/pco: GET state, POST seed {people, lists}, POST faults {count, retry_after}, POST reset."""
        route = (req.method, req.path.rstrip("/"))
        try:
            body = json.loads(req.body or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _errors(400, "400", "Bad Request", "body must be a JSON object")
        if route == ("GET", CONTROL):
            with self._lock:
                state = {
                    "people": len(self.people),
                    "lists": {k: {"name": v["name"], "people": len(v["people"])} for k, v in self.lists.items()},
                    "requests": self.requests,
                    "throttled": self.throttled,
                    "limit": self.limit,
                }
            return _json(200, {"data": state})
        if route == ("POST", f"{CONTROL}/seed"):
            self.seed(int(body.get("people", 200)), bool(body.get("lists", True)))
            return _json(200, {"data": {"people": len(self.people)}})
        if route == ("POST", f"{CONTROL}/faults"):
            self.fail_next(int(body.get("count", 1)), int(body.get("retry_after", 1)))
            return _json(201, {"data": {"queued": int(body.get("count", 1))}})
        if route == ("POST", f"{CONTROL}/limit"):
            with self._lock:
                self.limit = int(body.get("limit", 100))
            return _json(200, {"data": {"limit": self.limit}})
        if route == ("POST", f"{CONTROL}/reset"):
            self.reset()
            return _json(200, {"data": {"reset": True}})
        return _errors(404, "404", "Not Found", f"No fake Planning Center route {req.method} {req.path}")


def handles(path: str) -> bool:
    """True for the fake's API paths and its control API."""
    return path == PREFIX or path.startswith(PREFIX + "/") or path.startswith(CONTROL)


def handle(sim: Simulator, req: Request) -> Response:
    """Route one request to the simulator's Planning Center fake."""
    if req.path.startswith(CONTROL):
        return sim.pco.control(req)
    return sim.pco.answer(req, sim.url)


def _json(status: int, obj: Any, fake: PlanningCenterFake | None = None) -> Response:
    headers = fake._rate_headers(len(fake._hits)) if fake is not None else []
    return Response(status, json.dumps(obj).encode(), headers)


def _errors(status: int, code: str, title: str, detail: str) -> Response:
    return Response(status, json.dumps({"errors": [{"code": code, "title": title, "detail": detail}]}).encode())
