from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status

from app.auth.dependencies import Reader, Writer
from app.core.db import SessionDep
from app.core.pagination import ListResource, PageDep, list_resource, paginate
from app.core.schema import Id
from app.roster import service
from app.roster.models import RosterImport
from app.roster.schemas import ImportRead, ImportSummary

router = APIRouter(prefix="/api/v1/roster", tags=["roster"])


@router.post("/imports", response_model=ImportRead, status_code=status.HTTP_202_ACCEPTED)
def create_import(
    response: Response,
    session: SessionDep,
    subject: Writer,
    file: Annotated[
        UploadFile, File(description="A .zip of OneRoster 1.1 or 1.2 CSV files (manifest.csv, …).")
    ],
    mode: Annotated[
        Literal["bulk", "delta"] | None,
        Form(description="Override the manifest: bulk deactivates what is missing."),
    ] = None,
    dry_run: Annotated[bool, Form(description="Report what would change; save nothing.")] = False,
    force: Annotated[
        bool, Form(description="Apply even if it would deactivate an unusual share of people.")
    ] = False,
):
    """Queue a OneRoster import (office or admin, district-wide key, `write` scope). The file's
    structure is checked now; its rows when the job runs. Poll the import for its report."""
    job = service.queue_oneroster(
        session,
        subject,
        data=file.file.read(),
        filename=file.filename or "roster.zip",
        mode=mode,
        dry_run=dry_run,
        force=force,
    )
    session.refresh(job)
    response.headers["Location"] = f"/api/v1/roster/imports/{job.id}"
    return ImportRead.of(job)


@router.post("/guardian-imports", response_model=ImportRead, status_code=status.HTTP_202_ACCEPTED)
def create_guardian_import(
    response: Response,
    session: SessionDep,
    subject: Writer,
    file: Annotated[
        UploadFile,
        File(
            description="CSV, one row per guardian and student: student_id, given_name, "
            "family_name, phone, email, language, relationship."
        ),
    ],
    school_id: Annotated[Id, Form(description="The school whose students the file names.")],
    dry_run: Annotated[bool, Form(description="Report what would change; save nothing.")] = False,
):
    """Queue a plain CSV import of guardians for one school (office or admin, `write`)."""
    job = service.queue_guardian_csv(
        session,
        subject,
        data=file.file.read(),
        filename=file.filename or "guardians.csv",
        school_id=school_id,
        dry_run=dry_run,
    )
    session.refresh(job)
    response.headers["Location"] = f"/api/v1/roster/imports/{job.id}"
    return ImportRead.of(job)


@router.get("/imports", response_model=ListResource[ImportSummary])
def list_imports(
    session: SessionDep,
    subject: Reader,
    page: PageDep,
    kind: Annotated[Literal["oneroster", "guardians_csv"] | None, Query()] = None,
    state: Annotated[
        Literal["queued", "running", "succeeded", "failed"] | None, Query(alias="status")
    ] = None,
):
    """Roster imports, newest first."""
    stmt = service.readable_imports(subject)
    if kind:
        stmt = stmt.where(RosterImport.kind == kind)
    if state:
        stmt = stmt.where(RosterImport.status == state)
    items, total = paginate(session, stmt.order_by(RosterImport.id.desc()), page)
    return list_resource([ImportSummary.of(j) for j in items], total, page)


@router.get("/imports/{import_id}", response_model=ImportRead)
def get_import(import_id: Id, session: SessionDep, subject: Reader):
    """An import's status and, once it has run, its report."""
    return ImportRead.of(service.get_import(session, subject, import_id))
