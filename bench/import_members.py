"""How long a 100,000-row member CSV import takes (prints figures and ratios, asserts nothing).

    .venv/bin/python bench/import_members.py            # 100,000 rows, naive path on 5,000
    .venv/bin/python bench/import_members.py -n 20000 --naive 2000

In its own database (koinonia_bench_import_members on the test server) it generates a CSV of
realistic rows (names, phones typed in several formats, emails, some groups and a branch,
about 0.5% bad rows), then measures in one run:

  (a) the real import: upload check (sniff), then the RQ job run by a real worker — decode,
      parse, normalise phones, COPY into a temporary table, one upsert, groups, memberships,
      consent ledger rows, commit;
  (b) a raw COPY of the same file into a bare table (PostgreSQL parses the CSV; no checks);
  (c) a naive import, one ORM object per row, on the first `--naive` rows, extrapolated.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "koinonia_bench_import_members"
DEFAULT_SERVER = "postgresql+psycopg://koinonia:koinonia@127.0.0.1:54339/koinonia"
AREA_CODES = ["312", "773", "872", "630", "708", "847", "224", "815", "212", "646", "718", "415", "213", "512"]
GROUPS = ["Youth", "Worship Team", "Volunteers", "Choir", "Men's Fellowship", "Women's Bible Study", "Ushers"]
GROUPS += ["Children's Ministry", "Prayer Team", "Hospitality", "Media Team", "Young Adults"]
PHONE_FORMATS = ["({a}) {b}-{c}", "{a}-{b}-{c}", "{a}.{b}.{c}", "+1 {a} {b} {c}", "{a}{b}{c}", "1-{a}-{b}-{c}"]


def generate_csv(rows: int, seed: int = 42) -> bytes:
    """A realistic member export: mixed phone formats, optional emails and groups, a few bad rows."""
    from faker import Faker

    fake = Faker("en_US")
    Faker.seed(seed)
    rng = random.Random(seed)
    firsts = [fake.first_name() for _ in range(2000)]
    lasts = [fake.last_name() for _ in range(2000)]
    seen: set[str] = set()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["First Name", "Last Name", "Mobile Phone", "Email", "Groups", "Campus"])
    phones: list[str] = []
    for i in range(rows):
        first, last = rng.choice(firsts), rng.choice(lasts)
        while True:
            a, b, c = rng.choice(AREA_CODES), str(rng.randint(201, 989)), f"{rng.randint(0, 9999):04d}"
            if a + b + c not in seen:
                seen.add(a + b + c)
                break
        phone = rng.choice(PHONE_FORMATS).format(a=a, b=b, c=c)
        roll = rng.random()
        if roll < 0.002:
            phone = phone[:-3]  # too short
        elif roll < 0.004 and phones:
            phone = rng.choice(phones)  # the same person twice
        phones.append(phone)
        email = f"{first}.{last}{i}@example.org".lower() if rng.random() < 0.7 else ""
        if rng.random() < 0.001:
            email = "not-an-email"
        groups = "; ".join(rng.sample(GROUPS, rng.choice([1, 1, 2]))) if rng.random() < 0.35 else ""
        branch = "Downtown" if rng.random() < 0.2 else ""
        writer.writerow([first, last, phone, email, groups, branch])
    return out.getvalue().encode()


def make_app():
    """An app on a fresh, migrated bench database with the demo churches in it."""
    import psycopg
    from flask_migrate import upgrade

    from app import create_app
    from app.config import TestConfig

    server = os.environ.get("TEST_DATABASE_URL", DEFAULT_SERVER)
    admin = server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    url = server.rsplit("/", 1)[0] + f"/{DB_NAME}"
    os.environ.setdefault("TEST_REDIS_URL", "redis://127.0.0.1:63809/15")

    class BenchConfig(TestConfig):
        def settings(self, environ):
            return super().settings({**environ, "TEST_DATABASE_URL": url})

    app = create_app(BenchConfig)
    with app.app_context():
        upgrade()
        from app.extensions import db
        from app.seed import seed_demo

        seed_demo(10)
        db.session.commit()
    return app, url


class PhaseLog(logging.Handler):
    """Keeps the per-phase seconds the import logs when it has loaded a file."""

    def __init__(self) -> None:
        super().__init__()
        self.phases: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.phases = getattr(record, "seconds", self.phases)


def backend_cpu_seconds() -> float:
    """CPU used so far by the PostgreSQL backends serving the bench database (from /proc)."""
    from sqlalchemy import text

    from app.extensions import db

    pids = db.session.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).scalars()
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def full_import(data: bytes) -> tuple[float, float, object]:
    """(a) Upload check + stored draft, then the queued job through a real RQ worker."""
    from rq import SimpleWorker
    from sqlalchemy import select

    from app.extensions import db, rds
    from app.models import Church, MemberImport, User
    from app.people.imports import services as import_services

    church = db.session.scalar(select(Church).where(Church.slug == "grace-community-church"))
    owner = db.session.scalar(select(User).where(User.email == "admin@example.org"))
    rds.queue("default").empty()
    db.session.commit()
    t0 = time.perf_counter()
    imp = import_services.create_draft(church, owner.id, "bench.csv", data)
    db.session.commit()
    t1 = time.perf_counter()
    import_services.start(imp, imp.mapping, update_existing=False)
    SimpleWorker([rds.queue("default")], connection=rds.client).work(burst=True)
    t2 = time.perf_counter()
    db.session.expire_all()
    return t1 - t0, t2 - t1, db.session.get(MemberImport, imp.id)


def raw_copy(url: str, data: bytes) -> float:
    """(b) COPY … FROM STDIN (FORMAT csv) of the same bytes into a bare table."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute(
            "CREATE TABLE bench_raw (first_name text, last_name text, phone text, email text, groups text, branch text)"
        )
        conn.commit()
        t0 = time.perf_counter()
        with conn.cursor() as cur, cur.copy("COPY bench_raw FROM STDIN (FORMAT csv, HEADER true)") as copy:
            for start in range(0, len(data), 1 << 20):
                copy.write(data[start : start + (1 << 20)])
        conn.commit()
        return time.perf_counter() - t0


def naive_import(data: bytes, limit: int) -> tuple[float, int]:
    """(c) The obvious ORM version: per row a lookup, a Member, its groups, a ConsentEvent."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Branch, Church, ConsentEvent, Group, GroupMember, Member
    from app.people.phones import PhoneError, normalize_phone

    church = db.session.scalar(select(Church).where(Church.slug == "hope-chapel"))
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    next(reader)
    done = 0
    t0 = time.perf_counter()
    for first, last, raw_phone, email, groups, branch in reader:
        if done >= limit:
            break
        done += 1
        try:
            phone = normalize_phone(raw_phone, church.country)
        except PhoneError:
            continue
        if db.session.scalar(select(Member).where(Member.church_id == church.id, Member.phone_e164 == phone)):
            continue
        branch_row = db.session.scalar(select(Branch).where(Branch.church_id == church.id, Branch.name == branch))
        m = Member(
            church_id=church.id,
            first_name=first,
            last_name=last,
            phone_e164=phone,
            email=email or None,
            branch_id=branch_row.id if branch_row else None,
            consent_source="import",
        )
        db.session.add(m)
        db.session.flush()
        for name in filter(None, (g.strip() for g in groups.split(";"))):
            group = db.session.scalar(select(Group).where(Group.church_id == church.id, Group.name == name))
            if group is None:
                group = Group(church_id=church.id, name=name)
                db.session.add(group)
                db.session.flush()
            db.session.add(GroupMember(church_id=church.id, group_id=group.id, member_id=m.id))
        db.session.add(ConsentEvent(church_id=church.id, member_id=m.id, action="opt_in", source="import"))
    db.session.commit()
    return time.perf_counter() - t0, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--rows", type=int, default=100_000)
    parser.add_argument("--naive", type=int, default=5_000, help="rows for the naive ORM path (extrapolated)")
    args = parser.parse_args()

    t = time.perf_counter()
    data = generate_csv(args.rows)
    print(f"generated {args.rows:,} rows, {len(data) / 1e6:.1f} MB in {time.perf_counter() - t:.1f}s (not timed)")
    app, url = make_app()
    phases = PhaseLog()
    logging.getLogger("app.people.imports.services").addHandler(phases)
    with app.app_context():
        cpu0, pg0 = time.process_time(), backend_cpu_seconds()
        upload_s, job_s, imp = full_import(data)
        cpu_s, pg_s = time.process_time() - cpu0, backend_cpu_seconds() - pg0
        total = upload_s + job_s
        print(f"\n(a) real import, end to end: {total:.2f}s  ({args.rows / total:,.0f} rows/s)")
        print(f"    upload check + store: {upload_s:.2f}s; queued job through an RQ worker: {job_s:.2f}s")
        print("    job phases (s): " + ", ".join(f"{k} {v:.2f}" for k, v in phases.phases.items()))
        print(f"    CPU: Python {cpu_s:.2f}s + PostgreSQL backends {pg_s:.2f}s (load average {os.getloadavg()[0]:.1f})")
        print(
            f"    read {imp.read_rows:,}: imported {imp.imported:,}, updated {imp.updated:,}, "
            f"skipped {imp.skipped:,}, failed {imp.failed:,}; groups created {imp.groups_created}"
        )
        raw_s = raw_copy(url, data)
        print(f"(b) raw COPY of the same file into a bare table: {raw_s:.2f}s")
        naive_s, naive_rows = naive_import(data, args.naive)
        naive_full = naive_s * args.rows / naive_rows
        print(
            f"(c) naive ORM import: {naive_s:.2f}s for {naive_rows:,} rows, "
            f"extrapolated to {args.rows:,} rows: {naive_full:.1f}s (linear extrapolation, not measured)"
        )
        print("\nratios")
        print(f"    real import / raw COPY:      {total / raw_s:5.1f}x")
        print(f"    naive ORM / real import:     {naive_full / total:5.1f}x")
        print(f"    target (a) <= 8 s:           {'met' if total <= 8 else 'NOT met'} ({total:.2f}s wall)")
        print(f"    CPU of (a), Python + PostgreSQL: {cpu_s + pg_s:.2f}s (the two run mostly one after the other, so")
        print("    this is about the wall time on an otherwise idle machine; wall time grows with the load average)")


if __name__ == "__main__":
    main()
