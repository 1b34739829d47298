"""The inbox: the viewer's threads, those awaiting an answer first, each with its latest
message (in the viewer's language when it is a family's reply), how that went out, and who
it is with."""

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from app.auth.dependencies import Viewer
from app.core.db import SessionDep
from app.core.languages import mt_code
from app.core.pagination import Page, paginate
from app.delivery.models import Delivery
from app.messaging import reading
from app.messaging import service as messaging
from app.messaging.models import Message, Thread, ThreadGuardian
from app.people.models import Guardian, Staff, Student
from app.schools.models import School
from app.web.formatting import excerpt, full_name, language_name, status, viewer_language, when
from app.web.pages import form_id, render, translate

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
# A broadcast thread may reach thousands of families: name a few, count the rest.
NAMED_GUARDIANS = 6


# The inbox's filters: replies no staff member answered, the viewer's own conversations, all.
SHOWS = ("needs_answer", "mine", "all")


def inbox_statement(viewer: Viewer, show: str = "all") -> Any:
    """The viewer's readable threads (those `show` picks): those with a reply no staff member
    has answered first, then the most recent."""
    stmt = messaging.readable_threads(viewer.subject)
    if show == "needs_answer":
        stmt = stmt.where(reading.needs_answer())
    elif show == "mine":
        stmt = stmt.where(Thread.owner_staff_id == (viewer.subject.staff_id or 0))
    awaiting = case((reading.needs_answer(), 0), else_=1)
    return stmt.order_by(awaiting, Thread.last_activity_at.desc(), Thread.id.desc())


@dataclass
class InboxData:
    """What the inbox shows of a page of threads, by thread id."""

    last: dict[int, Message] = field(default_factory=dict)
    # (status, error code, count) of the deliveries of the latest note sent
    statuses: dict[int, list[tuple[str, str | None, int]]] = field(default_factory=dict)
    family: dict[int, list[Guardian]] = field(default_factory=dict)
    languages: dict[int, list[str]] = field(default_factory=dict)
    students: dict[int, Student] = field(default_factory=dict)
    zones: dict[int, str] = field(default_factory=dict)
    # what is new to the viewer and what needs an answer (app/messaging/reading.py)
    states: dict[int, dict[str, bool]] = field(default_factory=dict)
    authors: dict[int, str] = field(default_factory=dict)  # staff id → name


def read_inbox(session: Session, viewer: Viewer, threads: list[Thread]) -> InboxData:
    """The queries behind the inbox rows (messages, deliveries, thread members), read here
    until messaging offers them as one read."""
    data = InboxData(states=reading.states(session, viewer.subject, [t.id for t in threads]))
    ids = [t.id for t in threads]
    last_ids = (
        select(func.max(Message.id)).where(Message.thread_id.in_(ids)).group_by(Message.thread_id)
    )
    data.last = {
        m.thread_id: m
        for m in session.scalars(
            select(Message)
            .where(Message.id.in_(last_ids))
            .options(selectinload(Message.translations))
        )
    }
    author_ids = {m.author_staff_id for m in data.last.values() if m.author_staff_id}
    data.authors = dict(
        session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(author_ids))).all()
    )
    last_outbound = (
        select(func.max(Message.id))
        .where(Message.thread_id.in_(ids), Message.direction == "outbound")
        .group_by(Message.thread_id)
    )
    for thread_id, value, code, count in session.execute(
        select(Message.thread_id, Delivery.status, Delivery.error_code, func.count())
        .join(Message, Message.id == Delivery.message_id)
        .where(Delivery.message_id.in_(last_outbound))
        .group_by(Message.thread_id, Delivery.status, Delivery.error_code)
        .order_by(Message.thread_id, Delivery.status)
    ):
        data.statuses.setdefault(thread_id, []).append((value, code, count))
    small = [t.id for t in threads if len(t.guardian_links) <= NAMED_GUARDIANS]
    for thread_id, guardian in session.execute(
        select(ThreadGuardian.thread_id, Guardian)
        .join(Guardian, Guardian.id == ThreadGuardian.guardian_id)
        .where(ThreadGuardian.thread_id.in_(small))
        .order_by(Guardian.family_name, Guardian.given_name, Guardian.id)
    ):
        data.family.setdefault(thread_id, []).append(guardian)
    for thread_id, tag in session.execute(
        select(ThreadGuardian.thread_id, Guardian.language)
        .join(Guardian, Guardian.id == ThreadGuardian.guardian_id)
        .where(ThreadGuardian.thread_id.in_(ids))
        .distinct()
        .order_by(ThreadGuardian.thread_id, Guardian.language)
    ):
        data.languages.setdefault(thread_id, []).append(tag)
    student_ids = {t.student_id for t in threads if t.student_id}
    data.students = {
        s.id: s for s in session.scalars(select(Student).where(Student.id.in_(student_ids)))
    }
    data.zones = dict(
        session.execute(
            select(School.id, School.timezone).where(School.id.in_({t.school_id for t in threads}))
        ).all()
    )
    return data


def _preview(message: Message, reader: str) -> tuple[str, bool, bool]:
    """The latest message's text, whether it is the viewer's translation of a reply, and
    whether that machine translation may be wrong."""
    if message.direction == "inbound":
        for tr in message.translations:
            if tr.language == reader and tr.status == "translated" and tr.text:
                return tr.text, True, tr.may_be_wrong
    return message.body, False, False


def _author(request: Request, viewer: Viewer, message: Message, data: InboxData) -> str:
    """Who wrote the latest message, as its row names them: "You" only for one's own."""
    if message.direction == "inbound":
        return translate(request, "Family:")
    if message.author_staff_id is not None and message.author_staff_id == viewer.subject.staff_id:
        return translate(request, "You:")
    name = data.authors.get(message.author_staff_id or 0) or translate(request, "The school")
    return translate(request, "%(name)s:", name=name)


def _inbox_rows(
    request: Request, session: Session, viewer: Viewer, threads: list[Thread], ui: str
) -> list[dict[str, Any]]:
    if not threads:
        return []
    data = read_inbox(session, viewer, threads)
    reader = mt_code(ui)
    rows = []
    for t in threads:
        message = data.last.get(t.id)
        preview, translated, may_be_wrong = (
            _preview(message, reader) if message is not None else ("", False, False)
        )
        if message is not None and message.recording_url:  # a reply left on a call: no text
            preview = translate(request, "A reply left on the school's call:")
        elif (
            message is not None
            and message.direction == "inbound"
            and not message.body
            and (message.attachments or message.inbound_media)
        ):
            preview = translate(request, "A photo from the family")  # only a photo, no words
        student = data.students.get(t.student_id) if t.student_id else None
        family = data.family.get(t.id)
        rows.append(
            {
                "id": t.id,
                "subject": t.subject,
                "notice": t.notice_thread_id is not None,  # a family's reply to a broadcast
                "student": full_name(student) if student else None,
                "family": [full_name(g) for g in family] if family else None,
                "family_count": len(t.guardian_links),
                "languages": [language_name(tag, ui) for tag in data.languages.get(t.id, [])],
                "preview": excerpt(preview) if preview else "",
                "direction": message.direction if message else None,
                "author": _author(request, viewer, message, data) if message else "",
                "translated": translated,
                "may_be_wrong": may_be_wrong,
                "statuses": [
                    {**status(request, value, code), "n": count}
                    for value, code, count in data.statuses.get(t.id, [])
                ],
                "when": when(t.last_activity_at, data.zones.get(t.school_id, "UTC"), ui),
                "when_iso": t.last_activity_at.isoformat(),
                "awaiting": data.states.get(t.id, {}).get("needs_answer", False),
                "new": data.states.get(t.id, {}).get("unread", False),
                "archived": t.status == "archived",
            }
        )
    return rows


@router.get("/inbox")
def inbox(
    request: Request, session: SessionDep, viewer: Viewer, page: str = "1", show: str = "all"
) -> Response:
    number = min(form_id(page) or 1, 100_000)
    show = show if show in SHOWS else "all"
    threads, total = paginate(
        session,
        inbox_statement(viewer, show),
        Page(limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE),
    )
    rows = _inbox_rows(request, session, viewer, threads, viewer_language(viewer))
    return render(
        request,
        "teacher/inbox.html",
        {
            "rows": rows,
            "total": total,
            "page": number,
            "more": number * PAGE_SIZE < total,
            "awaiting": sum(1 for r in rows if r["awaiting"]),
            "show": show,
        },
    )
