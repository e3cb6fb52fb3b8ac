"""Creating a broadcast: 100k recipients against a raw INSERT … SELECT, and the send request for 500.

    .venv/bin/python bench/broadcast_create.py                  # build the data, then measure
    .venv/bin/python bench/broadcast_create.py --reuse          # measure again on the existing database
    .venv/bin/python bench/broadcast_create.py --runs 7 --requests 50

Builds its own database (koinonia_bench_broadcast on the test server, or BENCH_DATABASE_URL) with
"Bench Chapel" (100,000 opted-in members, generate_series) and "Typical Chapel" (1,000 members),
each with a 500-member group, and uses a Redis db of its own (BENCH_REDIS_URL, default db 3 of
the test Redis), flushed before each run; no worker consumes the queue. Then:

1. 100,000 recipients, several runs each, alternating, every run writing 100k fresh rows:
   (a) `create_broadcast` to everyone, end to end: the broadcast row, the INSERT … SELECT DISTINCT
       over the audience, the allowance check, the commit and `enqueue_many` of every batch job;
   (b) a raw `INSERT INTO broadcast_recipients … SELECT … FROM members WHERE church_id = …` of the
       same rows into a fresh broadcast row, committed;
   (c) the naive way: one ORM BroadcastRecipient per member, `session.add` in a Python loop, commit
       (on 10,000 members, extrapolated ×10).
   Target: a ≤ 1.5 × b.
2. The real `POST /broadcasts` (send now, a 500-member group) through the Flask test client,
   signed in as the owner by POSTing /login, a new idempotency key per request. Server time is
   taken both around client.post and by the app's own first before_request / last after_request
   hooks. Target: p50/p95 ≤ 50 ms.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "koinonia_bench_broadcast"
BIG = 100_000
TYPICAL = 1_000
GROUP_SIZE = 500
NAIVE = 10_000
PASSWORD = "bench-password-123"
OWNER_EMAIL = "owner@bench-chapel.example.org"
TYPICAL_EMAIL = "owner@typical-chapel.example.org"
BODY = "Bench Chapel: service at 10am Sunday, {first_name|friend}. Reply STOP to opt out."


# --- database and app ------------------------------------------------------------------------


def database_url() -> str:
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    base = os.environ.get("TEST_DATABASE_URL") or "postgresql+psycopg://koinonia:koinonia@127.0.0.1:54339/koinonia"
    return urlunsplit(urlsplit(base)._replace(path=f"/{DB_NAME}"))


def redis_url() -> str:
    return os.environ.get("BENCH_REDIS_URL") or "redis://127.0.0.1:63809/3"


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def recreate(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    admin = urlunsplit(urlsplit(libpq(url))._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def make_app(url: str, redis: str):
    """The real app on the bench database: production config, CSRF off so the bench can post forms."""
    from app import create_app
    from app.config import Config

    class BenchConfig(Config):
        WTF_CSRF_ENABLED = False

        def settings(self, environ):
            env = dict(environ)
            env.update(
                DATABASE_URL=url,
                REDIS_URL=redis,
                SECRET_KEY="bench-secret-key-0123456789abcdef",
                KOINONIA_ENV="development",
                LOG_FORMAT="console",
                LOG_LEVEL="WARNING",
                SLOW_QUERY_MS="100000",
            )
            env.pop("DATABASE_REPLICA_URL", None)
            return super().settings(env)

    return create_app(BenchConfig)


def add_church(name: str, slug: str, members: int, number: str, owner_email: str, phone_prefix: str) -> int:
    """A church with `members` opted-in members (one generate_series), an owner and a 500-member group."""
    from sqlalchemy import text

    from app.auth.services import hash_password
    from app.extensions import db
    from app.models import Church, Group, PhoneNumber, User

    church = Church(name=name, slug=slug, timezone="America/Chicago", sms_quota=10_000_000)
    db.session.add(church)
    db.session.flush()
    db.session.add(PhoneNumber(church_id=church.id, e164=number, is_default=True))
    db.session.add(
        User(church_id=church.id, email=owner_email, password_hash=hash_password(PASSWORD), role="owner", name="Owner")
    )
    group = Group(church_id=church.id, name="Choir")
    db.session.add(group)
    db.session.flush()
    db.session.execute(
        text(
            "INSERT INTO members (church_id, first_name, last_name, phone_e164, consent_source, consent_at) "
            "SELECT :c, 'Member' || i, 'Bench', :prefix || lpad(i::text, 7, '0'), 'import', now() "
            "FROM generate_series(1, :n) AS i"
        ),
        {"c": church.id, "n": members, "prefix": phone_prefix},
    )
    # Every (members / 500)th member, so the group is spread over the whole table.
    db.session.execute(
        text(
            "INSERT INTO group_members (church_id, group_id, member_id) "
            "SELECT :c, :g, id FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM members "
            "WHERE church_id = :c) m WHERE rn % :step = 0 LIMIT :size"
        ),
        {"c": church.id, "g": group.id, "step": max(1, members // GROUP_SIZE), "size": GROUP_SIZE},
    )
    db.session.commit()
    return church.id


def build(app) -> None:
    from flask_migrate import upgrade

    from app.extensions import db

    with app.app_context():
        upgrade()
        add_church("Bench Chapel", "bench-chapel", BIG, "+13125550100", OWNER_EMAIL, "+1555")
        add_church("Typical Chapel", "typical-chapel", TYPICAL, "+13125550200", TYPICAL_EMAIL, "+1556")
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()


def church_ids(app) -> dict[str, int]:
    from app.extensions import db

    with app.app_context():
        rows = db.session.execute(db.text("SELECT slug, id FROM churches")).all()
        return dict(rows)


# --- part 1: 100k recipients -----------------------------------------------------------------


def reset(app) -> None:
    """Empty the broadcasts (so every run writes fresh rows into the same-shaped table) and the queue."""
    from app.extensions import db, rds

    with app.app_context():
        db.session.execute(db.text("TRUNCATE broadcast_recipients"))
        db.session.execute(db.text("DELETE FROM broadcasts"))
        db.session.commit()
        try:
            db.session.execute(db.text("CHECKPOINT"))  # flush dirty pages now, not in the middle of a run
            db.session.commit()
        except Exception:  # noqa: BLE001 - CHECKPOINT needs privileges the bench may not have
            db.session.rollback()
        rds.client.flushdb()


def recipient_count(broadcast_id: int) -> int:
    from app.extensions import db

    return int(
        db.session.scalar(
            db.text("SELECT count(*) FROM broadcast_recipients WHERE broadcast_id = :b"), {"b": broadcast_id}
        )
    )


def run_engine(app, church_id: int) -> tuple[float, dict[str, float], int, int]:
    """(a): create_broadcast to everyone; returns (seconds, phase times, rows, jobs enqueued)."""
    from app.broadcasts import services
    from app.broadcasts.audience import AudienceSpec
    from app.extensions import db, rds
    from app.models import Church

    phases: dict[str, float] = {}
    real_insert, real_enqueue = services.insert_recipients, services.enqueue_batches

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                phases[name] = time.perf_counter() - t

        return wrapper

    services.insert_recipients = timed("insert_recipients", real_insert)
    services.enqueue_batches = timed("enqueue_batches", real_enqueue)
    try:
        with app.app_context():
            church = db.session.get(Church, church_id)
            t0 = time.perf_counter()
            broadcast = services.create_broadcast(
                church,
                None,
                body=BODY,
                media_urls=[],
                spec=AudienceSpec(everyone=True),
                idempotency_key=uuid.uuid4().hex,
            )
            elapsed = time.perf_counter() - t0
            rows = recipient_count(broadcast.id)
            jobs = rds.queue(services.SEND_QUEUE).count
            db.session.rollback()
    finally:
        services.insert_recipients, services.enqueue_batches = real_insert, real_enqueue
    return elapsed, phases, rows, jobs


def run_raw(app, church_id: int) -> tuple[float, int]:
    """(b): a fresh broadcast row and one raw INSERT … SELECT of the same members, committed."""
    from app.extensions import db

    with app.app_context():
        db.session.execute(db.text("SELECT 1"))  # check out the connection before the clock starts
        db.session.commit()
        t0 = time.perf_counter()
        bid = db.session.scalar(
            db.text(
                "INSERT INTO broadcasts (church_id, body, status, idempotency_key) "
                "VALUES (:c, :body, 'sending', :key) RETURNING id"
            ),
            {"c": church_id, "body": BODY, "key": uuid.uuid4().hex},
        )
        db.session.execute(
            db.text(
                "INSERT INTO broadcast_recipients (church_id, broadcast_id, member_id, to_e164, status) "
                "SELECT church_id, :b, id, phone_e164, 'queued' FROM members "
                "WHERE church_id = :c AND opted_out_at IS NULL AND phone_e164 IS NOT NULL"
            ),
            {"b": bid, "c": church_id},
        )
        db.session.commit()
        elapsed = time.perf_counter() - t0
        rows = recipient_count(bid)
        db.session.rollback()
    return elapsed, rows


def run_naive(app, church_id: int, limit: int) -> tuple[float, int]:
    """(c): load the members as ORM objects, add one BroadcastRecipient each, commit."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Broadcast, BroadcastRecipient, Member

    with app.app_context():
        db.session.execute(db.text("SELECT 1"))
        db.session.commit()
        t0 = time.perf_counter()
        broadcast = Broadcast(church_id=church_id, body=BODY, status="sending", idempotency_key=uuid.uuid4().hex)
        db.session.add(broadcast)
        db.session.flush()
        members = db.session.scalars(
            select(Member)
            .where(Member.church_id == church_id, Member.opted_out_at.is_(None), Member.phone_e164.is_not(None))
            .order_by(Member.id)
            .limit(limit)
        ).all()
        for member in members:
            db.session.add(
                BroadcastRecipient(
                    church_id=church_id,
                    broadcast_id=broadcast.id,
                    member_id=member.id,
                    to_e164=member.phone_e164,
                    status="queued",
                )
            )
        db.session.commit()
        elapsed = time.perf_counter() - t0
        rows = recipient_count(broadcast.id)
        db.session.rollback()
        db.session.expunge_all()
    return elapsed, rows


def explain_audience(app, church_id: int) -> None:
    """EXPLAIN ANALYZE of the audience SELECT that create_broadcast inserts from (read only)."""
    from app.broadcasts.audience import AudienceSpec, recipients_select
    from app.extensions import db

    with app.app_context():
        stmt = recipients_select(church_id, AudienceSpec(everyone=True))
        sql = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
        plan = db.session.execute(db.text(f"EXPLAIN (ANALYZE, BUFFERS OFF, TIMING OFF) {sql}")).scalars().all()
        db.session.rollback()
    print("  audience SELECT (EXPLAIN ANALYZE, TIMING OFF):")
    for line in plan:
        print(f"    {line}")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def part_one(app, church_id: int, runs: int, naive_runs: int, explain: bool) -> None:
    print(f"\n1. {BIG:,}-recipient broadcast ({runs} runs each, alternating a/b; tables emptied before every run)")
    engine: list[float] = []
    raw: list[float] = []
    phases: list[dict[str, float]] = []
    for i in range(runs):
        order = ("a", "b") if i % 2 == 0 else ("b", "a")
        for which in order:
            reset(app)
            if which == "a":
                t, phase, rows, jobs = run_engine(app, church_id)
                engine.append(t)
                phases.append(phase)
                print(
                    f"  run {i + 1} (a) create_broadcast: {ms(t)}  [{rows:,} rows, {jobs} jobs enqueued; "
                    f"insert_recipients {ms(phase.get('insert_recipients', 0))}, "
                    f"enqueue_batches {ms(phase.get('enqueue_batches', 0))}]"
                )
            else:
                t, rows = run_raw(app, church_id)
                raw.append(t)
                print(f"  run {i + 1} (b) raw INSERT … SELECT: {ms(t)}  [{rows:,} rows]")
    naive: list[float] = []
    for i in range(naive_runs):
        reset(app)
        t, rows = run_naive(app, church_id, NAIVE)
        naive.append(t)
        print(f"  run {i + 1} (c) naive ORM, {rows:,} rows: {ms(t)}  (×{BIG // NAIVE} = {ms(t * BIG / NAIVE)})")
    reset(app)
    a, b = statistics.median(engine), statistics.median(raw)
    print(f"  median (a) create_broadcast, end to end incl. commit + enqueue_many: {ms(a)}")
    print(
        f"    of which insert_recipients {ms(statistics.median(p['insert_recipients'] for p in phases))}, "
        f"enqueue_batches {ms(statistics.median(p['enqueue_batches'] for p in phases))}"
    )
    print(f"  median (b) raw INSERT … SELECT + commit: {ms(b)}")
    print(f"  ratio a/b = {a / b:.2f}  (target ≤ 1.50: {'met' if a / b <= 1.5 else 'MISSED'})")
    if naive:
        c = statistics.median(naive) * BIG / NAIVE
        print(f"  median (c) naive ORM, extrapolated ×{BIG // NAIVE} from {NAIVE:,} rows: {ms(c)}")
        print(f"  ratio c/a = {c / a:.1f}  (the naive way is {c / a:.1f}× slower)")
    if explain:
        explain_audience(app, church_id)


# --- part 2: the send request ----------------------------------------------------------------


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def send_requests(app, church_id: int, email: str, requests: int, warmup: int) -> dict[str, list[float]]:
    """POST /broadcasts (send now, the 500-member group) `requests` times; client and in-app times."""
    from flask import g

    from app.extensions import db

    inner: list[float] = []

    def start():
        g.bench_started = time.perf_counter()

    def finish(response):
        started = g.get("bench_started")
        if started is not None:
            inner.append(time.perf_counter() - started)
        return response

    app.before_request_funcs.setdefault(None, []).insert(0, start)
    app.after_request_funcs.setdefault(None, []).insert(0, finish)  # after_request hooks run last-first
    try:
        with app.app_context():
            group_id = db.session.scalar(
                db.text("SELECT id FROM groups WHERE church_id = :c AND name = 'Choir'"), {"c": church_id}
            )
            db.session.rollback()
        client = app.test_client()
        login = client.post("/login", data={"email": email, "password": PASSWORD})
        if login.status_code != 302:
            raise SystemExit(f"could not sign in as {email}: {login.status_code}")
        inner.clear()  # the sign-in request is not a send request
        outer: list[float] = []
        for n in range(warmup + requests):
            data = {
                "body": BODY,
                "group_ids": [str(group_id)],
                "when": "now",
                "repeat_freq": "weekly",
                "idempotency_key": uuid.uuid4().hex,
            }
            inner_before = len(inner)
            t0 = time.perf_counter()
            response = client.post("/broadcasts", data=data)
            elapsed = time.perf_counter() - t0
            if response.status_code != 302 or "/broadcasts/" not in response.headers.get("Location", ""):
                raise SystemExit(f"POST /broadcasts answered {response.status_code}: {response.get_data(True)[:500]}")
            if n >= warmup:
                outer.append(elapsed)
            else:
                del inner[inner_before:]
        with app.app_context():
            made = db.session.execute(
                db.text(
                    "SELECT count(*), min(recipient_count), max(recipient_count) FROM broadcasts WHERE church_id = :c"
                ),
                {"c": church_id},
            ).one()
            db.session.rollback()
    finally:
        app.before_request_funcs[None].remove(start)
        app.after_request_funcs[None].remove(finish)
    return {"client": outer, "app": inner, "made": list(made)}


def part_two(app, ids: dict[str, int], requests: int, warmup: int) -> None:
    print(f"\n2. POST /broadcasts, send now to a {GROUP_SIZE}-member group ({requests} requests + {warmup} warm-up)")
    for slug, email, size in (
        ("typical-chapel", TYPICAL_EMAIL, TYPICAL),
        ("bench-chapel", OWNER_EMAIL, BIG),
    ):
        reset(app)
        result = send_requests(app, ids[slug], email, requests, warmup)
        count, low, high = result["made"]
        print(f"  {slug} ({size:,} members): {count} broadcasts made, {low}–{high} recipients each")
        for label, values in (("around client.post", result["client"]), ("in-app hooks", result["app"])):
            values = sorted(values)
            p50, p95 = percentile(values, 50), percentile(values, 95)
            print(
                f"    {label:>18}: p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, max {values[-1] * 1000:.1f} ms"
                f"  (target ≤ 50 ms: {'met' if p95 <= 0.050 else 'p95 MISSED'})"
            )
    reset(app)


def profile_request(app, ids: dict[str, int], requests: int) -> None:
    """cProfile of the send request on the big church, top functions by cumulative time."""
    import cProfile
    import pstats

    reset(app)
    send_requests(app, ids["bench-chapel"], OWNER_EMAIL, 5, 0)  # imports, templates, pool: not profiled
    profiler = cProfile.Profile()
    profiler.enable()
    send_requests(app, ids["bench-chapel"], OWNER_EMAIL, requests, 0)
    profiler.disable()
    reset(app)
    print(f"\ncProfile of {requests} send requests (bench-chapel), cumulative, Koinonia's own functions:")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(r"/app/", 30)


def statement_times(app, ids: dict[str, int], requests: int) -> None:
    """Where a send request's database time goes: every statement, mean ms per request, slowest first."""
    from collections import defaultdict

    from sqlalchemy import event

    from app.extensions import db

    spent: dict[str, list[float]] = defaultdict(list)

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_t"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        spent[" ".join(statement.split())[:110]].append(time.perf_counter() - conn.info.pop("bench_t"))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    reset(app)
    try:
        result = send_requests(app, ids["typical-chapel"], TYPICAL_EMAIL, requests, 0)
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    reset(app)
    total = sum(sum(v) for v in spent.values()) / requests
    calls = sum(len(v) for v in spent.values()) / requests
    server = statistics.median(result["app"]) * 1000
    print(f"\nSQL per send request (typical-chapel, {requests} requests, login excluded from neither):")
    print(f"  {calls:.0f} statements, {total * 1000:.1f} ms in the database driver; in-app p50 {server:.1f} ms")
    for sql, values in sorted(spent.items(), key=lambda kv: -sum(kv[1]))[:20]:
        print(f"  {sum(values) / requests * 1000:6.2f} ms  x{len(values) / requests:4.1f}  {sql}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reuse", action="store_true", help="measure on the database a previous run built")
    parser.add_argument("--runs", type=int, default=5, help="runs of (a) and of (b)")
    parser.add_argument("--naive-runs", type=int, default=3, help=f"runs of (c) on {NAIVE:,} rows (0: skip)")
    parser.add_argument("--requests", type=int, default=50, help="measured POST /broadcasts per church")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured POST /broadcasts first")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the audience SELECT")
    parser.add_argument("--profile", action="store_true", help="cProfile the send request")
    parser.add_argument("--statements", action="store_true", help="time every SQL statement of the send request")
    parser.add_argument("--skip", choices=("one", "two"), action="append", default=[], help="skip part one/two")
    args = parser.parse_args()

    url, redis = database_url(), redis_url()
    print(f"database {urlsplit(url).path.lstrip('/')}, redis {redis}, cpus {os.cpu_count()}")
    if not args.reuse:
        recreate(url)
    app = make_app(url, redis)
    if not args.reuse:
        t = time.perf_counter()
        build(app)
        took = time.perf_counter() - t
        print(f"built: {BIG:,} + {TYPICAL:,} members, a {GROUP_SIZE}-member group in each ({took:.1f}s)")
    ids = church_ids(app)
    if "one" not in args.skip:
        part_one(app, ids["bench-chapel"], max(1, args.runs), args.naive_runs, args.explain)
    if "two" not in args.skip:
        part_two(app, ids, args.requests, args.warmup)
    if args.profile:
        profile_request(app, ids, args.requests)
    if args.statements:
        statement_times(app, ids, args.requests)


if __name__ == "__main__":
    main()
