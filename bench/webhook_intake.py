"""Webhook intake under gunicorn: signed Telnyx status events/s, latency, processing lag, exactly-once.

    .venv/bin/python bench/webhook_intake.py -n 10000 --concurrency 32 --web-workers 2 --threads 4

Creates its own database (koinonia_bench_webhooks on the test server) with a broadcast whose
n recipients were already handed to the provider, starts gunicorn (as `make dev` does) and one
RQ worker, then posts one signed `message.finalized` per recipient from `--concurrency` keep-alive
connections, plus re-deliveries of 5% of them (Telnyx retries). Prints events/s, p50/p95/p99
answer time, the processing lag (received → applied) p50/p95, and a count check that every
event was stored once and applied once. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from delivery_throughput import database_url, recreate_database  # noqa: E402
from httpload import exchange  # noqa: E402
from simulator_throughput import free_port, wait_http  # noqa: E402

from app.security.signatures import public_key_b64, sign_telnyx  # noqa: E402

NUMBER = "+13125558888"


def setup(n: int) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app import create_app
    from app.extensions import db

    app = create_app()
    with app.app_context():
        upgrade()
        church_id = db.session.scalar(
            text(
                "INSERT INTO churches (name, slug, timezone) VALUES ('Bench Hooks', 'bench-hooks', 'UTC') RETURNING id"
            )
        )
        db.session.execute(
            text("INSERT INTO phone_numbers (church_id, e164, is_default) VALUES (:c, :n, true)"),
            {"c": church_id, "n": NUMBER},
        )
        broadcast_id = db.session.scalar(
            text(
                "INSERT INTO broadcasts (church_id, body, status, from_number, recipient_count, sent_count) "
                "VALUES (:c, 'bench', 'sent', :n, :k, :k) RETURNING id"
            ),
            {"c": church_id, "n": NUMBER, "k": n},
        )
        db.session.execute(
            text(
                "INSERT INTO broadcast_recipients (church_id, broadcast_id, to_e164, status, provider_message_id) "
                "SELECT :c, :b, '+1555' || lpad(g::text, 7, '0'), 'sent', 'bench-' || g FROM generate_series(1, :k) g"
            ),
            {"c": church_id, "b": broadcast_id, "k": n},
        )
        db.session.commit()


def event(i: int) -> bytes:
    payload = {
        "id": f"bench-{i}",
        "direction": "outbound",
        "from": {"phone_number": NUMBER},
        "to": [{"phone_number": f"+1555{i:07d}", "status": "delivered"}],
        "parts": 1,
        "cost": {"amount": "0.0040", "currency": "USD"},
        "errors": [],
        "completed_at": "2026-01-01T00:00:01.000+00:00",
    }
    body = {
        "data": {
            "record_type": "event",
            "id": str(uuid.uuid4()),
            "event_type": "message.finalized",
            "occurred_at": "2026-01-01T00:00:01.000+00:00",
            "payload": payload,
        },
        "meta": {"attempt": 1},
    }
    return json.dumps(body).encode()


def post_all(url: str, bodies: list[bytes], key: Ed25519PrivateKey, concurrency: int) -> tuple[float, list[float]]:
    """POST every body from `concurrency` kept-alive connections; (wall seconds, answer latencies).

    The client is asyncio on raw sockets, one HTTP/1.1 request at a time per connection (no
    pipelining, as Telnyx sends): it shares the machine's two cores with the server it
    measures, and costs a fraction of a thread-per-connection http.client's CPU.
    """
    # Signed up front (well inside the 300 s window) so the client spends the shared CPU on posting.
    now = int(time.time())
    target = urlsplit(url)
    host, port, path = target.hostname, target.port, target.path
    requests = []
    for body in bodies:
        headers = {"Content-Type": "application/json", **sign_telnyx(body, key, now)}
        head = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        requests.append(head.encode() + b"\r\n" + body)
    latencies: list[float] = []
    errors: list[str] = []
    cursor = iter(range(len(requests)))

    async def run() -> None:
        reader = writer = None
        for i in cursor:
            for attempt in (1, 2):  # Telnyx re-sends on a dropped connection; so does the bench
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                t0 = time.perf_counter()
                try:
                    status, answer, close = await exchange(reader, writer, requests[i])
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    writer.close()
                    writer = None
                    errors.append(f"attempt {attempt}: {type(exc).__name__}: {exc}")
                    continue
                latencies.append(time.perf_counter() - t0)
                if status != 200:
                    errors.append(f"{status}: {answer[:120]!r}")
                if close:
                    writer.close()
                    writer = None
                break
        if writer is not None:
            writer.close()

    async def main() -> None:
        await asyncio.gather(*(run() for _ in range(concurrency)))

    t0 = time.perf_counter()
    asyncio.run(main())
    if errors:
        print(f"  {len(errors)} failed posts or non-200 answers, e.g. {errors[0]}")
    return time.perf_counter() - t0, latencies


def cpu_seconds(pid: int, with_children: bool = False) -> float:
    """CPU time of a process from /proc (with its reaped children: the RQ worker forks per job)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if with_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return found


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=10_000, help="distinct events (one per recipient)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers (WEB_CONCURRENCY)")
    parser.add_argument("--threads", type=int, default=4, help="gthread threads per worker (GUNICORN_THREADS)")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:63809/13"))
    args = parser.parse_args()

    key = Ed25519PrivateKey.generate()
    db_url = database_url("koinonia_bench_webhooks")
    recreate_database(db_url)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": args.redis_url,
        "SECRET_KEY": "bench-secret-key-0123456789",
        "KOINONIA_ENV": "development",
        "LOG_FORMAT": "console",
        "LOG_LEVEL": "WARNING",
        "TELNYX_PUBLIC_KEY": public_key_b64(key),
        "SLOW_QUERY_MS": "100000",
        "WEB_CONCURRENCY": str(args.web_workers),
        "GUNICORN_THREADS": str(args.threads),
        "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(),
    }
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "KOINONIA_ENV", "LOG_LEVEL")})
    setup(args.n)
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": ROOT, "env": env}
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        **quiet,
    )
    worker = subprocess.Popen([sys.executable, "worker.py", "high"], **quiet)
    try:
        wait_http(f"http://127.0.0.1:{port}/health", timeout=30)
        time.sleep(1.5)
        bodies = [event(i) for i in range(1, args.n + 1)]
        redelivered = random.sample(bodies, args.n // 20)
        web_pids = children(web.pid)
        before = {pid: cpu_seconds(pid) for pid in web_pids}
        rq_before = cpu_seconds(worker.pid, with_children=True)
        client_before = time.process_time()
        wall, latencies = post_all(
            f"http://127.0.0.1:{port}/webhooks/telnyx", bodies + redelivered, key, args.concurrency
        )
        total = len(bodies) + len(redelivered)
        print(
            f"intake: {total} signed events ({len(redelivered)} re-deliveries) in {wall:.2f}s = {total / wall:,.0f}/s "
            f"at {args.concurrency} connections, gunicorn gthread {args.web_workers} workers x {args.threads} threads"
        )
        print(
            f"  answer time p50 {pct(latencies, 50) * 1000:.1f} ms, p95 {pct(latencies, 95) * 1000:.1f} ms, "
            f"p99 {pct(latencies, 99) * 1000:.1f} ms, max {max(latencies) * 1000:.0f} ms"
        )
        client_cpu = time.process_time() - client_before
        web_cpu = sum(cpu_seconds(pid) - before[pid] for pid in web_pids)
        print(
            f"  CPU during intake: gunicorn workers {web_cpu:.1f} s ({web_cpu / total * 1000:.2f} ms/event), "
            f"bench client {client_cpu:.1f} s (signing included), on {os.cpu_count()} cores in {wall:.1f} s"
        )
        from sqlalchemy import create_engine, text

        engine = create_engine(db_url)
        deadline = time.monotonic() + 300
        with engine.connect() as conn:
            while time.monotonic() < deadline:
                pending = conn.execute(text("SELECT count(*) FROM webhook_events WHERE processed_at IS NULL")).scalar()
                if not pending:
                    break
                time.sleep(0.2)
            lags = [
                float(v)
                for v in conn.execute(
                    text("SELECT extract(epoch FROM processed_at - received_at) FROM webhook_events")
                ).scalars()
            ]
            stored = conn.execute(text("SELECT count(*) FROM webhook_events")).scalar()
            delivered, sent = conn.execute(text("SELECT delivered_count, sent_count FROM broadcasts")).one()
            rows = conn.execute(text("SELECT count(*) FROM broadcast_recipients WHERE status = 'delivered'")).scalar()
        print(f"  processing lag (received -> applied) p50 {pct(lags, 50):.2f} s, p95 {pct(lags, 95):.2f} s")
        rq_cpu = cpu_seconds(worker.pid, with_children=True) - rq_before
        print(f"  RQ worker CPU (drain jobs, from the start of intake): {rq_cpu:.1f} s")
        ok = stored == args.n and delivered == args.n == rows and sent == 0
        print(
            f"  exactly once: stored {stored} of {args.n} distinct events; delivered rows {rows}, "
            f"delivered_count {delivered}, sent_count {sent} -> {'OK' if ok else 'MISMATCH'}"
        )
    finally:
        for p in (web, worker):
            p.terminate()
        for p in (web, worker):
            p.wait(timeout=20)


if __name__ == "__main__":
    main()
