"""One thread: every message with its translations and deliveries, the family it is with, and
the reply form with its live preview."""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.dependencies import Viewer
from app.broadcasts import service as broadcasts
from app.core.db import SessionDep, all_or_nothing, utcnow
from app.core.errors import HearthError, NotFound
from app.core.languages import mt_code
from app.core.schema import Id
from app.delivery.models import REACHED, DeliveryStatus
from app.messaging import attachments, interpreting, reading, replies
from app.messaging import family as family_page
from app.messaging import service as messaging
from app.messaging.models import Thread, ThreadGuardian
from app.messaging.replies import is_broadcast_thread
from app.messaging.router import file_response
from app.messaging.schemas import MessageCreate
from app.messaging.translations import WAITING
from app.people.models import Guardian, Staff, Student
from app.questions import service as questions
from app.schools.models import School
from app.web.formatting import (
    CHANNEL_LABELS,
    full_name,
    known_languages,
    language_name,
    status,
    viewer_language,
    when,
)
from app.web.pages import PAGE_HEADERS, form_id, render, translate
from app.web.teacher.notes import (
    NoteFormDep,
    note_language,
    note_problems,
    note_protection,
    preview_response,
    refusal,
    store_chosen,
)

router = APIRouter(include_in_schema=False)

# A broadcast thread may reach thousands of families: name a few, count the rest.
NAMED_GUARDIANS = 6
DELIVERY_ROWS = 100
PREVIEW_GUARDIANS = 500
# How the page polls its messages: often while something is on its way, slowly for replies.
FAST_POLL = "every 2s"
SLOW_POLL = "every 20s"
RECENT_MESSAGES = 20
SOON = timedelta(minutes=1)
SETTLING = timedelta(minutes=10)  # how long a text's delivery report may take to come


def _thread_or_404(session: Session, viewer: Viewer, raw_id: str, with_messages: bool) -> Thread:
    thread_id = form_id(raw_id)
    if thread_id is None:
        raise NotFound("No such thread.")
    return messaging.get_thread(session, viewer.subject, thread_id, with_messages=with_messages)


# What the page reads besides the thread itself, read here until messaging offers a thread's
# details (and its preview readers) as one read.


@dataclass
class ThreadPeople:
    zone: str
    student: Student | None
    guardians: dict[int, Guardian]
    staff_names: dict[int, str]


def read_thread_people(session: Session, thread: Thread) -> ThreadPeople:
    """The school's timezone, the student, every guardian the thread shows (members, authors,
    recipients of the deliveries listed) and the staff who wrote in it."""
    school = session.get(School, thread.school_id)
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
    return ThreadPeople(school.timezone if school else "UTC", student, guardians, staff)


def read_preview_readers(session: Session, thread: Thread) -> tuple[Student | None, list[Guardian]]:
    """The thread's student and its active guardians: who a reply's preview is for."""
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
    return student, guardians


# The page ----------------------------------------------------------------------------------


def _translation_view(row: Any, ui: str) -> dict[str, Any]:
    return {
        "language": row.language,
        "name": language_name(row.language, ui),
        "status": row.status,
        "text": row.text,
        "engine": row.engine,
        "reason": row.reason,
        "may_be_wrong": row.may_be_wrong,
        "test_model": row.test_model,
    }


def _message_view(
    request: Request,
    m: Any,
    people: ThreadPeople,
    ui: str,
    reader: str,
    moves: list[Thread],
    seen: list[tuple[Guardian, datetime]] | None = None,
    asked: set[str] | None = None,
) -> dict[str, Any]:
    guardians, zone = people.guardians, people.zone
    if m.direction == "inbound":
        guardian = guardians.get(m.author_guardian_id) if m.author_guardian_id else None
        author = full_name(guardian) if guardian else translate(request, "Unknown number")
    else:
        author = people.staff_names.get(m.author_staff_id) or translate(request, "The school")
    translations = [_translation_view(t, ui) for t in m.translations]
    mine = next((t for t in translations if t["language"] == reader), None)
    # Deliveries still without a body whose language an interpreter is writing.
    interpreting = {t["language"] for t in translations if t["status"] == WAITING}

    def shown_status(d: Any) -> dict[str, str]:
        if d.status == DeliveryStatus.QUEUED and d.body is None and d.language in interpreting:
            return {"label": translate(request, "Waiting for an interpreter"), "tone": ""}
        return status(request, d.status, d.error_code)

    counts: dict[str, dict[str, Any]] = {}
    for d in m.deliveries:
        shown = shown_status(d)
        counts.setdefault(shown["label"], {**shown, "n": 0})["n"] += 1
    deliveries = [
        {
            "guardian": full_name(guardians[d.guardian_id])
            if d.guardian_id in guardians
            else f"#{d.guardian_id}",
            "channel": translate(request, CHANNEL_LABELS.get(d.channel, d.channel)),
            "address": d.address,
            "sender": d.sender if d.channel in ("sms", "voice") else None,
            "language": language_name(d.language, ui),
            "error": d.error_text
            if d.status not in REACHED or d.error_code == "voicemail"
            else None,
            "at": when(d.delivered_at or d.sent_at or d.updated_at, zone, ui),
            **shown_status(d),
        }
        for d in m.deliveries[:DELIVERY_ROWS]
    ]
    return {
        "id": m.id,
        "direction": m.direction,
        "kind": m.kind,
        "author": author,
        "body": m.body,
        "recording_url": m.recording_url,
        "recording_src": f"/threads/{m.thread_id}/messages/{m.id}/recording",
        "language": mt_code(m.language),
        "language_name": language_name(m.language, ui),
        "when": when(m.created_at, zone, ui),
        "when_iso": m.created_at.isoformat(),
        "translations": translations,
        "mine": mine,
        "others": [t for t in translations if t is not mine],
        # Languages an interpreter has been asked for and has not written yet.
        "asked": asked or set(),
        "deliveries": deliveries,
        "delivery_total": len(m.deliveries),
        "family_total": len({d.guardian_id for d in m.deliveries}),
        "delivery_counts": list(counts.values()),
        "moves": [{"id": t.id, "title": t.subject or f"#{t.id}"} for t in moves],
        # Who opened it on the family page (app/messaging/family.py), and when.
        "seen": [
            {"name": full_name(g), "when": when(at, zone, ui), "iso": at.isoformat()}
            for g, at in (seen or [])[:NAMED_GUARDIANS]
        ],
        "seen_total": len(seen or []),
        "attachments": list(m.attachments),
        # A family's MMS photos not (yet) attachments: arriving, refused, failed.
        "media_notes": [
            {"status": r.status, "reason": r.reason}
            for r in m.inbound_media
            if r.status != "stored"
        ],
    }


def _thread_view(
    request: Request, session: Session, viewer: Viewer, thread: Thread
) -> dict[str, Any]:
    ui = viewer_language(viewer)
    reader = mt_code(ui)
    people = read_thread_people(session, thread)
    guardians, student = people.guardians, people.student
    family = [
        {
            "name": full_name(g),
            "language": language_name(g.language, ui),
            "channels": [translate(request, CHANNEL_LABELS.get(c, c)) for c in g.channels],
            "active": g.active,
        }
        for g in sorted(
            (guardians[i] for i in thread.guardian_ids[:NAMED_GUARDIANS] if i in guardians),
            key=lambda g: (g.family_name, g.given_name),
        )
    ]
    broadcast = is_broadcast_thread(session, thread.id)
    # Where each family's reply could go instead (one read per family, not per message).
    moves: dict[int, list[Thread]] = {}
    for m in thread.messages:
        if m.direction == "inbound" and m.author_guardian_id not in moves:
            moves[m.author_guardian_id or 0] = messaging.move_choices(session, viewer.subject, m)
    state = reading.states(session, viewer.subject, [thread.id]).get(thread.id, {})
    outbound = [m.id for m in thread.messages if m.direction == "outbound"]
    seen = family_page.seen_by(session, outbound)
    open_tasks = interpreting.waiting(session, [m.id for m in thread.messages])
    # A note's question: its answers under it (a broadcast's are on the broadcast's page).
    asked = {} if broadcast else questions.on_messages(session, outbound)
    answers = {message_id: questions.tally(session, q) for message_id, q in asked.items()}
    return {
        "thread": thread,
        "poll": FAST_POLL if _on_its_way(thread) else SLOW_POLL,
        "needs_answer": state.get("needs_answer", False),
        "broadcast": broadcast,
        "broadcast_id": broadcasts.of_thread(session, thread.id) if broadcast else None,
        "notice": thread.notice_thread_id,
        "can_take_over": not broadcast
        and viewer.subject.staff_id is not None
        and thread.owner_staff_id != viewer.subject.staff_id,
        "title": thread.subject or (full_name(student) if student else ""),
        "student": full_name(student) if student else None,
        "family": family,
        "family_count": len(thread.guardian_ids),
        "answers": answers,
        "messages": [
            _message_view(
                request,
                m,
                people,
                ui,
                reader,
                moves.get(m.author_guardian_id or 0, []),
                seen.get(m.id),
                open_tasks.get(m.id),
            )
            for m in thread.messages
        ],
    }


def _reply_languages(session: Session, viewer: Viewer, chosen: str) -> dict[str, Any]:
    """The reply form's "Written in": detected from the text unless the teacher chooses."""
    ui = viewer_language(viewer)
    return {"chosen": chosen, "note_languages": known_languages(session, viewer.subject, ui)}


def _on_its_way(thread: Thread) -> bool:
    """Whether something the page shows is about to change: a translation being made, a
    delivery going out now, or a text sent a moment ago whose delivery report may follow."""
    now = utcnow()
    for m in thread.messages[-RECENT_MESSAGES:]:
        if any(t.status == "pending" for t in m.translations):
            return True
        if any(r.status == "pending" for r in m.inbound_media):  # a photo arriving by MMS
            return True
        for d in m.deliveries:
            if d.status == DeliveryStatus.SENDING or (
                d.status == DeliveryStatus.QUEUED
                and (d.next_attempt_at is None or d.next_attempt_at <= now + SOON)
            ):
                return True
            if (
                d.status == DeliveryStatus.SENT
                and d.channel == "sms"
                and (d.sent_at or now) > now - SETTLING
            ):
                return True
    return False


@router.get("/threads/{thread_id}")
def thread_page(request: Request, session: SessionDep, viewer: Viewer, thread_id: str) -> Response:
    thread = _thread_or_404(session, viewer, thread_id, with_messages=True)
    reading.mark_read(session, viewer.subject, thread.id)
    view = _thread_view(request, session, viewer, thread) | _reply_languages(session, viewer, "")
    _, view["shown"] = _messages_part(request, view)
    return render(request, "teacher/thread.html", view)


@router.get("/threads/{thread_id}/messages")
def thread_messages(
    request: Request, session: SessionDep, viewer: Viewer, thread_id: str
) -> Response:
    """The messages part of the page, as the page polls it (an open thread is a read one):
    204 and nothing to swap when it is what the page already shows (`shown`), so a poll
    neither moves the keyboard's focus nor closes what the reader opened."""
    thread = _thread_or_404(session, viewer, thread_id, with_messages=True)
    reading.mark_read(session, viewer.subject, thread.id)
    html, shown = _messages_part(request, _thread_view(request, session, viewer, thread))
    if request.query_params.get("shown") == shown:
        return Response(status_code=204, headers=PAGE_HEADERS)
    return HTMLResponse(html, headers=PAGE_HEADERS)


_SHOWN = "shown-digest"  # where the part's digest goes, computed over the rest of it


def _messages_part(request: Request, view: dict[str, Any]) -> tuple[str, str]:
    """The messages part as HTML, and a digest of it that the part itself carries."""
    html = bytes(render(request, "teacher/_messages.html", {**view, "shown": _SHOWN}).body)
    shown = hashlib.sha256(html).hexdigest()[:24]
    return html.decode().replace(_SHOWN, shown, 1), shown


@router.post("/threads/{thread_id}/answered")
def mark_answered(
    request: Request, session: SessionDep, viewer: Viewer, thread_id: str
) -> Response:
    thread = _thread_or_404(session, viewer, thread_id, with_messages=False)
    messaging.mark_answered(session, viewer.subject, thread.id)
    return RedirectResponse(f"/threads/{thread.id}", status_code=303)


@router.post("/threads/{thread_id}/reply")
def reply(
    request: Request, session: SessionDep, viewer: Viewer, thread_id: str, form: NoteFormDep
) -> Response:
    thread = _thread_or_404(session, viewer, thread_id, with_messages=False)
    errors = note_problems(request, form.body)
    if not errors:
        try:
            with all_or_nothing(session):  # a refused reply leaves no trace
                ids = store_chosen(session, viewer, form)
                student, guardians = read_preview_readers(session, thread)
                protection = note_protection(
                    session, thread.school_id, student, guardians, viewer.staff
                )
                message = messaging.post_message(
                    session,
                    viewer.subject,
                    thread.id,
                    MessageCreate(
                        body=form.body,
                        language=note_language(form.language, viewer, form.body, protection),
                        ask_interpreter=form.ask_interpreter,
                        attachment_ids=ids,
                    ),
                )
            return RedirectResponse(f"/threads/{thread.id}#m{message.id}", status_code=303)
        except HearthError as exc:
            errors = [refusal(request, exc)]
    thread = _thread_or_404(session, viewer, thread_id, with_messages=True)
    context = _thread_view(request, session, viewer, thread) | {
        "errors": errors,
        "body": form.body,
        **_reply_languages(session, viewer, form.language),
    }
    return render(request, "teacher/thread.html", context, status_code=422)


@router.post("/threads/{thread_id}/preview")
def reply_preview(
    request: Request, session: SessionDep, viewer: Viewer, thread_id: str, form: NoteFormDep
) -> Response:
    thread = _thread_or_404(session, viewer, thread_id, with_messages=False)
    student, guardians = read_preview_readers(session, thread)
    return preview_response(
        request,
        session,
        viewer,
        thread.school_id,
        student,
        guardians,
        form.body,
        form.language,
        form,
        thread=thread,
    )


@router.get("/attachments/{attachment_id}")
def attachment(session: SessionDep, viewer: Viewer, attachment_id: Id) -> Response:
    """A message's photo or PDF, for staff who may read its thread (others: not found)."""
    row = attachments.for_staff(session, viewer.subject, attachment_id)
    return file_response(row)


@router.get("/threads/{thread_id}/messages/{message_id}/recording")
def recording(session: SessionDep, viewer: Viewer, thread_id: str, message_id: Id) -> Response:
    """A reply left on a call, played from Hearth (for staff who may read its thread)."""
    thread = _thread_or_404(session, viewer, thread_id, with_messages=True)
    message = next((m for m in thread.messages if m.id == message_id), None)
    if message is None or not message.recording_url:
        raise NotFound("No such recording.")
    data, kind = replies.recording(message)
    return Response(data, media_type=kind, headers={"Cache-Control": "private, max-age=3600"})


@router.post("/threads/{thread_id}/take-over")
def take_over(session: SessionDep, viewer: Viewer, thread_id: str) -> Response:
    thread = _thread_or_404(session, viewer, thread_id, with_messages=False)
    messaging.take_over(session, viewer.subject, thread.id)
    return RedirectResponse(f"/threads/{thread.id}", status_code=303)


@router.post("/threads/{thread_id}/move")
def move_reply(
    session: SessionDep,
    viewer: Viewer,
    thread_id: str,
    message_id: Annotated[str, Form(max_length=20)] = "",
    to_thread_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Move a family's reply from this thread to the one it belongs to (the family's threads
    are offered)."""
    _thread_or_404(session, viewer, thread_id, with_messages=False)
    to, moved = form_id(to_thread_id), form_id(message_id)
    if to is None or moved is None:
        raise NotFound("Choose the thread to move the reply to.")
    messaging.move_reply(session, viewer.subject, moved, to)
    return RedirectResponse(f"/threads/{to}#m{moved}", status_code=303)
