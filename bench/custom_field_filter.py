"""Custom field audience filters over 100,000 members: "campus is North" and "birthday in this month".

    .venv/bin/python bench/custom_field_filter.py            # build the data, then measure
    .venv/bin/python bench/custom_field_filter.py --reuse    # measure again on the existing database
    make bench ARGS='custom_field_filter --runs 30'

Builds its own database (koinonia_bench_fields on the test server, or BENCH_DATABASE_URL) with
"Bench Chapel" (100,000 members: a campus choice field, North for one in four, and a birthday
spread over 70 years) and "Other Chapel" (50,000 members with the same fields, so the tenant
filter has rows to skip). Then, for each filter:

(a) `audience_counts`, the composer's live counter (the same WHERE clause the send's
    INSERT … SELECT uses), p50/p95 over the runs, with EXPLAIN (ANALYZE, BUFFERS) of its main
    statement;
(b) the naive way: every member of the church and their values loaded into Python and filtered
    there (what a loop over ORM objects would do), p50/p95 over a few runs.
Prints the ratio b/a. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "koinonia_bench_fields"
BIG = 100_000
OTHER = 50_000


def database_url() -> str:
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    base = os.environ.get("TEST_DATABASE_URL") or "postgresql+psycopg://koinonia:koinonia@127.0.0.1:54339/koinonia"
    return urlunsplit(urlsplit(base)._replace(path=f"/{DB_NAME}"))


def recreate(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    admin = urlunsplit(urlsplit(url.replace("postgresql+psycopg://", "postgresql://"))._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def make_app(url: str):
    from app import create_app
    from app.config import Config

    class BenchConfig(Config):
        def settings(self, environ):
            env = dict(environ)
            env.update(
                DATABASE_URL=url,
                REDIS_URL=os.environ.get("BENCH_REDIS_URL")
                or os.environ.get("TEST_REDIS_URL")
                or "redis://127.0.0.1:63809/3",
                SECRET_KEY="bench-secret-key-0123456789abcdef",
                KOINONIA_ENV="development",
                LOG_FORMAT="console",
                LOG_LEVEL="WARNING",
                SLOW_QUERY_MS="100000",
            )
            env.pop("DATABASE_REPLICA_URL", None)
            return super().settings(env)

    return create_app(BenchConfig)


def add_church(name: str, slug: str, members: int, prefix: str) -> None:
    """A church, its fields, and `members` members with values (a few set-based statements)."""
    from sqlalchemy import text

    from app.extensions import db
    from app.models import Church
    from app.people import custom_fields as cf

    church = Church(name=name, slug=slug, timezone="America/Chicago", sms_quota=10_000_000)
    db.session.add(church)
    db.session.flush()
    campus = cf.create_field(
        church.id, name="Campus", key="campus", type="choice", choices=["North", "South", "East", "West"]
    )
    birthday = cf.create_field(church.id, name="Birthday", key="birthday", type="date", choices=[])
    db.session.execute(
        text(
            "INSERT INTO members (church_id, first_name, last_name, phone_e164, consent_source, consent_at, "
            "opted_out_at) SELECT :c, 'Member' || i, 'Bench', :prefix || lpad(i::text, 7, '0'), 'import', now(), "
            "CASE WHEN i % 50 = 0 THEN now() END FROM generate_series(1, :n) AS i"
        ),
        {"c": church.id, "n": members, "prefix": prefix},
    )
    db.session.execute(
        text(
            "INSERT INTO member_field_values (church_id, member_id, field_id, value_text) "
            "SELECT :c, id, :f, (ARRAY['North', 'South', 'East', 'West'])[1 + id % 4] FROM members WHERE church_id = :c"
        ),
        {"c": church.id, "f": campus.id},
    )
    # Nine in ten have a birthday on file, spread over 70 years (a stride through 25,567 days).
    db.session.execute(
        text(
            "INSERT INTO member_field_values (church_id, member_id, field_id, value_date) "
            "SELECT :c, id, :f, date '1950-01-01' + ((id * 7919) % 25567)::int "
            "FROM members WHERE church_id = :c AND id % 10 <> 0"
        ),
        {"c": church.id, "f": birthday.id},
    )
    db.session.commit()


def build(app) -> None:
    from flask_migrate import upgrade

    from app.extensions import db

    with app.app_context():
        upgrade()
        add_church("Bench Chapel", "bench-chapel", BIG, "+1555")
        add_church("Other Chapel", "other-chapel", OTHER, "+1556")
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float, object]:
    """(p50 ms, p95 ms, last result) over `runs` calls after one warm-up."""
    result = fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95, result


def naive(church_id: int, keep: Callable[[dict], bool]) -> int:
    """Every member and their values in Python, filtered there: reachable members kept by `keep`."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import CustomField, Member, MemberFieldValue

    members = db.session.scalars(select(Member).where(Member.church_id == church_id)).all()
    values: dict[int, dict] = {m.id: {} for m in members}
    for row, key in db.session.execute(
        select(MemberFieldValue, CustomField.key)
        .join(CustomField, CustomField.id == MemberFieldValue.field_id)
        .where(MemberFieldValue.church_id == church_id)
    ):
        values[row.member_id][key] = row.value
    count = sum(1 for m in members if m.opted_out_at is None and m.phone_e164 and keep(values[m.id]))
    db.session.rollback()
    db.session.expunge_all()
    return count


def explain(church_id: int, spec) -> str:
    from sqlalchemy import func, select

    from app.broadcasts.audience import _selected
    from app.extensions import db
    from app.models import Member

    stmt = select(func.count()).select_from(Member).where(_selected(church_id, spec))
    compiled = stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
    rows = db.session.execute(db.text(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {compiled}")).scalars().all()
    db.session.rollback()
    return "\n".join("    " + r for r in rows)


def _ms(p50: float, p95: float) -> str:
    return f"p50 {p50:8.1f} ms   p95 {p95:8.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", action="store_true", help="measure the existing database again")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--naive-runs", type=int, default=3)
    args = parser.parse_args()
    url = database_url()
    if not args.reuse:
        recreate(url)
    app = make_app(url)
    if not args.reuse:
        started = time.perf_counter()
        build(app)
        print(f"built {BIG:,} + {OTHER:,} members with values in {time.perf_counter() - started:.1f}s")

    from sqlalchemy import select

    from app.broadcasts.audience import AudienceSpec, FieldFilter, audience_counts
    from app.extensions import db
    from app.models import Church
    from app.people import custom_fields as cf

    with app.app_context():
        church = db.session.scalar(select(Church).where(Church.slug == "bench-chapel"))
        church_id, timezone = church.id, church.timezone  # the naive runs expunge the session
        campus = cf.field_by_key(church_id, "campus")
        birthday = cf.field_by_key(church_id, "birthday")
        month = datetime.now(UTC).astimezone(ZoneInfo(timezone)).month
        cases = [
            (
                "campus is North",
                AudienceSpec(everyone=True, filters=[FieldFilter(campus.id, "is", "North")]),
                lambda v: v.get("campus") == "North",
            ),
            (
                "birthday in this month",
                AudienceSpec(everyone=True, filters=[FieldFilter(birthday.id, "this_month")]),
                lambda v: v.get("birthday") is not None and v["birthday"].month == month,
            ),
        ]
        for label, spec, keep in cases:
            p50, p95, counts = timed(lambda spec=spec: audience_counts(church_id, spec), args.runs)
            n50, n95, naive_count = timed(lambda keep=keep: naive(church_id, keep), args.naive_runs)
            assert_same = "same" if naive_count == counts.recipients else f"DIFFERENT (naive {naive_count:,})"
            print(f"\n== {label}: {counts.recipients:,} recipients of {BIG:,} members ({assert_same})")
            print(f"  (a) audience_counts, the counter (= the send's WHERE)  {_ms(p50, p95)}  runs {args.runs}")
            print(f"  (b) naive: load all, filter in Python                {_ms(n50, n95)}  runs {args.naive_runs}")
            print(f"  ratio b/a (p50): {n50 / p50:.1f}x")
            print("  plan of the counting statement:")
            print(explain(church_id, spec))


if __name__ == "__main__":
    main()
