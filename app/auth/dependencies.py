"""FastAPI dependencies that name who may call: API keys by the scope they need (`Reader`,
`Writer`, ...), staff pages by the role they need (`Viewer`, `OfficeViewer`, `AdminViewer`),
each with its CSRF check."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth import sessions
from app.auth.service import AuthSubject, authenticate_api_key
from app.core.db import SessionDep
from app.core.errors import Forbidden, Invalid, Unauthorized
from app.core.i18n import N_
from app.core.security import constant_time_equal

# API keys -----------------------------------------------------------------------------------


# How an API route is called, as the OpenAPI document says it (/docs' "Authorize" button). It
# reads nothing itself: bearer_key does, with messages that say what is wrong.
API_KEY = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="An API key (`hearth apikeys create`, or the admin pages' API keys).",
)
Documented = Annotated[HTTPAuthorizationCredentials | None, Depends(API_KEY)]


def current_subject(request: Request, session: SessionDep, _: Documented) -> AuthSubject:
    cached = getattr(request.state, "subject", None)
    if cached is not None:
        return cached
    subject = authenticate_api_key(session, bearer_key(request))
    if subject is None:
        raise Unauthorized("This API key is not valid or has been revoked.")
    request.state.subject = subject
    return subject


def bearer_key(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send an API key as 'Authorization: Bearer <key>'.")
    return token.strip()


def require_scope(subject: AuthSubject, scope: str) -> None:
    if scope not in subject.scopes:
        raise Forbidden(f"This API key lacks the '{scope}' scope.")


def _scoped(scope: str):
    def dependency(subject: Annotated[AuthSubject, Depends(current_subject)]) -> AuthSubject:
        require_scope(subject, scope)
        return subject

    return dependency


Reader = Annotated[AuthSubject, Depends(_scoped("read"))]
Writer = Annotated[AuthSubject, Depends(_scoped("write"))]
Sender = Annotated[AuthSubject, Depends(_scoped("send"))]
AdminScope = Annotated[AuthSubject, Depends(_scoped("admin"))]


# Staff pages --------------------------------------------------------------------------------

SESSION_COOKIE = "hearth_session"
# Before sign-in there is no session to hold a CSRF token: the sign-in and reset forms use a
# random cookie that the form must echo (double submit).
FORM_COOKIE = "hearth_form"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class SignInRequired(Exception):
    pass


class CsrfFailed(Forbidden):
    code = "csrf_failed"


def signed_in(request: Request, session: SessionDep) -> sessions.SignedIn:
    signed = sessions.current(session, request.cookies.get(SESSION_COOKIE))
    if signed is None:
        raise SignInRequired()
    request.state.signed = signed
    return signed


async def _form_token(request: Request) -> str:
    header = request.headers.get("x-csrf-token")
    if header:
        return header
    if request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get("csrf_token")
        return value if isinstance(value, str) else ""
    return ""


async def checked(
    request: Request, signed: Annotated[sessions.SignedIn, Depends(signed_in)]
) -> sessions.SignedIn:
    """Every page's dependency: signed in, and any state-changing request carries the
    session's CSRF token (form field `csrf_token` or the `X-CSRF-Token` header htmx sends)."""
    if request.method not in SAFE_METHODS:
        token = await _form_token(request)
        if not token or not constant_time_equal(token, signed.csrf_token):
            raise CsrfFailed("This form has expired or did not come from Hearth. Reload the page.")
    await _refuse_nul(request)
    return signed


Viewer = Annotated[sessions.SignedIn, Depends(checked)]


def _role(role: str):
    def dependency(viewer: Viewer) -> sessions.SignedIn:
        viewer.subject.require_role(role, "open this page")
        return viewer

    return dependency


# Office pages are for office staff and admins; admin pages for admins.
OfficeViewer = Annotated[sessions.SignedIn, Depends(_role("office"))]
AdminViewer = Annotated[sessions.SignedIn, Depends(_role("admin"))]


def _interpreting(viewer: Viewer) -> sessions.SignedIn:
    if not viewer.subject.is_interpreter:
        viewer.subject.require_role("office", "open this page")
    return viewer


# The interpreting pages: interpreters (their tasks), and office staff and admins (every task
# of their schools, the overdue ones first).
InterpretingViewer = Annotated[sessions.SignedIn, Depends(_interpreting)]


async def check_form_cookie(request: Request) -> None:
    """CSRF for the pages used before sign-in (sign-in, password reset)."""
    cookie = request.cookies.get(FORM_COOKIE, "")
    token = await _form_token(request)
    if not cookie or not token or not constant_time_equal(cookie, token):
        raise CsrfFailed("This form has expired. Reload the page and try again.")
    await _refuse_nul(request)


PublicForm = Depends(check_form_cookie)


async def _refuse_nul(request: Request) -> None:
    """No page stores a NUL character (PostgreSQL text cannot hold one): refused up front for
    every field, as the API's schemas do, instead of failing deep in a query."""
    values = [v for _, v in request.query_params.multi_items()]
    if request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        values += [v for _, v in (await request.form()).multi_items() if isinstance(v, str)]
    if any("\x00" in value for value in values):
        raise Invalid(N_("Some of what was sent contains a character that is not allowed."))
