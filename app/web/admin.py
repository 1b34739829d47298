"""Admin pages (staff accounts, API keys, school settings and glossary, translation coverage)
and the engagement dashboard for office staff and admins. Every write goes through the same
domain service as the API, so the pages and the API refuse the same things."""

from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo, available_timezones

from babel.dates import format_date, format_datetime
from babel.numbers import format_percent
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.dependencies import Viewer
from app.auth.models import SCOPES, ApiKey
from app.auth.passwords import send_welcome_link
from app.auth.service import create_api_key, revoke_api_key
from app.core.db import SessionDep
from app.core.errors import HearthError, Invalid, NotFound
from app.core.i18n import N_
from app.core.schema import MAX_ID
from app.core.spreadsheet import csv_text
from app.people import service as people
from app.people.models import ROLES, Staff
from app.people.schemas import StaffCreate, StaffUpdate
from app.reports import service as reports
from app.schools import service as schools
from app.schools.models import School
from app.schools.schemas import SchoolUpdate
from app.translation import packages
from app.translation import service as translation
from app.translation.languages import display_names
from app.translation.schemas import GlossaryTermCreate
from app.web.i18n import UI_LANGUAGES, gettext_for, ui_language
from app.web.pages import form_id, render, request_language, require, translate

router = APIRouter(include_in_schema=False)

STAFF_PAGE = 100
ROLE_LABELS = {"teacher": N_("Teacher"), "office": N_("Office"), "admin": N_("Admin")}
SCOPE_LABELS = {
    "read": N_("read: see records and threads"),
    "write": N_("write: change records, write notes"),
    "send": N_("send: send notes and broadcasts"),
    "admin": N_("admin: everything, in every school"),
}
# Field names of the schemas, as the forms label them.
FIELD_LABELS = {
    "name": N_("Name"),
    "email": N_("Email"),
    "role": N_("Role"),
    "ui_language": N_("Language of the pages"),
    "password": N_("Temporary password"),
    "school_ids": N_("Schools"),
    "timezone": N_("Timezone"),
    "default_language": N_("Default language"),
    "sms_sender": N_("SMS sender"),
    "email_sender": N_("Email sender"),
    "quiet_hours_start": N_("Quiet hours start"),
    "quiet_hours_end": N_("Quiet hours end"),
    "term": N_("Term"),
    "renderings": N_("Fixed translations"),
}

Text = Annotated[str, Form(max_length=2000)]


# Shared helpers ------------------------------------------------------------------------------


def _messages(request: Request, exc: Exception) -> list[str]:
    """What went wrong, for a person: one line per field for a schema error."""
    if isinstance(exc, ValidationError):
        out = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ())]
            label = FIELD_LABELS.get(loc[0], loc[0]) if loc else ""
            message = str(err.get("msg", "")).removeprefix("Value error, ")
            if label:
                out.append(f"{translate(request, label)}: {message}")
            else:
                out.append(message)
        return out
    if isinstance(exc, HearthError):
        return [translate(request, exc.message)]
    raise exc


def _ids(values: Iterable[str]) -> list[int]:
    out = []
    for value in values:
        if value.strip():
            school_id = form_id(value)
            if school_id is None:
                raise Invalid(N_("Choose schools from the list."))
            out.append(school_id)
    return out


def _optional_id(value: str) -> int | None:
    ids = _ids([value])
    return ids[0] if ids else None


def _school_names(session: Session, viewer: Viewer) -> dict[int, str]:
    return {s.id: s.name for s in reports.visible_schools(session, viewer.subject)}


def _when(request: Request, value: datetime | None, timezone: str = "UTC") -> str:
    if value is None:
        return ""
    return format_datetime(
        value.astimezone(ZoneInfo(timezone)), "medium", locale=request_language(request)
    )


def _after(path: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?done={done}", status_code=303)


def send_password_link(session: Session, staff: Staff, actor: str) -> None:
    """A one-time link for the colleague to choose their password, in their page language."""
    send_welcome_link(session, staff, actor, gettext_for(ui_language(staff.ui_language)))


# Index ---------------------------------------------------------------------------------------


@router.get("/admin")
def admin_index(request: Request, session: SessionDep, viewer: Viewer) -> Response:
    require(viewer, "admin")
    return render(
        request, "admin/index.html", {"schools": reports.visible_schools(session, viewer.subject)}
    )


# Staff accounts ------------------------------------------------------------------------------


@router.get("/admin/staff")
def staff_list(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    q: Annotated[str, Query(max_length=100)] = "",
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> Response:
    require(viewer, "admin")
    stmt = people.readable_staff(viewer.subject)
    if q.strip():
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Staff.name.ilike(like), Staff.email.ilike(like)))
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = list(
        session.scalars(
            stmt.order_by(Staff.active.desc(), Staff.name, Staff.id)
            .limit(STAFF_PAGE)
            .offset(offset)
        )
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
            "school_names": _school_names(session, viewer),
            "role_labels": ROLE_LABELS,
        },
    )


def _staff_form(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
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
def new_staff_page(request: Request, session: SessionDep, viewer: Viewer) -> Response:
    require(viewer, "admin")
    values = {"role": "teacher", "ui_language": "en", "school_ids": []}
    return _staff_form(request, session, viewer, values)


@router.post("/admin/staff")
def create_staff(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    name: Text = "",
    email: Text = "",
    role: Text = "teacher",
    ui_language: Text = "en",
    password: Text = "",
    school_ids: Annotated[list[str], Form(max_length=200)] = [],  # noqa: B006 (FastAPI copies)
) -> Response:
    require(viewer, "admin")
    values = {
        "name": name,
        "email": email,
        "role": role,
        "ui_language": ui_language,
        "school_ids": school_ids,
    }
    try:
        data = StaffCreate(
            name=name,
            email=email,
            role=role,  # type: ignore[arg-type]
            ui_language=ui_language,
            password=password or None,
            school_ids=_ids(school_ids),
        )
        staff = people.create_staff(session, viewer.subject, data)
    except (HearthError, ValidationError) as exc:
        session.rollback()
        errors = _messages(request, exc)
        return _staff_form(request, session, viewer, values, errors=errors, status_code=422)
    if not password:
        send_password_link(session, staff, viewer.subject.actor)
        session.commit()
        return _after(f"/admin/staff/{staff.id}", "created_link")
    return _after(f"/admin/staff/{staff.id}", "created")


def _staff_values(staff: Staff) -> dict[str, Any]:
    return {
        "name": staff.name,
        "email": staff.email,
        "role": staff.role,
        "ui_language": staff.ui_language,
        "school_ids": [str(s) for s in staff.school_ids],
    }


@router.get("/admin/staff/{staff_id}")
def staff_page(request: Request, session: SessionDep, viewer: Viewer, staff_id: int) -> Response:
    require(viewer, "admin")
    staff = people.get_staff(session, viewer.subject, _checked_id(staff_id))
    return _staff_form(request, session, viewer, _staff_values(staff), staff=staff)


def _checked_id(value: int) -> int:
    if not 1 <= value <= MAX_ID:
        raise NotFound("There is nothing here, or you cannot see it.")
    return value


@router.post("/admin/staff/{staff_id}")
def update_staff(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    staff_id: int,
    name: Text = "",
    email: Text = "",
    role: Text = "teacher",
    ui_language: Text = "en",
    school_ids: Annotated[list[str], Form(max_length=200)] = [],  # noqa: B006 (FastAPI copies)
) -> Response:
    require(viewer, "admin")
    staff = people.get_staff(session, viewer.subject, _checked_id(staff_id))
    values = {
        "name": name,
        "email": email,
        "role": role,
        "ui_language": ui_language,
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
            school_ids=_ids(school_ids),
        )
        if data.role != "admin" and not data.school_ids:
            raise Invalid(
                N_("A teacher or office staff member must belong to at least one school.")
            )
        people.update_staff(session, viewer.subject, staff.id, data)
    except (HearthError, ValidationError) as exc:
        session.rollback()
        staff = people.get_staff(session, viewer.subject, staff.id)
        errors = _messages(request, exc)
        return _staff_form(
            request, session, viewer, values, staff=staff, errors=errors, status_code=422
        )
    return _after(f"/admin/staff/{staff.id}", "saved")


@router.post("/admin/staff/{staff_id}/active")
def set_staff_active(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    staff_id: int,
    active: Text = "",
) -> Response:
    require(viewer, "admin")
    staff = people.get_staff(session, viewer.subject, _checked_id(staff_id))
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
    return _after(f"/admin/staff/{staff.id}", "reactivated" if make_active else "deactivated")


@router.post("/admin/staff/{staff_id}/password-link")
def staff_password_link(
    request: Request, session: SessionDep, viewer: Viewer, staff_id: int
) -> Response:
    require(viewer, "admin")
    staff = people.get_staff(session, viewer.subject, _checked_id(staff_id))
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
    session.commit()
    return _after(f"/admin/staff/{staff.id}", "link")


# API keys ------------------------------------------------------------------------------------


def _api_keys(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(ApiKey, Staff.email, School.name)
        .outerjoin(Staff, Staff.id == ApiKey.staff_id)
        .outerjoin(School, School.id == ApiKey.school_id)
        .order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc(), ApiKey.id.desc())
        .limit(1000)
    )
    return [{"key": key, "staff_email": email, "school": school} for key, email, school in rows]


def _api_keys_page(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    *,
    values: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    keys = _api_keys(session)
    # The district's timezone when its schools share one, else UTC.
    timezone = reports.scope_for(session, viewer.subject).timezone
    for row in keys:
        row["created"] = _when(request, row["key"].created_at, timezone)
        row["last_used"] = _when(request, row["key"].last_used_at, timezone)
        row["revoked"] = _when(request, row["key"].revoked_at, timezone)
    return render(
        request,
        "admin/api_keys.html",
        {
            "keys": keys,
            "values": values or {"scopes": ["read"]},
            "errors": errors or [],
            "scopes": SCOPES,
            "scope_labels": SCOPE_LABELS,
            "schools": reports.visible_schools(session, viewer.subject),
            "done": request.query_params.get("done", ""),
        },
        status_code=status_code,
    )


@router.get("/admin/api-keys")
def api_keys_page(request: Request, session: SessionDep, viewer: Viewer) -> Response:
    require(viewer, "admin")
    return _api_keys_page(request, session, viewer)


@router.post("/admin/api-keys")
def create_key(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    name: Annotated[str, Form(max_length=2000)] = "",
    scopes: Annotated[list[str], Form(max_length=10)] = [],  # noqa: B006 (FastAPI copies)
    school_id: Text = "",
    staff_email: Text = "",
) -> Response:
    require(viewer, "admin")
    values = {"name": name, "scopes": scopes, "school_id": school_id, "staff_email": staff_email}
    try:
        if not name.strip():
            raise Invalid(N_("Give the key a name that says who uses it (for example: SIS sync)."))
        if len(name.strip()) > 100:
            raise Invalid(N_("Use at most 100 characters for the name."))
        api_key, key = create_api_key(
            session,
            name=name,
            scopes=scopes,
            school_id=_optional_id(school_id),
            staff_email=staff_email.strip() or None,
        )
    except HearthError as exc:
        session.rollback()
        return _api_keys_page(
            request,
            session,
            viewer,
            values=values,
            errors=_messages(request, exc),
            status_code=422,
        )
    audit.record(
        session,
        viewer.subject.actor,
        "apikey.create",
        "api_key",
        api_key.id,
        school_id=api_key.school_id,
    )
    session.commit()
    response = render(
        request,
        "admin/api_key_created.html",
        {
            "api_key": api_key,
            "key": key,
            "school": session.get(School, api_key.school_id) if api_key.school_id else None,
            "staff_email": staff_email.strip().lower(),
        },
    )
    # The key exists only in this answer: no cache may keep a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/admin/api-keys/{key_id}/revoke")
def revoke_key_page(request: Request, session: SessionDep, viewer: Viewer, key_id: int) -> Response:
    """Revoking cannot be undone: the list links here, and this page asks once more."""
    require(viewer, "admin")
    api_key = session.get(ApiKey, _checked_id(key_id))
    if api_key is None:
        raise NotFound("No such API key.")
    return render(request, "admin/api_key_revoke.html", {"api_key": api_key})


@router.post("/admin/api-keys/{key_id}/revoke")
def revoke_key(request: Request, session: SessionDep, viewer: Viewer, key_id: int) -> Response:
    require(viewer, "admin")
    api_key = revoke_api_key(session, _checked_id(key_id))
    audit.record(
        session,
        viewer.subject.actor,
        "apikey.revoke",
        "api_key",
        api_key.id,
        school_id=api_key.school_id,
    )
    session.commit()
    return _after("/admin/api-keys", "revoked")


# Schools: settings and glossary --------------------------------------------------------------


@router.get("/admin/schools")
def schools_page(request: Request, session: SessionDep, viewer: Viewer) -> Response:
    require(viewer, "admin")
    return render(
        request,
        "admin/schools.html",
        {"schools": reports.visible_schools(session, viewer.subject)},
    )


def _hhmm(value: time | None) -> str:
    return value.strftime("%H:%M") if value else ""


def _school_values(school: School) -> dict[str, str]:
    return {
        "name": school.name,
        "timezone": school.timezone,
        "default_language": school.default_language,
        "sms_sender": school.sms_sender or "",
        "email_sender": school.email_sender or "",
        "quiet_hours_start": _hhmm(school.quiet_hours_start),
        "quiet_hours_end": _hhmm(school.quiet_hours_end),
    }


def _school_page(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    school: School,
    *,
    values: dict[str, str] | None = None,
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
def school_page(request: Request, session: SessionDep, viewer: Viewer, school_id: int) -> Response:
    require(viewer, "admin")
    school = schools.get_school(session, viewer.subject, _checked_id(school_id))
    return _school_page(request, session, viewer, school)


@router.post("/admin/schools/{school_id}")
def save_school(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    school_id: int,
    name: Text = "",
    timezone: Text = "",
    default_language: Text = "",
    sms_sender: Text = "",
    email_sender: Text = "",
    quiet_hours_start: Text = "",
    quiet_hours_end: Text = "",
) -> Response:
    require(viewer, "admin")
    school = schools.get_school(session, viewer.subject, _checked_id(school_id))
    values = {
        "name": name,
        "timezone": timezone,
        "default_language": default_language,
        "sms_sender": sms_sender,
        "email_sender": email_sender,
        "quiet_hours_start": quiet_hours_start,
        "quiet_hours_end": quiet_hours_end,
    }
    try:
        if bool(quiet_hours_start.strip()) != bool(quiet_hours_end.strip()):
            raise Invalid(N_("Give both the start and the end of the quiet hours, or neither."))
        data = SchoolUpdate(
            name=name or None,
            timezone=timezone or None,
            default_language=default_language or None,
            sms_sender=sms_sender or None,
            email_sender=email_sender or None,
            quiet_hours_start=quiet_hours_start or None,  # type: ignore[arg-type]
            quiet_hours_end=quiet_hours_end or None,  # type: ignore[arg-type]
        )
        schools.update_school(session, viewer.subject, school.id, data)
    except (HearthError, ValidationError) as exc:
        session.rollback()
        school = schools.get_school(session, viewer.subject, school.id)
        return _school_page(
            request,
            session,
            viewer,
            school,
            values=values,
            errors=_messages(request, exc),
            status_code=422,
        )
    return _after(f"/admin/schools/{school.id}", "saved")


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
    viewer: Viewer,
    school_id: int,
    term: Text = "",
    keep: Text = "",
    renderings: Annotated[str, Form(max_length=10000)] = "",
) -> Response:
    require(viewer, "admin")
    school = schools.get_school(session, viewer.subject, _checked_id(school_id))
    term_values = {"term": term, "keep": bool(keep), "renderings": renderings}
    try:
        data = GlossaryTermCreate(term=term, keep=bool(keep), renderings=_renderings(renderings))
        translation.add_glossary_term(session, viewer.subject, school.id, data)
    except (HearthError, ValidationError) as exc:
        session.rollback()
        school = schools.get_school(session, viewer.subject, school.id)
        return _school_page(
            request,
            session,
            viewer,
            school,
            term_values=term_values,
            term_errors=_messages(request, exc),
            status_code=422,
        )
    return _after(f"/admin/schools/{school.id}", "term_added")


@router.post("/admin/schools/{school_id}/glossary/{term_id}/delete")
def delete_term(
    request: Request, session: SessionDep, viewer: Viewer, school_id: int, term_id: int
) -> Response:
    require(viewer, "admin")
    translation.delete_glossary_term(
        session, viewer.subject, _checked_id(school_id), _checked_id(term_id)
    )
    return _after(f"/admin/schools/{school_id}", "term_removed")


# Translation coverage ------------------------------------------------------------------------


def _school_choice(value: str) -> int | None:
    try:
        return _optional_id(value)
    except Invalid:
        raise NotFound("No such school.") from None


@router.get("/admin/coverage")
def coverage_page(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    school: Annotated[str, Query(max_length=12)] = "",
) -> Response:
    require(viewer, "admin")
    scope = reports.scope_for(session, viewer.subject, _school_choice(school))
    languages = reports.coverage(session, scope)
    pairs = [
        {"source": display_names(p.source)[0], "target": display_names(p.target)[0], "pair": p}
        for p in packages.installed()
    ]
    return render(
        request,
        "admin/coverage.html",
        {
            "scope": scope,
            "languages": languages,
            "pairs": pairs,
            "schools": reports.visible_schools(session, viewer.subject),
            "uncovered": [lang for lang in languages if lang.needs_interpreter and lang.families],
        },
    )


# Engagement dashboard ------------------------------------------------------------------------


REACH_LABELS = {
    "both": N_("Text and email"),
    "sms": N_("Text only"),
    "email": N_("Email only"),
    "opted_out": N_("Opted out of texts, no email"),
    "none": N_("No usable phone or email"),
}
COVERAGE_LABELS = {
    "same": N_("English"),
    "direct": N_("Direct model"),
    "pivot": N_("Through English"),
    "none": N_("No model"),
}


def _percent(request: Request, part: int, whole: int) -> str:
    if not whole:
        return "–"
    return format_percent(part / whole, locale=request_language(request))


def _dashboard(session: Session, viewer: Viewer, school: str, weeks: int) -> reports.Dashboard:
    return reports.dashboard(session, viewer.subject, _school_choice(school), weeks)


def _week_label(request: Request, start: date) -> str:
    return format_date(start, "medium", locale=request_language(request))


@router.get("/dashboard")
def dashboard_page(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    school: Annotated[str, Query(max_length=12)] = "",
    weeks: Annotated[int, Query(ge=1, le=reports.MAX_WEEKS)] = reports.DEFAULT_WEEKS,
) -> Response:
    require(viewer, "office")
    board = _dashboard(session, viewer, school, weeks)
    reached, replied = board.reply_totals
    reachable = board.reach["both"] + board.reach["sms"] + board.reach["email"]
    return render(
        request,
        "admin/dashboard.html",
        {
            "board": board,
            "weeks": weeks,
            "school": school,
            "schools": reports.visible_schools(session, viewer.subject),
            "reach_labels": REACH_LABELS,
            "coverage_labels": COVERAGE_LABELS,
            "reachable": reachable,
            "reachable_share": _percent(request, reachable, board.families),
            "reached": reached,
            "replied": replied,
            "reply_share": _percent(request, replied, reached),
            "percent": lambda part, whole: _percent(request, part, whole),
            "week_label": lambda start: _week_label(request, start),
            "csv_query": f"?school={school}&weeks={weeks}",
        },
    )


CSV_TABLES = ("reach", "languages", "weeks", "replies")


def _csv_rows(board: reports.Dashboard, table: str) -> list[list[Any]]:
    if table == "reach":
        return [["reach", "families"], *[[k, board.reach[k]] for k in reports.REACH_KINDS]]
    if table == "languages":
        head = ["language", "name", "families", *reports.REACH_KINDS, "coverage", "coverage_back"]
        return [
            head,
            *[
                [
                    lang.code,
                    lang.name,
                    lang.families,
                    *[lang.reach[k] for k in reports.REACH_KINDS],
                    lang.coverage,
                    lang.coverage_back,
                ]
                for lang in board.languages
            ],
        ]
    if table == "weeks":
        return [
            ["week_start", "notes", "broadcasts", "texts", "emails", "replies"],
            *[
                [w.start.isoformat(), w.notes, w.broadcasts, w.texts, w.emails, w.replies]
                for w in board.weeks
            ],
        ]
    return [
        ["language", "name", "families_reached", "families_replied", "reply_rate"],
        *[
            [r.code, r.name, r.reached, r.replied, "" if r.rate is None else f"{r.rate:.4f}"]
            for r in board.replies
        ],
    ]


@router.get("/dashboard/{table}.csv")
def dashboard_csv(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    table: str,
    school: Annotated[str, Query(max_length=12)] = "",
    weeks: Annotated[int, Query(ge=1, le=reports.MAX_WEEKS)] = reports.DEFAULT_WEEKS,
) -> Response:
    require(viewer, "office")
    if table not in CSV_TABLES:
        raise NotFound("There is nothing here, or you cannot see it.")
    board = _dashboard(session, viewer, school, weeks)
    name = f"hearth-{table}-{board.scope.school_id or 'all'}-{date.today().isoformat()}.csv"
    return Response(
        csv_text(_csv_rows(board, table)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
