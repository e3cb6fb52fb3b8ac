"""End-to-end delivery throughput: a broadcast sent by real RQ workers to the Telnyx simulator.

    .venv/bin/python bench/delivery_throughput.py -n 10000 --workers 2
    .venv/bin/python bench/delivery_throughput.py -n 10000 --workers 2 --rate 10000 --naive 1000

Creates its own database (koinonia_bench_delivery on the test server), a church with n members
on a short-code number, and runs: (1) the simulator's raw throughput from a bare client with
the same threads, (2) the engine: create_broadcast (one INSERT … SELECT, enqueue_many) then
N `worker.py` processes claim → HTTP → bulk status write until nothing is queued or sending,
(3) the naive way for contrast: one RQ job per message on a subset. Prints messages/s, the
ratio to the configured per-number limit and to the raw simulator, and the workers' peak RSS.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DEFAULT_PG = "postgresql+psycopg://koinonia:koinonia@127.0.0.1:54339/koinonia_test"
DEFAULT_REDIS = "redis://127.0.0.1:63809/12"
NUMBER = "+13125559999"


def database_url(name: str) -> str:
    base = os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG
    return urlunsplit(urlsplit(base)._replace(path=f"/{name}"))


def recreate_database(url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    admin = urlunsplit(urlsplit(url)._replace(path="/postgres")).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def bench_env(db_url: str, redis_url: str, api_base: str, rate: int) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "bench-secret-key-0123456789",
        "KOINONIA_ENV": "development",
        "LOG_FORMAT": "console",
        "LOG_LEVEL": "WARNING",
        "TELNYX_API_BASE": api_base,
        "SMS_RATES": f"short_code={rate}",
        "SLOW_QUERY_MS": "100000",
    }


def setup_data(app, n: int) -> int:
    from flask_migrate import upgrade
    from sqlalchemy import insert, text

    from app.extensions import db
    from app.models import Church, Member, PhoneNumber

    with app.app_context():
        upgrade()
        church = Church(name="Bench Chapel", slug="bench-chapel", timezone="UTC", sms_quota=10_000_000)
        db.session.add(church)
        db.session.flush()
        db.session.execute(
            text("UPDATE churches SET quiet_hours_start = NULL, quiet_hours_end = NULL WHERE id = :c"), {"c": church.id}
        )
        db.session.add(PhoneNumber(church_id=church.id, e164=NUMBER, number_type="short_code", is_default=True))
        rows = [{"church_id": church.id, "first_name": f"Member{i}", "phone_e164": f"+1555{i:07d}"} for i in range(n)]
        for start in range(0, n, 5000):
            db.session.execute(insert(Member), rows[start : start + 5000])
        db.session.commit()
        return church.id


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            out += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        pass
    return out


def start_workers(count: int, env: dict[str, str]) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [sys.executable, "worker.py", "default"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(count)
    ]


def wait_done(app, broadcast_id: int, workers: list[subprocess.Popen], timeout: float) -> tuple[float, int]:
    """Poll until no recipient is queued or sending; returns (end time, peak worker RSS in KB)."""
    from sqlalchemy import text

    from app.extensions import db

    peak = 0
    deadline = time.monotonic() + timeout
    with app.app_context():
        while time.monotonic() < deadline:
            for w in workers:
                for pid in [w.pid, *children(w.pid)]:
                    peak = max(peak, rss_kb(pid))
            left = db.session.scalar(
                text(
                    "SELECT count(*) FROM broadcast_recipients WHERE broadcast_id = :b "
                    "AND status IN ('queued', 'sending')"
                ),
                {"b": broadcast_id},
            )
            db.session.rollback()
            if not left:
                return time.perf_counter(), peak
            time.sleep(0.05)
    raise SystemExit(f"broadcast {broadcast_id} did not finish within {timeout}s")


def naive_send(recipient_id: int) -> str:
    """The way not to do it: one RQ job (fork, Redis round trips, DB connect) per message."""
    from flask import current_app
    from sqlalchemy import text

    from app.delivery import make_provider
    from app.extensions import db

    row = db.session.execute(
        text(
            "UPDATE broadcast_recipients r SET status = 'sending', claimed_at = now() FROM broadcasts b "
            "WHERE r.id = :id AND r.status = 'queued' AND b.id = r.broadcast_id RETURNING r.to_e164, b.from_number"
        ),
        {"id": recipient_id},
    ).first()
    db.session.commit()
    if row is None:
        return "gone"
    provider = make_provider(current_app.config)
    try:
        result = provider.send(row[1], row[0], "Hello from the naive path")
    finally:
        provider.close()
    db.session.execute(
        text("UPDATE broadcast_recipients SET status = 'sent', provider_message_id = :p WHERE id = :id"),
        {"p": result.provider_message_id, "id": recipient_id},
    )
    db.session.commit()
    return "sent"


def raw_simulator(api_base: str, n: int, processes: int, threads: int) -> float:
    from simulator_throughput import client_worker

    out: mp.Queue = mp.Queue()
    per = n // processes
    procs = [
        mp.Process(target=client_worker, args=(api_base, 5_000_000 + i * per, per, threads, out))
        for i in range(processes)
    ]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    return per * processes / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=10_000, help="recipients in the broadcast")
    parser.add_argument("--workers", type=int, default=2, help="worker.py processes")
    parser.add_argument("--rate", type=int, default=1000, help="messages/s allowed for the (short code) number")
    parser.add_argument("--threads", type=int, default=16, help="send threads per job (SEND_CONCURRENCY)")
    parser.add_argument("--naive", type=int, default=1000, help="messages for the one-job-per-message run (0: skip)")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    args = parser.parse_args()

    db_url = database_url("koinonia_bench_delivery")
    recreate_database(db_url)
    port_file = Path(tempfile.mkdtemp()) / "sim.key"
    from simulator_throughput import free_port, wait_http

    port = free_port()
    sim = subprocess.Popen(
        [sys.executable, "-m", "app.delivery.simulator", "--port", str(port), "--no-webhooks"]
        + ["--private-key-file", str(port_file), "--log-level", "WARNING"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    api_base = f"http://127.0.0.1:{port}/v2"
    env = bench_env(db_url, args.redis_url, api_base, args.rate)
    env["SEND_CONCURRENCY"] = str(args.threads)
    env["PYTHONPATH"] = str(ROOT / "bench")  # the naive job function lives in this file
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "KOINONIA_ENV", "SMS_RATES")})
    os.environ["TELNYX_API_BASE"] = api_base
    os.environ["LOG_LEVEL"] = "WARNING"
    workers: list[subprocess.Popen] = []
    try:
        wait_http(f"http://127.0.0.1:{port}/_sim/health")
        from app import create_app

        app = create_app()
        church_id = setup_data(app, args.n + args.naive)
        print(f"cpus: {os.cpu_count()}; recipients: {args.n}; workers: {args.workers}; threads/job: {args.threads}")

        raw = raw_simulator(api_base, min(args.n, 10_000), args.workers, args.threads)
        print(f"raw simulator (bare client, {args.workers} procs x {args.threads} threads): {raw:,.0f} msg/s")

        from sqlalchemy import text

        from app.broadcasts.audience import AudienceSpec
        from app.broadcasts.services import create_broadcast
        from app.extensions import db, rds
        from app.models import Church

        with app.app_context():
            rds.client.flushdb()
        workers = start_workers(args.workers, env)
        time.sleep(2.0)  # let the workers import the app before the clock starts
        with app.app_context():
            church = db.session.get(Church, church_id)
            db.session.execute(
                text("UPDATE members SET opted_out_at = now() WHERE phone_e164 >= :p"),
                {"p": f"+1555{args.n:07d}"},
            )
            db.session.commit()
            t0 = time.perf_counter()
            broadcast = create_broadcast(
                church,
                None,
                body="Hi {first_name}, service at 10am Sunday.",
                media_urls=[],
                spec=AudienceSpec(everyone=True),
                idempotency_key="bench",
            )
            created = time.perf_counter() - t0
            bid = broadcast.id
        end, peak = wait_done(app, bid, workers, timeout=max(120.0, args.n / 50))
        wall = end - t0
        with app.app_context():
            counts = dict(
                db.session.execute(
                    text("SELECT status, count(*) FROM broadcast_recipients WHERE broadcast_id = :b GROUP BY status"),
                    {"b": bid},
                ).all()
            )
        rate = args.n / wall
        print(
            f"engine: {args.n} recipients in {wall:.2f}s = {rate:,.0f} msg/s end to end "
            f"(create+enqueue {created * 1000:.0f} ms); statuses {counts}"
        )
        print(f"  vs per-number limit {args.rate}/s: {rate / args.rate:.2f}x; vs raw simulator: {rate / raw:.2f}x")
        print(f"  worker peak RSS: {peak / 1024:.0f} MB")

        if args.naive:
            with app.app_context():
                rds.client.flushdb()
                db.session.execute(text("UPDATE members SET opted_out_at = NULL"))
                db.session.execute(
                    text("UPDATE members SET opted_out_at = now() WHERE phone_e164 < :p"), {"p": f"+1555{args.n:07d}"}
                )
                db.session.commit()
                naive = create_broadcast(
                    church,
                    None,
                    body="naive",
                    media_urls=[],
                    spec=AudienceSpec(everyone=True),
                    idempotency_key="naive",
                    scheduled_at=datetime(2100, 1, 1, tzinfo=UTC),
                )
                ids = list(
                    db.session.scalars(
                        text("SELECT id FROM broadcast_recipients WHERE broadcast_id = :b"), {"b": naive.id}
                    )
                )
                from rq import Queue

                t1 = time.perf_counter()
                rds.queue("default").enqueue_many(
                    [Queue.prepare_data("delivery_throughput.naive_send", args=(i,), result_ttl=0) for i in ids]
                )
                nid = naive.id
            end2, _ = wait_done(app, nid, workers, timeout=600)
            naive_rate = len(ids) / (end2 - t1)
            print(
                f"naive (one RQ job per message): {len(ids)} in {end2 - t1:.2f}s = {naive_rate:,.0f} msg/s; "
                f"engine is {rate / naive_rate:.1f}x faster"
            )
    finally:
        for w in workers:
            try:
                os.killpg(w.pid, 15)
            except ProcessLookupError:
                pass
        for w in workers:
            w.wait(timeout=20)
        sim.terminate()
        sim.wait(timeout=10)


if __name__ == "__main__":
    main()
