"""Roster imports as jobs: check an upload and queue it, run it, read how it went.

An import is one transaction: it commits whole or not at all, and a dry run always rolls
back. Its row is marked `running` in a commit of its own before it starts; whatever happens
to the import, the row then gets its report (or its error) and an audit event in the
caller's transaction (the job's, or the command's), which commits them."""

import logging
from datetime import timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.service import AuthSubject
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, HearthError, NotFound
from app.core.queue import enqueue_job
from app.roster.guardian_csv import import_guardian_csv
from app.roster.models import RosterImport
from app.roster.oneroster import import_oneroster
from app.roster.parse import RosterFileError, RosterFiles, check_oneroster, read_guardian_csv
from app.roster.report import OUTCOMES
from app.schools.models import School

log = logging.getLogger("hearth.roster")
STALE_RUNNING = timedelta(hours=2)  # a "running" import older than this died with its worker


class ImportBusy(Conflict):
    code = "import_busy"


# Reading ---------------------------------------------------------------------------------------


def readable_imports(subject: AuthSubject) -> Select[RosterImport]:
    subject.require_role("office", "see roster imports")
    stmt = select(RosterImport)
    if subject.school_ids is not None:
        # District-wide OneRoster imports are for district-wide keys; a school's office sees
        # the guardian imports of its schools.
        stmt = stmt.where(RosterImport.school_id.in_(subject.school_ids))
    return stmt


def get_import(session: Session, subject: AuthSubject, import_id: int) -> RosterImport:
    job = session.scalar(readable_imports(subject).where(RosterImport.id == import_id))
    if job is None:
        raise NotFound("No such roster import.")
    return job


# Queueing (the API) ----------------------------------------------------------------------------


def _require_district(subject: AuthSubject) -> None:
    subject.require_role("office", "import rosters")
    if not subject.sees_all_schools:
        raise Forbidden(
            "A OneRoster import changes every school in the district: use an admin key or a "
            "district-wide key (one not restricted to a school)."
        )


def queue_oneroster(
    session: Session,
    subject: AuthSubject,
    *,
    data: bytes,
    filename: str,
    mode: str | None = None,
    dry_run: bool = False,
    force: bool = False,
) -> RosterImport:
    """Checks the upload's structure now (a bad one is refused and nothing is saved), then
    saves it and queues the import to run after commit."""
    _require_district(subject)
    check_oneroster(RosterFiles.from_zip(data, filename), mode, scan_rows=True)
    return _queue(
        session,
        RosterImport(
            kind="oneroster",
            mode=mode,
            dry_run=dry_run,
            force=force,
            filename=filename[:255],
            actor=subject.actor,
            upload=data,
        ),
    )


def queue_guardian_csv(
    session: Session,
    subject: AuthSubject,
    *,
    data: bytes,
    filename: str,
    school_id: int,
    dry_run: bool = False,
) -> RosterImport:
    subject.require_role("office", "import guardians")
    subject.require_school(school_id)
    if session.get(School, school_id) is None:
        raise NotFound("No such school.")
    table, _ = read_guardian_csv(data, filename)
    for _ in table.rows():  # raises on broken quoting, before anything is saved
        pass
    return _queue(
        session,
        RosterImport(
            kind="guardians_csv",
            dry_run=dry_run,
            school_id=school_id,
            across_schools=subject.sees_all_schools,
            filename=filename[:255],
            actor=subject.actor,
            upload=data,
        ),
    )


def _queue(session: Session, job: RosterImport) -> RosterImport:
    job.status = "queued"
    session.add(job)
    session.flush()
    enqueue_job(session, "roster.import", job.id)
    return job


# Running ---------------------------------------------------------------------------------------


def run_queued(session: Session, import_id: int) -> RosterImport | None:
    """The job's body: runs a queued import once (a repeated delivery finds it done)."""
    job = session.get(RosterImport, import_id)
    if job is None or job.status != "queued":
        return job
    data = session.scalar(select(RosterImport.upload).where(RosterImport.id == import_id))
    if data is None:
        return _finish(session, import_id, error="The uploaded file is gone; upload it again.")
    return _execute(session, job, data)


def fail_queued(session: Session, import_id: int, message: str) -> None:
    job = session.get(RosterImport, import_id)
    if job is not None and job.status == "queued":
        _finish(session, import_id, error=message)


def import_oneroster_path(
    session: Session,
    path: Path,
    *,
    mode: str | None = None,
    dry_run: bool = False,
    force: bool = False,
    actor: str = "cli",
) -> RosterImport:
    """The CLI: runs at once, in this process, and records the run like an upload."""
    files = RosterFiles.from_path(path)
    check_oneroster(files, mode)
    _check_not_busy(session)
    job = RosterImport(
        kind="oneroster",
        status="queued",
        mode=mode,
        dry_run=dry_run,
        force=force,
        filename=str(path)[-255:],
        actor=actor,
    )
    session.add(job)
    session.flush()  # committed with the running mark
    return _execute(session, job, files)


def import_guardians_path(
    session: Session, path: Path, *, school_id: int, dry_run: bool = False, actor: str = "cli"
) -> RosterImport:
    if not path.is_file():
        raise RosterFileError(f"{path} is not a file.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RosterFileError(f"{path} cannot be read: {exc.strerror}") from None
    if session.get(School, school_id) is None:
        raise NotFound(f"No school with id {school_id}.")
    read_guardian_csv(data, path.name)
    _check_not_busy(session)
    job = RosterImport(
        kind="guardians_csv",
        status="queued",
        dry_run=dry_run,
        school_id=school_id,
        across_schools=True,  # the server's own command line
        filename=str(path)[-255:],
        actor=actor,
    )
    session.add(job)
    session.flush()  # committed with the running mark
    return _execute(session, job, data)


def _check_not_busy(session: Session, job_id: int | None = None) -> None:
    # Two imports at once would race on the same rows; the second waits (or is told to).
    cutoff = utcnow() - STALE_RUNNING
    stmt = select(RosterImport.id).where(
        RosterImport.status == "running", RosterImport.started_at > cutoff
    )
    if job_id is not None:
        stmt = stmt.where(RosterImport.id != job_id)
    other = session.scalar(stmt.limit(1))
    if other is not None:
        raise ImportBusy(f"Roster import {other} is still running; try again when it is done.")


def _execute(session: Session, job: RosterImport, source: RosterFiles | bytes) -> RosterImport:
    job_id, kind, filename = job.id, job.kind, job.filename
    mode, force, dry_run, school_id = job.mode, job.force, job.dry_run, job.school_id
    across_schools = job.across_schools
    _check_not_busy(session, job_id)
    job.status, job.started_at = "running", utcnow()
    # Every process sees the running mark before the import starts (ImportBusy), and a failed
    # import rolls back to here, keeping its row.
    session.commit()  # commits on purpose: the running mark, before the import
    settings = get_settings()
    started = perf_counter()
    try:
        if kind == "oneroster":
            if isinstance(source, RosterFiles):
                files = source
            else:
                files = RosterFiles.from_zip(source, Path(filename).name)
            report = import_oneroster(session, files, settings, mode=mode, force=force)
        else:
            assert isinstance(source, bytes) and school_id is not None
            report = import_guardian_csv(
                session,
                source,
                Path(filename).name,
                school_id,
                settings,
                across_schools=across_schools,
            )
        session.flush()
        # The importers write with Core statements: objects this session holds are stale.
        session.expire_all()
    except HearthError as exc:
        session.rollback()
        return _finish(session, job_id, error=exc.message)
    except SQLAlchemyError as exc:
        session.rollback()
        log.exception("roster import %s: the database refused it", job_id)
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0][:300]
        return _finish(
            session,
            job_id,
            error=f"The database refused the import, so nothing was saved: {detail}",
        )
    except Exception:
        session.rollback()
        log.exception("roster import %s failed", job_id)
        return _finish(
            session,
            job_id,
            error="The import stopped on an unexpected error (it has been logged); "
            "nothing was saved.",
        )
    if dry_run:
        session.rollback()
    return _finish(
        session, job_id, report=report.as_dict(dry_run=dry_run, seconds=perf_counter() - started)
    )


def _finish(
    session: Session,
    job_id: int,
    *,
    report: dict[str, Any] | None = None,
    error: str | None = None,
) -> RosterImport:
    job = session.get(RosterImport, job_id)
    assert job is not None
    job.status = "failed" if error else "succeeded"
    job.error = error
    job.report = report
    job.finished_at = utcnow()
    job.upload = None  # every family's contacts: not kept longer than needed
    details: dict[str, Any] = {
        "kind": job.kind,
        "status": job.status,
        "dry_run": job.dry_run,
        "mode": job.mode,
        "file": Path(job.filename).name,
    }
    if report:
        details["counts"] = {
            entity: {o: n for o, n in counts.items() if n}
            for entity, counts in report["counts"].items()
            if any(counts.get(o) for o in OUTCOMES)
        }
        details["rejected"] = report["rejected_total"]
    if error:
        details["error"] = error[:500]
    audit.record(
        session,
        job.actor,
        "roster.import",
        "roster_import",
        job.id,
        school_id=job.school_id,
        details=details,
    )
    return job
