"""The family page (/f/<token>): a family reads its conversation with the school in its own
language, hears it read aloud, and writes back — no app, no account, just the link.

The page speaks the family's language (the `messages` catalog, as its texts do), right to left
where the language is written so. It works without JavaScript; a small inline script only
offers "Read aloud" where the browser has a voice for the language (elsewhere each message has
an audio player: Hearth reads it aloud with espeak-ng). Nothing on it is fetched
from anywhere else. Any token that opens no live link gets the same bare 404."""

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from fastapi import APIRouter, Request
from fastapi.responses import (
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.channels.email import RIGHT_TO_LEFT
from app.core.config import get_settings
from app.core.db import SessionDep, utcnow
from app.core.errors import HearthError, NotFound
from app.core.schema import Id
from app.core.security import constant_time_equal, sign
from app.delivery import voice as voice_calls
from app.messaging import attachments, family, family_links
from app.messaging.models import FamilyLink
from app.messaging.router import file_response
from app.notices import catalogs
from app.people.models import Guardian
from app.questions import service as questions
from app.questions.models import Question
from app.web.formatting import when
from app.web.pages import FormDep

router = APIRouter(include_in_schema=False)
# The page's words are the families' (the `messages` catalog, babel.cfg), not the staff's.
TEMPLATES = Path(__file__).parent / "family_page"

# The double-submit cookie of the reply form (with a secret bound to the link, below).
COOKIE = "hearth_family"


@lru_cache
def _environment(locale: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(catalogs.translations(locale), newstyle=True)  # type: ignore[attr-defined]
    return env


def _locale(tag: str) -> str:
    return catalogs.catalog_locale(tag) or catalogs.SOURCE_LOCALE


def _words(tag: str):
    """gettext of the family's catalog, for the page's messages given by name."""
    return catalogs.translations(_locale(tag)).gettext


def _dates_locale(locale: str) -> str:
    """How dates are written for the family: its catalog's locale where Babel knows it."""
    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        return catalogs.SOURCE_LOCALE
    return locale


def direction(tag: str) -> str:
    base = tag.replace("_", "-").split("-")[0].lower()
    return "rtl" if base in RIGHT_TO_LEFT else "ltr"


def _headers(nonce: str) -> dict[str, str]:
    # The address holds the family's key: never sent on (no-referrer), never indexed, never
    # cached, never framed; the page loads nothing but itself.
    return {
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Robots-Tag": "noindex, nofollow",
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
            # the message's photos, from this page's own address
            "img-src 'self'; "
            # the message read aloud by Hearth, where the phone has no voice for its language
            "media-src 'self'; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        ),
    }


def not_found() -> Response:
    """The same bare answer for a token tampered with, expired, revoked or never made."""
    return PlainTextResponse(
        "Not Found",
        status_code=404,
        headers={
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Robots-Tag": "noindex, nofollow",
        },
    )


def _form_secret(link: FamilyLink, cookie: str) -> str:
    key = get_settings().signing_key()
    return sign(key, f"family-form:{link.id}:{cookie}")[:40]


def _form_is_ours(request: Request, link: FamilyLink, form: Any) -> bool:
    """The form came from this link's page in this browser (its secret matches the cookie)."""
    cookie = request.cookies.get(COOKIE, "")
    secret = str(form.get("form_secret") or "")
    return bool(cookie) and constant_time_equal(secret, _form_secret(link, cookie))


def _page(
    request: Request,
    session: SessionDep,
    link: FamilyLink,
    guardian: Guardian,
    token: str,
    *,
    error: str | None = None,
    body: str = "",
    status_code: int = 200,
    answer_error: tuple[int, str] | None = None,
) -> Response:
    messages = family.conversation(session, guardian)
    asked = _open_questions(session, guardian, [m.id for m in messages if not m.mine])
    if answer_error is not None and answer_error[0] in asked:
        asked[answer_error[0]]["error"] = answer_error[1]
    family.mark_seen(session, guardian, messages)
    school = family.page_school(session, guardian)
    zone = school.timezone if school else "UTC"
    locale = _locale(guardian.language)
    cookie = request.cookies.get(COOKIE) or secrets.token_urlsafe(24)
    nonce = secrets.token_urlsafe(16)
    settings = get_settings()
    context: dict[str, Any] = {
        "lang": guardian.language,
        "dir": direction(guardian.language),
        "school": school.name if school else "",
        "messages": [
            {
                "m": m,
                "dir": direction(m.language),
                "original_dir": direction(m.original_language),
                "when": when(m.at, zone, _dates_locale(locale)),
                "q": asked.get(m.id),
                # Read aloud by Hearth where the phone's browser has no voice for the language.
                "audio": not m.mine and voice_calls.read_aloud_voice(m.language) is not None,
            }
            for m in messages
        ],
        "token": token,
        "files": attachments.of_messages(session, [m.id for m in messages]),
        "form_secret": _form_secret(link, cookie),
        "sent": request.query_params.get("sent") == "1",
        "error": error,
        "body": body,
        "nonce": nonce,
        "max_reply": family.MAX_REPLY,
        "max_mb": settings.attachment_max_mb,
    }
    html = _environment(locale).get_template("page.html").render(context)
    response = HTMLResponse(html, status_code=status_code, headers=_headers(nonce))
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=86400,
        httponly=True,
        samesite="strict",
        secure=settings.env == "production" or settings.public_url.startswith("https:"),
        path="/f/",
    )
    return response


@router.get("/f/{token}")
def family_page(request: Request, session: SessionDep, token: str) -> Response:
    found = family_links.find(session, token)
    if found is None:
        return not_found()
    link, guardian = found
    return _page(request, session, link, guardian, token)


@lru_cache(maxsize=64)
def _spoken(message_id: int, voice: str, text: str) -> bytes:
    return voice_calls.speak(text[: voice_calls.READ_ALOUD_MAX_CHARS], voice)


@router.get("/f/{token}/audio/{message_id}.wav")
def family_audio(session: SessionDep, token: str, message_id: Id) -> Response:
    """A message this family's page shows, read aloud in the family's language by Hearth
    (espeak-ng), for phones whose browser has no voice for it; anything else is not found."""
    found = family_links.find(session, token)
    if found is None:
        return not_found()
    shown = next(
        (m for m in family.conversation(session, found[1]) if m.id == message_id and not m.mine),
        None,
    )
    voice = voice_calls.read_aloud_voice(shown.language) if shown else None
    if shown is None or voice is None:
        return not_found()
    try:
        data = _spoken(shown.id, voice, shown.text)
    except LookupError:
        return not_found()
    return Response(
        data,
        media_type="audio/wav",
        headers={
            "Cache-Control": "private, max-age=3600",
            "Referrer-Policy": "no-referrer",
            "X-Robots-Tag": "noindex, nofollow",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/f/{token}/attachments/{attachment_id}")
def family_attachment(session: SessionDep, token: str, attachment_id: Id) -> Response:
    """A photo or PDF of a message this family's page shows; anything else is not found."""
    found = family_links.find(session, token)
    if found is None:
        return not_found()
    row = attachments.for_family(session, found[1].id, attachment_id)
    if row is None:
        return not_found()
    try:
        return file_response(
            row,
            headers={
                "Referrer-Policy": "no-referrer",
                "X-Robots-Tag": "noindex, nofollow",
                "Content-Security-Policy": "default-src 'none'; sandbox",
            },
        )
    except NotFound:  # its file is gone
        return not_found()


@router.post("/f/{token}")
def family_reply(request: Request, session: SessionDep, token: str, form: FormDep) -> Response:
    found = family_links.find(session, token)
    if found is None:
        return not_found()
    link, guardian = found
    body = str(form.get("body") or "")
    say = _words(guardian.language)

    def refused(error: str, status_code: int) -> Response:
        """The page again, with what the family wrote and why it was not sent."""
        return _page(
            request, session, link, guardian, token, error=error, body=body, status_code=status_code
        )

    if not _form_is_ours(request, link, form):
        return refused(say(family.STALE_FORM), 403)
    # family.reply refuses before it writes anything: nothing to undo on a refusal.
    try:
        family.reply(session, link, guardian, body, _upload(form))
    except family.PhotoRefused as exc:
        error = say(exc.msgid) % exc.values if exc.values else say(exc.msgid)
        return refused(error, exc.status_code)
    except HearthError as exc:
        return refused(say(exc.message), exc.status_code)
    return RedirectResponse(f"/f/{token}?sent=1#sent", status_code=303)


def _upload(form: Any) -> tuple[str, str | None, bytes] | None:
    """The photo or PDF sent with the reply (name, declared type, at most one byte more than
    allowed), or None when the file input was left empty."""
    item = form.get("photo")
    if item is None or isinstance(item, str):
        return None
    data = item.file.read(attachments.read_limit())
    if not data and not item.filename:
        return None
    return (item.filename or "photo", item.content_type, data)


# Questions: buttons to answer ---------------------------------------------------------------


def _open_questions(
    session: SessionDep, guardian: Guardian, message_ids: list[int]
) -> dict[int, dict[str, Any]]:
    """Message id → the question it asks this family, as its page shows it: the options in
    the family's language (with a sign-up's places left), its current answer, whether it may
    still answer or change it. Another family's question is not shown (nor answerable)."""
    found: dict[int, dict[str, Any]] = {}
    now = utcnow()
    for message_id, question in questions.on_messages(session, message_ids).items():
        if questions.asked_of(session, guardian.id, question.id) is None:
            continue
        labels = (
            questions.option_labels(session, question, guardian.language)
            if question.kind == "choice"
            else []
        )
        left = questions.places_left(session, question)
        current = questions.current_answers(session, [question.id], guardian.id).get(question.id)
        answer = current[-1] if current else None
        closed = question.deadline is not None and question.deadline < now
        found[message_id] = {
            "id": question.id,
            "kind": question.kind,
            "options": [
                {
                    "number": i,
                    "label": label,
                    "left": None if left is None or question.times else left[i - 1],
                    "full": left is not None and left[i - 1] <= 0,
                }
                for i, label in enumerate(labels, start=1)
            ],
            "answer": _answer_label(guardian, question, labels, answer),
            "closed": closed,
            "can_change": not closed and (answer is None or question.replace_answers),
            "error": None,
        }
    return found


def _answer_label(guardian: Guardian, question: Question, labels: list[str], answer: Any) -> str:
    """The family's current answer in its language ("Sí", "Martes", "3", its own words)."""
    if answer is None or answer.value is None:
        return ""
    say = _words(guardian.language)
    value = answer.value
    if question.kind in ("yes_no", "permission"):
        said = say("Yes") if value == "yes" else say("No")
        return f"{said} ({answer.signature})" if answer.signature else said
    if question.kind == "choice" and value.isdigit() and 1 <= int(value) <= len(labels):
        return labels[int(value) - 1]
    if question.kind == "text":
        return str(answer.text)
    return str(value)


@router.post("/f/{token}/answer")
def family_answer(request: Request, session: SessionDep, token: str, form: FormDep) -> Response:
    """An answer given with the page's buttons: checked, then recorded exactly as a text
    answering the question (questions.answer_from_page), the family's reply reaching staff as
    any reply from the page does. Another family's question is a bare 404."""
    found = family_links.find(session, token)
    if found is None:
        return not_found()
    link, guardian = found
    say = _words(guardian.language)
    question_id = str(form.get("question_id") or "")
    question = (
        questions.asked_of(session, guardian.id, int(question_id))
        if question_id.isdigit() and len(question_id) < 12
        else None
    )
    if question is None or question.message_id is None:
        return not_found()
    if not _form_is_ours(request, link, form):
        return _page(
            request,
            session,
            link,
            guardian,
            token,
            answer_error=(question.message_id, say(family.STALE_FORM)),
            status_code=403,
        )
    try:
        value, signature = questions.given_answer(
            question,
            str(form.get("value") or ""),
            str(form.get("signature") or ""),
            questions.places_left(session, question),
            utcnow(),
        )
        labels = (
            questions.option_labels(session, question, guardian.language)
            if question.kind == "choice"
            else []
        )
        said = _said(guardian, question, labels, value, signature, str(form.get("value") or ""))
        # Not in a SAVEPOINT (as the reply form): everything is checked before it is written.
        message = family.reply(session, link, guardian, said)
        questions.answer_from_page(session, question, guardian, message, value, signature)
    except HearthError as exc:
        return _page(
            request,
            session,
            link,
            guardian,
            token,
            answer_error=(question.message_id, say(exc.message)),
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/f/{token}#m{question.message_id}", status_code=303)


def _said(
    guardian: Guardian,
    question: Question,
    labels: list[str],
    value: str,
    signature: str | None,
    written: str,
) -> str:
    """The answer as the family's reply staff read ("Sí — María López", "2. Martes", "3")."""
    say = _words(guardian.language)
    if question.kind in ("yes_no", "permission"):
        said = say("Yes") if value == "yes" else say("No")
        return f"{said} — {signature}" if signature else said
    if question.kind == "choice":
        return f"{value}. {labels[int(value) - 1]}"
    if question.kind == "number":
        return value
    return written.strip()
