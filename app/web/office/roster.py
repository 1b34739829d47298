"""Roster imports: upload a guardian CSV (one school) or a OneRoster file (the district), and
follow each import's report as it runs."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from app.auth.dependencies import OfficeViewer
from app.auth.service import AuthSubject
from app.core.db import SessionDep, all_or_nothing
from app.core.errors import HearthError, Invalid
from app.core.schema import Id
from app.roster import service as roster
from app.roster.models import RosterImport
from app.schools.models import School
from app.web.formatting import Formats
from app.web.office.schools import school_choices, timezone_of
from app.web.pages import FormDep, form_id, render, request_language, translate

router = APIRouter(include_in_schema=False)

RECENT_IMPORTS = 20


def _roster_context(request: Request, session: Session, subject: AuthSubject) -> dict[str, Any]:
    jobs = session.scalars(
        roster.readable_imports(subject).order_by(RosterImport.id.desc()).limit(RECENT_IMPORTS)
    ).all()
    return {
        "jobs": jobs,
        "schools": school_choices(session, subject),
        # A OneRoster file changes every school: only district-wide staff (admins) may.
        "district": subject.sees_all_schools,
        "fmt": Formats(request_language(request), timezone_of(session, subject)),
    }


def _upload(form: FormData) -> tuple[bytes, str]:
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        raise Invalid("Choose a file to upload.")
    data = file.file.read()
    if not data:
        raise Invalid("That file is empty.")
    return data, file.filename


def _checked(form: FormData, name: str) -> bool:
    return form.get(name) in ("1", "on", "true")


def _roster_error(
    request: Request, session: Session, subject: AuthSubject, exc: HearthError, which: str
) -> Response:
    context = _roster_context(request, session, subject)
    context["errors"] = {which: translate(request, exc.message)}
    return render(request, "office/roster.html", context, status_code=exc.status_code)


@router.get("/roster")
def roster_page(request: Request, session: SessionDep, viewer: OfficeViewer) -> Response:
    return render(request, "office/roster.html", _roster_context(request, session, viewer.subject))


@router.post("/roster/guardian-imports")
def roster_guardians(
    request: Request, session: SessionDep, viewer: OfficeViewer, form: FormDep
) -> Response:
    subject = viewer.subject
    try:
        school_id = form_id(form.get("school_id"))
        if school_id is None:
            raise Invalid("Choose the school whose families the file lists.")
        data, filename = _upload(form)
        with all_or_nothing(session):
            job = roster.queue_guardian_csv(
                session,
                subject,
                data=data,
                filename=filename,
                school_id=school_id,
                dry_run=_checked(form, "dry_run"),
            )
    except HearthError as exc:
        return _roster_error(request, session, subject, exc, "guardians")
    return RedirectResponse(f"/roster/imports/{job.id}", status_code=303)


@router.post("/roster/imports")
def roster_oneroster(
    request: Request, session: SessionDep, viewer: OfficeViewer, form: FormDep
) -> Response:
    subject = viewer.subject
    mode = form.get("mode") or None
    try:
        if mode not in (None, "bulk", "delta"):
            raise Invalid("Choose how to read the file: as the manifest says, bulk or delta.")
        data, filename = _upload(form)
        with all_or_nothing(session):
            job = roster.queue_oneroster(
                session,
                subject,
                data=data,
                filename=filename,
                mode=mode if isinstance(mode, str) else None,
                dry_run=_checked(form, "dry_run"),
                force=_checked(form, "force"),
            )
    except HearthError as exc:
        return _roster_error(request, session, subject, exc, "oneroster")
    return RedirectResponse(f"/roster/imports/{job.id}", status_code=303)


@router.get("/roster/imports/{import_id}")
def roster_import(
    request: Request, session: SessionDep, viewer: OfficeViewer, import_id: Id
) -> Response:
    job = roster.get_import(session, viewer.subject, import_id)
    school = session.get(School, job.school_id) if job.school_id else None
    context = {
        "job": job,
        "school": school,
        "report": job.report,
        "fmt": Formats(
            request_language(request),
            school.timezone if school else timezone_of(session, viewer.subject),
        ),
    }
    if request.headers.get("hx-target") == "import-live":
        return render(request, "office/_import_live.html", context)
    return render(request, "office/import.html", context)
