"""Hostile input on every route: no answer is a server error, and none hangs.

The walk reads the live URL map, as tests/integration/test_tenancy.py does, so routes added
later are fuzzed without editing this file. For each role, every rule and method gets a few
Hypothesis examples: oversize strings, RTL and emoji text, NUL and control characters, invalid
UTF-8, huge and negative numbers, impossible dates and times, malformed ids and repeated keys,
in the query string and in the body. The field names come from the app itself at run time: the
WTForms forms and the request.args/request.form keys of the view's module, plus every query
name read anywhere in app/.

CSRF is off in TestConfig, as for every other test that posts a form, so the input reaches the
views. Each request runs in an app context of its own, as in production, so one request's
session or `g` never leaks into the next. Background work is only enqueued (no worker runs in
tests) and views never call providers inline, so nothing here waits on the network.
"""

from __future__ import annotations

import importlib
import inspect
import io
import json
import os
import pkgutil
import re
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import g
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from wtforms.fields.core import UnboundField

import app as app_package
from app.security.signatures import public_key_b64, sign_telnyx, stripe_signature_header
from app.tenancy import ID_PARAMS
from tests.tenant_rows import ensure_row

ROLES = ("anonymous", "owner", "admin", "leader")
# Examples per rule and method for each role; raise it locally for a deeper run.
EXAMPLES = int(os.environ.get("KOINONIA_FUZZ_EXAMPLES", "3"))
# A hang detector, not a timing assertion: far above any page's cost on a busy machine.
HANG_SECONDS = 10.0
OVERSIZE = 100 * 1024
ROOT = Path(app_package.__file__).parent
READ_KEY = re.compile(r"""\b(?:args|form|values|params|files)\.(?:get|getlist)\(\s*["']([A-Za-z_][\w-]*)["']""")
TEMPLATE_NAME = re.compile(r"""\bname=["']([A-Za-z_][\w-]*)["']""")

HOSTILE = [
    "",
    " ",
    # numbers: huge, negative, not numbers at all
    "0",
    "-1",
    "-0",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "9" * 40,
    "1" * 5000,
    "1e309",
    "-1e309",
    "inf",
    "NaN",
    "0x1f",
    "1_000",
    "1.5",
    " 7 ",
    "²",
    "١٢٣",
    "٣",
    # ids
    "1;DROP TABLE members",
    "1,2,3",
    "[1]",
    "{}",
    "null",
    "undefined",
    "%00",
    "../../etc/passwd",
    # dates and times
    "0000-00-00",
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
    "-0001-01-01",
    "2026-02-30",
    "2026-13-01",
    "2026-1-1",
    "9999-12-31T23:59:59",
    "0001-01-01T00:00:00",
    "2026-01-01T00:00:00+99:00",
    "2026-01-01T25:61:61",
    "2026-01-01 00:00:00.000000000001",
    "9999-12-31T23:59:59.999999+00:00_9223372036854775807",
    "2026-01-01T00:00:00_1",
    "x_1",
    "_",
    "24:00",
    "23:59:60",
    "25:61",
    "-1:00",
    "99999:00",
    "T",
    # text that is legal but unkind
    "\u202eevil\u202c",
    "שלום עולם",
    "مرحبا",
    "😀👨‍👩‍👧‍👦🏳️‍🌈",
    "\U0001f600" * 200,
    "e\u0301" * 50,
    "\ufeff\u200b\u200d",
    "\x00",
    "a\x00b",
    "\r\n\t\x0b\x0c\x1b[31m\x7f",
    "\x01\x02\x03\x1f",
    "<script>alert(1)</script>",
    "{{7*7}}{% raw %}",
    "' OR 1=1 --",
    "%s%s%n",
    "\\",
    "+1 (312) 555-0100 ext. 99999999999999",
    "+" + "9" * 30,
    "a@" + "b" * 300 + ".org",
    "FREQ=SECONDLY;COUNT=99999999",
]
# Bytes that are not UTF-8 (a lone surrogate, overlong forms, stray continuation bytes).
INVALID_UTF8 = [b"\xed\xa0\x80", b"\xff\xfe\xfd", b"\xc0\xaf", b"\x80abc", b"abc\xe2\x82"]
STRIPE_SECRET = "whsec_fuzz"
EVENT_TYPES = [
    "message.received",
    "message.sent",
    "message.finalized",
    "checkout.session.completed",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.payment_failed",
    "invoice.paid",
]
TEXT = st.characters(exclude_categories=("Cs",))  # lone surrogates go as invalid UTF-8 instead
FILENAMES = ["members.csv", "", "..\\..\\x.csv", "\u202ecsv.exe", "a" * 500]
OVERSIZE_UNITS = ["a", "9", "é", "😀", "\u202e", "\x00", "<", " ", "1,"]


def _import_app_modules() -> None:
    for info in pkgutil.walk_packages([str(ROOT)], prefix="app."):
        importlib.import_module(info.name)


def _form_classes() -> list[type]:
    found, todo = [], [FlaskForm]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub.__module__.startswith("app."):
                found.append(sub)
            todo.append(sub)
    return found


def _form_fields(form_cls: type) -> dict[str, str]:
    """Field name -> field class name, for a WTForms form class (bound on first use, so read the class)."""
    fields = {}
    for name in dir(form_cls):
        value = getattr(form_cls, name, None)
        if isinstance(value, UnboundField):
            fields[name] = value.field_class.__name__
    return fields


def _field_names() -> tuple[list[str], list[str]]:
    """The request keys app/ reads anywhere (query names), and every field name forms and templates use."""
    read = set()
    for path in ROOT.rglob("*.py"):
        read.update(READ_KEY.findall(path.read_text()))
    names = set(read)
    for form_cls in _form_classes():
        names.update(_form_fields(form_cls))
    for path in (ROOT.parent / "templates").rglob("*.html"):
        names.update(TEMPLATE_NAME.findall(path.read_text()))
    return sorted(read), sorted(names)


def _route_field_names(app, rule, all_names: list[str]) -> tuple[list[str], list[str]]:
    """The names a rule's view can read: its module's forms and request keys, its own literals."""
    view = inspect.unwrap(app.view_functions[rule.endpoint])
    module = sys.modules[view.__module__]
    names, files = set(), set()
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, FlaskForm):
            for name, kind in _form_fields(value).items():
                (files if "File" in kind else names).add(name)
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        source = ""
    names.update(READ_KEY.findall(source))
    names.update(set(re.findall(r"""["']([A-Za-z_][\w-]*)["']""", source)) & set(all_names))
    return sorted(names - files), sorted(files)


def _path_for(rule, ids: dict[str, int], draw) -> str:
    values = {}
    for arg in rule.arguments:
        if arg in ID_PARAMS:
            values[arg] = draw(st.sampled_from([ids[arg]]) | st.integers(0, 10**30))
        else:
            values[arg] = draw(st.text(TEXT, max_size=40) | st.sampled_from(HOSTILE))
    try:
        return rule.build(values, append_unknown=False)[1]
    except Exception:  # a value this converter cannot spell: the rule's own id is still worth a request
        plain = {a: ids.get(a, 1) if a in ID_PARAMS else "x" for a in rule.arguments}
        return rule.build(plain, append_unknown=False)[1]


def _values(id_pool: list[int]):
    return st.one_of(
        st.sampled_from(HOSTILE),
        st.sampled_from(HOSTILE),
        st.text(TEXT, max_size=30),
        st.integers(-(10**25), 10**25).map(str),
        st.sampled_from(INVALID_UTF8),
        st.sampled_from([str(i) for i in id_pool] or ["1"]),
    )


@st.composite
def _pairs(draw, names: list[str], extra: list[str], id_pool: list[int]) -> list[tuple[str, str | bytes]]:
    """A value for each name, some names repeated, a stray key or two, maybe one 100 KB value."""
    pairs = [(name, draw(_values(id_pool))) for name in names]
    for _ in range(draw(st.integers(0, 4))):
        pairs.append((draw(st.sampled_from(names + extra)), draw(_values(id_pool))))
    if pairs and draw(st.booleans()):
        at = draw(st.integers(0, len(pairs) - 1))
        unit = draw(st.sampled_from(OVERSIZE_UNITS))
        pairs[at] = (pairs[at][0], unit * (OVERSIZE // len(unit.encode())))
    return pairs


def _encode(pairs) -> str:
    return urlencode([(k, v if isinstance(v, bytes) else v.encode("utf-8")) for k, v in pairs])


def _sign_in(client, login_as, role: str, users: dict) -> None:
    if role == "anonymous":
        with client.session_transaction() as session:
            session.clear()
        g.pop("_login_user", None)
        return
    # login_as makes the admin on first use; later calls find it by email.
    users[role] = login_as(users[role].email if role in users else role)


def _body_kwargs(draw, body, files: list[str], id_pool: list[int]) -> tuple[str, dict]:
    """The body as a urlencoded form, a multipart form (with files), JSON or raw bytes."""
    kind = draw(st.sampled_from(["form", "multipart", "json", "raw"]))
    if kind == "form":
        return kind, {"data": _encode(body), "content_type": "application/x-www-form-urlencoded"}
    text = {k: (v.decode("latin-1") if isinstance(v, bytes) else v) for k, v in body}
    if kind == "multipart":
        form: dict = {}
        for key, value in body:
            form.setdefault(key, []).append(value.decode("latin-1") if isinstance(value, bytes) else value)
        for name in files:
            content = draw(st.sampled_from(INVALID_UTF8 + [b"", b"phone\n" + b"1" * OVERSIZE]))
            form[name] = (io.BytesIO(content), draw(st.sampled_from(FILENAMES)))
        return kind, {"data": form, "content_type": "multipart/form-data"}
    if kind == "json":
        if draw(st.booleans()):  # shaped like a Telnyx or Stripe event, hostile inside
            event = draw(st.sampled_from(EVENT_TYPES + HOSTILE))
            data = {"id": str(draw(_values(id_pool))), "event_type": event, "payload": text}
            text = {"id": event, "type": event, "data": {**data, "object": text}}
        return kind, {"data": json.dumps(text), "content_type": "application/json"}
    raw = draw(st.sampled_from(INVALID_UTF8 + [b"{", b"[]", b"null", b"\x00" * 1024]))
    return kind, {"data": raw, "content_type": draw(st.sampled_from(["application/json", "text/plain", ""]))}


def _route_fuzzer(ctx: SimpleNamespace, rule, method: str, ids: dict[str, int]):
    """A Hypothesis test that sends `method` to `rule` with hostile input and checks the answer."""
    names, files = _route_field_names(ctx.app, rule, ctx.all_names)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,  # the same inputs on every run: CI is deterministic
        database=None,
        # Each example is a request: report the first failing one as drawn, not shrunk.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def fuzz(data):
        draw = data.draw
        path = _path_for(rule, ids, draw)
        headers = {"HX-Request": "true"} if draw(st.booleans()) else {}
        if method == "GET":
            some = draw(st.lists(st.sampled_from(ctx.query_names), max_size=8, unique=True))
            query = draw(_pairs(sorted(set(names) | set(some)), ctx.all_names, ctx.id_pool))
            body, kind, kwargs = None, None, {}
        else:
            some = draw(st.lists(st.sampled_from(ctx.query_names), max_size=4, unique=True))
            query = draw(_pairs(some, ctx.all_names, ctx.id_pool))
            body = draw(_pairs(names, ctx.all_names, ctx.id_pool))
            kind, kwargs = _body_kwargs(draw, body, files, ctx.id_pool)
            if kind != "multipart" and draw(st.booleans()):
                # Signed as the providers sign, so webhook bodies get past verification.
                raw = kwargs["data"] if isinstance(kwargs["data"], bytes) else kwargs["data"].encode()
                now = int(time.time())
                headers.update(sign_telnyx(raw, ctx.telnyx_key, now))
                headers["Stripe-Signature"] = stripe_signature_header(raw, STRIPE_SECRET, now)

        ctx.sign_in()
        started = time.monotonic()
        with ctx.app.app_context():  # a request of its own, as in production: fresh session and `g`
            response = ctx.client.open(path, method=method, query_string=_encode(query), headers=headers, **kwargs)
        took = time.monotonic() - started
        ctx.requests += 1
        shown = f"{ctx.role} {method} {path[:120]} query={_encode(query)[:300]!r} body={kind}:{str(body)[:300]}"
        assert response.status_code < 500, f"{response.status_code} for {shown}"
        assert took < HANG_SECONDS, f"{took:.1f}s for {shown}"

    return fuzz


@pytest.mark.parametrize("role", ROLES)
def test_hostile_input_never_gets_a_server_error(app, client, db, church, login_as, role, monkeypatch):
    """Every rule and method, as `role`, answers hostile input with something other than a 5xx."""
    # Webhooks answer 503 while their keys are unset (a deployment fault): set them, as production does.
    telnyx_key = Ed25519PrivateKey.generate()
    monkeypatch.setitem(app.config, "TELNYX_PUBLIC_KEY", public_key_b64(telnyx_key))
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", STRIPE_SECRET)
    _import_app_modules()
    query_names, all_names = _field_names()
    tenant = SimpleNamespace(id=church.id)  # plain values: each request's session is its own
    users: dict = {}
    ctx = SimpleNamespace(
        app=app,
        client=client,
        role=role,
        telnyx_key=telnyx_key,
        query_names=query_names,
        all_names=all_names,
        sign_in=lambda: _sign_in(client, login_as, role, users),
        requests=0,
    )
    ctx.sign_in()
    ctx.id_pool = [ensure_row(model, tenant) for model in ID_PARAMS.values()]
    db.session.commit()

    rules = list(app.url_map.iter_rules())
    assert len(rules) > 50, "the URL map looks empty"
    failures: list[str] = []
    # Deleting routes last, so the others find their rows; a deleted row is made again for the next rule.
    for rule in sorted(rules, key=lambda r: ("delete" in r.rule, r.rule)):
        ids = {a: ensure_row(ID_PARAMS[a], tenant) for a in rule.arguments if a in ID_PARAMS}
        db.session.commit()
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            try:
                _route_fuzzer(ctx, rule, method, ids)()
            except Exception as err:  # every failing route in one report, not just the first
                failures.append(f"{method} {rule.rule}: {str(err)[:600]}")

    assert not failures, f"{len(failures)} routes failed:\n" + "\n".join(failures)
    assert ctx.requests >= len(rules) * EXAMPLES
