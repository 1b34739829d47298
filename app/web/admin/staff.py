"""Staff accounts: the list, creating one (with a temporary password, or a link by email for
the colleague to choose their own), changing one, deactivating, and sending a new link."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.auth.dependencies import AdminViewer
from app.auth.passwords import send_welcome_link
from app.auth.sessions import SignedIn
from app.core.db import SessionDep, all_or_nothing
from app.core.errors import HearthError, Invalid
from app.core.i18n import N_
from app.core.pagination import Page
from app.core.schema import MAX_ID
from app.people import service as people
from app.people.models import ROLES, Staff
from app.people.schemas import StaffCreate, StaffUpdate
from app.reports import service as reports
from app.web.admin.forms import (
    ROLE_LABELS,
    Text,
    after,
    checked_id,
    ids,
    messages,
    school_names,
)
from app.web.formatting import language_list
from app.web.i18n import UI_LANGUAGES, gettext_for, ui_language
from app.web.pages import render, translate

router = APIRouter(include_in_schema=False)

STAFF_PAGE = 100


def send_password_link(session: Session, staff: Staff, actor: str) -> None:
    """A one-time link for the colleague to choose their password, in their page language."""
    send_welcome_link(session, staff, actor, gettext_for(ui_language(staff.ui_language)))


@router.get("/admin/staff")
def staff_list(
    request: Request,
    session: SessionDep,
    viewer: AdminViewer,
    q: Annotated[str, Query(max_length=100)] = "",
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> Response:
    rows, total = people.staff_page(
        session, viewer.subject, Page(limit=STAFF_PAGE, offset=offset), q
    )
    return render(
        request,
        "admin/staff_list.html",
        {
            "staff": rows,
            "total": total,
            "q": q,
            "offset": offset,
            "next_offset": offset + STAFF_PAGE if offset + STAFF_PAGE < total else None,
            "prev_offset": max(0, offset - STAFF_PAGE) if offset else None,
            "school_names": school_names(session, viewer),
            "role_labels": ROLE_LABELS,
        },
    )


def _staff_form(
    request: Request,
    session: Session,
    viewer: SignedIn,
    values: dict[str, Any],
    *,
    staff: Staff | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "admin/staff_form.html",
        {
            "member": staff,
            "values": values,
            "errors": errors or [],
            "schools": reports.visible_schools(session, viewer.subject),
            "roles": ROLES,
            "role_labels": ROLE_LABELS,
            "languages": UI_LANGUAGES,
            "done": request.query_params.get("done", ""),
        },
        status_code=status_code,
    )


@router.get("/admin/staff/new")
def new_staff_page(request: Request, session: SessionDep, viewer: AdminViewer) -> Response:
    # A district of one school (or an admin of one): the new account's school is that one.
    schools = reports.visible_schools(session, viewer.subject)
    school_ids = [schools[0].id] if len(schools) == 1 else []
    values = {"role": "teacher", "ui_language": "en", "school_ids": school_ids}
    return _staff_form(request, session, viewer, values)


@router.post("/admin/staff")
def create_staff(
    request: Request,
    session: SessionDep,
    viewer: AdminViewer,
    name: Text = "",
    email: Text = "",
    role: Text = "teacher",
    ui_language: Text = "en",
    password: Text = "",
    interprets: Text = "",
    school_ids: Annotated[list[str], Form(max_length=200)] = [],  # noqa: B006 (FastAPI copies)
) -> Response:
    values = {
        "name": name,
        "email": email,
        "role": role,
        "ui_language": ui_language,
        "interprets": interprets,
        "school_ids": school_ids,
    }
    try:
        data = StaffCreate(
            name=name,
            email=email,
            role=role,  # type: ignore[arg-type]
            ui_language=ui_language,
            password=password or None,
            school_ids=ids(school_ids),
            interprets=language_list(interprets),
        )
        with all_or_nothing(session):
            staff = people.create_staff(session, viewer.subject, data)
    except (HearthError, ValidationError) as exc:
        errors = messages(request, exc)
        return _staff_form(request, session, viewer, values, errors=errors, status_code=422)
    if not password:
        send_password_link(session, staff, viewer.subject.actor)
        return after(f"/admin/staff/{staff.id}", "created_link")
    return after(f"/admin/staff/{staff.id}", "created")


def _staff_values(staff: Staff) -> dict[str, Any]:
    return {
        "name": staff.name,
        "email": staff.email,
        "role": staff.role,
        "ui_language": staff.ui_language,
        "interprets": ", ".join(staff.interprets),
        "school_ids": [str(s) for s in staff.school_ids],
    }


@router.get("/admin/staff/{staff_id}")
def staff_page(
    request: Request, session: SessionDep, viewer: AdminViewer, staff_id: int
) -> Response:
    staff = people.get_staff(session, viewer.subject, checked_id(staff_id))
    return _staff_form(request, session, viewer, _staff_values(staff), staff=staff)


@router.post("/admin/staff/{staff_id}")
def update_staff(
    request: Request,
    session: SessionDep,
    viewer: AdminViewer,
    staff_id: int,
    name: Text = "",
    email: Text = "",
    role: Text = "teacher",
    ui_language: Text = "en",
    interprets: Text = "",
    school_ids: Annotated[list[str], Form(max_length=200)] = [],  # noqa: B006 (FastAPI copies)
) -> Response:
    staff = people.get_staff(session, viewer.subject, checked_id(staff_id))
    values = {
        "name": name,
        "email": email,
        "role": role,
        "ui_language": ui_language,
        "interprets": interprets,
        "school_ids": school_ids,
    }
    try:
        if staff.id == viewer.staff.id and role != staff.role:
            # Otherwise the last admin could lock everyone out of these pages.
            raise Invalid(N_("You cannot change your own role; ask another admin."))
        data = StaffUpdate(
            name=name,
            email=email,
            role=role,  # type: ignore[arg-type]
            ui_language=ui_language,
            school_ids=ids(school_ids),
            interprets=language_list(interprets),
        )
        if data.role != "admin" and not data.school_ids:
            raise Invalid(
                N_("A teacher or office staff member must belong to at least one school.")
            )
        with all_or_nothing(session):
            people.update_staff(session, viewer.subject, staff.id, data)
    except (HearthError, ValidationError) as exc:
        staff = people.get_staff(session, viewer.subject, staff.id)
        errors = messages(request, exc)
        return _staff_form(
            request, session, viewer, values, staff=staff, errors=errors, status_code=422
        )
    return after(f"/admin/staff/{staff.id}", "saved")


@router.post("/admin/staff/{staff_id}/active")
def set_staff_active(
    request: Request,
    session: SessionDep,
    viewer: AdminViewer,
    staff_id: int,
    active: Text = "",
) -> Response:
    staff = people.get_staff(session, viewer.subject, checked_id(staff_id))
    make_active = active == "1"
    if staff.id == viewer.staff.id and not make_active:
        return _staff_form(
            request,
            session,
            viewer,
            _staff_values(staff),
            staff=staff,
            errors=[translate(request, "You cannot deactivate your own account.")],
            status_code=422,
        )
    people.update_staff(session, viewer.subject, staff.id, StaffUpdate(active=make_active))
    return after(f"/admin/staff/{staff.id}", "reactivated" if make_active else "deactivated")


@router.post("/admin/staff/{staff_id}/password-link")
def staff_password_link(
    request: Request, session: SessionDep, viewer: AdminViewer, staff_id: int
) -> Response:
    staff = people.get_staff(session, viewer.subject, checked_id(staff_id))
    if not staff.active:
        return _staff_form(
            request,
            session,
            viewer,
            _staff_values(staff),
            staff=staff,
            errors=[translate(request, "Reactivate the account before sending a link.")],
            status_code=422,
        )
    send_password_link(session, staff, viewer.subject.actor)
    return after(f"/admin/staff/{staff.id}", "link")
