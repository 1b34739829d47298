"""What every page shares: rendering in the staff member's language, cookies, the posted form,
ids typed into forms, and errors shown as pages instead of JSON. Who is signed in, and the
CSRF check, are the dependencies of app.auth.dependencies (`Viewer`, `OfficeViewer`, ...)."""

import secrets
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.auth import sessions
from app.auth.dependencies import FORM_COOKIE, SESSION_COOKIE, SignInRequired
from app.core.config import get_settings
from app.core.db import read_session
from app.core.errors import (
    HearthError,
    hearth_error_response,
    http_error_response,
    validation_error_response,
)
from app.core.schema import MAX_ID
from app.web.i18n import environment, gettext_for, ui_language

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


async def form_data(request: Request) -> FormData:
    """The whole posted form (repeated checkboxes, template fields named by the template,
    uploads); the CSRF check has already read it, so this is the cached copy."""
    return await request.form()


FormDep = Annotated[FormData, Depends(form_data)]


def request_language(request: Request) -> str:
    signed = getattr(request.state, "signed", None)
    if signed is not None:
        return ui_language(signed.card.ui_language)
    staff_language = getattr(request.state, "staff_language", None)
    if staff_language:
        return ui_language(staff_language)
    accept = request.headers.get("accept-language", "")
    return ui_language(accept.split(",")[0].split(";")[0])


def csv_download(name: str, body: str) -> Response:
    """A CSV file to download. Families' addresses and answers are in these files: no copy
    stays in a cache."""
    return Response(
        body,
        media_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


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
        # Plain values, not the staff row: an error page is drawn after the session has ended.
        "viewer": signed.card if signed else None,
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


def _language_of(cookie: str) -> str | None:
    with read_session() as session:
        return sessions.language_of(session, cookie)


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
            # No route, so nobody was signed in: a staff member still gets their language.
            cookie = request.cookies.get(SESSION_COOKIE)
            if cookie and getattr(request.state, "signed", None) is None:
                request.state.staff_language = await run_in_threadpool(_language_of, cookie)
            message = translate(request, "There is nothing here, or you cannot see it.")
        return _error_page(request, exc.status_code, message)
