"""Threads and messages between staff and families."""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, selectinload

from app.audit import service as audit
from app.auth.service import AuthSubject
from app.core.bulk import insert_rows
from app.core.db import utcnow
from app.core.errors import Conflict, Invalid, NotFound
from app.core.languages import mt_code
from app.core.queue import enqueue_job
from app.delivery import attachments
from app.delivery import service as delivery
from app.delivery.models import Attachment
from app.delivery.service import Recipient
from app.messaging import family_links, reading, translations
from app.messaging.interpretation import FALLBACK, NO_ROUTE, REQUESTED, open_task
from app.messaging.models import Message, MessageTranslation, Thread, ThreadGuardian
from app.messaging.recipients import recipient_of
from app.messaging.replies import is_broadcast_thread
from app.messaging.schemas import MessageCreate, ThreadCreate, ThreadUpdate
from app.messaging.tokens import reply_address
from app.messaging.translations import PreparedTranslation
from app.people import service as people
from app.people.models import Guardian, Staff, Student, StudentGuardian
from app.schools import senders
from app.schools.models import School
from app.translation import service as translation
from app.translation.protect import Protection


def readable_threads(subject: AuthSubject) -> Select[Thread]:
    stmt = select(Thread).options(selectinload(Thread.guardian_links))
    if subject.school_ids is not None:
        stmt = stmt.where(Thread.school_id.in_(subject.school_ids))
    if subject.is_teacher:
        stmt = stmt.where(
            or_(
                Thread.owner_staff_id == (subject.staff_id or 0),
                Thread.student_id.in_(people.teacher_student_ids(subject.staff_id or 0)),
            )
        )
    return stmt


def thread_filters(
    stmt: Select[Any],
    *,
    school_id: int | None = None,
    student_id: int | None = None,
    guardian_id: int | None = None,
    status: str | None = None,
    q: str | None = None,
) -> Select[Any]:
    if school_id is not None:
        stmt = stmt.where(Thread.school_id == school_id)
    if student_id is not None:
        stmt = stmt.where(Thread.student_id == student_id)
    if guardian_id is not None:
        stmt = stmt.where(
            Thread.id.in_(
                select(ThreadGuardian.thread_id).where(ThreadGuardian.guardian_id == guardian_id)
            )
        )
    if status:
        stmt = stmt.where(Thread.status == status)
    if q:
        stmt = stmt.where(Thread.subject.ilike(f"%{q}%"))
    return stmt.order_by(Thread.last_activity_at.desc(), Thread.id.desc())


def get_thread(
    session: Session, subject: AuthSubject, thread_id: int, with_messages: bool = False
) -> Thread:
    stmt = readable_threads(subject).where(Thread.id == thread_id)
    if with_messages:
        stmt = stmt.options(
            selectinload(Thread.messages).selectinload(Message.translations),
            selectinload(Thread.messages).selectinload(Message.deliveries),
            selectinload(Thread.messages).selectinload(Message.seen),
        )
        # Its messages as they are now, even where this session read the thread before.
        stmt = stmt.execution_options(populate_existing=True)

    thread = session.scalar(stmt)
    if thread is None:
        raise NotFound("No such thread.")
    return thread


def create_thread(session: Session, subject: AuthSubject, data: ThreadCreate) -> Thread:
    guardian_ids = sorted(set(data.guardian_ids))
    guardians = list(
        session.scalars(people.readable_guardians(subject).where(Guardian.id.in_(guardian_ids)))
    )
    found = {g.id for g in guardians}
    missing = [g for g in guardian_ids if g not in found]
    if missing:
        raise NotFound(f"No such guardian: {missing[0]}.")
    schools_of_guardians = set(
        session.scalars(
            select(Student.school_id)
            .join(StudentGuardian, StudentGuardian.student_id == Student.id)
            .where(StudentGuardian.guardian_id.in_(guardian_ids))
        )
    )
    if data.student_id is not None:
        student = people.get_student(session, subject, data.student_id)
        family = set(
            session.scalars(
                select(StudentGuardian.guardian_id).where(StudentGuardian.student_id == student.id)
            )
        )
        strangers = [g for g in guardian_ids if g not in family]
        if strangers:
            raise Invalid(f"Guardian {strangers[0]} is not in this student's family.")
        school_id = student.school_id
    elif data.school_id is not None:
        school_id = data.school_id
    elif len(schools_of_guardians) == 1:
        school_id = next(iter(schools_of_guardians))
    else:
        raise Invalid("Say which school this thread belongs to: give student_id or school_id.")
    if data.school_id is not None and data.school_id != school_id:
        raise Invalid("school_id does not match the student's school.")
    subject.require_school(school_id)
    if session.get(School, school_id) is None:
        raise NotFound("No such school.")
    thread = Thread(
        school_id=school_id,
        owner_staff_id=subject.staff_id,
        student_id=data.student_id,
        subject=data.subject,
        guardian_links=[ThreadGuardian(guardian_id=g) for g in guardian_ids],
    )
    session.add(thread)
    session.flush()
    audit.record(session, subject.actor, "thread.create", "thread", thread.id, school_id=school_id)
    session.flush()
    return thread


def update_thread(
    session: Session, subject: AuthSubject, thread_id: int, data: ThreadUpdate
) -> Thread:
    thread = get_thread(session, subject, thread_id)
    changes = data.model_dump(exclude_unset=True)
    if any(v is None for v in changes.values()):
        raise Invalid("Thread fields cannot be set to null.")
    for name, value in changes.items():
        setattr(thread, name, value)
    audit.record(
        session,
        subject.actor,
        "thread.update",
        "thread",
        thread.id,
        school_id=thread.school_id,
        details={"fields": sorted(changes)},
    )
    session.flush()
    return thread


def mark_answered(session: Session, subject: AuthSubject, thread_id: int) -> Thread:
    """A staff member's "Mark as answered": the thread's replies so far need no answer."""
    thread = get_thread(session, subject, thread_id)
    reading.mark_answered(session, subject, thread)
    audit.record(
        session, subject.actor, "thread.answered", "thread", thread.id, school_id=thread.school_id
    )
    session.flush()
    return thread


def take_over(session: Session, subject: AuthSubject, thread_id: int) -> Thread:
    """The caller becomes the owner of a thread they can see: its replies reach them."""
    thread = get_thread(session, subject, thread_id)
    if subject.staff_id is None:
        raise Invalid("Only a staff member can take a conversation over.")
    if is_broadcast_thread(session, thread.id):
        raise Conflict("A broadcast's thread is not a conversation: take over a family's reply.")
    previous = thread.owner_staff_id
    thread.owner_staff_id = subject.staff_id
    audit.record(
        session,
        subject.actor,
        "thread.take_over",
        "thread",
        thread.id,
        school_id=thread.school_id,
        details={"from": previous, "to": subject.staff_id},
    )
    session.flush()
    return thread


def move_reply(
    session: Session, subject: AuthSubject, message_id: int, target_thread_id: int
) -> Message:
    """Moves a family's reply to the thread it belongs to: both threads the caller's to see,
    at one school, the family in the target, which is no broadcast's thread."""
    message = session.get(Message, message_id)
    if message is None:
        raise NotFound("No such message.")
    try:
        source = get_thread(session, subject, message.thread_id)
    except NotFound:
        raise NotFound("No such message.") from None
    if message.direction != "inbound":
        raise Invalid("Only a family's reply can be moved.")
    target = get_thread(session, subject, target_thread_id)
    if target.id == source.id:
        raise Invalid("The reply is already in this thread.")
    if target.school_id != source.school_id:
        raise Invalid("That thread belongs to another school.")
    if is_broadcast_thread(session, target.id):
        raise Conflict("A broadcast's thread is not a conversation: choose a family's thread.")
    if message.author_guardian_id and message.author_guardian_id not in target.guardian_ids:
        raise Invalid("The family who wrote this reply is not in that thread.")
    message.thread_id = target.id
    target.last_activity_at = max(target.last_activity_at, message.created_at)
    target.status = "open"
    audit.record(
        session,
        subject.actor,
        "message.move",
        "message",
        message.id,
        school_id=target.school_id,
        details={"from_thread_id": source.id, "to_thread_id": target.id},
    )
    session.flush()
    return get_message(session, message.id)


def move_choices(
    session: Session, subject: AuthSubject, message: Message, limit: int = 10
) -> list[Thread]:
    """Where a family's reply could be moved: the family's other threads the caller can see,
    newest first, never a broadcast's."""
    if message.direction != "inbound" or message.author_guardian_id is None:
        return []
    stmt = thread_filters(readable_threads(subject), guardian_id=message.author_guardian_id)
    stmt = stmt.where(
        Thread.id != message.thread_id,
        ~select(Message.id)
        .where(Message.thread_id == Thread.id, Message.kind == "broadcast")
        .exists(),
    )
    return list(session.scalars(stmt.limit(limit)))


def author_language(session: Session, subject: AuthSubject, thread: Thread) -> str:
    if subject.staff_id is not None:
        return subject.ui_language
    school = session.get(School, thread.school_id)
    return school.default_language if school else "en"


def uploader(subject: AuthSubject) -> str:
    """Whose an uploaded attachment is: the staff member's (from any of their keys or their
    session), else the key's."""
    return f"staff:{subject.staff_id}" if subject.staff_id is not None else subject.actor


def post_message(
    session: Session,
    subject: AuthSubject,
    thread_id: int,
    data: MessageCreate,
    prepared: Mapping[str, PreparedTranslation] | None = None,
    on_posted: Callable[[Message, Thread], None] | None = None,
) -> Message:
    """Stores an outbound note exactly as written, with one translation row per distinct
    language of the thread's families; the translation job runs after the commit. `prepared`:
    texts already made for some languages (a notice template from its human catalogs), by MT
    code; only the other languages are machine-translated. `on_posted`: called once the
    message has its id, before its texts are written (a question asked with it)."""
    thread = get_thread(session, subject, thread_id)
    if is_broadcast_thread(session, thread.id):
        raise Conflict(
            "This is a broadcast's thread: a note here would text every family it went to. "
            "Answer a family in its own thread, or send a follow-up broadcast."
        )
    recipients = list(
        session.scalars(
            select(Guardian)
            .join(ThreadGuardian, ThreadGuardian.guardian_id == Guardian.id)
            .where(ThreadGuardian.thread_id == thread.id, Guardian.active.is_(True))
        )
    )
    language = data.language or author_language(session, subject, thread)
    translation.refuse_test_models(language, {g.language for g in recipients})
    message = Message(
        thread_id=thread.id,
        direction="outbound",
        kind="note",
        author_staff_id=subject.staff_id,
        body=data.body,
        language=language,
    )
    session.add(message)
    thread.last_activity_at = utcnow()
    thread.status = "open"
    session.flush()
    files = attachments.attach(
        session, data.attachment_ids, uploader(subject), message.id, thread.school_id
    )
    if on_posted is not None:
        on_posted(message, thread)
    reading.answered(session, subject, thread, message.id)

    school = session.get(School, thread.school_id)
    assert school is not None
    prepared = {
        code: t
        for code, t in (prepared or {}).items()
        if code in {mt_code(g.language) for g in recipients} and code != mt_code(message.language)
    }
    pending = translations.plan_translations(
        session,
        message.id,
        message.language,
        {g.language for g in recipients if mt_code(g.language) not in prepared},
    )
    translations.add_prepared(session, message.id, prepared)
    session.flush()
    texts = translations.texts_for_delivery(session, message.id)
    numbers = senders.senders_for(
        session, school, [g.id for g in recipients], thread.owner_staff_id
    )
    delivery.plan_many(
        session,
        message_id=message.id,
        school=school,
        recipients=[recipient_of(g) for g in recipients],
        texts=texts,
        urgent=data.urgent,
        email_subject=thread.subject or None,
        reply_to=reply_address(thread.id),
        sms_senders=numbers,
        sms_text=family_links.linker(
            session,
            school.family_link,
            phones={g.id: g.phone for g in recipients},
            files=files,
            mms_images=school.mms_images,
        ),
    )
    if data.ask_interpreter:
        for code in sorted(pending):
            open_task(
                session,
                message,
                school,
                language=code,
                family_language=code,
                reason=REQUESTED,
                requested_by=subject.staff_id,
            )
    enqueue_job(session, "messaging.prepare", message.id)
    audit.record(
        session,
        subject.actor,
        "message.create",
        "message",
        message.id,
        school_id=thread.school_id,
        details={"thread_id": thread.id},
    )
    session.flush()
    return get_message(session, message.id)


def post_broadcast(
    session: Session,
    *,
    school: School,
    author_staff_id: int | None,
    subject: str,
    body: str,
    language: str,
    recipients: list[Recipient],
    translated: Mapping[str, PreparedTranslation],
    urgent: bool,
    family_link: bool = True,
    files: Sequence[Attachment] = (),
) -> tuple[int, int, list[int]]:
    """A broadcast posted: its own thread with every family in it, the message as the author
    sees it, its translations (rendered beforehand, once per language) and every delivery, in
    a few bulk INSERTs. Returns (thread id, message id, the delivery ids ready to send).
    `family_link`: its texts may carry the family's link to the family page (by the school's
    policy); not a question's, whose text ends with how to answer it. `files`: the photos and
    PDFs it carries (the link to them, or its one photo as MMS)."""
    thread = Thread(school_id=school.id, owner_staff_id=author_staff_id, subject=subject)
    session.add(thread)
    session.flush()
    message = Message(
        thread_id=thread.id,
        direction="outbound",
        kind="broadcast",
        author_staff_id=author_staff_id,
        body=body,
        language=language,
    )
    session.add(message)
    session.flush()
    insert_rows(
        session,
        ThreadGuardian,
        [{"thread_id": thread.id, "guardian_id": r.guardian_id} for r in recipients],
    )
    rows = {
        code: MessageTranslation(
            message_id=message.id,
            language=code,
            status=t.status,
            text=t.text,
            reason=t.reason,
            engine=t.engine,
            **translations.judged(t.origin, t.quality, t.test_model),
        )
        for code, t in translated.items()
    }
    session.add_all(rows.values())
    unreached = [(row, NO_ROUTE) for row in rows.values() if row.status == "unavailable"]
    if unreached:
        own = translated.get(mt_code(school.default_language))
        translations.serve_unreached(
            session, message, unreached, urgent=urgent, school_text=own.text if own else None
        )
    ready = delivery.plan_many(
        session,
        message_id=message.id,
        school=school,
        recipients=recipients,
        texts={code: translations.for_delivery(r.status, r.text) for code, r in rows.items()},
        urgent=urgent,
        email_subject=thread.subject or None,
        reply_to=reply_address(thread.id),
        sms_text=family_links.linker(
            session,
            school.family_link if family_link else "never",
            {code for code, r in rows.items() if r.status == FALLBACK},
            phones={r.guardian_id: r.phone for r in recipients},
            files=files,
            mms_images=school.mms_images,
        ),
    )
    return thread.id, message.id, ready


def get_message(session: Session, message_id: int) -> Message:
    return session.scalars(
        select(Message)
        .where(Message.id == message_id)
        .options(
            selectinload(Message.translations),
            selectinload(Message.deliveries),
            selectinload(Message.seen),
        )
        .execution_options(populate_existing=True)
    ).one()


def translated_texts(session: Session, message_id: int) -> dict[str, tuple[str, str | None]]:
    """language → (translation status, text) of a message, as the pages show it."""
    return {
        t.language: (t.status, t.text)
        for t in session.scalars(
            select(MessageTranslation).where(MessageTranslation.message_id == message_id)
        )
    }


def protection_for(session: Session, message_id: int) -> Protection:
    """What translation must keep intact in this message: the names of the people in its
    thread, and the school's glossary."""
    message = session.get(Message, message_id)
    if message is None:
        return Protection()
    thread = session.get(Thread, message.thread_id)
    if thread is None:
        return Protection()
    people: list[Guardian | Student] = list(
        session.scalars(
            select(Guardian)
            .join(ThreadGuardian, ThreadGuardian.guardian_id == Guardian.id)
            .where(ThreadGuardian.thread_id == thread.id)
        )
    )
    if thread.student_id is not None:
        student = session.get(Student, thread.student_id)
        if student is not None:
            people.append(student)
    staff = [
        member
        for staff_id in {thread.owner_staff_id, message.author_staff_id} - {None}
        if (member := session.get(Staff, staff_id)) is not None
    ]
    return people_protection(session, thread.school_id, people, staff)


def people_protection(
    session: Session, school_id: int, people: list[Guardian | Student], staff: list[Staff]
) -> Protection:
    """Names kept as written (full, given and family; staff names word by word) and the
    school's glossary: for a message being sent, or one being previewed."""
    names: list[str] = []
    for person in people:
        given, family = person.given_name, person.family_name
        names += [f"{given} {family}", given, family]
    for member in staff:
        names += [member.name, *member.name.split()]
    return Protection(
        names=[n for n in names if len(n) > 1],
        glossary=translation.glossary(session, school_id),
    )
