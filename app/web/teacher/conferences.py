"""A teacher's conferences: publish times in bulk (a day, from–to, a length, where) for the
families of their classes, and see who booked each time, in which language, and where an
interpreter is needed. Office staff and admins see their schools' conferences here too (they
publish for a teacher through the API)."""

from datetime import date, time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from app.auth.dependencies import Viewer
from app.conferences import service as conferences
from app.conferences.schemas import ConferenceCreate
from app.core.db import SessionDep, all_or_nothing
from app.core.errors import Forbidden, HearthError, Invalid
from app.schools.models import School
from app.web.formatting import Formats, validation_message
from app.web.pages import FormDep, render, request_language, translate

router = APIRouter(include_in_schema=False)
FIELDS = ("title", "day", "start", "end", "minutes", "place")


def _page(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    form: dict[str, str],
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    if viewer.subject.role == "interpreter":
        raise Forbidden("Interpreters do not publish conference times.")
    found = [conferences.read(session, c) for c in conferences.listing(session, viewer.subject)]
    zone = "UTC"
    if viewer.staff.school_ids:
        school = session.get(School, viewer.staff.school_ids[0])
        zone = school.timezone if school else zone
    return render(
        request,
        "teacher/conferences.html",
        {
            "conferences": found,
            "form": form,
            "error": error,
            "can_publish": viewer.subject.role == "teacher",
            "fmt": Formats(request_language(request), zone),
            "timezone": zone,
        },
        status_code=status_code,
    )


@router.get("/conferences")
def conferences_page(request: Request, session: SessionDep, viewer: Viewer) -> Response:
    blank = {"title": "", "day": "", "start": "15:00", "end": "17:00", "minutes": "20"}
    return _page(request, session, viewer, {**dict.fromkeys(FIELDS, ""), **blank})


@router.post("/conferences")
def conferences_publish(
    request: Request, session: SessionDep, viewer: Viewer, form: FormDep
) -> Response:
    typed = {k: str(form.get(k) or "").strip() for k in FIELDS}
    try:
        draft = _draft(typed)
        with all_or_nothing(session):
            conferences.create(session, viewer.subject, draft)
    except HearthError as exc:
        return _page(
            request, session, viewer, typed, translate(request, exc.message), status_code=422
        )
    return RedirectResponse("/conferences?published=1", status_code=303)


def _draft(typed: dict[str, str]) -> ConferenceCreate:
    try:
        day = date.fromisoformat(typed["day"])
    except ValueError:
        raise Invalid("Choose the day of the conferences.") from None
    try:
        start, end = time.fromisoformat(typed["start"]), time.fromisoformat(typed["end"])
    except ValueError:
        raise Invalid("Write the times like 15:00.") from None
    if not typed["minutes"].isdecimal():
        raise Invalid("Write the length of a meeting in minutes, like 20.")
    block: dict[str, Any] = {
        "day": day,
        "start": start,
        "end": end,
        "minutes": int(typed["minutes"]),
        "place": typed["place"],
    }
    try:
        return ConferenceCreate(
            title=typed["title"] or "Parent-teacher conferences", blocks=[block]
        )
    except ValidationError as exc:
        raise Invalid(validation_message(exc)) from None
