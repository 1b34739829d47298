"""API keys: the list, making one (shown once), and revoking one (after asking once more).

Making one is POST-redirect-GET: the form's answer sends the browser to the new key's page with
the key in a one-time cookie (HttpOnly, for that page's path only, a few minutes at most); the
page shows it and deletes the cookie. Reloading it shows the key no more, and makes no other."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.dependencies import AdminViewer
from app.auth.models import SCOPES
from app.auth.service import create_api_key, get_api_key, list_api_keys, revoke_api_key
from app.auth.sessions import SignedIn
from app.core.config import get_settings
from app.core.db import SessionDep, all_or_nothing
from app.core.errors import HearthError, Invalid
from app.core.i18n import N_
from app.core.security import API_KEY_PREFIX, api_key_lookup
from app.people.models import Staff
from app.reports import service as reports
from app.schools.models import School
from app.web.admin.forms import SCOPE_LABELS, Text, after, checked_id, messages, optional_id
from app.web.formatting import date_time
from app.web.pages import render

router = APIRouter(include_in_schema=False)

MAX_NAME = 100
NEW_KEY_COOKIE = "hearth_new_api_key"
NEW_KEY_SECONDS = 300


def key_prefix(lookup: str) -> str:
    """How a key begins (its public part), to tell keys apart; the secret rest is never kept."""
    return f"{API_KEY_PREFIX}{lookup}_…"


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
            "prefix": key_prefix(key.lookup),
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
    # The answer is made before the request commits; a failed commit answers an error instead,
    # so the key is never handed out unless it is saved.
    path = f"/admin/api-keys/{api_key.id}/created"
    response = RedirectResponse(path, status_code=303)
    response.set_cookie(
        NEW_KEY_COOKIE,
        key,
        max_age=NEW_KEY_SECONDS,
        path=path,
        httponly=True,
        samesite="strict",
        secure=_secure(),
    )
    return response


@router.get("/admin/api-keys/{key_id}/created")
def created_key_page(
    request: Request, session: SessionDep, viewer: AdminViewer, key_id: int
) -> Response:
    """The new key, once: from the cookie the form's answer set, deleted here."""
    api_key = get_api_key(session, checked_id(key_id))
    key = request.cookies.get(NEW_KEY_COOKIE)
    if key is None or api_key_lookup(key) != api_key.lookup or api_key.revoked_at:
        key = None
    response = render(
        request,
        "admin/api_key_created.html",
        {
            "api_key": api_key,
            "key": key,
            "prefix": key_prefix(api_key.lookup),
            "school": session.get(School, api_key.school_id) if api_key.school_id else None,
            "staff_email": session.scalar(select(Staff.email).where(Staff.id == api_key.staff_id))
            if api_key.staff_id
            else "",
        },
    )
    # The key exists only in this answer: no cache may keep a copy.
    response.headers["Cache-Control"] = "no-store"
    response.delete_cookie(NEW_KEY_COOKIE, path=request.url.path, secure=_secure(), httponly=True)
    return response


def _secure() -> bool:
    settings = get_settings()
    return settings.env == "production" or settings.public_url.startswith("https:")


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
