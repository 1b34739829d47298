"""Office pages: broadcasts (compose, preview, send, report), the families directory, and
roster imports. Every page calls the same domain services as the API, with the viewer's
AuthSubject, so the office sees and changes exactly what its API key could."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_currency
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from app.auth.dependencies import Viewer
from app.auth.service import AuthSubject
from app.broadcasts import service as broadcasts
from app.broadcasts.models import Broadcast
from app.broadcasts.schemas import Audience, BroadcastDraft
from app.core.contact import EXTRA_LANGUAGES, normalize_language
from app.core.db import SessionDep, utcnow
from app.core.errors import HearthError, Invalid
from app.core.pagination import Page, paginate
from app.core.schema import MAX_ID, Id
from app.delivery.models import Delivery, OptOut
from app.messaging import service as messaging
from app.messaging.models import Message
from app.messaging.schemas import MAX_BODY
from app.notices import service as notices
from app.people import service as people
from app.people.models import Guardian, Student, StudentGuardian
from app.people.schemas import GuardianUpdate
from app.roster import service as roster
from app.roster.models import RosterImport
from app.schools import service as schools
from app.schools.models import School
from app.translation import packages
from app.translation.languages import mt_code
from app.web.pages import form_id, render, request_language, require, translate

router = APIRouter(include_in_schema=False)

PER_PAGE = 25
# Home languages US districts commonly serve: offered for a family even before anyone at the
# school reads them (the families' own languages and installed models are added to these).
COMMON_LANGUAGES = (
    "en", "es", "vi", "zh-Hans", "zh-Hant", "yue", "ar", "pt", "pt-BR", "ht", "so", "hmn",
    "ko", "ru", "uk", "tl", "fr", "fa", "prs", "ps", "sw", "ne", "my", "kar", "am", "ti",
    "ja", "hi", "ur", "bn", "pa", "pl", "de", "it", "rw", "mh", "chk", "km", "lo", "th",
)  # fmt: skip
# Template parameters the page fills in itself (the school's own name).
AUTOMATIC_PARAMS = {"school_name"}
SENT = ("sent", "delivered")
FAILED = ("failed", "undelivered", "suppressed")
WAITING = ("queued", "sending")
DELIVERY_STATUSES = ("queued", "sending", "sent", "delivered", *FAILED, "canceled", "review")


async def form_data(request: Request) -> FormData:
    """The whole posted form (repeated checkboxes, template fields named by the template,
    uploads); the CSRF check has already read it, so this is the cached copy."""
    return await request.form()


FormDep = Annotated[FormData, Depends(form_data)]


# Formatting ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Formats:
    """Dates, numbers and language names in the staff member's language; times in the
    school's timezone."""

    lang: str
    timezone: str = "UTC"

    def when(self, value: datetime | None) -> str:
        """The day and the minute (no seconds), with the zone: "Dec 3, 2026, 7:00 AM CST"."""
        if value is None:
            return ""
        zone = ZoneInfo(self.timezone)
        day = format_date(value.astimezone(zone), "medium", locale=self.lang)
        minute = format_time(value, "short", tzinfo=zone, locale=self.lang)
        return f"{day}, {minute} {format_datetime(value, 'z', tzinfo=zone, locale=self.lang)}"

    def money(self, value: float, currency: str) -> str:
        return format_currency(value, currency, locale=self.lang)

    def language(self, tag: str) -> str:
        return language_label(tag, self.lang)


def language_label(tag: str, ui: str) -> str:
    """For example "Spanish (español)": the language's name in the page's language, then its own."""
    code = "zh-Hant" if tag == "zt" else tag
    base = code.split("-")[0]
    if base in EXTRA_LANGUAGES and "-" not in code:
        english, native = EXTRA_LANGUAGES[base]
        return f"{english} ({native})"
    try:
        locale = Locale.parse(code.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return tag
    name = locale.get_display_name(ui) or tag
    native = locale.get_display_name() or ""
    return f"{name} ({native})" if native and native.lower() != name.lower() else name


def _timezone_of(session: Session, subject: AuthSubject) -> str:
    """For pages not about one school (imports): the viewer's first school's timezone."""
    school = session.scalar(schools.readable_schools(subject).order_by(School.id).limit(1))
    return school.timezone if school is not None else "UTC"


def _validation_message(exc: ValidationError) -> str:
    messages = []
    for err in exc.errors()[:3]:
        text = str(err.get("msg", "is invalid")).removeprefix("Value error, ")
        messages.append(text[:1].upper() + text[1:] + ("" if text.endswith(".") else "."))
    return " ".join(messages) or "That is not valid."


def _page(number: int) -> Page:
    return Page(limit=PER_PAGE, offset=(number - 1) * PER_PAGE)


PageNumber = Annotated[int, Query(ge=1, le=MAX_ID // PER_PAGE)]


def _pages(total: int, number: int) -> dict[str, Any]:
    last = max(1, -(-total // PER_PAGE))
    return {"number": number, "last": last, "total": total}


def known_languages(
    session: Session, subject: AuthSubject, ui: str, *also: str
) -> list[tuple[str, str]]:
    """(tag, label in `ui`) of every language a family could be given: common home languages,
    the languages the viewer's families read, installed translation models, and `also`."""
    tags: set[str] = set()
    used = people.readable_guardians(subject).with_only_columns(Guardian.language).distinct()
    candidates = [*COMMON_LANGUAGES, *EXTRA_LANGUAGES, *session.scalars(used), *also]
    candidates += sorted(packages.installed_languages())
    for raw in candidates:
        try:
            tags.add(normalize_language("zh-Hant" if raw == "zt" else raw))
        except ValueError:
            continue
    return sorted(((t, language_label(t, ui)) for t in tags), key=lambda item: item[1].lower())


# Broadcasts: list ------------------------------------------------------------------------------


def _delivery_counts(session: Session, message_ids: list[int]) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = {}
    if not message_ids:
        return counts
    rows = session.execute(
        select(Delivery.message_id, Delivery.status, func.count())
        .where(Delivery.message_id.in_(message_ids))
        .group_by(Delivery.message_id, Delivery.status)
    )
    for message_id, status, count in rows:
        counts.setdefault(message_id, {})[status] = count
    return counts


@router.get("/broadcasts")
def broadcast_list(
    request: Request, session: SessionDep, viewer: Viewer, page: PageNumber = 1
) -> Response:
    require(viewer, "office")
    subject = viewer.subject
    stmt = broadcasts.readable(subject).order_by(Broadcast.created_at.desc(), Broadcast.id.desc())
    items, total = paginate(session, stmt, _page(page))
    school_rows = session.scalars(schools.readable_schools(subject)).all()
    by_id = {s.id: s for s in school_rows}
    counts = _delivery_counts(session, [b.message_id for b in items if b.message_id])
    lang = request_language(request)
    rows = []
    for b in items:
        statuses = counts.get(b.message_id or 0, {})
        school = by_id.get(b.school_id)
        rows.append(
            {
                "broadcast": b,
                "school": school,
                "sent": sum(statuses.get(s, 0) for s in SENT),
                "failed": sum(statuses.get(s, 0) for s in FAILED),
                "waiting": sum(statuses.get(s, 0) for s in WAITING),
                "fmt": Formats(lang, school.timezone if school else "UTC"),
            }
        )
    return render(
        request,
        "office/broadcasts.html",
        {"rows": rows, "pages": _pages(total, page), "several_schools": len(school_rows) > 1},
    )


# Broadcasts: composing -------------------------------------------------------------------------


def _school_choices(session: Session, subject: AuthSubject) -> list[School]:
    return list(session.scalars(schools.readable_schools(subject).order_by(School.name)))


def _audience_options(
    session: Session, subject: AuthSubject, school: School, lang: str
) -> dict[str, Any]:
    grades = session.scalars(
        people.readable_students(subject)
        .with_only_columns(Student.grade)
        .where(Student.school_id == school.id, Student.active.is_(True), Student.grade.is_not(None))
        .distinct()
    ).all()
    sections = session.scalars(
        schools.section_filters(
            schools.readable_sections(subject), school_id=school.id, staff_id=None, q=None
        )
    ).all()
    # The same reach the broadcast will have (active families of active students).
    everyone = broadcasts.recipients(session, subject, school.id, Audience(whole_school=True))
    codes = {r.language for r in everyone}
    return {
        "grades": sorted(
            grades, key=lambda g: (not g.isdecimal(), int(g) if g.isdecimal() else 0, g)
        ),
        "sections": [s for s in sections if s.active],
        "languages": sorted(((c, language_label(c, lang)) for c in codes), key=lambda x: x[1]),
        "family_count": len(everyone),
    }


def _template_fields(name: str) -> dict[str, Any]:
    """The chosen template and the fields the office fills in (not the automatic ones)."""
    if not name:
        return {"template": None, "fields": []}
    template = next((t for t in notices.list_templates() if t.name == name), None)
    if template is None:
        return {"template": None, "fields": []}
    return {
        "template": template,
        "fields": [p for p in template.params if p.name not in AUTOMATIC_PARAMS],
    }


def _blank_state(school: School, viewer_language: str) -> dict[str, Any]:
    return {
        "school_id": school.id,
        "audience": "whole_school",
        "grades": [],
        "sections": [],
        "languages": [],
        "channels": [],
        "template": "",
        "params": {},
        "title": "",
        "body": "",
        "language": viewer_language,
        "urgent": False,
        "when": "now",
        "send_date": "",
        "send_time": "",
    }


def _state_from_form(form: FormData, school: School) -> dict[str, Any]:
    """What the office typed, kept as typed, to show the form again."""

    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    def many(name: str) -> list[str]:
        return [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()]

    template = text("template")
    fields = _template_fields(template)["fields"]
    return {
        "school_id": school.id,
        "audience": "groups" if text("audience") == "groups" else "whole_school",
        "grades": many("grades"),
        "sections": many("sections"),
        "languages": many("languages"),
        "channels": many("channels"),
        "template": template,
        "params": {p.name: text(f"param_{p.name}") for p in fields},
        "title": text("title"),
        "body": text("body"),
        "language": text("language"),
        "urgent": bool(text("urgent")),
        "when": "later" if text("when") == "later" else "now",
        "send_date": text("send_date"),
        "send_time": text("send_time"),
    }


def _state_from_draft(draft: BroadcastDraft, school: School) -> dict[str, Any]:
    local = draft.scheduled_at.astimezone(ZoneInfo(school.timezone)) if draft.scheduled_at else None
    audience = draft.audience
    return {
        "school_id": school.id,
        "audience": "whole_school" if audience.whole_school else "groups",
        "grades": list(audience.grades),
        "sections": [str(s) for s in audience.section_ids],
        "languages": list(audience.languages),
        "channels": list(audience.channels),
        "template": draft.template or "",
        "params": {k: str(v) for k, v in draft.params.items()},
        "title": draft.title,
        "body": draft.body or "",
        "language": draft.language or "",
        "urgent": draft.urgent,
        "when": "later" if local else "now",
        "send_date": local.date().isoformat() if local else "",
        "send_time": local.strftime("%H:%M") if local else "",
    }


def _scheduled_at(state: dict[str, Any], school: School) -> datetime | None:
    if state["when"] != "later":
        return None
    if not state["send_date"] or not state["send_time"]:
        raise Invalid("Choose the day and the time to send it, or choose Send now.")
    try:
        day = date.fromisoformat(state["send_date"])
    except ValueError:
        raise Invalid(f"'{state['send_date']}' is not a date like 2026-12-03.") from None
    try:
        at = time.fromisoformat(state["send_time"])
    except ValueError:
        raise Invalid(f"'{state['send_time']}' is not a time like 14:30.") from None
    when = datetime.combine(day, at.replace(tzinfo=None), tzinfo=ZoneInfo(school.timezone))
    _check_not_past(when, school)
    return when


def _check_not_past(when: datetime, school: School) -> None:
    # A minute's grace: the time the office previewed may have just gone by.
    if when < utcnow() - timedelta(minutes=1):
        raise Invalid(
            f"That time has already passed ({school.timezone}). Choose a later time, or Send now."
        )


def _draft(state: dict[str, Any], school: School) -> BroadcastDraft:
    """The BroadcastDraft the form describes; Invalid with a message for the office."""
    whole = state["audience"] == "whole_school"
    section_ids = []
    for raw in state["sections"]:
        section_id = form_id(raw)
        if section_id is None:
            raise Invalid("Choose classes from the list.")
        section_ids.append(section_id)
    if not whole and not state["grades"] and not section_ids:
        raise Invalid("Choose who gets it: the whole school, or at least one grade or class.")
    template = state["template"] or None
    body = None if template else state["body"]
    if not template and not body:
        raise Invalid("Write the message, or choose a notice template.")
    if template:
        fields = _template_fields(template)
        if fields["template"] is None:
            raise Invalid("Choose a notice template from the list.")
    try:
        return BroadcastDraft(
            school_id=school.id,
            audience=Audience(
                whole_school=whole,
                grades=[] if whole else state["grades"],
                section_ids=[] if whole else section_ids,
                languages=state["languages"],
                channels=state["channels"],
            ),
            title=state["title"],
            body=body,
            template=template,
            params={k: v for k, v in state["params"].items() if v} if template else {},
            language=state["language"] or None,
            urgent=state["urgent"],
            scheduled_at=_scheduled_at(state, school),
        )
    except ValidationError as exc:
        raise Invalid(_validation_message(exc)) from None


def _compose_context(
    session: Session,
    subject: AuthSubject,
    school: School,
    state: dict[str, Any],
    lang: str,
) -> dict[str, Any]:
    return {
        "school": school,
        "several_schools": len(_school_choices(session, subject)) > 1,
        "state": state,
        "options": _audience_options(session, subject, school, lang),
        "templates": sorted(notices.list_templates(), key=lambda t: t.title),
        "authoring_languages": known_languages(session, subject, lang, state["language"] or lang),
        **_template_fields(state["template"]),
        "max_body": MAX_BODY,
        "fmt": Formats(lang, school.timezone),
        "min_date": utcnow().astimezone(ZoneInfo(school.timezone)).date().isoformat(),
    }


def _school_for(
    session: Session, subject: AuthSubject, school_id: int | None
) -> School | list[School]:
    """The school the broadcast is for, or the list to choose from when the viewer has several
    and has not chosen yet."""
    if school_id is not None:
        return schools.get_school(session, subject, school_id)
    choices = _school_choices(session, subject)
    if len(choices) == 1:
        return choices[0]
    return choices


def _form_school(session: Session, subject: AuthSubject, form: FormData) -> School:
    school_id = form_id(form.get("school_id"))
    if school_id is None:
        raise Invalid("Choose the school.")
    return schools.get_school(session, subject, school_id)


@router.get("/broadcasts/new")
def broadcast_new(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    school_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    template: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    require(viewer, "office")
    lang = request_language(request)
    school = _school_for(session, viewer.subject, school_id)
    if isinstance(school, list):
        return render(request, "office/broadcast_school.html", {"schools": school})
    state = _blank_state(school, viewer.subject.ui_language)
    if _template_fields(template)["template"] is not None:
        state["template"] = template
    context = _compose_context(session, viewer.subject, school, state, lang)
    return render(request, "office/compose.html", context)


@router.get("/broadcasts/new/fields")
def broadcast_template_fields(
    request: Request,
    viewer: Viewer,
    template: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """The fields of the chosen template (or the free-text box), swapped in by htmx."""
    require(viewer, "office")
    state = {"template": template, "params": {}, "body": ""}
    context = {"state": state, "max_body": MAX_BODY, **_template_fields(template)}
    return render(request, "office/_content_fields.html", context)


@router.get("/broadcasts/preview/stale")
def broadcast_preview_stale(request: Request, viewer: Viewer) -> Response:
    """What the preview area says once the form changes: preview again before sending."""
    require(viewer, "office")
    return render(request, "office/_preview_stale.html")


@router.post("/broadcasts/preview")
def broadcast_preview(
    request: Request, session: SessionDep, viewer: Viewer, form: FormDep
) -> Response:
    """Who gets what, in which language, at what cost, and who cannot be reached; saves
    nothing. htmx gets the preview alone, a plain form post the whole page around it."""
    require(viewer, "office")
    lang = request_language(request)
    school = _form_school(session, viewer.subject, form)
    state = _state_from_form(form, school)
    error, preview, draft = None, None, None
    try:
        draft = _draft(state, school)
        preview = broadcasts.preview(session, viewer.subject, draft)
    except HearthError as exc:
        session.rollback()
        error = translate(request, exc.message)
    fmt = Formats(lang, school.timezone)
    context = {
        "preview": preview,
        "draft_json": draft.model_dump_json() if draft else "",
        "scheduled": draft is not None and draft.scheduled_at is not None,
        "error": error,
        "fmt": fmt,
        "school": school,
    }
    status = 422 if error else 200
    if "hx-request" in request.headers:
        return render(request, "office/_preview.html", context, status_code=status)
    page = _compose_context(session, viewer.subject, school, state, lang)
    return render(request, "office/compose.html", {**page, **context}, status_code=status)


@router.post("/broadcasts")
def broadcast_create(
    request: Request, session: SessionDep, viewer: Viewer, form: FormDep
) -> Response:
    """Sends exactly the draft that was previewed: the preview's confirm form carries it."""
    require(viewer, "office")
    raw = form.get("draft")
    try:
        if not isinstance(raw, str) or not raw:
            raise Invalid("Preview the broadcast first, then confirm it.")
        try:
            draft = BroadcastDraft.model_validate_json(raw)
        except ValidationError as exc:
            raise Invalid(_validation_message(exc)) from None
    except HearthError as exc:
        return render(
            request,
            "error.html",
            {"status": 422, "message": translate(request, exc.message)},
            status_code=422,
        )
    school = schools.get_school(session, viewer.subject, draft.school_id)
    try:
        if draft.scheduled_at is not None:
            _check_not_past(draft.scheduled_at, school)
        broadcast = broadcasts.create(session, viewer.subject, draft)
    except HearthError as exc:
        session.rollback()
        lang = request_language(request)
        state = _state_from_draft(draft, school)
        context = _compose_context(session, viewer.subject, school, state, lang)
        context["error"] = translate(request, exc.message)
        return render(request, "office/compose.html", context, status_code=exc.status_code)
    return RedirectResponse(f"/broadcasts/{broadcast.id}?created=1", status_code=303)


# Broadcasts: the report ------------------------------------------------------------------------


def _replies(session: Session, subject: AuthSubject, broadcast: Broadcast) -> list[dict[str, Any]]:
    """The families' replies in the broadcast's thread, newest first, in the viewer's language."""
    if broadcast.thread_id is None:
        return []
    thread = messaging.get_thread(session, subject, broadcast.thread_id)
    rows = session.scalars(
        select(Message)
        .where(Message.thread_id == thread.id, Message.direction == "inbound")
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(50)
    ).all()
    ids = {m.author_guardian_id for m in rows if m.author_guardian_id}
    names = {
        g.id: f"{g.given_name} {g.family_name}"
        for g in session.scalars(people.readable_guardians(subject).where(Guardian.id.in_(ids)))
    }
    texts = {m.id: messaging.translated_texts(session, m.id) for m in rows}
    mine = mt_code(subject.ui_language)
    out = []
    for m in rows:
        status, translated = texts[m.id].get(mine, ("", None))
        out.append(
            {
                "message": m,
                "name": names.get(m.author_guardian_id or 0, ""),
                "translation": translated
                if status == "translated" and translated != m.body
                else None,
            }
        )
    return out


def _report_context(
    request: Request, session: Session, subject: AuthSubject, broadcast_id: int
) -> dict[str, Any]:
    broadcast = broadcasts.get(session, subject, broadcast_id)
    school = schools.get_school(session, subject, broadcast.school_id)
    report = broadcasts.report(session, broadcast)
    by_status = report["by_status"]
    waiting = sum(by_status.get(s, 0) for s in WAITING)
    seen = {s for counts in report["by_language"].values() for s in counts}
    return {
        "broadcast": broadcast,
        "school": school,
        "report": report,
        "columns": [s for s in DELIVERY_STATUSES if s in seen],
        "template_title": notices.title(broadcast.template) if broadcast.template else None,
        "total": sum(by_status.values()),
        "sent": sum(by_status.get(s, 0) for s in SENT),
        "failed": sum(by_status.get(s, 0) for s in FAILED),
        "waiting": waiting,
        # Still moving: the page keeps its counts up to date until nothing is left to send.
        "live": broadcast.status in ("scheduled", "sending") or waiting > 0,
        # Scheduled for now: the worker is about to send it, it is not waiting for a time.
        "due": broadcast.scheduled_at <= utcnow() + timedelta(seconds=30),
        "fmt": Formats(request_language(request), school.timezone),
    }


@router.get("/broadcasts/{broadcast_id}")
def broadcast_report(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    broadcast_id: Id,
) -> Response:
    require(viewer, "office")
    context = _report_context(request, session, viewer.subject, broadcast_id)
    if request.headers.get("hx-target") == "broadcast-live":
        return render(request, "office/_broadcast_live.html", context)
    context["replies"] = _replies(session, viewer.subject, context["broadcast"])
    return render(request, "office/broadcast.html", context)


@router.post("/broadcasts/{broadcast_id}/cancel")
def broadcast_cancel(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    broadcast_id: Id,
) -> Response:
    require(viewer, "office")
    broadcasts.cancel(session, viewer.subject, broadcast_id)
    return RedirectResponse(f"/broadcasts/{broadcast_id}?canceled=1", status_code=303)


@router.get("/broadcasts/{broadcast_id}/report.csv")
def broadcast_report_csv(
    session: SessionDep,
    viewer: Viewer,
    broadcast_id: Id,
) -> Response:
    require(viewer, "office")
    name, body = broadcasts.export_csv(session, viewer.subject, broadcast_id)
    return Response(
        body,
        media_type="text/csv",
        # Every family's address: no copy stays in a cache.
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


# Families --------------------------------------------------------------------------------------


PHONE_CHARACTERS = set("0123456789+()-. ")


def _search(subject: AuthSubject, q: str) -> list[Any]:
    """Guardians whose name, email, or one of whose (visible) students' names has every word
    of `q`; or, for something typed like a phone number ((512) 555-0101, 5125550101), whose
    phone has those digits."""
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) >= 3 and set(q) <= PHONE_CHARACTERS:
        return [Guardian.phone.like(f"%{digits}%")]
    conditions = []
    for word in q.split()[:6]:
        like = f"%{word}%"
        students = select(StudentGuardian.guardian_id).where(
            StudentGuardian.student_id.in_(
                people.readable_student_ids(subject).where(
                    or_(Student.given_name.ilike(like), Student.family_name.ilike(like))
                )
            )
        )
        conditions.append(
            or_(
                Guardian.given_name.ilike(like),
                Guardian.family_name.ilike(like),
                Guardian.email.ilike(like),
                Guardian.id.in_(students),
            )
        )
    return conditions


def _opt_outs(
    session: Session, subject: AuthSubject, phones: Iterable[str | None]
) -> dict[str, list[dict[str, Any]]]:
    """Phone → the viewer's schools whose number it told STOP (or the carrier did)."""
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


def _students_of(
    session: Session, subject: AuthSubject, guardian_ids: list[int]
) -> dict[int, list[Student]]:
    out: dict[int, list[Student]] = {}
    if not guardian_ids:
        return out
    rows = session.execute(
        select(StudentGuardian.guardian_id, Student)
        .join(Student, Student.id == StudentGuardian.student_id)
        .where(
            StudentGuardian.guardian_id.in_(guardian_ids),
            Student.id.in_(people.readable_student_ids(subject)),
        )
        .order_by(Student.given_name, Student.id)
    )
    for guardian_id, student in rows:
        out.setdefault(guardian_id, []).append(student)
    return out


@router.get("/families")
def family_list(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    q: Annotated[str, Query(max_length=100)] = "",
    school_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    language: Annotated[str, Query(max_length=35)] = "",
    inactive: bool = False,
    page: PageNumber = 1,
) -> Response:
    require(viewer, "office")
    subject = viewer.subject
    lang = request_language(request)
    school_rows = _school_choices(session, subject)
    stmt = people.guardian_filters(
        people.readable_guardians(subject),
        school_id=school_id,
        # Traditional Chinese is listed by its translation code; families store zh-Hant.
        language=("zh-Hant" if language == "zt" else language) or None,
        active=None if inactive else True,
    )
    q = " ".join(q.split())
    if q:
        stmt = stmt.where(*_search(subject, q))
    items, total = paginate(session, stmt, _page(page))
    students = _students_of(session, subject, [g.id for g in items])
    opt_outs = _opt_outs(session, subject, [g.phone for g in items])
    timezone = school_rows[0].timezone if school_rows else "UTC"
    used = people.readable_guardians(subject).with_only_columns(Guardian.language).distinct()
    codes = sorted({mt_code(t) for t in session.scalars(used)})
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
            "pages": _pages(total, page),
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
    school_rows = _school_choices(session, subject)
    return {
        "guardian": guardian,
        "students": _students_of(session, subject, [guardian.id]).get(guardian.id, []),
        "opt_outs": _opt_outs(session, subject, [guardian.phone]).get(guardian.phone or "", []),
        "languages": known_languages(
            session, subject, request_language(request), guardian.language
        ),
        "fmt": Formats(
            request_language(request), school_rows[0].timezone if school_rows else "UTC"
        ),
    }


@router.get("/families/{guardian_id}")
def family_page(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    guardian_id: Id,
) -> Response:
    require(viewer, "office")
    context = _family_context(request, session, viewer.subject, guardian_id)
    g = context["guardian"]
    context["form"] = {"language": g.language, "channels": list(g.channels), "confirm": False}
    return render(request, "office/family.html", context)


@router.post("/families/{guardian_id}")
def family_save(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    form: FormDep,
    guardian_id: Id,
) -> Response:
    """Language and channels, through update_guardian (the API's rules). Only what changed is
    sent, so saving the form does not mark an assumed language as told by the family unless
    the office says it was."""
    require(viewer, "office")
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
    try:
        if not changes:
            return RedirectResponse(f"/families/{guardian_id}?unchanged=1", status_code=303)
        try:
            data = GuardianUpdate(**changes)
        except ValidationError as exc:
            raise Invalid(_validation_message(exc)) from None
        people.update_guardian(session, subject, guardian_id, data)
    except HearthError as exc:
        session.rollback()
        context = _family_context(request, session, subject, guardian_id)
        context["form"] = {"language": language, "channels": channels, "confirm": confirm}
        context["error"] = translate(request, exc.message)
        return render(request, "office/family.html", context, status_code=422)
    return RedirectResponse(f"/families/{guardian_id}?saved=1", status_code=303)


# Roster imports --------------------------------------------------------------------------------


def _roster_context(request: Request, session: Session, subject: AuthSubject) -> dict[str, Any]:
    jobs = session.scalars(
        roster.readable_imports(subject).order_by(RosterImport.id.desc()).limit(20)
    ).all()
    return {
        "jobs": jobs,
        "schools": _school_choices(session, subject),
        # A OneRoster file changes every school: only district-wide staff (admins) may.
        "district": subject.sees_all_schools,
        "fmt": Formats(request_language(request), _timezone_of(session, subject)),
    }


def _upload(form: FormData) -> tuple[bytes, str]:
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        raise Invalid("Choose a file to upload.")
    data = file.file.read()
    if not data:
        raise Invalid("That file is empty.")
    return data, file.filename


def _checked(form: FormData, name: str) -> bool:
    return form.get(name) in ("1", "on", "true")


def _roster_error(
    request: Request, session: Session, subject: AuthSubject, exc: HearthError, which: str
) -> Response:
    session.rollback()
    context = _roster_context(request, session, subject)
    context["errors"] = {which: translate(request, exc.message)}
    return render(request, "office/roster.html", context, status_code=exc.status_code)


@router.get("/roster")
def roster_page(request: Request, session: SessionDep, viewer: Viewer) -> Response:
    require(viewer, "office")
    return render(request, "office/roster.html", _roster_context(request, session, viewer.subject))


@router.post("/roster/guardian-imports")
def roster_guardians(
    request: Request, session: SessionDep, viewer: Viewer, form: FormDep
) -> Response:
    require(viewer, "office")
    subject = viewer.subject
    try:
        school_id = form_id(form.get("school_id"))
        if school_id is None:
            raise Invalid("Choose the school whose families the file lists.")
        data, filename = _upload(form)
        job = roster.queue_guardian_csv(
            session,
            subject,
            data=data,
            filename=filename,
            school_id=school_id,
            dry_run=_checked(form, "dry_run"),
        )
    except HearthError as exc:
        return _roster_error(request, session, subject, exc, "guardians")
    return RedirectResponse(f"/roster/imports/{job.id}", status_code=303)


@router.post("/roster/imports")
def roster_oneroster(
    request: Request, session: SessionDep, viewer: Viewer, form: FormDep
) -> Response:
    require(viewer, "office")
    subject = viewer.subject
    mode = form.get("mode") or None
    try:
        if mode not in (None, "bulk", "delta"):
            raise Invalid("Choose how to read the file: as the manifest says, bulk or delta.")
        data, filename = _upload(form)
        job = roster.queue_oneroster(
            session,
            subject,
            data=data,
            filename=filename,
            mode=mode if isinstance(mode, str) else None,
            dry_run=_checked(form, "dry_run"),
            force=_checked(form, "force"),
        )
    except HearthError as exc:
        return _roster_error(request, session, subject, exc, "oneroster")
    return RedirectResponse(f"/roster/imports/{job.id}", status_code=303)


@router.get("/roster/imports/{import_id}")
def roster_import(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    import_id: Id,
) -> Response:
    require(viewer, "office")
    job = roster.get_import(session, viewer.subject, import_id)
    school = session.get(School, job.school_id) if job.school_id else None
    context = {
        "job": job,
        "school": school,
        "report": job.report,
        "fmt": Formats(
            request_language(request),
            school.timezone if school else _timezone_of(session, viewer.subject),
        ),
    }
    if request.headers.get("hx-target") == "import-live":
        return render(request, "office/_import_live.html", context)
    return render(request, "office/import.html", context)
