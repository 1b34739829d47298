"""Broadcasts: the list, composing one (audience, template or text, when), its preview (who
gets what, in which language, at what cost, and who cannot be reached), sending it, and its
report (deliveries, replies, cancel, CSV)."""

from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from app.auth.dependencies import OfficeViewer
from app.auth.service import AuthSubject
from app.broadcasts import service as broadcasts
from app.broadcasts.models import Broadcast
from app.broadcasts.schemas import Audience, BroadcastDraft
from app.core.db import SessionDep, all_or_nothing, utcnow
from app.core.errors import HearthError, Invalid
from app.core.languages import mt_code
from app.core.pagination import paginate
from app.core.schema import MAX_ID, Id
from app.delivery import attachments as attachment_files
from app.delivery.models import FAILED, Delivery
from app.messaging import attachments
from app.messaging import service as messaging
from app.messaging.models import Message, Thread
from app.messaging.schemas import MAX_BODY
from app.notices import service as notices
from app.people import service as people
from app.people.models import Guardian, Student
from app.schools import service as schools
from app.schools.models import School
from app.translation import service as translation
from app.web.formatting import (
    DELIVERY_STATUSES,
    SENT,
    WAITING,
    Formats,
    PageNumber,
    full_name,
    known_languages,
    language_label,
    list_page,
    page_links,
    validation_message,
)
from app.web.office.broadcast_form import (
    blank_state,
    check_not_past,
    draft_from_state,
    state_from_draft,
    state_from_form,
    template_fields,
)
from app.web.office.schools import school_choices
from app.web.pages import FormDep, csv_download, form_id, render, request_language, translate

router = APIRouter(include_in_schema=False)

REPLIES_SHOWN = 50


# What the pages read of deliveries and messages, read here until delivery and messaging offer
# these reads (status counts per message; a thread's replies with the reader's translation).


def read_delivery_counts(session: Session, message_ids: list[int]) -> dict[int, dict[str, int]]:
    """Message id → delivery status → how many."""
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


def read_replies(session: Session, thread_id: int) -> list[Message]:
    """The families' replies to a broadcast, newest first: each in the family's own thread
    answering it (or, from before those, in the broadcast's thread)."""
    answering = select(Thread.id).where(Thread.notice_thread_id == thread_id)
    return list(
        session.scalars(
            select(Message)
            .where(
                or_(Message.thread_id == thread_id, Message.thread_id.in_(answering)),
                Message.direction == "inbound",
            )
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(REPLIES_SHOWN)
        )
    )


# The list ----------------------------------------------------------------------------------


@router.get("/broadcasts")
def broadcast_list(
    request: Request, session: SessionDep, viewer: OfficeViewer, page: PageNumber = 1
) -> Response:
    subject = viewer.subject
    stmt = broadcasts.readable(subject).order_by(Broadcast.created_at.desc(), Broadcast.id.desc())
    items, total = paginate(session, stmt, list_page(page))
    school_rows = session.scalars(schools.readable_schools(subject)).all()
    by_id = {s.id: s for s in school_rows}
    counts = read_delivery_counts(session, [b.message_id for b in items if b.message_id])
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
        {"rows": rows, "pages": page_links(total, page), "several_schools": len(school_rows) > 1},
    )


# Composing ---------------------------------------------------------------------------------


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


def _compose_context(
    session: Session,
    subject: AuthSubject,
    school: School,
    state: dict[str, Any],
    lang: str,
) -> dict[str, Any]:
    return {
        "school": school,
        "several_schools": len(school_choices(session, subject)) > 1,
        "state": state,
        "options": _audience_options(session, subject, school, lang),
        "templates": sorted(notices.list_templates(), key=lambda t: t.title),
        "authoring_languages": known_languages(session, subject, lang, state["language"] or lang),
        **template_fields(state["template"]),
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
    choices = school_choices(session, subject)
    if len(choices) == 1:
        return choices[0]
    return choices


def _form_school(session: Session, subject: AuthSubject, form: FormData) -> School:
    school_id = form_id(form.get("school_id"))
    if school_id is None:
        raise Invalid("Choose the school.")
    return schools.get_school(session, subject, school_id)


def follow_up_state(earlier: Broadcast) -> dict[str, Any]:
    """The composer's audience and title for a follow-up to the same families."""
    audience = earlier.audience or {}
    return {
        "audience": "whole_school" if audience.get("whole_school") else "groups",
        "grades": list(audience.get("grades") or []),
        "sections": [str(s) for s in audience.get("section_ids") or []],
        "languages": list(audience.get("languages") or []),
        "channels": list(audience.get("channels") or []),
        "title": f"Follow-up: {earlier.title}"[:200] if earlier.title else "",
    }


@router.get("/broadcasts/new")
def broadcast_new(
    request: Request,
    session: SessionDep,
    viewer: OfficeViewer,
    school_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    template: Annotated[str, Query(max_length=64)] = "",
    follow_up: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    lang = request_language(request)
    earlier = broadcasts.get(session, viewer.subject, follow_up) if follow_up else None
    if earlier is not None:
        school_id = earlier.school_id
    school = _school_for(session, viewer.subject, school_id)
    if isinstance(school, list):
        return render(request, "office/broadcast_school.html", {"schools": school})
    state = blank_state(school)
    if template_fields(template)["template"] is not None:
        state["template"] = template
    if earlier is not None:  # a follow-up: the same families, previewed like any broadcast
        state |= follow_up_state(earlier)
    context = _compose_context(session, viewer.subject, school, state, lang)
    return render(request, "office/compose.html", context)


@router.get("/broadcasts/new/fields")
def broadcast_template_fields(
    request: Request,
    viewer: OfficeViewer,
    template: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """The fields of the chosen template (or the free-text box), swapped in by htmx."""
    state = {"template": template, "params": {}, "body": ""}
    context = {"state": state, "max_body": MAX_BODY, **template_fields(template)}
    return render(request, "office/_content_fields.html", context)


@router.get("/broadcasts/preview/stale")
def broadcast_preview_stale(request: Request, viewer: OfficeViewer) -> Response:
    """What the preview area says once the form changes: preview again before sending."""
    return render(request, "office/_preview_stale.html")


def _chosen_files(form: FormData) -> list[tuple[str, str | None, bytes]]:
    return [
        (item.filename, item.content_type, item.file.read(attachments.read_limit()))
        for item in form.getlist("attachments")[: attachment_files.MAX_PER_MESSAGE]
        if isinstance(item, UploadFile) and item.filename
    ]


@router.post("/broadcasts/preview")
def broadcast_preview(
    request: Request, session: SessionDep, viewer: OfficeViewer, form: FormDep
) -> Response:
    """Who gets what, in which language, at what cost, and who cannot be reached; saves
    nothing. htmx gets the preview alone, a plain form post the whole page around it."""
    lang = request_language(request)
    school = _form_school(session, viewer.subject, form)
    state = state_from_form(form, school)
    error, preview, draft = None, None, None
    try:
        # A preview refused half-way leaves nothing behind (translations it cached).
        with all_or_nothing(session):
            draft = draft_from_state(state, school)
            if draft.language is None and draft.body:
                # Written in the language the text is in, not the office's pages' language:
                # the draft the confirm form carries says which, as the preview shows it.
                draft.language = translation.written_language(
                    draft.body, viewer.subject.ui_language
                )
            # The chosen photos and PDFs are stored now (every one checked first), and the
            # draft the confirm form carries names them.
            chosen = _chosen_files(form)
            for name, kind, data in chosen:
                attachment_files.clean(name, kind, data)
            draft.attachment_ids = [
                attachments.upload(session, viewer.subject, name, kind, data).id
                for name, kind, data in chosen
            ]
            preview = broadcasts.preview(session, viewer.subject, draft)
    except attachment_files.Refused as exc:
        error = translate(request, exc.msgid, **exc.values)
    except HearthError as exc:
        error = translate(request, exc.message)
    context = {
        "preview": preview,
        "draft_json": draft.model_dump_json() if draft else "",
        "scheduled": draft is not None and draft.scheduled_at is not None,
        "urgent": draft is not None and draft.urgent,
        "error": error,
        "fmt": Formats(lang, school.timezone),
        "school": school,
        "written_in": language_label(draft.language, lang) if draft and draft.language else "",
        "written_detected": not state["language"],
    }
    status = 422 if error else 200
    if "hx-request" in request.headers:
        return render(request, "office/_preview.html", context, status_code=status)
    full = _compose_context(session, viewer.subject, school, state, lang)
    return render(request, "office/compose.html", {**full, **context}, status_code=status)


@router.post("/broadcasts")
def broadcast_create(
    request: Request, session: SessionDep, viewer: OfficeViewer, form: FormDep
) -> Response:
    """Sends exactly the draft that was previewed: the preview's confirm form carries it."""
    raw = form.get("draft")
    try:
        if not isinstance(raw, str) or not raw:
            raise Invalid("Preview the broadcast first, then confirm it.")
        try:
            draft = BroadcastDraft.model_validate_json(raw)
        except ValidationError as exc:
            raise Invalid(validation_message(exc)) from None
    except HearthError as exc:
        return render(
            request,
            "error.html",
            {"status": 422, "message": translate(request, exc.message)},
            status_code=422,
        )
    school = schools.get_school(session, viewer.subject, draft.school_id)
    try:
        with all_or_nothing(session):
            if draft.scheduled_at is not None:
                check_not_past(draft.scheduled_at, school)
            broadcast = broadcasts.create(session, viewer.subject, draft)
    except HearthError as exc:
        lang = request_language(request)
        state = state_from_draft(draft, school)
        context = _compose_context(session, viewer.subject, school, state, lang)
        context["error"] = translate(request, exc.message)
        return render(request, "office/compose.html", context, status_code=exc.status_code)
    return RedirectResponse(f"/broadcasts/{broadcast.id}?created=1", status_code=303)


# The report --------------------------------------------------------------------------------


def _replies(session: Session, subject: AuthSubject, broadcast: Broadcast) -> list[dict[str, Any]]:
    """The families' replies in the broadcast's thread, newest first, in the viewer's language."""
    if broadcast.thread_id is None:
        return []
    thread = messaging.get_thread(session, subject, broadcast.thread_id)
    rows = read_replies(session, thread.id)
    ids = {m.author_guardian_id for m in rows if m.author_guardian_id}
    names = {
        g.id: full_name(g)
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
        # Sent out, its deliveries still going: "Sending" until they are all through.
        "shown_status": "sending" if broadcast.status == "sent" and waiting else broadcast.status,
        # What families got, per language (the text each language's deliveries carried).
        "texts": sorted(
            (code, text)
            for code, (status, text) in (
                messaging.translated_texts(session, broadcast.message_id)
                if broadcast.message_id
                else {}
            ).items()
            if text and status in ("translated", "same_language")
        ),
        # Still moving: the page keeps its counts up to date until nothing is left to send.
        "live": broadcast.status in ("scheduled", "sending") or waiting > 0,
        # Scheduled for now: the worker is about to send it, it is not waiting for a time.
        "due": broadcast.scheduled_at <= utcnow() + timedelta(seconds=30),
        "fmt": Formats(request_language(request), school.timezone),
    }


@router.get("/broadcasts/{broadcast_id}")
def broadcast_report(
    request: Request, session: SessionDep, viewer: OfficeViewer, broadcast_id: Id
) -> Response:
    context = _report_context(request, session, viewer.subject, broadcast_id)
    if request.headers.get("hx-target") == "broadcast-live":
        return render(request, "office/_broadcast_live.html", context)
    context["replies"] = _replies(session, viewer.subject, context["broadcast"])
    context["call_list"] = broadcasts.call_list(session, context["broadcast"])
    return render(request, "office/broadcast.html", context)


@router.post("/broadcasts/{broadcast_id}/cancel")
def broadcast_cancel(session: SessionDep, viewer: OfficeViewer, broadcast_id: Id) -> Response:
    broadcasts.cancel(session, viewer.subject, broadcast_id)
    return RedirectResponse(f"/broadcasts/{broadcast_id}?canceled=1", status_code=303)


@router.get("/broadcasts/{broadcast_id}/report.csv")
def broadcast_report_csv(session: SessionDep, viewer: OfficeViewer, broadcast_id: Id) -> Response:
    name, body = broadcasts.export_csv(session, viewer.subject, broadcast_id)
    return csv_download(name, body)
