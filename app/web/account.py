"""Every staff member's own pages: signing in and out, resetting a forgotten password, and
personal settings (page language, the name texts to families give, password, the languages they
interpret)."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.background import BackgroundTask

from app.auth import passwords, sessions
from app.auth.dependencies import SESSION_COOKIE, PublicForm, Viewer
from app.auth.mail import send_staff_mail
from app.core.db import SessionDep, all_or_nothing
from app.core.errors import HearthError, Invalid
from app.core.i18n import N_
from app.core.proxy import client_address
from app.people import service as people
from app.people.schemas import StaffUpdate
from app.web.formatting import language_list, validation_message
from app.web.i18n import UI_LANGUAGES
from app.web.pages import render, render_public_form, set_cookie, translate

router = APIRouter(include_in_schema=False)


def remember_device(response: Response, staff_id: int) -> None:
    """Mark this browser as a known device of the account (see sessions.DEVICE_COOKIE)."""
    max_age = sessions.DEVICE_DAYS * 24 * 3600
    set_cookie(response, sessions.DEVICE_COOKIE, sessions.device_token(staff_id), max_age)


def _safe_next(target: str | None) -> str:
    # Only a path on this site: never an open redirect to another host. Browsers read "\" as
    # "/" and drop tabs and line breaks from addresses, so "/\t/evil.example" is "//evil…".
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and target.isprintable()
    ):
        return target
    return "/"


@router.get("/")
def home(request: Request, session: SessionDep) -> Response:
    signed = sessions.current(session, request.cookies.get(SESSION_COOKIE))
    if signed is None:
        return RedirectResponse("/sign-in", status_code=303)
    start = "/interpreting" if signed.card.role == "interpreter" else "/inbox"
    return RedirectResponse(start, status_code=303)


@router.get("/sign-in")
def sign_in_page(request: Request, next: str = "/") -> Response:
    return render_public_form(request, "sign_in.html", {"next": _safe_next(next)})


@router.post("/sign-in", dependencies=[PublicForm])
def sign_in(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    device = request.cookies.get(sessions.DEVICE_COOKIE)
    try:
        token, staff = sessions.sign_in(session, email, password, client_address(request), device)
    except (sessions.SignInFailed, sessions.TooManyAttempts) as exc:
        message = translate(request, exc.message)
        return render_public_form(
            request,
            "sign_in.html",
            {"next": _safe_next(next), "email": email, "error": message},
            status_code=exc.status_code,
        )
    # A new token at every sign-in; whatever session this browser had before ends here.
    sessions.sign_out(session, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_cookie(response, SESSION_COOKIE, token)
    remember_device(response, staff.id)
    return response


@router.post("/sign-out")
def sign_out(request: Request, session: SessionDep, _: Viewer) -> Response:
    sessions.sign_out(session, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/password-reset")
def reset_request_page(request: Request) -> Response:
    return render_public_form(request, "password_reset.html", {})


@router.post("/password-reset", dependencies=[PublicForm])
def reset_request(
    request: Request, session: SessionDep, email: Annotated[str, Form(max_length=254)] = ""
) -> Response:
    mail = passwords.request_reset(session, email)
    response = render_public_form(request, "password_reset.html", {"sent": True})
    if mail is not None:
        # Sent once the answer has gone: the time it takes must not tell who has an account.
        # The request's session commits before the answer goes, so the link never arrives
        # for a token that was rolled back.
        response.background = BackgroundTask(send_staff_mail, mail)
    return response


@router.get("/password-reset/{token}")
def reset_page(request: Request, session: SessionDep, token: str) -> Response:
    return render_public_form(
        request,
        "password_new.html",
        {"token": token, "valid": passwords.reset_valid(session, token)},
    )


@router.post("/password-reset/{token}", dependencies=[PublicForm])
def reset(
    request: Request,
    session: SessionDep,
    token: str,
    password: Annotated[str, Form(max_length=256)] = "",
    confirm: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    try:
        if password != confirm:
            raise Invalid(N_("The two passwords are not the same."))
        # All or nothing: a refused reset leaves the link as it was.
        with all_or_nothing(session):
            staff = passwords.reset_password(session, token, password)
            new_session = sessions.start_session(session, staff)
    except HearthError as exc:
        return render_public_form(
            request,
            "password_new.html",
            {"token": token, "valid": True, "error": translate(request, exc.message)},
            status_code=400,
        )
    response = RedirectResponse("/", status_code=303)
    set_cookie(response, SESSION_COOKIE, new_session)
    # The browser that proved it owns the mailbox is a known device from now on.
    remember_device(response, staff.id)
    return response


def _settings(viewer: Viewer, **more: Any) -> dict[str, Any]:
    return {
        "languages": UI_LANGUAGES,
        "interprets": ", ".join(link.language for link in viewer.staff.language_links),
        "display_name": viewer.staff.display_name or "",
        **more,
    }


@router.get("/settings")
def settings_page(request: Request, viewer: Viewer) -> Response:
    return render(request, "settings.html", _settings(viewer))


@router.post("/settings")
def save_settings(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    ui_language: Annotated[str, Form(max_length=8)] = "en",
    display_name: Annotated[str, Form(max_length=120)] = "",
    current_password: Annotated[str, Form(max_length=256)] = "",
    new_password: Annotated[str, Form(max_length=256)] = "",
    interprets: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    staff = session.merge(viewer.staff)
    errors: list[str] = []
    if ui_language not in UI_LANGUAGES:
        errors.append(translate(request, "Choose one of the listed languages."))
    try:
        languages = StaffUpdate(interprets=language_list(interprets)).interprets or []
    except ValidationError as exc:
        errors.append(validation_message(exc))
    if new_password:
        try:
            passwords.check_new_password(staff, current_password, new_password)
        except HearthError as exc:
            errors.append(translate(request, exc.message))
    if errors:
        # Checked before anything is written: nothing to undo.
        context = _settings(viewer, errors=errors, interprets=interprets, display_name=display_name)
        return render(request, "settings.html", context, status_code=422)
    staff.ui_language = ui_language
    staff.language_links = people.interpreted(languages)
    staff.display_name = " ".join(display_name.split()) or None
    if new_password:
        # Whoever knew the old password is signed out everywhere; this browser stays in.
        passwords.set_password(session, staff, new_password, keep=viewer.session_id)
    return RedirectResponse("/settings?saved=1", status_code=303)
