"""The families directory: find a guardian (by name, email, phone or a student's name), see
their students and opt-outs, and change the language they read and the channels they use."""

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.dependencies import OfficeViewer
from app.auth.service import AuthSubject
from app.core.db import SessionDep, all_or_nothing
from app.core.errors import HearthError, Invalid
from app.core.languages import mt_code
from app.core.pagination import paginate
from app.core.schema import MAX_ID, Id
from app.delivery.models import OptOut
from app.messaging import family_links
from app.people import families
from app.people import service as people
from app.people.schemas import GuardianUpdate
from app.schools import service as schools
from app.schools.models import School
from app.web.formatting import (
    Formats,
    PageNumber,
    known_languages,
    language_label,
    list_page,
    page_links,
    validation_message,
)
from app.web.office.schools import school_choices
from app.web.pages import FormDep, render, request_language, translate

router = APIRouter(include_in_schema=False)


def read_opt_outs(
    session: Session, subject: AuthSubject, phones: Iterable[str | None]
) -> dict[str, list[dict[str, Any]]]:
    """Phone → the viewer's schools whose number it told STOP (or the carrier did). Read here
    until delivery offers the opt-outs of some phones as one read."""
    wanted = {p for p in phones if p}
    if not wanted:
        return {}
    senders: dict[str, School] = {
        s.sms_sender: s for s in session.scalars(schools.readable_schools(subject)) if s.sms_sender
    }
    out: dict[str, list[dict[str, Any]]] = {}
    if not senders:
        return out
    for row in session.scalars(
        select(OptOut).where(
            OptOut.phone.in_(wanted), OptOut.active.is_(True), OptOut.sender.in_(senders)
        )
    ):
        out.setdefault(row.phone, []).append({"opt_out": row, "school": senders[row.sender]})
    return out


@router.get("/families")
def family_list(
    request: Request,
    session: SessionDep,
    viewer: OfficeViewer,
    q: Annotated[str, Query(max_length=100)] = "",
    school_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    language: Annotated[str, Query(max_length=35)] = "",
    inactive: bool = False,
    page: PageNumber = 1,
) -> Response:
    subject = viewer.subject
    lang = request_language(request)
    school_rows = school_choices(session, subject)
    q = " ".join(q.split())
    stmt = families.directory(
        subject,
        q=q,
        school_id=school_id,
        # Traditional Chinese is listed by its translation code; families store zh-Hant.
        language=("zh-Hant" if language == "zt" else language) or None,
        active=None if inactive else True,
    )
    items, total = paginate(session, stmt, list_page(page))
    students = families.students_of(session, subject, [g.id for g in items])
    opt_outs = read_opt_outs(session, subject, [g.phone for g in items])
    timezone = school_rows[0].timezone if school_rows else "UTC"
    codes = sorted({mt_code(t) for t in families.family_languages(session, subject)})
    return render(
        request,
        "office/families.html",
        {
            "rows": [
                {
                    "guardian": g,
                    "students": students.get(g.id, []),
                    "opt_outs": opt_outs.get(g.phone or "", []),
                }
                for g in items
            ],
            "pages": page_links(total, page),
            # What the page links keep: the same search, another page.
            "query": {
                k: v
                for k, v in {
                    "q": q,
                    "school_id": school_id,
                    "language": language,
                    "inactive": "true" if inactive else "",
                }.items()
                if v
            },
            "q": q,
            "school_id": school_id,
            "language": language,
            "inactive": inactive,
            "schools": school_rows,
            "languages": sorted(((c, language_label(c, lang)) for c in codes), key=lambda x: x[1]),
            "fmt": Formats(lang, timezone),
        },
    )


def _family_context(
    request: Request, session: Session, subject: AuthSubject, guardian_id: int
) -> dict[str, Any]:
    guardian = people.get_guardian(session, subject, guardian_id)
    school_rows = school_choices(session, subject)
    lang = request_language(request)
    return {
        "guardian": guardian,
        "students": families.students_of(session, subject, [guardian.id]).get(guardian.id, []),
        "opt_outs": read_opt_outs(session, subject, [guardian.phone]).get(guardian.phone or "", []),
        "languages": known_languages(session, subject, lang, guardian.language),
        "fmt": Formats(lang, school_rows[0].timezone if school_rows else "UTC"),
        "live_links": family_links.live_count(session, guardian.id),
        "revoked": request.query_params.get("revoked") == "1",
    }


@router.get("/families/{guardian_id}")
def family_page(
    request: Request, session: SessionDep, viewer: OfficeViewer, guardian_id: Id
) -> Response:
    context = _family_context(request, session, viewer.subject, guardian_id)
    g = context["guardian"]
    context["form"] = {"language": g.language, "channels": list(g.channels), "confirm": False}
    return render(request, "office/family.html", context)


@router.post("/families/{guardian_id}")
def family_save(
    request: Request,
    session: SessionDep,
    viewer: OfficeViewer,
    form: FormDep,
    guardian_id: Id,
) -> Response:
    """Language and channels, through update_guardian (the API's rules). Only what changed is
    sent, so saving the form does not mark an assumed language as told by the family unless
    the office says it was."""
    subject = viewer.subject
    guardian = people.get_guardian(session, subject, guardian_id)
    language = form.get("language")
    language = language.strip() if isinstance(language, str) else ""
    channels = [c for c in form.getlist("channels") if isinstance(c, str)]
    confirm = form.get("confirm_language") == "1"
    changes: dict[str, Any] = {}
    if language != guardian.language or (confirm and not guardian.language_confirmed):
        changes["language"] = language
    if sorted(channels) != sorted(guardian.channels):
        changes["channels"] = channels
    if not changes:
        return RedirectResponse(f"/families/{guardian_id}?unchanged=1", status_code=303)
    try:
        try:
            data = GuardianUpdate(**changes)
        except ValidationError as exc:
            raise Invalid(validation_message(exc)) from None
        with all_or_nothing(session):
            people.update_guardian(session, subject, guardian_id, data)
    except HearthError as exc:
        context = _family_context(request, session, subject, guardian_id)
        context["form"] = {"language": language, "channels": channels, "confirm": confirm}
        context["error"] = translate(request, exc.message)
        return render(request, "office/family.html", context, status_code=422)
    return RedirectResponse(f"/families/{guardian_id}?saved=1", status_code=303)


@router.post("/families/{guardian_id}/family-link")
def family_link_create(
    request: Request, session: SessionDep, viewer: OfficeViewer, guardian_id: Id
) -> Response:
    """A new link to the family page, shown on this page this once (only its hash is kept)."""
    try:
        with all_or_nothing(session):
            _, url = family_links.create_for_staff(session, viewer.subject, guardian_id)
    except HearthError as exc:
        context = _family_context(request, session, viewer.subject, guardian_id)
        g = context["guardian"]
        context["form"] = {"language": g.language, "channels": list(g.channels), "confirm": False}
        context["error"] = translate(request, exc.message)
        return render(request, "office/family.html", context, status_code=exc.status_code)
    context = _family_context(request, session, viewer.subject, guardian_id)
    g = context["guardian"]
    context["form"] = {"language": g.language, "channels": list(g.channels), "confirm": False}
    context["new_link"] = url
    return render(request, "office/family.html", context)


@router.post("/families/{guardian_id}/family-link/revoke")
def family_link_revoke(
    request: Request, session: SessionDep, viewer: OfficeViewer, guardian_id: Id
) -> Response:
    """Every link of the family to the family page stops working."""
    family_links.revoke_for_staff(session, viewer.subject, guardian_id)
    return RedirectResponse(f"/families/{guardian_id}?revoked=1#family-page", status_code=303)
