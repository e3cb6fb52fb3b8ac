"""The dashboard under load, against a bare Flask + Jinja page (prints figures and ratios, asserts nothing).

    .venv/bin/python bench/dashboard.py                 # build the data once, then measure
    .venv/bin/python bench/dashboard.py --reuse         # measure again on the existing database

Builds its own database (koinonia_bench_dashboard on the test server, or BENCH_DATABASE_URL):
100,000 members, 100 weekly broadcasts of 100,000 recipients (10,000,000 broadcast_recipients
rows, loaded set-based with the table's indexes and constraints dropped, then rebuilt), daily_stats
for two years (Grace's rebuilt from those rows with `app.stats.rebuild`, plus 300 other churches),
and 5,000 answered conversations. Then:

1. gunicorn (gunicorn.conf.py, same workers and threads) serves the signed-in owner's dashboard
   and, in another run, a bare Flask app rendering a 50-row Jinja table; an asyncio keep-alive
   client holds 32 connections open against each and reports requests/s and latency percentiles.
   Target: dashboard rps >= 0.6 x bare, dashboard p99 <= 1.5 x bare p99.
2. The dashboard's server time measured inside the app (before_request to after_request),
   sequential requests, no concurrent load. Target: p95 <= 15 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from httpload import exchange  # noqa: E402

DB_NAME = "koinonia_bench_dashboard"
MEMBERS = 100_000
BROADCASTS = 100
OTHER_CHURCHES = 300
CONVERSATIONS = 5_000
SECRET = "bench-secret-key-0123456789abcdef"


# --- database --------------------------------------------------------------------------------


def database_url() -> str:
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    base = os.environ.get("TEST_DATABASE_URL") or "postgresql+psycopg://koinonia:koinonia@127.0.0.1:54339/koinonia"
    return urlunsplit(urlsplit(base)._replace(path=f"/{DB_NAME}"))


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def recreate(url: str) -> None:
    admin = urlunsplit(urlsplit(libpq(url))._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def app_env(url: str, redis_url: str, port: int | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET,
        "KOINONIA_ENV": "development",
        "LOG_FORMAT": "console",
        "LOG_LEVEL": "WARNING",
        "SLOW_QUERY_MS": "10000",
    }
    env.pop("DATABASE_REPLICA_URL", None)
    if port:
        env.update(PORT=str(port), APP_BASE_URL=f"http://127.0.0.1:{port}")
    return env


def make_app(url: str, redis_url: str):
    os.environ.update(app_env(url, redis_url))
    from app import create_app
    from app.config import Config

    return create_app(Config)


def step(label: str):
    class _Step:
        def __enter__(self):
            self.t = time.perf_counter()
            print(f"  {label} …", end="", flush=True)

        def __exit__(self, *exc):
            print(f" {time.perf_counter() - self.t:.1f}s", flush=True)

    return _Step()


def drop_keys(conn, table: str) -> list[str]:
    """Drop the table's indexes and constraints (and FKs pointing at it); return the DDL to restore them."""
    restore: list[str] = []
    referencing = conn.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE confrelid = %s::regclass",
        (table,),
    ).fetchall()
    own = conn.execute(
        "SELECT conname, pg_get_constraintdef(oid), contype FROM pg_constraint WHERE conrelid = %s::regclass "
        "AND contype IN ('p', 'u', 'f')",
        (table,),
    ).fetchall()
    constraint_names = {name for name, _, _ in own}
    indexes = conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", (table,)).fetchall()
    keys = [(n, d) for n, d, kind in own if kind in ("p", "u")]
    fks = [(n, d) for n, d, kind in own if kind == "f"]
    plain = [(n, d) for n, d in indexes if n not in constraint_names]
    for rel, name, _ in referencing:
        conn.execute(f'ALTER TABLE {rel} DROP CONSTRAINT "{name}"')
    for name, _ in fks + keys:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in plain:
        conn.execute(f'DROP INDEX "{name}"')
    restore += [f'ALTER TABLE {table} ADD CONSTRAINT "{n}" {d}' for n, d in keys]
    restore += [d for _, d in plain]
    restore += [f'ALTER TABLE {table} ADD CONSTRAINT "{n}" {d}' for n, d in fks]
    restore += [f'ALTER TABLE {rel} ADD CONSTRAINT "{n}" {d}' for rel, n, d in referencing]
    return restore


def build(url: str, redis_url: str) -> None:
    print(f"Building {DB_NAME} (10M broadcast_recipients; a few minutes on 2 cores)")
    recreate(url)
    app = make_app(url, redis_url)
    with app.app_context():
        from flask_migrate import upgrade

        from app.extensions import db
        from app.seed import seed_demo

        with step("migrations and demo seed"):
            upgrade()
            seed_demo(60)
            db.session.commit()
    conninfo = libpq(url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SET max_parallel_maintenance_workers = 2")
        church = conn.execute("SELECT id FROM churches WHERE slug = 'grace-community-church'").fetchone()[0]
        number = conn.execute("SELECT id FROM phone_numbers WHERE e164 = '+13125550100'").fetchone()[0]
        with step(f"{MEMBERS:,} members"):
            conn.execute(
                "INSERT INTO members (church_id, first_name, last_name, phone_e164, opted_out_at, consent_source, "
                "consent_at, created_at) SELECT %(c)s, 'Member', g::text, '+1555' || lpad(g::text, 7, '0'), "
                "CASE WHEN g %% 40 = 0 THEN now() - (g %% 700) * interval '1 day' END, 'import', "
                "now() - (g %% 730) * interval '1 day', now() - (g %% 730) * interval '1 day' "
                "FROM generate_series(1, %(n)s) g",
                {"c": church, "n": MEMBERS},
            )
        with step(f"{BROADCASTS} broadcasts"):
            conn.execute(
                "INSERT INTO broadcasts (church_id, body, status, created_at, started_at, completed_at, "
                "recipient_count, sent_count, delivered_count, failed_count) "
                "SELECT %(c)s, 'Weekly update #' || k || ': service times, prayer needs and events.', 'sent', "
                "now() - k * interval '7 days', now() - k * interval '7 days', now() - k * interval '7 days', "
                "%(n)s, %(n)s, %(n)s - %(n)s / 50, %(n)s / 50 FROM generate_series(1, %(b)s) k",
                {"c": church, "n": MEMBERS, "b": BROADCASTS},
            )
            conn.execute(
                "INSERT INTO broadcasts (church_id, body, status, scheduled_at) SELECT %(c)s, "
                "'Scheduled note ' || k, 'scheduled', now() + k * interval '1 day' FROM generate_series(1, 3) k",
                {"c": church},
            )
        with step("dropping broadcast_recipients indexes and constraints"):
            restore = drop_keys(conn, "broadcast_recipients")
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM broadcasts WHERE church_id = %s AND body LIKE 'Weekly update #%%' ORDER BY id",
                (church,),
            )
        ]
        with step(f"{len(ids) * MEMBERS:,} broadcast_recipients"):
            for chunk in range(0, len(ids), 10):
                conn.execute(
                    "INSERT INTO broadcast_recipients (church_id, broadcast_id, member_id, to_e164, status, sent_at, "
                    "delivered_at, failed_at, segments, attempts) "
                    "SELECT %(c)s, b.id, m.id, m.phone_e164, CASE WHEN m.id %% 50 = 0 THEN 'failed' ELSE 'delivered' "
                    "END, b.created_at + interval '1 minute', CASE WHEN m.id %% 50 <> 0 THEN b.created_at + "
                    "interval '3 minutes' END, CASE WHEN m.id %% 50 = 0 THEN b.created_at + interval '3 minutes' "
                    "END, 1 + (b.id %% 2), 1 FROM broadcasts b CROSS JOIN (SELECT id, phone_e164 FROM members "
                    "WHERE church_id = %(c)s AND first_name = 'Member') m WHERE b.id = ANY(%(ids)s)",
                    {"c": church, "ids": ids[chunk : chunk + 10]},
                )
        with step(f"rebuilding {len(restore)} indexes and constraints"):
            for ddl in restore:
                conn.execute(ddl)
        with step(f"daily_stats: {OTHER_CHURCHES} other churches x 2 years"):
            conn.execute(
                "INSERT INTO churches (name, slug, timezone) SELECT 'Church ' || k, 'bench-church-' || k, "
                "'America/New_York' FROM generate_series(1, %s) k",
                (OTHER_CHURCHES,),
            )
            conn.execute(
                "INSERT INTO daily_stats (church_id, day, sent, delivered, failed, inbound, opt_outs, opt_ins, "
                "segments) SELECT c.id, d::date, 200 + (c.id + extract(doy FROM d)::int) %% %(spread)s, "
                "190, 3, 12, 1, 1, 260 FROM churches c "
                "CROSS JOIN generate_series(current_date - 730, current_date, '1 day') d "
                "WHERE c.slug LIKE 'bench-church-%%'",
                {"spread": 300},
            )
        with step(f"{CONVERSATIONS:,} answered conversations"):
            conn.execute(
                "INSERT INTO conversations (church_id, member_id, phone_number_id, status, created_at, "
                "last_message_at, last_inbound_at, first_response_at) SELECT %(c)s, m.id, %(p)s, 'open', "
                "now() - (m.id %% 60) * interval '1 day', now() - (m.id %% 60) * interval '1 day', "
                "now() - (m.id %% 60) * interval '1 day', now() - (m.id %% 60) * interval '1 day' + "
                "(3 + m.id %% 90) * interval '1 minute' FROM (SELECT id FROM members WHERE church_id = %(c)s "
                "AND first_name = 'Member' ORDER BY id LIMIT %(n)s) m",
                {"c": church, "p": number, "n": CONVERSATIONS},
            )
    with app.app_context():
        from app.extensions import db
        from app.stats import rebuild

        with step("flask rebuild-stats for Grace (set-based, over the 10M rows)"):
            rebuild(church)
            db.session.commit()
    with psycopg.connect(conninfo, autocommit=True) as conn, step("VACUUM ANALYZE"):
        conn.execute("VACUUM ANALYZE")


# --- the bare comparison app -----------------------------------------------------------------

BARE_TEMPLATE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bare</title></head><body>
<table><thead><tr><th>#</th><th>Name</th><th>Phone</th><th>Status</th></tr></thead><tbody>
{% for row in rows %}<tr><td>{{ row.id }}</td><td>{{ row.name }}</td><td>{{ row.phone }}</td>
<td>{{ row.status }}</td></tr>{% endfor %}</tbody></table></body></html>"""


def bare_app():
    """A Flask app rendering a 50-row Jinja table from memory: the floor the dashboard is compared to."""
    from flask import Flask, render_template_string

    app = Flask("bare")
    rows = [{"id": i, "name": f"Member {i}", "phone": f"+1312555{i:04d}", "status": "opted in"} for i in range(50)]

    @app.get("/")
    def index():
        return render_template_string(BARE_TEMPLATE, rows=rows)

    return app


# --- load ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _connection(
    port: int, request: bytes, deadline: float, warm_until: float, latencies: list[float], errors: list[int]
) -> None:
    """One keep-alive connection sending requests back to back; reconnects when the server closes it
    (gunicorn recycles workers after max_requests, as in production)."""
    reader = writer = None
    while time.perf_counter() < deadline:
        if writer is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.perf_counter()
        try:
            status, _, close = await exchange(reader, writer, request)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            reader = writer = None
            continue
        if started >= warm_until:
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors.append(status)
        if close:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


def load(port: int, path: str, cookie: str | None, seconds: float, connections: int) -> dict[str, float]:
    headers = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: keep-alive\r\n"
    if cookie:
        headers += f"Cookie: session={cookie}\r\n"
    request = (headers + "\r\n").encode()
    latencies: list[float] = []
    errors: list[int] = []

    async def run() -> None:
        now = time.perf_counter()
        warm = now + 3.0
        await asyncio.gather(
            *(_connection(port, request, warm + seconds, warm, latencies, errors) for _ in range(connections))
        )

    asyncio.run(run())
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    return {
        "rps": len(latencies) / seconds,
        "p50": q[49] * 1000,
        "p99": q[98] * 1000,
        "n": len(latencies),
        "errors": len(errors),
    }


def serve(app_spec: str, env: dict[str, str], port: int, workers: int, ready_path: str) -> subprocess.Popen:
    env = {**env, "WEB_CONCURRENCY": str(workers), "PYTHONPATH": f"{ROOT}:{ROOT / 'bench'}"}
    log_path = Path(tempfile.gettempdir()) / f"bench-dashboard-{port}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", app_spec],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(log_path, "wb"),  # noqa: SIM115 - a pipe nobody reads would fill and stall gunicorn
    )
    # Ready means every worker has booted and answered, not just that the port is bound.
    import httpx

    deadline, answered = time.monotonic() + 90, 0
    while time.monotonic() < deadline and answered < 4 * workers:
        try:
            answered += httpx.get(f"http://127.0.0.1:{port}{ready_path}", timeout=10).status_code == 200
        except httpx.HTTPError:
            time.sleep(0.2)
    if answered:
        return proc
    proc.kill()
    raise RuntimeError(f"gunicorn {app_spec} did not start; see {log_path}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def session_cookie(url: str, redis_url: str) -> str:
    """The signed session cookie of the demo owner, as the login form would set it."""
    app = make_app(url, redis_url)
    with app.app_context():
        from flask_login.utils import _create_identifier
        from sqlalchemy import select

        from app.extensions import db
        from app.models import User

        owner = db.session.scalar(select(User).where(User.email == "admin@example.org"))
        serializer = app.session_interface.get_signing_serializer(app)
        # The identity Flask-Login stores at sign-in (a hash of address and User-Agent; the load
        # client sends none): without it each answer would re-sign the cookie, which a browser
        # stores once and the load client never does.
        with app.test_request_context(environ_base={"REMOTE_ADDR": "127.0.0.1"}):
            identity = _create_identifier()
        # With its CSRF token already in it, as a browser's cookie is after the first page.
        cookie = {"_user_id": str(owner.id), "_fresh": True, "_id": identity, "csrf_token": "0" * 40}
        return serializer.dumps(cookie)


def in_app_timing(url: str, redis_url: str, n: int, cache_seconds: int) -> dict[str, float]:
    """Server time of GET / measured by the app's first before_request and last after_request hooks."""
    app = make_app(url, redis_url)
    app.config["DASHBOARD_CACHE_SECONDS"] = cache_seconds
    times: list[float] = []

    def start():
        from flask import g

        g.bench_started = time.perf_counter()

    def finish(response):
        from flask import g

        times.append(time.perf_counter() - g.bench_started)
        return response

    app.before_request_funcs.setdefault(None, []).insert(0, start)
    app.after_request_funcs.setdefault(None, []).insert(0, finish)  # after_request runs in reverse: last
    client = app.test_client()
    with app.app_context():
        from sqlalchemy import select

        from app.extensions import db
        from app.models import User

        owner_id = db.session.scalar(select(User.id).where(User.email == "admin@example.org"))
    with client.session_transaction() as session:
        session["_user_id"] = str(owner_id)
        session["_fresh"] = True
    for _ in range(30):  # warm caches and the connection pool
        assert client.get("/").status_code == 200
    times.clear()
    for _ in range(n):
        client.get("/")
    times.sort()
    q = statistics.quantiles(times, n=100)
    return {"p50": q[49] * 1000, "p95": q[94] * 1000, "p99": q[98] * 1000, "max": times[-1] * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reuse", action="store_true", help="measure on the database a previous run built")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per run (after 3 s warm-up)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (same for both apps)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating bare/dashboard rounds")
    parser.add_argument("--timing-requests", type=int, default=500)
    parser.add_argument("--no-rebuild", action="store_true", help="skip timing rebuild-stats over the 10M rows")
    args = parser.parse_args()

    url = database_url()
    base, _, _ = (os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:63809/0").rpartition("/")
    redis_url = os.environ.get("BENCH_REDIS_URL") or f"{base}/14"
    if not args.reuse:
        build(url, redis_url)
    with psycopg.connect(libpq(url)) as conn:
        rows = conn.execute("SELECT count(*) FROM broadcast_recipients").fetchone()[0]
        stats = conn.execute("SELECT count(*), min(day), max(day) FROM daily_stats").fetchone()
        members = conn.execute("SELECT count(*) FROM members").fetchone()[0]
    print(
        f"Data: {rows:,} broadcast_recipients, {members:,} members, {stats[0]:,} daily_stats rows "
        f"({stats[1]} to {stats[2]})"
    )

    app = make_app(url, redis_url)
    with app.app_context():
        from app.extensions import db
        from app.stats import rebuild

        if args.no_rebuild:
            return measure(args, url, redis_url)

        grace = db.session.scalar(db.text("SELECT id FROM churches WHERE slug = 'grace-community-church'"))
        started = time.perf_counter()
        days = rebuild(grace)
        db.session.commit()
        print(
            f"flask rebuild-stats for one church over {rows:,} recipients: {time.perf_counter() - started:.1f}s "
            f"({days} days)"
        )
    measure(args, url, redis_url)


def measure(args, url: str, redis_url: str) -> None:
    """The load runs and the in-app timing."""
    cookie = session_cookie(url, redis_url)
    results: dict[str, list[dict[str, float]]] = {"bare": [], "dashboard": []}
    for round_no in range(args.rounds):
        for name, spec, path, jar in (
            ("bare", "dashboard:bare_app()", "/", None),
            ("dashboard", "wsgi:app", "/", cookie),
        ):
            port = free_port()
            proc = serve(spec, app_env(url, redis_url, port), port, args.workers, "/" if name == "bare" else "/health")
            try:
                figures = load(port, path, jar, args.seconds, args.connections)
            finally:
                stop(proc)
            results[name].append(figures)
            print(
                f"  round {round_no + 1} {name:9s} {figures['rps']:8.0f} req/s  p50 {figures['p50']:6.1f} ms  "
                f"p99 {figures['p99']:6.1f} ms  ({figures['n']:,} requests, {figures['errors']} non-200)"
            )

    def mean(name: str, key: str) -> float:
        return statistics.fmean(r[key] for r in results[name])

    rps_ratio = mean("dashboard", "rps") / mean("bare", "rps")
    p99_ratio = mean("dashboard", "p99") / mean("bare", "p99")
    print(
        f"\nUnder load ({args.connections} connections, gunicorn {args.workers} workers x 4 threads, "
        f"mean of {args.rounds} rounds):"
    )
    print(f"  bare Flask + Jinja 50 rows  {mean('bare', 'rps'):8.0f} req/s  p99 {mean('bare', 'p99'):6.1f} ms")
    print(
        f"  dashboard (owner)           {mean('dashboard', 'rps'):8.0f} req/s  p99 {mean('dashboard', 'p99'):6.1f} ms"
    )
    print(f"  rps ratio {rps_ratio:.2f} (target >= 0.60)   p99 ratio {p99_ratio:.2f} (target <= 1.50)")
    print(f"\nServer time inside the app, one request at a time ({args.timing_requests} requests each):")
    for label, ttl in (("every request computed (cache off)", 0), ("as served (5 s card cache)", 5)):
        timing = in_app_timing(url, redis_url, args.timing_requests, ttl)
        print(
            f"  {label:36s} p50 {timing['p50']:.2f} ms  p95 {timing['p95']:.2f} ms (target <= 15)  "
            f"p99 {timing['p99']:.2f} ms  max {timing['max']:.2f} ms"
        )


if __name__ == "__main__":
    main()
