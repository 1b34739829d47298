"""Teacher pages: the inbox, one thread with every translation and delivery, and writing a
note with a live preview of what each family will read (and what that says back in the
teacher's language).

Everything starts from the domains' readable statements and service calls, the same ones the
API uses: a thread or student the viewer cannot read answers 404 here exactly as there."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from app.auth.dependencies import Viewer
from app.core.db import SessionDep
from app.core.errors import HearthError, Invalid, NotFound
from app.core.pagination import Page, paginate
from app.delivery import service as delivery
from app.delivery.models import Delivery
from app.messaging import service as messaging
from app.messaging.models import Message, Thread, ThreadGuardian
from app.messaging.schemas import MAX_BODY, MessageCreate, ThreadCreate
from app.notices import service as notices
from app.people import service as people
from app.people.models import Guardian, Staff, Student
from app.schools.models import School
from app.translation import service as translation
from app.translation.languages import display_names, mt_code
from app.translation.protect import Protection
from app.web.i18n import ui_language
from app.web.pages import form_id, render, translate

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
SEARCH_LIMIT = 40
# A broadcast thread may reach thousands of families: name a few, count the rest.
NAMED_GUARDIANS = 6
DELIVERY_ROWS = 100
PREVIEW_GUARDIANS = 500


def N_(message: str) -> str:
    """Marks a label for the catalog; it is translated when the page is rendered."""
    return message


STATUS_LABELS = {
    "queued": N_("Waiting to send"),
    "sending": N_("Sending"),
    "sent": N_("Sent"),
    "delivered": N_("Delivered"),
    "failed": N_("Failed"),
    "undelivered": N_("Not delivered"),
    "suppressed": N_("Not sent"),
    "canceled": N_("Canceled"),
    "review": N_("Needs checking"),
}
STATUS_TONES = {
    "sent": "good",
    "delivered": "good",
    "failed": "bad",
    "undelivered": "bad",
    "suppressed": "bad",
    "review": "bad",
}
CHANNEL_LABELS = {"sms": N_("Text message"), "email": N_("Email")}


# Formatting --------------------------------------------------------------------------------


def language_name(tag: str, ui: str) -> str:
    """A language tag or MT code named in the viewer's language ("Spanish", "español")."""
    key = "zh_Hant" if tag == "zt" else tag.replace("-", "_")
    names = Locale.parse(ui).languages
    name = names.get(key) or names.get(key.split("_")[0]) or display_names(tag)[0]
    return name[:1].upper() + name[1:]


def when(value: datetime, timezone: str, ui: str) -> str:
    return format_datetime(value, "short", tzinfo=ZoneInfo(timezone), locale=ui)


def _ui(viewer: Any) -> str:
    return ui_language(viewer.staff.ui_language)


def _status(request: Request, status: str, error_code: str | None) -> dict[str, str]:
    if status == "suppressed" and error_code == "opted_out":
        label = translate(request, "Opted out (replied STOP)")
    else:
        label = translate(request, STATUS_LABELS.get(status, status))
    return {"label": label, "tone": STATUS_TONES.get(status, "")}


def _full_name(person: Guardian | Student) -> str:
    return f"{person.given_name} {person.family_name}"


def _excerpt(text: str, limit: int = 140) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _is_htmx(request: Request) -> bool:
    return "hx-request" in request.headers


# Inbox -------------------------------------------------------------------------------------


def _last_direction() -> Any:
    return (
        select(Message.direction)
        .where(Message.thread_id == Thread.id)
        .order_by(Message.id.desc())
        .limit(1)
        .correlate(Thread)
        .scalar_subquery()
    )


def inbox_statement(viewer: Viewer) -> Any:
    """The viewer's readable threads: those whose latest message is a family's reply (nobody
    has answered it yet) first, then the most recent. Hearth keeps no per-reader "seen" mark,
    so an unanswered reply is what counts as new."""
    awaiting = case((_last_direction() == "inbound", 0), else_=1)
    return messaging.readable_threads(viewer.subject).order_by(
        awaiting, Thread.last_activity_at.desc(), Thread.id.desc()
    )


def _inbox_rows(
    request: Request, session: Session, threads: list[Thread], ui: str
) -> list[dict[str, Any]]:
    if not threads:
        return []
    ids = [t.id for t in threads]
    last_ids = (
        select(func.max(Message.id)).where(Message.thread_id.in_(ids)).group_by(Message.thread_id)
    )
    last = {
        m.thread_id: m
        for m in session.scalars(
            select(Message)
            .where(Message.id.in_(last_ids))
            .options(selectinload(Message.translations))
        )
    }
    last_outbound = (
        select(func.max(Message.id))
        .where(Message.thread_id.in_(ids), Message.direction == "outbound")
        .group_by(Message.thread_id)
    )
    statuses: dict[int, list[dict[str, Any]]] = {}
    for thread_id, status, code, count in session.execute(
        select(Message.thread_id, Delivery.status, Delivery.error_code, func.count())
        .join(Message, Message.id == Delivery.message_id)
        .where(Delivery.message_id.in_(last_outbound))
        .group_by(Message.thread_id, Delivery.status, Delivery.error_code)
        .order_by(Message.thread_id, Delivery.status)
    ):
        statuses.setdefault(thread_id, []).append({**_status(request, status, code), "n": count})

    small = [t.id for t in threads if len(t.guardian_links) <= NAMED_GUARDIANS]
    names: dict[int, list[str]] = {}
    for thread_id, guardian in session.execute(
        select(ThreadGuardian.thread_id, Guardian)
        .join(Guardian, Guardian.id == ThreadGuardian.guardian_id)
        .where(ThreadGuardian.thread_id.in_(small))
        .order_by(Guardian.family_name, Guardian.given_name, Guardian.id)
    ):
        names.setdefault(thread_id, []).append(_full_name(guardian))
    languages: dict[int, list[str]] = {}
    for thread_id, tag in session.execute(
        select(ThreadGuardian.thread_id, Guardian.language)
        .join(Guardian, Guardian.id == ThreadGuardian.guardian_id)
        .where(ThreadGuardian.thread_id.in_(ids))
        .distinct()
        .order_by(ThreadGuardian.thread_id, Guardian.language)
    ):
        languages.setdefault(thread_id, []).append(language_name(tag, ui))

    student_ids = {t.student_id for t in threads if t.student_id}
    students = {
        s.id: s for s in session.scalars(select(Student).where(Student.id.in_(student_ids)))
    }
    zones = dict(
        session.execute(
            select(School.id, School.timezone).where(School.id.in_({t.school_id for t in threads}))
        ).all()
    )
    reader = mt_code(ui)
    rows = []
    for t in threads:
        message = last.get(t.id)
        preview, translated = "", False
        if message is not None:
            preview = message.body
            if message.direction == "inbound":
                mine = next(
                    (
                        tr
                        for tr in message.translations
                        if tr.language == reader and tr.status == "translated" and tr.text
                    ),
                    None,
                )
                if mine is not None:
                    preview, translated = mine.text or "", True
        student = students.get(t.student_id) if t.student_id else None
        family = names.get(t.id)
        rows.append(
            {
                "id": t.id,
                "subject": t.subject,
                "student": _full_name(student) if student else None,
                "family": family,
                "family_count": len(t.guardian_links),
                "languages": languages.get(t.id, []),
                "preview": _excerpt(preview) if preview else "",
                "direction": message.direction if message else None,
                "translated": translated,
                "statuses": statuses.get(t.id, []),
                "when": when(t.last_activity_at, zones.get(t.school_id, "UTC"), ui),
                "when_iso": t.last_activity_at.isoformat(),
                "awaiting": message is not None and message.direction == "inbound",
                "archived": t.status == "archived",
            }
        )
    return rows


@router.get("/inbox")
def inbox(request: Request, session: SessionDep, viewer: Viewer, page: str = "1") -> Response:
    number = min(form_id(page) or 1, 100_000)
    threads, total = paginate(
        session, inbox_statement(viewer), Page(limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    )
    rows = _inbox_rows(request, session, threads, _ui(viewer))
    return render(
        request,
        "teacher/inbox.html",
        {
            "rows": rows,
            "total": total,
            "page": number,
            "more": number * PAGE_SIZE < total,
            "awaiting": sum(1 for r in rows if r["awaiting"]),
        },
    )


# A thread ----------------------------------------------------------------------------------


def _thread_or_404(session: Session, viewer: Viewer, raw_id: str, with_messages: bool) -> Thread:
    thread_id = form_id(raw_id)
    if thread_id is None:
        raise NotFound("No such thread.")
    return messaging.get_thread(session, viewer.subject, thread_id, with_messages=with_messages)


def _translation_view(request: Request, row: Any, ui: str) -> dict[str, Any]:
    return {
        "language": row.language,
        "name": language_name(row.language, ui),
        "status": row.status,
        "text": row.text,
        "reason": row.reason,
    }


def _thread_view(
    request: Request, session: Session, viewer: Viewer, thread: Thread
) -> dict[str, Any]:
    ui = _ui(viewer)
    reader = mt_code(ui)
    school = session.get(School, thread.school_id)
    zone = school.timezone if school else "UTC"
    student = session.get(Student, thread.student_id) if thread.student_id else None
    guardian_ids = set(thread.guardian_ids)
    for m in thread.messages:
        guardian_ids.update(d.guardian_id for d in m.deliveries[:DELIVERY_ROWS])
        if m.author_guardian_id:
            guardian_ids.add(m.author_guardian_id)
    guardians = {
        g.id: g for g in session.scalars(select(Guardian).where(Guardian.id.in_(guardian_ids)))
    }
    staff_ids = {m.author_staff_id for m in thread.messages if m.author_staff_id}
    staff = dict(session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(staff_ids))).all())

    messages = []
    for m in thread.messages:
        if m.direction == "inbound":
            guardian = guardians.get(m.author_guardian_id) if m.author_guardian_id else None
            author = _full_name(guardian) if guardian else translate(request, "Unknown number")
        else:
            author = staff.get(m.author_staff_id) or translate(request, "The school")
        translations = [_translation_view(request, t, ui) for t in m.translations]
        mine = next((t for t in translations if t["language"] == reader), None)
        counts: dict[str, dict[str, Any]] = {}
        for d in m.deliveries:
            status = _status(request, d.status, d.error_code)
            counts.setdefault(status["label"], {**status, "n": 0})["n"] += 1
        deliveries = [
            {
                "guardian": _full_name(guardians[d.guardian_id])
                if d.guardian_id in guardians
                else f"#{d.guardian_id}",
                "channel": translate(request, CHANNEL_LABELS.get(d.channel, d.channel)),
                "address": d.address,
                "language": language_name(d.language, ui),
                "error": d.error_text if d.status not in ("sent", "delivered") else None,
                "at": when(d.delivered_at or d.sent_at or d.updated_at, zone, ui),
                **_status(request, d.status, d.error_code),
            }
            for d in m.deliveries[:DELIVERY_ROWS]
        ]
        messages.append(
            {
                "id": m.id,
                "direction": m.direction,
                "kind": m.kind,
                "author": author,
                "body": m.body,
                "language": mt_code(m.language),
                "language_name": language_name(m.language, ui),
                "when": when(m.created_at, zone, ui),
                "when_iso": m.created_at.isoformat(),
                "translations": translations,
                "mine": mine,
                "others": [t for t in translations if t is not mine],
                "deliveries": deliveries,
                "delivery_total": len(m.deliveries),
                "delivery_counts": list(counts.values()),
            }
        )
    family = [
        {
            "name": _full_name(g),
            "language": language_name(g.language, ui),
            "channels": [translate(request, CHANNEL_LABELS.get(c, c)) for c in g.channels],
            "active": g.active,
        }
        for g in sorted(
            (guardians[i] for i in thread.guardian_ids[:NAMED_GUARDIANS] if i in guardians),
            key=lambda g: (g.family_name, g.given_name),
        )
    ]
    return {
        "thread": thread,
        "title": thread.subject or (_full_name(student) if student else ""),
        "student": _full_name(student) if student else None,
        "family": family,
        "family_count": len(thread.guardian_ids),
        "messages": messages,
    }


@router.get("/threads/{thread_id}")
def thread_page(request: Request, session: SessionDep, viewer: Viewer, thread_id: str) -> Response:
    thread = _thread_or_404(session, viewer, thread_id, with_messages=True)
    return render(request, "teacher/thread.html", _thread_view(request, session, viewer, thread))


def _note_problems(request: Request, body: str) -> list[str]:
    if not body.strip():
        return [translate(request, "Write the note first.")]
    if len(body) > MAX_BODY:
        return [
            translate(
                request,
                "The note is longer than %(max)s characters. Shorten it, or send it as two notes.",
                max=MAX_BODY,
            )
        ]
    return []


@dataclass
class NoteForm:
    """What the compose and reply forms post (read once, for every route that takes them)."""

    student_id: int | None = None
    guardian_ids: list[int] = field(default_factory=list)
    subject: str = ""
    body: str = ""
    language: str = ""
    template: str = ""
    params: dict[str, str] = field(default_factory=dict)


async def note_form(request: Request) -> NoteForm:
    form = await request.form()

    def text(name: str, limit: int) -> str:
        value = form.get(name)
        # Browsers send a textarea's line breaks as CRLF; its maxlength counts them as one.
        return value.replace("\r\n", "\n")[:limit] if isinstance(value, str) else ""

    return NoteForm(
        student_id=form_id(text("student_id", 12)),
        guardian_ids=sorted(
            {
                i
                for raw in form.getlist("guardian_ids")[:50]
                if isinstance(raw, str) and (i := form_id(raw)) is not None
            }
        ),
        subject=" ".join(text("subject", 400).split()),
        # One past the limit is enough to say it is too long, whatever was sent.
        body=text("body", MAX_BODY + 1),
        language=text("language", 35),
        template=text("template", 40),
        params={
            key.removeprefix("param_"): value[:400]
            for key, value in form.items()
            if key.startswith("param_") and isinstance(value, str)
        },
    )


NoteFormDep = Annotated[NoteForm, Depends(note_form)]


@router.post("/threads/{thread_id}/reply")
def reply(
    request: Request, session: SessionDep, viewer: Viewer, thread_id: str, form: NoteFormDep
) -> Response:
    thread = _thread_or_404(session, viewer, thread_id, with_messages=False)
    errors = _note_problems(request, form.body)
    if not errors:
        try:
            message = messaging.post_message(
                session, viewer.subject, thread.id, MessageCreate(body=form.body)
            )
            return RedirectResponse(f"/threads/{thread.id}#m{message.id}", status_code=303)
        except HearthError as exc:
            session.rollback()
            errors = [translate(request, exc.message)]
    thread = _thread_or_404(session, viewer, thread_id, with_messages=True)
    context = _thread_view(request, session, viewer, thread) | {
        "errors": errors,
        "body": form.body,
    }
    return render(request, "teacher/thread.html", context, status_code=422)


@router.post("/threads/{thread_id}/preview")
def reply_preview(
    request: Request, session: SessionDep, viewer: Viewer, thread_id: str, form: NoteFormDep
) -> Response:
    thread = _thread_or_404(session, viewer, thread_id, with_messages=False)
    guardians = list(
        session.scalars(
            select(Guardian)
            .join(ThreadGuardian, ThreadGuardian.guardian_id == Guardian.id)
            .where(ThreadGuardian.thread_id == thread.id, Guardian.active.is_(True))
            .order_by(Guardian.id)
            .limit(PREVIEW_GUARDIANS)
        )
    )
    student = session.get(Student, thread.student_id) if thread.student_id else None
    return _preview_response(
        request, session, viewer, thread.school_id, student, guardians, form.body, ""
    )


# Compose -----------------------------------------------------------------------------------


@dataclass
class PreviewLanguage:
    code: str
    name: str
    readers: list[str]
    status: str  # same | translated | unavailable
    text: str | None = None
    back: str | None = None
    reason: str | None = None


def _protection(
    session: Session,
    school_id: int,
    student: Student | None,
    guardians: list[Guardian],
    staff: Staff,
) -> Protection:
    """What translation keeps as written, as for a sent note."""
    people: list[Guardian | Student] = [*guardians, *([student] if student else [])]
    return messaging.people_protection(session, school_id, people, [staff])


def preview_translations(
    session: Session,
    *,
    body: str,
    source: str,
    back_to: str,
    guardians: list[Guardian],
    protection: Protection,
) -> list[PreviewLanguage]:
    """The note in each guardian language, and each translation translated back into the
    teacher's language, by the translation service that will translate the note. Nothing is
    kept: the cache rows the service adds are rolled back with a savepoint."""
    readers: dict[str, list[str]] = {}
    for g in guardians:
        readers.setdefault(mt_code(g.language), []).append(_full_name(g))
    out: list[PreviewLanguage] = []
    savepoint = session.begin_nested()
    try:
        for code in sorted(readers):
            item = PreviewLanguage(code, "", readers[code], "same")
            result = translation.translate(session, [body], source, code, protection=protection)[0]
            if result.status == "same_language":
                item.text = body
            elif result.status == "translated" and result.text:
                item.status, item.text = "translated", result.text
                back = translation.translate(
                    session, [result.text], code, back_to, protection=protection
                )[0]
                item.back = back.text if back.status != "unavailable" else None
            else:
                item.status, item.reason = "unavailable", result.reason
            out.append(item)
    finally:
        savepoint.rollback()
    return out


def _preview_response(
    request: Request,
    session: Session,
    viewer: Viewer,
    school_id: int,
    student: Student | None,
    guardians: list[Guardian],
    body: str,
    language: str,
) -> Response:
    context = _preview_context(
        request, session, viewer, school_id, student, guardians, body, language
    )
    status = 422 if context["preview_errors"] else 200
    return render(request, "teacher/_preview.html", context, status_code=status)


def _preview_context(
    request: Request,
    session: Session,
    viewer: Viewer,
    school_id: int,
    student: Student | None,
    guardians: list[Guardian],
    body: str,
    language: str,
) -> dict[str, Any]:
    ui = _ui(viewer)
    context: dict[str, Any] = {"preview": [], "preview_errors": [], "preview_empty": False}
    if not body.strip():
        context["preview_empty"] = True
        return context
    errors = _note_problems(request, body)
    if not guardians:
        errors.append(translate(request, "Choose at least one guardian to see the preview."))
    if errors:
        context["preview_errors"] = errors
        return context
    source = _note_language(language, viewer)
    items = preview_translations(
        session,
        body=body,
        source=source,
        back_to=ui,
        guardians=guardians,
        protection=_protection(session, school_id, student, guardians, viewer.staff),
    )
    for item in items:
        item.name = language_name(item.code, ui)
    context["preview"] = items
    context["back_name"] = language_name(ui, ui)
    return context


def _note_language(raw: str, viewer: Viewer) -> str:
    """The language the note is written in: the teacher's own (as the API assumes), or the
    language a template was rendered in."""
    try:
        return MessageCreate(body="x", language=raw or None).language or viewer.staff.ui_language
    except ValidationError:
        return viewer.staff.ui_language


def note_templates() -> list[notices.NoticeTemplate]:
    """Notice templates that are about one student: those make sense as a teacher's note."""
    return [t for t in notices.list_templates() if t.param("student_name") is not None]


def _template_fields(
    request: Request, ui: str, name: str, values: dict[str, str], prefill: dict[str, str]
) -> list[dict[str, Any]]:
    template = next((t for t in note_templates() if t.name == name), None)
    if template is None:
        return []
    fields = []
    for p in template.params:
        choices = [
            {"value": value, "label": notices.catalog_text(label, ui) or label}
            for value, label in p.choices.items()
        ]
        fields.append(
            {
                "name": p.name,
                "type": p.type,
                "label": translate(request, p.help),
                "required": p.required,
                "value": values.get(p.name) or prefill.get(p.name, ""),
                "choices": choices,
                "minimum": p.minimum,
                "maximum": p.maximum,
                "max_length": p.max_length,
            }
        )
    return fields


def _guardian_rows(
    request: Request,
    ui: str,
    session: Session,
    school: School,
    family: dict[str, Any],
    source: str,
    chosen: list[int] | None,
) -> list[dict[str, Any]]:
    """The student's guardians as the compose page shows them: language and whether a
    translation reaches it, each channel and whether it can be used, opt-out state."""
    phones = [g["phone"] for g in family["guardians"] if g["phone"]]
    stopped = delivery.opted_out_phones(session, school.sms_sender, phones)
    rows = []
    for g in family["guardians"]:
        channels = []
        for channel in g["channels"]:
            address = g["phone"] if channel == "sms" else g["email"]
            problem = None
            if not address:
                problem = N_("no phone number") if channel == "sms" else N_("no email address")
            elif channel == "sms" and not school.sms_sender:
                problem = N_("the school has no texting number")
            elif channel == "sms" and address in stopped:
                problem = N_("opted out (replied STOP)")
            channels.append(
                {
                    "label": translate(request, CHANNEL_LABELS.get(channel, channel)),
                    "address": address,
                    "problem": translate(request, problem) if problem else None,
                }
            )
        route = translation.find_route(source, g["language"])
        reachable = g["active"] and any(c["problem"] is None for c in channels)
        rows.append(
            {
                "id": g["id"],
                "name": f"{g['given_name']} {g['family_name']}",
                "relationship": g["relationship"],
                "language": language_name(g["language"], ui),
                "language_tag": g["language"],
                "route": route.coverage,
                "needs_interpreter": route.coverage == "none",
                "channels": channels,
                "no_channel": not g["channels"],
                "opted_out": any(c == "sms" and g["phone"] in stopped for c in g["channels"]),
                "reachable": reachable,
                "active": g["active"],
                "checked": g["active"] and (chosen is None or g["id"] in chosen),
            }
        )
    return rows


def _search(session: Session, viewer: Viewer, q: str) -> list[dict[str, Any]]:
    stmt = people.student_filters(
        people.readable_students(viewer.subject), q=q or None, active=True
    )
    return [
        {"id": s.id, "name": _full_name(s), "grade": s.grade}
        for s in session.scalars(stmt.limit(SEARCH_LIMIT))
    ]


def _compose_context(
    request: Request,
    session: Session,
    viewer: Viewer,
    *,
    student_id: int | None,
    q: str = "",
    form: NoteForm | None = None,
) -> dict[str, Any]:
    form = form or NoteForm()
    context: dict[str, Any] = {
        "q": q,
        "form": form,
        "templates": [
            {"name": t.name, "title": translate(request, t.title)} for t in note_templates()
        ],
        "template_fields": [],
        "errors": [],
        "preview": None,
    }
    if student_id is None:
        context["students"] = _search(session, viewer, q)
        return context
    family = people.family(session, viewer.subject, student_id)
    student = family["student"]
    school = session.get(School, student.school_id)
    if school is None:
        raise NotFound("No such school.")
    ui = _ui(viewer)
    source = _note_language(form.language, viewer)
    chosen = form.guardian_ids if form.student_id == student_id else None
    guardians = _guardian_rows(request, ui, session, school, family, source, chosen)
    prefill = {
        "student_name": student.given_name,
        "teacher_name": viewer.staff.name,
        "school_name": school.name,
    }
    context.update(
        student=student,
        student_name=_full_name(student),
        school=school,
        guardians=guardians,
        language=source,
        language_name=language_name(source, ui),
        prefill=prefill,
        template_fields=_template_fields(request, ui, form.template, form.params, prefill),
        interpreter=[g for g in guardians if g["active"] and g["needs_interpreter"]],
        unreachable=[g for g in guardians if g["active"] and not g["reachable"]],
    )
    return context


def _family_members(
    session: Session, viewer: Viewer, student_id: int | None, guardian_ids: list[int]
) -> tuple[Student, list[Guardian]]:
    """The chosen guardians, only from this student's family as the viewer may read it."""
    if student_id is None:
        raise Invalid("Choose a student first.")
    family = people.family(session, viewer.subject, student_id)
    allowed = {g["id"] for g in family["guardians"] if g["active"]}
    wanted = [i for i in guardian_ids if i in allowed]
    guardians = list(session.scalars(select(Guardian).where(Guardian.id.in_(wanted))))
    return family["student"], guardians


@router.get("/compose")
def compose(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    student_id: str = "",
    q: str = "",
) -> Response:
    context = _compose_context(
        request, session, viewer, student_id=form_id(student_id), q=q[:100].strip()
    )
    return render(request, "teacher/compose.html", context)


@router.get("/compose/students")
def compose_students(
    request: Request, session: SessionDep, viewer: Viewer, q: str = ""
) -> Response:
    q = q[:100].strip()
    return render(
        request,
        "teacher/_students.html",
        {"students": _search(session, viewer, q), "q": q},
    )


@router.post("/compose/preview")
def compose_preview(
    request: Request, session: SessionDep, viewer: Viewer, form: NoteFormDep
) -> Response:
    student, guardians = _family_members(session, viewer, form.student_id, form.guardian_ids)
    if _is_htmx(request):
        return _preview_response(
            request,
            session,
            viewer,
            student.school_id,
            student,
            guardians,
            form.body,
            form.language,
        )
    # Without JavaScript the Preview button posts the whole form: the page comes back with
    # the preview filled in and everything typed kept.
    context = _compose_context(request, session, viewer, student_id=student.id, form=form)
    context |= _preview_context(
        request, session, viewer, student.school_id, student, guardians, form.body, form.language
    )
    return render(request, "teacher/compose.html", context)


@router.post("/compose/template-fields")
def compose_template_fields(
    request: Request, session: SessionDep, viewer: Viewer, form: NoteFormDep
) -> Response:
    context = _compose_context(request, session, viewer, student_id=form.student_id, form=form)
    if _is_htmx(request):
        return render(request, "teacher/_template_fields.html", context)
    return render(request, "teacher/compose.html", context)


@router.post("/compose/template")
def compose_template(
    request: Request, session: SessionDep, viewer: Viewer, form: NoteFormDep
) -> Response:
    """Fills the note with a notice template written out in the teacher's language; the note
    is then translated and previewed like any other."""
    errors: list[str] = []
    template = next((t for t in note_templates() if t.name == form.template), None)
    if template is None:
        errors.append(translate(request, "Choose a template first."))
    else:
        params = {p.name: form.params.get(p.name, "") for p in template.params}
        try:
            rendering = notices.render(
                template.name, params, viewer.staff.ui_language, viewer.staff.ui_language
            )
            form.body = rendering.text or ""
            form.language = rendering.language.replace("_", "-")
        except HearthError as exc:
            errors.append(translate(request, exc.message))
    context = _compose_context(request, session, viewer, student_id=form.student_id, form=form)
    status = 422 if errors else 200
    if _is_htmx(request):
        context["body_errors"] = errors
        headers = None if errors else {"HX-Trigger": "refresh-preview"}
        return render(
            request, "teacher/_note_body.html", context, status_code=status, headers=headers
        )
    context["errors"] = errors
    return render(request, "teacher/compose.html", context, status_code=status)


@router.post("/compose")
def send(request: Request, session: SessionDep, viewer: Viewer, form: NoteFormDep) -> Response:
    errors = _note_problems(request, form.body)
    if not form.guardian_ids:
        errors.append(translate(request, "Choose at least one guardian."))
    if form.student_id is None:
        errors.append(translate(request, "Choose a student first."))
    if not errors:
        try:
            note = MessageCreate(body=form.body, language=form.language or None)
            new_thread = ThreadCreate(
                student_id=form.student_id,
                guardian_ids=form.guardian_ids,
                subject=form.subject[:200],
            )
        except ValidationError:
            errors.append(translate(request, "The form was not filled in as expected. Reload it."))
    if not errors:
        try:
            with session.begin_nested():  # all or nothing: no thread without its note
                thread = messaging.create_thread(session, viewer.subject, new_thread)
                messaging.post_message(session, viewer.subject, thread.id, note)
            return RedirectResponse(f"/threads/{thread.id}", status_code=303)
        except HearthError as exc:
            errors.append(translate(request, exc.message))
    context = _compose_context(request, session, viewer, student_id=form.student_id, form=form)
    context["errors"] = errors
    return render(request, "teacher/compose.html", context, status_code=422)
