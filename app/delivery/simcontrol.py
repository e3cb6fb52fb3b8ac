"""The simulator's /_sim control API: faults, recorded messages, stats, inbound texts."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from app.delivery import simstate as st
from app.delivery.simhttp import Request, Response

if TYPE_CHECKING:
    from app.delivery.simserver import Simulator


def _json(status: int, obj: Any) -> Response:
    return Response(status, json.dumps(obj).encode())


def _bad(detail: str, status: int = 400) -> Response:
    return _json(status, {"errors": [st.error("10015", "Bad Request", detail)]})


def _body(req: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(req.body or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


async def control(sim: Simulator, req: Request) -> Response:
    """Route one /_sim request."""
    route = (req.method, req.path.rstrip("/"))
    if route == ("GET", "/_sim/health"):
        return _json(200, {"ok": True, "pending_webhooks": sim._pending()})
    if route == ("GET", "/_sim/public-key"):
        return _json(200, {"public_key": sim.public_key_b64})
    if route == ("GET", "/_sim/faults"):
        return _json(200, {"data": sim.faults.as_list(), "blocks": sorted(sim.ledger.blocks)})
    if route == ("POST", "/_sim/faults"):
        spec = _body(req)
        if spec is None:
            return _bad("body must be a JSON object")
        try:
            fault = sim.faults.add(spec)
        except (ValueError, TypeError) as exc:
            return _bad(str(exc))
        return _json(201, {"data": fault.as_dict()})
    if route == ("DELETE", "/_sim/faults"):
        return _json(200, {"data": {"cleared": sim._clear_faults()}})
    if route == ("GET", "/_sim/messages"):
        to = req.query.get("to")
        rows = [m for m in sim.ledger.messages if to in (None, m["to"])]
        limit = req.query.get("limit")
        if limit and limit.isdigit():
            rows = rows[-int(limit) :]
        return _json(200, {"data": rows})
    if route == ("DELETE", "/_sim/messages"):
        sim.ledger.reset()
        return _json(200, {"data": {"reset": True}})
    if route == ("GET", "/_sim/stats"):
        return _json(200, sim.ledger.stats(sim._pending()))
    if route == ("GET", "/_sim/webhooks"):
        return _json(200, {"data": list(sim.ledger.webhooks)})
    if route == ("POST", "/_sim/reset"):
        sim.ledger.reset()
        sim._clear_faults()
        return _json(200, {"data": {"reset": True}})
    if route == ("POST", "/_sim/inbound"):
        return await _inbound(sim, req)
    return _json(
        404, {"errors": [st.error("10005", "Resource not found", f"No simulator route {req.method} {req.path}.")]}
    )


async def _inbound(sim: Simulator, req: Request) -> Response:
    spec = _body(req)
    if spec is None:
        return _bad("body must be a JSON object")
    for field in ("from", "to"):
        if not isinstance(spec.get(field), str) or not st.E164_RE.match(spec[field]):
            return _bad(f"'{field}' must be an E.164 number", 422)
    if not spec.get("text") and not spec.get("media"):
        return _bad("either 'text' or 'media' is required", 422)
    if not (spec.get("webhook_url") or sim.webhook_url):
        return _bad("no webhook URL: start the simulator with --webhook-url or pass webhook_url", 409)
    # Not waiting is the default: the app may be the caller, and a single-worker dev server
    # would deadlock waiting for its own webhook.
    result = await sim._inbound({**spec, "wait": bool(spec.get("wait", False))})
    return _json(200 if spec.get("wait") else 202, {"data": result})
