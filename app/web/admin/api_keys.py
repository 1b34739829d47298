"""API keys: the list, making one (shown once, on the page that answers the form), and revoking
one (after asking once more)."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.dependencies import AdminViewer
from app.auth.models import SCOPES
from app.auth.service import create_api_key, get_api_key, list_api_keys, revoke_api_key
from app.auth.sessions import SignedIn
from app.core.db import SessionDep, all_or_nothing
from app.core.errors import HearthError, Invalid
from app.core.i18n import N_
from app.reports import service as reports
from app.schools.models import School
from app.web.admin.forms import SCOPE_LABELS, Text, after, checked_id, messages, optional_id
from app.web.formatting import date_time
from app.web.pages import render

router = APIRouter(include_in_schema=False)

MAX_NAME = 100


def _api_keys_page(
    request: Request,
    session: Session,
    viewer: SignedIn,
    *,
    values: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    # The district's timezone when its schools share one, else UTC.
    timezone = reports.scope_for(session, viewer.subject).timezone
    keys = [
        {
            "key": key,
            "staff_email": email,
            "school": school,
            "created": date_time(request, key.created_at, timezone),
            "last_used": date_time(request, key.last_used_at, timezone),
            "revoked": date_time(request, key.revoked_at, timezone),
        }
        for key, email, school in list_api_keys(session)
    ]
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
def api_keys_page(request: Request, session: SessionDep, viewer: AdminViewer) -> Response:
    return _api_keys_page(request, session, viewer)


@router.post("/admin/api-keys")
def create_key(
    request: Request,
    session: SessionDep,
    viewer: AdminViewer,
    name: Annotated[str, Form(max_length=2000)] = "",
    scopes: Annotated[list[str], Form(max_length=10)] = [],  # noqa: B006 (FastAPI copies)
    school_id: Text = "",
    staff_email: Text = "",
) -> Response:
    values = {"name": name, "scopes": scopes, "school_id": school_id, "staff_email": staff_email}
    try:
        if not name.strip():
            raise Invalid(N_("Give the key a name that says who uses it (for example: SIS sync)."))
        if len(name.strip()) > MAX_NAME:
            raise Invalid(N_("Use at most 100 characters for the name."))
        with all_or_nothing(session):
            api_key, key = create_api_key(
                session,
                name=name,
                scopes=scopes,
                school_id=optional_id(school_id),
                staff_email=staff_email.strip() or None,
            )
            audit.record(
                session,
                viewer.subject.actor,
                "apikey.create",
                "api_key",
                api_key.id,
                school_id=api_key.school_id,
            )
    except HearthError as exc:
        return _api_keys_page(
            request,
            session,
            viewer,
            values=values,
            errors=messages(request, exc),
            status_code=422,
        )
    # The page is drawn before the request commits; the key is not shown unless it is saved
    # (a failed commit answers an error instead of this page).
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
def revoke_key_page(
    request: Request, session: SessionDep, viewer: AdminViewer, key_id: int
) -> Response:
    """Revoking cannot be undone: the list links here, and this page asks once more."""
    api_key = get_api_key(session, checked_id(key_id))
    return render(request, "admin/api_key_revoke.html", {"api_key": api_key})


@router.post("/admin/api-keys/{key_id}/revoke")
def revoke_key(session: SessionDep, viewer: AdminViewer, key_id: int) -> Response:
    api_key = revoke_api_key(session, checked_id(key_id))
    audit.record(
        session,
        viewer.subject.actor,
        "apikey.revoke",
        "api_key",
        api_key.id,
        school_id=api_key.school_id,
    )
    return after("/admin/api-keys", "revoked")
