"""The admin home, and each school's settings (name, timezone, senders, quiet hours) and
glossary (terms kept as written, or given fixed translations)."""

from datetime import time
from typing import Annotated, Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.auth.dependencies import AdminViewer
from app.auth.sessions import SignedIn
from app.core.db import SessionDep, all_or_nothing
from app.core.errors import HearthError, Invalid
from app.core.i18n import N_
from app.core.languages import display_names
from app.reports import service as reports
from app.schools import service as schools
from app.schools.models import School
from app.schools.schemas import SchoolUpdate
from app.translation import service as translation
from app.translation.schemas import GlossaryTermCreate
from app.web.admin.forms import Text, after, checked_id, messages
from app.web.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/admin")
def admin_index(request: Request, session: SessionDep, viewer: AdminViewer) -> Response:
    return render(
        request, "admin/index.html", {"schools": reports.visible_schools(session, viewer.subject)}
    )


@router.get("/admin/schools")
def schools_page(request: Request, session: SessionDep, viewer: AdminViewer) -> Response:
    return render(
        request,
        "admin/schools.html",
        {"schools": reports.visible_schools(session, viewer.subject)},
    )


def _hhmm(value: time | None) -> str:
    return value.strftime("%H:%M") if value else ""


def _school_values(school: School) -> dict[str, Any]:
    return {
        "name": school.name,
        "timezone": school.timezone,
        "default_language": school.default_language,
        "sms_sender": school.sms_sender or "",
        "sms_pool": ", ".join(school.sms_pool or []),
        "mark_machine_translation": school.mark_machine_translation,
        "email_sender": school.email_sender or "",
        "quiet_hours_start": _hhmm(school.quiet_hours_start),
        "quiet_hours_end": _hhmm(school.quiet_hours_end),
        "help_phone": school.help_phone or "",
        "interpreter_hours": str(school.interpreter_hours),
        "family_link": school.family_link,
        "mms_images": school.mms_images,
    }


def _school_page(
    request: Request,
    session: Session,
    viewer: SignedIn,
    school: School,
    *,
    values: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    term_values: dict[str, Any] | None = None,
    term_errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    terms = translation.glossary_terms(session, viewer.subject, school.id)
    return render(
        request,
        "admin/school.html",
        {
            "school": school,
            "values": values or _school_values(school),
            "errors": errors or [],
            "terms": [
                {
                    "row": t,
                    "renderings": [
                        (code, display_names(code)[0], text)
                        for code, text in sorted(t.renderings.items())
                    ],
                }
                for t in terms
            ],
            "term_values": term_values or {},
            "term_errors": term_errors or [],
            "timezones": sorted(available_timezones()),
            "done": request.query_params.get("done", ""),
        },
        status_code=status_code,
    )


@router.get("/admin/schools/{school_id}")
def school_page(
    request: Request, session: SessionDep, viewer: AdminViewer, school_id: int
) -> Response:
    school = schools.get_school(session, viewer.subject, checked_id(school_id))
    return _school_page(request, session, viewer, school)


@router.post("/admin/schools/{school_id}")
def save_school(
    request: Request,
    session: SessionDep,
    viewer: AdminViewer,
    school_id: int,
    name: Text = "",
    timezone: Text = "",
    default_language: Text = "",
    sms_sender: Text = "",
    sms_pool: Text = "",
    mark_machine_translation: Text = "",
    email_sender: Text = "",
    quiet_hours_start: Text = "",
    quiet_hours_end: Text = "",
    help_phone: Text = "",
    interpreter_hours: Text = "24",
    family_link: Text = "long",
    mms_images: Text = "",
) -> Response:
    school = schools.get_school(session, viewer.subject, checked_id(school_id))
    values = {
        "help_phone": help_phone,
        "interpreter_hours": interpreter_hours,
        "name": name,
        "timezone": timezone,
        "default_language": default_language,
        "sms_sender": sms_sender,
        "sms_pool": sms_pool,
        "mark_machine_translation": bool(mark_machine_translation),
        "email_sender": email_sender,
        "quiet_hours_start": quiet_hours_start,
        "quiet_hours_end": quiet_hours_end,
        "family_link": family_link,
        "mms_images": bool(mms_images),
    }
    try:
        if bool(quiet_hours_start.strip()) != bool(quiet_hours_end.strip()):
            raise Invalid(N_("Give both the start and the end of the quiet hours, or neither."))
        data = SchoolUpdate(
            name=name or None,
            timezone=timezone or None,
            default_language=default_language or None,
            sms_sender=sms_sender or None,
            sms_pool=[n for n in sms_pool.split(",") if n.strip()],
            mark_machine_translation=bool(mark_machine_translation),
            email_sender=email_sender or None,
            quiet_hours_start=quiet_hours_start or None,  # type: ignore[arg-type]
            quiet_hours_end=quiet_hours_end or None,  # type: ignore[arg-type]
            help_phone=help_phone or None,
            interpreter_hours=interpreter_hours or None,  # type: ignore[arg-type]
            family_link=family_link or None,  # type: ignore[arg-type]
            mms_images=bool(mms_images),
        )
        with all_or_nothing(session):
            schools.update_school(session, viewer.subject, school.id, data)
    except (HearthError, ValidationError) as exc:
        school = schools.get_school(session, viewer.subject, school.id)
        return _school_page(
            request,
            session,
            viewer,
            school,
            values=values,
            errors=messages(request, exc),
            status_code=422,
        )
    return after(f"/admin/schools/{school.id}", "saved")


def _renderings(text: str) -> dict[str, str]:
    """`es: Día de campo` lines into {"es": "Día de campo"}."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        code, sep, wording = line.partition(":")
        if not sep or not code.strip() or not wording.strip():
            raise Invalid(
                N_(
                    "Write each fixed translation on its own line as 'language: wording', "
                    "for example 'es: Noche de regreso a clases'."
                )
            )
        out[code.strip()] = wording.strip()
    return out


@router.post("/admin/schools/{school_id}/glossary")
def add_term(
    request: Request,
    session: SessionDep,
    viewer: AdminViewer,
    school_id: int,
    term: Text = "",
    keep: Text = "",
    renderings: Annotated[str, Form(max_length=10000)] = "",
) -> Response:
    school = schools.get_school(session, viewer.subject, checked_id(school_id))
    term_values = {"term": term, "keep": bool(keep), "renderings": renderings}
    try:
        data = GlossaryTermCreate(term=term, keep=bool(keep), renderings=_renderings(renderings))
        with all_or_nothing(session):
            translation.add_glossary_term(session, viewer.subject, school.id, data)
    except (HearthError, ValidationError) as exc:
        school = schools.get_school(session, viewer.subject, school.id)
        return _school_page(
            request,
            session,
            viewer,
            school,
            term_values=term_values,
            term_errors=messages(request, exc),
            status_code=422,
        )
    return after(f"/admin/schools/{school.id}", "term_added")


@router.post("/admin/schools/{school_id}/glossary/{term_id}/delete")
def delete_term(session: SessionDep, viewer: AdminViewer, school_id: int, term_id: int) -> Response:
    translation.delete_glossary_term(
        session, viewer.subject, checked_id(school_id), checked_id(term_id)
    )
    return after(f"/admin/schools/{school_id}", "term_removed")
