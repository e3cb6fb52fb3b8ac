"""How fast a Planning Center sync brings people in (prints figures, asserts nothing).

    make bench ARGS='pco_sync'                 # 10,000 people
    make bench ARGS='pco_sync -n 20000'

In its own database (koinonia_bench_pco_sync on the test server) it starts the simulator's fake
Planning Center on loopback with n generated people (about 10% skipped: no phone, an invalid
phone, or a duplicate) and three lists, connects Grace Community Church, maps the Youth list to
its Youth group, and runs the sync job in this process as a worker would:

  (a) the first sync: every page of 100 people over HTTP (phones and emails included), staged
      and upserted set-based, then the list's results into the group;
  (b) a second sync straight after: nothing changed, so it reads only from the cursor on and
      writes nothing.

The fake's own rate limit is off (`--limit 100` puts Planning Center's 100 per 20 s back, and
the sync then waits as told: that measures Planning Center's limit, not Koinonia).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "koinonia_bench_pco_sync"


def timed_sync(church_id: int):
    """Queue and run one sync here; (seconds, the finished run)."""
    from app.extensions import db
    from app.integrations import services, sync

    started = time.perf_counter()
    run, _ = services.start_sync(church_id, "manual")
    db.session.commit()
    done = sync.run(run.id)
    return time.perf_counter() - started, done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--people", type=int, default=10_000)
    parser.add_argument("--limit", type=int, default=0, help="the fake's requests per 20 s (0: no limit)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from sqlalchemy import func, select

    from app.delivery.simserver import Simulator
    from app.extensions import db
    from app.integrations.credentials import seal_credentials
    from app.models import Church, Group, Member, PcoConnection, PcoList

    # The test suite's: a fresh database on the test server, migrated, with the demo churches.
    from tests.conftest import make_app

    app = make_app(DB_NAME)
    with Simulator(webhooks=False) as sim, app.app_context():
        sim.pco.seed(args.people)
        sim.pco.limit = args.limit
        app.config["PCO_API_BASE"] = sim.pco_api_base
        church = db.session.scalar(select(Church).where(Church.slug == "grace-community-church"))
        youth = db.session.scalar(select(Group).where(Group.church_id == church.id, Group.name == "Youth"))
        db.session.add(
            PcoConnection(
                church_id=church.id,
                credentials=seal_credentials("benchapp0001", "benchsecret0001"),
                app_id_hint="0001",
                consent_attested=True,
            )
        )
        db.session.add(PcoList(church_id=church.id, pco_list_id="1", name="Youth", total_people=0, group_id=youth.id))
        db.session.commit()
        before = db.session.scalar(select(func.count()).select_from(Member).where(Member.church_id == church.id))

        first_s, first = timed_sync(church.id)
        second_s, second = timed_sync(church.id)

        after = db.session.scalar(select(func.count()).select_from(Member).where(Member.church_id == church.id))
        print(f"Planning Center sync of {args.people:,} people (fake on loopback, limit {args.limit or 'off'})")
        print(
            f"  first sync:  {first_s:6.2f} s  {first.people_seen / first_s:8,.0f} people/s  "
            f"created {first.created:,}, updated {first.updated:,}, skipped {first.skipped:,}, "
            f"joined Youth {first.memberships_added:,}, waited out {first.throttled} 429s  [{first.status}]"
        )
        print(
            f"  second sync: {second_s:6.2f} s  read {second.people_seen:,} (from the cursor), "
            f"created {second.created}, updated {second.updated}, joined {second.memberships_added}  [{second.status}]"
        )
        print(f"  members {before:,} -> {after:,}; {sim.pco.requests:,} requests to the fake in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
