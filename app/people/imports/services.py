"""Member imports: create a draft from an upload, start it, and load the rows set-based.

The load is one transaction: COPY the normalised rows into a temporary table, then one
`INSERT … SELECT … ON CONFLICT` for members, one for new groups, one for memberships and one
for consent ledger rows. A crash anywhere leaves nothing behind, and running the same import
again gives the same members, memberships and consent rows.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import islice

from rq.job import Job
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session, undefer

from app import cache
from app.cache import Dep
from app.extensions import db, rds
from app.models import Branch, Church, MemberImport
from app.outbound_webhooks import events as webhook_events
from app.people import custom_fields as cf
from app.people.imports import sql
from app.people.imports.parsing import (
    CUSTOM_PREFIX,
    FIELD_LABELS,
    PREVIEW_ROWS,
    Normalised,
    header_key,
    normalise,
    records,
    sniff,
)
from app.security import csvfiles

log = logging.getLogger(__name__)

PROGRESS_TTL = 24 * 3600
JOB_TIMEOUT = 30 * 60
SHOWN_PROBLEMS = 50  # failed (or warned) rows listed on the result page; the download has them all
PREVIEW_CHECK_ROWS = 2000  # rows the preview checks before the import starts
STUCK_ERROR = "The import did not finish (the worker stopped). Nothing was imported; you can try again."


def custom_columns(imp: MemberImport) -> list[tuple[cf.FieldSpec, int]]:
    """The church's custom fields mapped to a column ("custom:<key>" in the mapping); other keys are ignored."""
    fields = {f.key: f for f in cf.church_fields(imp.church_id)}
    out = []
    for name, column in (imp.mapping or {}).items():
        spec = fields.get(name.removeprefix(CUSTOM_PREFIX)) if name.startswith(CUSTOM_PREFIX) else None
        if spec is not None and isinstance(column, int) and 0 <= column < len(imp.headers):
            out.append((spec, column))
    return out


def guess_custom(headers: list[str], mapping: dict[str, int], fields: list[cf.FieldSpec]) -> dict[str, int]:
    """Add "custom:<key>" for each header named like a custom field (its name or key).

    A header that names a custom field exactly ("Campus") is that field, even where the built-in
    guess took it for something optional (branch, groups).
    """
    keys = [header_key(h) for h in headers]
    out = dict(mapping)
    for spec in fields:
        names = {header_key(spec.name), header_key(spec.key)}
        column = next((i for i, k in enumerate(keys) if k in names), None)
        if column is None:
            continue
        taken_by = [k for k, v in out.items() if v == column]
        if any(k in ("first_name", "last_name", "phone") or k.startswith(CUSTOM_PREFIX) for k in taken_by):
            continue
        for k in taken_by:
            del out[k]
        out[CUSTOM_PREFIX + spec.key] = column
    return out


def create_draft(church: Church, user_id: int | None, filename: str, data: bytes) -> MemberImport:
    """Check the upload (ImportFileError when unusable) and keep it as a draft import to preview."""
    sniffed = sniff(data, church.country)
    mapping = guess_custom(sniffed.headers, sniffed.mapping, cf.church_fields(church.id))
    imp = MemberImport(
        church_id=church.id,
        user_id=user_id,
        filename=(filename or "members.csv")[-255:],
        content=data,
        size_bytes=len(data),
        encoding=sniffed.encoding,
        delimiter=sniffed.delimiter,
        headers=sniffed.headers,
        mapping=mapping,
        total_rows=sniffed.total_rows,
        status="draft",
    )
    db.session.add(imp)
    db.session.flush()
    return imp


def file_text(imp: MemberImport) -> str:
    """The stored file as text, in the encoding detected at upload (what the preview showed)."""
    return imp.content.decode(imp.encoding, errors="replace")


def preview(imp: MemberImport) -> list[tuple[int, list[str]]]:
    """(spreadsheet row number, cells) of the first rows, padded to the header width, for the mapping page."""
    rows = records(file_text(imp), imp.delimiter)
    next(rows, None)
    width = len(imp.headers)
    return [(number, (cells + [""] * width)[:width]) for number, cells in islice(rows, PREVIEW_ROWS)]


def start(imp: MemberImport, mapping: dict[str, int], update_existing: bool) -> None:
    """Record the choices, queue the job on the default queue, and commit."""
    imp.mapping = mapping
    imp.update_existing = update_existing
    imp.consent_attested = True
    imp.status = "queued"
    # The job's id is recorded with the status, so requeue_lost can tell a lost job from one
    # still in Redis.
    imp.job_id = uuid.uuid4().hex
    db.session.commit()
    rds.queue("default").enqueue(
        "app.people.imports.tasks.run_import",
        imp.id,
        job_id=imp.job_id,
        job_timeout=JOB_TIMEOUT,
        description=f"member import #{imp.id}",
    )


def requeue_lost() -> list[int]:
    """Queue again the `queued` imports whose job Redis no longer has; their ids.

    Redis is not the record: flushed or restarted empty, it forgets queued jobs, and an import
    would wait forever. A job still in Redis is left alone; should one be queued twice anyway
    (between start()'s commit and its enqueue), run_import's claim lets only one of them run.
    """
    candidates = db.session.execute(
        select(MemberImport.id, MemberImport.job_id).where(MemberImport.status == "queued")
    ).all()
    db.session.rollback()
    if not candidates:
        return []
    queue = rds.queue("default")
    requeued = []
    for import_id, job_id in candidates:
        if job_id and Job.exists(job_id, connection=queue.connection):
            continue
        job = queue.enqueue(
            "app.people.imports.tasks.run_import",
            import_id,
            job_timeout=JOB_TIMEOUT,
            description=f"member import #{import_id}",
        )
        # Only while still queued: a run that began meanwhile keeps its own job id.
        db.session.execute(
            update(MemberImport)
            .where(MemberImport.id == import_id, MemberImport.status == "queued")
            .values(job_id=job.id)
        )
        db.session.commit()
        requeued.append(import_id)
    return requeued


def progress_key(import_id: int) -> str:
    return f"koinonia:import:{import_id}:progress"


def write_progress(import_id: int, phase: str, read: int = 0, failed: int = 0) -> None:
    """Live counts for the progress bar while the job's own transaction is still open."""
    key = progress_key(import_id)
    pipe = rds.client.pipeline()
    pipe.hset(key, mapping={"phase": phase, "read": read, "failed": failed})
    pipe.expire(key, PROGRESS_TTL)
    pipe.execute()


def live_counts(imp: MemberImport) -> dict[str, int | str]:
    """Counts to draw: the row's own once finished, the job's Redis progress while it runs."""
    counts: dict[str, int | str] = {
        "phase": imp.status,
        "total": imp.total_rows,
        "read": imp.read_rows,
        "imported": imp.imported,
        "updated": imp.updated,
        "skipped": imp.skipped,
        "failed": imp.failed,
    }
    if imp.in_progress:
        raw = rds.client.hgetall(progress_key(imp.id))
        live = {k.decode(): v.decode() for k, v in raw.items()}
        counts["phase"] = live.get("phase", imp.status)
        counts["read"] = int(live.get("read", 0))
        counts["failed"] = int(live.get("failed", 0))
    return counts


def branch_ids(session: Session, church_id: int) -> dict[str, int]:
    """Lower-cased branch name → id, for matching the branch column."""
    rows = session.execute(select(Branch.name, Branch.id).where(Branch.church_id == church_id).order_by(Branch.id))
    names: dict[str, int] = {}
    for name, branch_id in rows:
        names.setdefault(" ".join(name.lower().split()), branch_id)
    return names


class Stopwatch:
    """Seconds per phase of one import, logged at the end so slow imports can be explained."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.phases[phase] = round(now - self._last, 3)
        self._last = now


def execute(session: Session, imp: MemberImport, report: Callable[[str, int, int], None] | None = None) -> Stopwatch:
    """Parse, normalise and load `imp` in the session's transaction; the caller commits.

    `report(phase, read, failed)` receives progress ("reading" every few thousand rows, then "saving").
    """
    report = report or (lambda phase, read, failed: None)
    watch = Stopwatch()
    church = session.get(Church, imp.church_id)
    text_ = file_text(imp)
    mapping = {k: int(v) for k, v in (imp.mapping or {}).items() if k in FIELD_LABELS and v is not None}
    branches = branch_ids(session, imp.church_id)  # before the COPY: the connection is busy during it
    custom = custom_columns(imp)
    with copy_rows(session) as write_row:
        parsed = normalise(
            text_,
            imp.delimiter,
            mapping,
            country=church.country if church else "US",
            branches=branches,
            progress=lambda read, failed: report("reading", read, failed),
            sink=write_row,
            custom=custom,
        )
    watch.lap("parse+copy")
    report("saving", parsed.read, len(parsed.failures))
    imported, updated, groups_created = apply_rows(session, imp, watch)
    imp.read_rows = parsed.read
    imp.imported = imported
    imp.updated = updated
    imp.skipped = parsed.good - imported - updated
    imp.failed = len(parsed.failures)
    # One list: failed rows, then rows imported with a warning (marked "warning": true).
    imp.failures = parsed.failures + parsed.warnings
    imp.groups_created = groups_created
    imp.status = "done"
    imp.error = None
    imp.finished_at = datetime.now(UTC)
    log.info("member import %s loaded", imp.id, extra={"rows": parsed.read, "seconds": watch.phases})
    return watch


@contextmanager
def copy_rows(session: Session) -> Iterator[Callable[[tuple], None]]:
    """A fresh temporary import_rows table and a COPY into it; yields the function that writes one row.

    The COPY runs on the session's own connection (same transaction) and streams while the
    caller is still parsing, so PostgreSQL works on the rows on the other core meanwhile.
    """
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cur:
        cur.execute(sql.CREATE_ROWS)
        with cur.copy(sql.COPY_ROWS) as copy:
            copy.set_types(["int4", "text", "text", "text", "text", "text[]", "int8", "text"])
            yield copy.write_row
        # Temporary tables have no statistics until analysed; the joins below need them.
        cur.execute("ANALYZE import_rows")


def apply_rows(session: Session, imp: MemberImport, watch: Stopwatch | None = None) -> tuple[int, int, int]:
    """Apply import_rows set-based: members, groups, memberships, consent; (imported, updated, groups created)."""
    watch = watch or Stopwatch()
    params = {"church_id": imp.church_id}
    # The planner's cost estimates for these bulk statements trip JIT compilation, which costs
    # more than it saves on statements that run once.
    session.execute(text("SET LOCAL jit = off"))
    session.execute(text(sql.UPSERT_MEMBERS), {**params, "update_existing": imp.update_existing})
    session.execute(text("ANALYZE import_applied"))
    imported, updated = session.execute(text(sql.COUNT_APPLIED)).one()
    watch.lap("upsert")
    groups_created = session.execute(text(sql.CREATE_GROUPS), params).rowcount
    session.execute(text(sql.ADD_MEMBERSHIPS), params)
    watch.lap("groups")
    session.execute(text(sql.APPLY_CUSTOM), params)
    watch.lap("custom")
    detail = f"import #{imp.id} {imp.filename}"
    session.execute(text(sql.CONSENT_ROWS), {**params, "detail": detail, "user_id": imp.user_id})
    webhook_events.members_imported(imp.church_id)  # one statement, from import_applied
    _bump_applied(session, imp.church_id, updated)
    session.execute(text("DROP TABLE IF EXISTS pg_temp.import_rows, pg_temp.import_applied"))
    watch.lap("consent")
    return imported, updated, max(groups_created, 0)


def failures_csv(imp: MemberImport) -> str:
    """The failed rows as CSV: row number, the original cells under the file's headers, and why."""
    width = len(imp.headers)
    rows: list[list[object]] = [["Row", *imp.headers, "Reason"]]
    for failure in imp.failures or []:
        if failure.get("warning"):
            continue
        values = list(failure["values"])
        values = (values + [""] * width)[: max(width, len(values))]
        rows.append([failure["row"], *values, failure["reason"]])
    return csvfiles.text(rows)


def problem_rows(imp: MemberImport, limit: int = SHOWN_PROBLEMS) -> dict[str, list[dict]]:
    """The first failed rows and the first rows imported with a warning, for the result page."""
    if imp.status != "done":
        return {"failed": [], "warned": [], "warned_total": 0}
    failed = [f for f in imp.failures or [] if not f.get("warning")]
    warned = [f for f in imp.failures or [] if f.get("warning")]
    return {"failed": failed[:limit], "warned": warned[:limit], "warned_total": len(warned)}


def check_preview(imp: MemberImport, limit: int = PREVIEW_CHECK_ROWS) -> Normalised:
    """Read the first `limit` rows with the guessed columns: which will fail, which import with a warning."""
    church = db.session.get(Church, imp.church_id)
    mapping = {k: int(v) for k, v in (imp.mapping or {}).items() if k in FIELD_LABELS and v is not None}
    if "phone" not in mapping:
        return Normalised()
    return normalise(
        file_text(imp),
        imp.delimiter,
        mapping,
        country=church.country if church else "US",
        branches=branch_ids(db.session, imp.church_id),
        sink=lambda row: None,
        limit=limit,
        custom=custom_columns(imp),
    )


def recent_imports(church_id: int, limit: int = 10) -> list[MemberImport]:
    """The church's latest imports, for the upload page."""
    query = (
        select(MemberImport)
        .where(MemberImport.church_id == church_id)
        .order_by(MemberImport.created_at.desc(), MemberImport.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def load_with_content(import_id: int) -> MemberImport | None:
    """One import with its file and failures loaded (the job reads both)."""
    query = select(MemberImport).where(MemberImport.id == import_id)
    return db.session.scalar(query.options(undefer(MemberImport.content), undefer(MemberImport.failures)))


def sweep(stuck_before: datetime, drafts_before: datetime, files_before: datetime) -> dict[str, int]:
    """Across churches: fail imports running since `stuck_before`, delete old drafts, free finished files."""
    stuck = db.session.execute(
        update(MemberImport)
        .where(MemberImport.status == "running", MemberImport.started_at < stuck_before)
        .values(status="failed", error=STUCK_ERROR, finished_at=func.now())
    ).rowcount
    drafts = db.session.execute(
        delete(MemberImport).where(MemberImport.status == "draft", MemberImport.created_at < drafts_before)
    ).rowcount
    freed = db.session.execute(
        update(MemberImport)
        .where(MemberImport.status == "done", MemberImport.finished_at < files_before)
        .where(func.length(MemberImport.content) > 0)
        .values(content=b"")
    ).rowcount
    return {"stuck": stuck, "drafts": drafts, "files_freed": freed}


def _bump_applied(session: Session, church_id: int, updated: int) -> None:
    """Move what shows the imported members: figures, groups, and the threads of members it renamed."""
    deps: list[Dep] = [("members", church_id), ("groups", church_id)]
    if updated:
        rows = session.execute(
            text(
                "SELECT c.church_id, c.id FROM conversations c JOIN import_applied a ON a.member_id = c.member_id "
                "WHERE NOT a.inserted"
            )
        ).all()
        deps.extend(("conversation", church_id, conversation_id) for church_id, conversation_id in rows)
    cache.bump(*deps, session=session)
