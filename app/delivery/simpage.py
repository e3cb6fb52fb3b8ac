"""The simulator's own page at `/`: text the church as a member, see what was sent, program faults.

Plain HTML forms that POST back to the simulator (no script): `/inbound` posts a signed
message.received webhook to the app like a member's phone would, `/faults` and
`/faults/clear` program and clear misbehaviours (the same as the /_sim control API), and the
mail sink is linked when it runs. Development only, on loopback: every value shown is
escaped, forms are accepted only from the page itself (Origin / Sec-Fetch-Site) and only
under a loopback Host name.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from app.delivery import simnumbers
from app.delivery import simstate as st
from app.delivery.simhttp import Request, Response
from app.delivery.simmail import _e, _layout

if TYPE_CHECKING:
    from app.delivery.simserver import Simulator

PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
MAX_TEXT = 1600
MAX_FIELD = 32
SHOWN_MESSAGES = 50
SHOWN_NUMBERS = 30
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
FAULT_KINDS = {
    "server_error": "The API answers 500 (Koinonia retries)",
    "rate_limit": "The API answers 429 Too many requests",
    "timeout": "The API hangs, then drops the connection",
    "invalid": "The API refuses the number as not a mobile (40310)",
    "opted_out": "The API refuses: blocked after STOP (40300)",
    "delivery_failed": "Accepted, then the carrier fails it (finalized with an error)",
    "reply": "Accepted, delivered, then the member answers",
}
DONE = {
    "inbound": "Text sent in: the app received it as a signed webhook. Open its inbox to see it.",
    "fault": "Fault programmed.",
    "cleared": "All faults and STOP blocks cleared.",
}
STYLE = (
    "form{display:grid;grid-template-columns:minmax(0,1fr);gap:.5rem;max-width:36rem}label{font-weight:600}"
    "input,select,textarea{font:inherit;padding:.35rem;width:100%;box-sizing:border-box}.row{display:flex;gap:.5rem;flex-wrap:wrap}"
    ".row>*{flex:1;min-width:9rem;display:grid;gap:.25rem;align-content:start}.error{color:#b42318}"
    "table{display:block;overflow-x:auto}td.n{white-space:nowrap}td{overflow-wrap:break-word;min-width:12rem}"
    ".done{background:#e7f6ec;padding:.5rem 1rem;border-radius:6px}.hint{color:#52606d;font-size:.9em}"
    "section{margin:2rem 0}button{font:inherit;padding:.4rem 1rem;justify-self:start}"
)


def handles(path: str) -> bool:
    """Whether `path` is one of this page's routes."""
    return path in ("/", "/inbound", "/faults", "/faults/clear")


async def handle(sim: Simulator, req: Request) -> Response:
    """Route one request for the page or one of its forms."""
    if not _loopback_host(req):
        return _text(421, "The simulator answers only at a loopback address.")
    if req.method == "GET" and req.path == "/":
        return _html(200, render(sim, done=DONE.get(req.query.get("done", ""))))
    if req.method != "POST":
        return _text(405, "Method not allowed.")
    if not _same_origin(req):
        return _text(403, "Forms are accepted only from the simulator's own page.")
    form = dict(parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True))
    if req.path == "/inbound":
        return await _inbound(sim, form)
    if req.path == "/faults":
        return _fault(sim, form)
    if req.path == "/faults/clear":
        sim._clear_faults()
        return _redirect("/?done=cleared#faults")
    return _text(404, "Not found.")


# -- forms -------------------------------------------------------------------------------


async def _inbound(sim: Simulator, form: dict[str, str]) -> Response:
    values = {k: form.get(k, "")[: MAX_TEXT if k == "text" else MAX_FIELD].strip() for k in _INBOUND_FIELDS}
    sender = values["from_other"] or values["from"]
    to = values["to_other"] or values["to"]
    errors: dict[str, str] = {}
    if not st.E164_RE.match(sender):
        errors["from"] = "Pick a number or type one in international format, like +13125551001."
    if not st.E164_RE.match(to):
        errors["to"] = "Pick the church's number or type one in international format, like +13125550100."
    if not values["text"]:
        errors["text"] = "Type the text the member sends."
    elif len(form.get("text", "")) > MAX_TEXT:
        errors["text"] = f"A text here is at most {MAX_TEXT} characters."
    if not errors and not sim.webhook_url:
        errors["form"] = "The simulator has no webhook URL to post to (start it with --webhook-url)."
    if errors:
        return _html(422, render(sim, inbound=values, inbound_errors=errors))
    result = await sim._inbound({"from": sender, "to": to, "text": values["text"], "wait": False})
    sim.sent_in.appendleft(
        {"time": st.now_iso(datetime.now(UTC)), "from": sender, "to": to, "text": values["text"], **result}
    )
    return _redirect("/?done=inbound#inbound")


_INBOUND_FIELDS = ("from", "from_other", "to", "to_other", "text")
_FAULT_FIELDS = ("kind", "to", "times", "carrier_code", "delay", "text")


def _fault(sim: Simulator, form: dict[str, str]) -> Response:
    values = {k: form.get(k, "")[: MAX_TEXT if k == "text" else MAX_FIELD].strip() for k in _FAULT_FIELDS}
    errors: dict[str, str] = {}
    if values["kind"] not in FAULT_KINDS:
        errors["kind"] = "Pick what should go wrong."
    if values["to"] not in ("", "*") and not st.E164_RE.match(values["to"]):
        errors["to"] = "A number in international format, or * (or empty) for every number."
    if values["times"] and not (values["times"].isdigit() and 0 < int(values["times"]) <= 100_000):
        errors["times"] = "A whole number from 1, or empty for until cleared."
    if values["carrier_code"] and not (values["carrier_code"].isdigit() and len(values["carrier_code"]) <= 6):
        errors["carrier_code"] = "A numeric carrier code, like 30007."
    delay = None
    if values["delay"]:
        try:
            delay = float(values["delay"])
        except ValueError:
            delay = -1.0
        if not 0 <= delay <= 120:
            errors["delay"] = "Seconds from 0 to 120."
    if errors:
        return _html(422, render(sim, fault=values, fault_errors=errors))
    spec: dict[str, Any] = {"kind": values["kind"], "to": values["to"] or "*"}
    if values["times"]:
        spec["times"] = int(values["times"])
    if values["carrier_code"]:
        spec["carrier_code"] = values["carrier_code"]
    if delay is not None:
        spec["delay"] = delay
    if values["text"]:
        spec["text"] = values["text"]
    sim.faults.add(spec)
    return _redirect("/?done=fault#faults")


# -- the page ----------------------------------------------------------------------------


def render(
    sim: Simulator,
    *,
    done: str | None = None,
    inbound: dict[str, str] | None = None,
    inbound_errors: dict[str, str] | None = None,
    fault: dict[str, str] | None = None,
    fault_errors: dict[str, str] | None = None,
) -> str:
    """The whole page; `inbound` / `fault` keep what was typed, `*_errors` sit by their fields."""
    messages = list(sim.ledger.messages)[-SHOWN_MESSAGES:][::-1]
    members = _distinct(m["to"] for m in reversed(sim.ledger.messages))
    churches = _distinct([*(m["from"] for m in reversed(sim.ledger.messages)), *sorted(simnumbers.DEMO_NUMBERS)])
    parts = [
        "<h1>Telnyx simulator</h1>",
        '<p class="hint">What Koinonia sends in development comes here instead of to phones. '
        "Text the church as a member, see what was sent, and make the provider misbehave.",
    ]
    if sim.mail_sink is not None:
        parts.append(' Mail Koinonia sends is at <a href="/mail">/mail</a>.')
    parts.append("</p>")
    if done:
        parts.append(f'<p class="done" role="status">{_e(done)}</p>')
    parts.append(_inbound_form(inbound or {}, inbound_errors or {}, members, churches, list(sim.sent_in)))
    parts.append(_sent_table(messages))
    parts.append(_faults_section(sim, fault or {}, fault_errors or {}))
    return _layout("Telnyx simulator", f"<style>{STYLE}</style>" + "".join(parts))


def _inbound_form(
    values: dict[str, str], errors: dict[str, str], members: list[str], churches: list[str], sent_in: list[dict]
) -> str:
    def options(numbers: list[str], chosen: str, empty: str) -> str:
        out = [f'<option value="">{_e(empty)}</option>']
        out += [f"<option{' selected' if n == chosen else ''}>{_e(n)}</option>" for n in numbers]
        return "".join(out)

    to_chosen = values.get("to") or (churches[0] if churches else "")
    recent = "".join(
        f"<li>{_e(_when(s['time']))}: {_e(s['from'])} → {_e(s['to'])}: {_e(_short(s.get('text', ''), 80))}</li>"
        for s in sent_in[:5]
    )
    return (
        '<section id="inbound"><h2>Text the church as a member</h2>'
        f"{_error(errors, 'form')}"
        '<form method="post" action="/inbound">'
        '<label for="from">From (a member the church has texted)</label>'
        f'<select id="from" name="from">{options(members, values.get("from", ""), "— pick a recent recipient —")}'
        f"</select>{_error(errors, 'from')}"
        '<label for="from_other">…or another number (a new member)</label>'
        f'<input id="from_other" name="from_other" inputmode="tel" maxlength="{MAX_FIELD}" '
        f'placeholder="+13125551001" value="{_e(values.get("from_other", ""))}">'
        '<p class="hint">The demo members are +13125551000 to +13125551059 (Grace Community Church, '
        "+13125550100) and +13125559000 to +13125559007 (Hope Chapel, +13125550200).</p>"
        '<label for="to">To (the church number)</label>'
        f'<select id="to" name="to">{options(churches, to_chosen, "— pick a church number —")}</select>'
        f"{_error(errors, 'to')}"
        '<label for="to_other">…or another number</label>'
        f'<input id="to_other" name="to_other" inputmode="tel" maxlength="{MAX_FIELD}" '
        f'value="{_e(values.get("to_other", ""))}">'
        '<label for="text">Text</label>'
        f'<textarea id="text" name="text" rows="3" maxlength="{MAX_TEXT}">{_e(values.get("text", ""))}</textarea>'
        f"{_error(errors, 'text')}"
        '<p class="hint">Keywords work as on a phone: STOP, START, HELP, or a join keyword.</p>'
        "<button>Send text</button></form>"
        + (f'<p class="hint">Recently sent in:</p><ul>{recent}</ul>' if recent else "")
        + "</section>"
    )


def _sent_table(messages: list[dict[str, Any]]) -> str:
    if not messages:
        return (
            '<section id="sent"><h2>Texts Koinonia sent</h2>'
            "<p>Nothing sent yet. Broadcasts and replies appear here as the app sends them.</p></section>"
        )
    rows = "".join(
        f'<tr><td class="n">{_e(_when(m["time"]))}</td><td class="n">{_e(m["from"])}</td>'
        f'<td class="n">{_e(m["to"])}</td><td>{_e(_short(m["text"]))}</td><td class="n">{_e(m["status"])}</td></tr>'
        for m in messages
    )
    return (
        f'<section id="sent"><h2>Texts Koinonia sent</h2><p class="hint">The latest {SHOWN_MESSAGES}, newest first '
        "(reload to refresh).</p><table><thead><tr><th>Accepted (UTC)</th><th>From</th><th>To</th><th>Text</th>"
        f"<th>Status</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _faults_section(sim: Simulator, values: dict[str, str], errors: dict[str, str]) -> str:
    faults = sim.faults.as_list()
    rows = "".join(
        f"<tr><td>{_e(f['kind'])}</td><td>{_e(f['to'])}</td>"
        f"<td>{_e('until cleared' if f['times'] is None else f['times'])}</td></tr>"
        for f in faults
    )
    blocks = "".join(f"<li>{_e(a)} → {_e(b)}</li>" for a, b in sorted(sim.ledger.blocks))
    current = (
        f"<table><thead><tr><th>Fault</th><th>For</th><th>Uses left</th></tr></thead><tbody>{rows}</tbody></table>"
        if rows
        else "<p>No faults: every text is accepted and delivered.</p>"
    )
    kinds = "".join(
        f'<option value="{_e(k)}"{" selected" if values.get("kind") == k else ""}>{_e(label)}</option>'
        for k, label in FAULT_KINDS.items()
    )
    return (
        '<section id="faults"><h2>Faults</h2>'
        f"{current}"
        + (f'<p class="hint">Blocked after STOP (church number → member):</p><ul>{blocks}</ul>' if blocks else "")
        + ('<form method="post" action="/faults/clear"><button>Clear all faults and blocks</button></form>')
        + '<h3>Make the provider misbehave</h3><form method="post" action="/faults">'
        f'<label for="kind">What goes wrong</label><select id="kind" name="kind">{kinds}</select>'
        f"{_error(errors, 'kind')}"
        '<label for="fault_to">For which recipient</label>'
        f'<input id="fault_to" name="to" maxlength="{MAX_FIELD}" placeholder="* (every number)" '
        f'value="{_e(values.get("to", ""))}">{_error(errors, "to")}'
        '<div class="row"><div><label for="times">How many times</label>'
        f'<input id="times" name="times" inputmode="numeric" placeholder="until cleared" '
        f'value="{_e(values.get("times", ""))}">{_error(errors, "times")}</div>'
        '<div><label for="carrier_code">Carrier code (delivery failures)</label>'
        f'<input id="carrier_code" name="carrier_code" inputmode="numeric" placeholder="30007" '
        f'value="{_e(values.get("carrier_code", ""))}">{_error(errors, "carrier_code")}</div>'
        '<div><label for="delay">Hang seconds (timeouts)</label>'
        f'<input id="delay" name="delay" inputmode="decimal" placeholder="15" '
        f'value="{_e(values.get("delay", ""))}">{_error(errors, "delay")}</div></div>'
        '<label for="fault_text">Reply text (replies)</label>'
        f'<input id="fault_text" name="text" maxlength="{MAX_TEXT}" placeholder="Thanks!" '
        f'value="{_e(values.get("text", ""))}">'
        "<button>Add fault</button></form></section>"
    )


# -- helpers -----------------------------------------------------------------------------


def _error(errors: dict[str, str], field: str) -> str:
    message = errors.get(field)
    return f'<p class="error" id="{field}-error">{_e(message)}</p>' if message else ""


def _distinct(numbers) -> list[str]:
    seen: list[str] = []
    for n in numbers:
        if n not in seen:
            seen.append(n)
            if len(seen) >= SHOWN_NUMBERS:
                break
    return seen


def _when(iso: str) -> str:
    """'2026-12-07 19:51:25' from Telnyx's ISO timestamp (UTC)."""
    return iso.replace("T", " ")[:19]


def _short(text: str, limit: int = 480) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _loopback_host(req: Request) -> bool:
    host = req.headers.get("host", "")
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]", 1)[0] + "]"
    return name in LOOPBACK_HOSTS


def _same_origin(req: Request) -> bool:
    if req.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = req.headers.get("origin")
    return origin is None or origin == f"http://{req.headers.get('host', '')}"


def _html(status: int, body: str) -> Response:
    return Response(
        status,
        body.encode(),
        [("content-security-policy", PAGE_CSP), ("cache-control", "no-store")],
        content_type="text/html; charset=utf-8",
    )


def _text(status: int, message: str) -> Response:
    return Response(status, message.encode(), content_type="text/plain; charset=utf-8")


def _redirect(location: str) -> Response:
    return Response(303, b"", [("location", location)], content_type="text/plain; charset=utf-8")
