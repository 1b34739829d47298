"""What every page shares: who is signed in, the CSRF check, rendering in the staff member's
language, and errors shown as pages instead of JSON."""

import secrets
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.config import get_settings
from app.core.db import SessionDep
from app.core.errors import (
    Forbidden,
    HearthError,
    Invalid,
    hearth_error_response,
    http_error_response,
    validation_error_response,
)
from app.core.schema import MAX_ID
from app.core.security import constant_time_equal
from app.web import service
from app.web.i18n import environment, gettext_for, ui_language

SESSION_COOKIE = "hearth_session"
# Before sign-in there is no session to hold a CSRF token: the sign-in and reset forms use a
# random cookie that the form must echo (double submit).
FORM_COOKIE = "hearth_form"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Paths that always answer JSON: the API, webhooks and operations endpoints.
_JSON_PREFIXES = ("/api/", "/webhooks/", "/metrics")
# Every page: never inside another site's frame (a hidden "Confirm and send" under a decoy
# button), no guessing of content types, no page address (a reset link) sent elsewhere, and
# no copy of families' details left in the browser's cache after signing out.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class SignInRequired(Exception):
    pass


class CsrfFailed(Forbidden):
    code = "csrf_failed"


def signed_in(request: Request, session: SessionDep) -> service.SignedIn:
    signed = service.current(session, request.cookies.get(SESSION_COOKIE))
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
    request: Request, signed: Annotated[service.SignedIn, Depends(signed_in)]
) -> service.SignedIn:
    """Every page's dependency: signed in, and any state-changing request carries the
    session's CSRF token (form field `csrf_token` or the `X-CSRF-Token` header htmx sends)."""
    if request.method not in SAFE_METHODS:
        token = await _form_token(request)
        if not token or not constant_time_equal(token, signed.csrf_token):
            raise CsrfFailed("This form has expired or did not come from Hearth. Reload the page.")
    await _refuse_nul(request)
    return signed


Viewer = Annotated[service.SignedIn, Depends(checked)]


def form_id(raw: object) -> int | None:
    """An id typed into a form or query string, or None. `isdecimal` (not `isdigit`, which
    accepts "²") keeps `int()` from raising, the length cap keeps it from huge numbers."""
    if not isinstance(raw, str):
        return None
    raw = raw.strip()
    if not raw.isdecimal() or len(raw) > 10:
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_ID else None


def require(viewer: service.SignedIn, role: str) -> None:
    """Office pages for office staff and admins; admin pages for admins."""
    viewer.subject.require_role(role, "open this page")


async def check_form_cookie(request: Request) -> None:
    """CSRF for the pages used before sign-in (sign-in, password reset)."""
    cookie = request.cookies.get(FORM_COOKIE, "")
    token = await _form_token(request)
    if not cookie or not token or not constant_time_equal(cookie, token):
        raise CsrfFailed("This form has expired. Reload the page and try again.")
    await _refuse_nul(request)


async def _refuse_nul(request: Request) -> None:
    """No page stores a NUL character (PostgreSQL text cannot hold one): refused up front for
    every field, as the API's schemas do, instead of failing deep in a query."""
    values = [v for _, v in request.query_params.multi_items()]
    if request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        values += [v for _, v in (await request.form()).multi_items() if isinstance(v, str)]
    if any("\x00" in value for value in values):
        raise Invalid(service.N_("Some of what was sent contains a character that is not allowed."))


def request_language(request: Request) -> str:
    signed = getattr(request.state, "signed", None)
    if signed is not None:
        return ui_language(signed.staff.ui_language)
    accept = request.headers.get("accept-language", "")
    return ui_language(accept.split(",")[0].split(";")[0])


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    lang = request_language(request)
    signed = getattr(request.state, "signed", None)
    values = {
        "request": request,
        "viewer": signed,
        "csrf_token": signed.csrf_token if signed else getattr(request.state, "form_token", ""),
        "path": request.url.path,
        **(context or {}),
    }
    html = environment(lang).get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})})


def render_public_form(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """A page with a pre-sign-in form: sets the double-submit cookie it echoes."""
    token = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(24)
    request.state.form_token = token
    response = render(request, template, context, status_code=status_code)
    set_cookie(response, FORM_COOKIE, token, max_age=3600)
    return response


def set_cookie(response: Response, name: str, value: str, max_age: int | None = None) -> None:
    settings = get_settings()
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=settings.env == "production" or settings.public_url.startswith("https:"),
        path="/",
    )


def translate(request: Request, message: str, **values: Any) -> str:
    text = gettext_for(request_language(request))(message)
    return text % values if values else text


def _wants_page(request: Request) -> bool:
    if request.url.path.startswith(_JSON_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "") or "hx-request" in request.headers


def _error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return render(
        request,
        "error.html",
        {"status": status, "message": message},
        status_code=status,
    )


def install_page_errors(app: FastAPI) -> None:
    """Browsers get an error page in their language; API clients keep the JSON body."""

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _: SignInRequired) -> Response:
        target = "/sign-in"
        if request.method == "GET" and request.url.path not in ("/", "/sign-in"):
            # Back to the same page after signing in, its query (a chosen student) included.
            back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            target += "?" + urlencode({"next": back})
        if "hx-request" in request.headers:
            return Response(status_code=401, headers={"HX-Redirect": target})
        if not _wants_page(request):
            return hearth_error_response(HearthError("Sign in first."))
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(HearthError)
    async def _hearth(request: Request, exc: HearthError) -> Response:
        if not _wants_page(request):
            return hearth_error_response(exc)
        return _error_page(request, exc.status_code, translate(request, exc.message))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if not _wants_page(request):
            return validation_error_response(exc)
        # A page address with a malformed id (/families/abc) is a page that is not there.
        if any(e.get("loc", ("",))[0] == "path" for e in exc.errors()):
            message = translate(request, "There is nothing here, or you cannot see it.")
            return _error_page(request, 404, message)
        return _error_page(request, 422, translate(request, "Some of what was sent is not valid."))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if not _wants_page(request):
            return http_error_response(exc)
        message = exc.detail if isinstance(exc.detail, str) else ""
        if exc.status_code == 404:
            message = translate(request, "There is nothing here, or you cannot see it.")
        return _error_page(request, exc.status_code, message)
