"""Conference booking: a teacher's times, made in bulk from a day and a span, offered to the
families of their students by text in each family's language ("Reply with the number of a
time: 1. Tue, Dec 15, 3:00 PM …"), booked by a reply with the number.

A booking is the family's current answer to the invitation's question (app/questions): each
time is an option with one place, taken by a conditional UPDATE under a CHECK constraint, so
two families never get one time, however many answer at once; a family whose time was just
taken is offered the times still open. A reply with another number moves the booking; "0" or
"cancel the meeting" (the phrasebook's, in any language) cancels it. The day before, each
booked family is reminded (a scheduled job; opt-outs and quiet hours apply as to any text)."""

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.service import AuthSubject, load_staff, subject_for_staff
from app.broadcasts import service as broadcasts
from app.broadcasts.schemas import Audience
from app.conferences.models import Conference, ConferenceSlot
from app.conferences.schemas import MAX_SLOTS, ConferenceCreate
from app.core.db import utcnow
from app.core.errors import Forbidden, Invalid, NotFound
from app.core.languages import mt_code
from app.core.queue import enqueue_job
from app.messaging import identity
from app.messaging import service as messaging
from app.messaging.translations import PreparedTranslation
from app.people.models import Guardian, Staff, Student, StudentGuardian
from app.questions import service as questions
from app.questions import texts
from app.questions.models import Question
from app.questions.schemas import QuestionDraft
from app.schools import service as schools
from app.schools.models import Enrollment, School, Section

REMIND_BEFORE = timedelta(days=1)


# Who may do what -------------------------------------------------------------------------------


def readable(subject: AuthSubject):
    """A teacher sees their own conferences; office staff and admins those of their schools."""
    stmt = select(Conference)
    if subject.school_ids is not None:
        stmt = stmt.where(Conference.school_id.in_(subject.school_ids))
    if subject.is_teacher:
        stmt = stmt.where(Conference.teacher_staff_id == (subject.staff_id or 0))
    return stmt


def _teacher(session: Session, subject: AuthSubject, draft: ConferenceCreate) -> Staff:
    if subject.role == "interpreter":
        raise Forbidden("Interpreters do not publish conference times.")
    if subject.is_teacher:
        if draft.teacher_staff_id not in (None, subject.staff_id):
            raise Forbidden("A teacher publishes their own conference times.")
        staff_id = subject.staff_id or 0
    else:
        if draft.teacher_staff_id is None:
            raise Invalid("Name the teacher: teacher_staff_id.")
        staff_id = draft.teacher_staff_id
    teacher = load_staff(session, staff_id)
    if (
        teacher is None
        or not teacher.active
        or teacher.role != "teacher"
        or not any(subject.can_see_school(s) for s in teacher.school_ids)
    ):
        raise NotFound(f"No such teacher: {staff_id}.")
    return teacher


def _school(session: Session, subject: AuthSubject, teacher: Staff, school_id: int | None):
    ids = [s for s in teacher.school_ids if subject.can_see_school(s)]
    if school_id is not None:
        if school_id not in ids:
            raise NotFound("No such school.")
        ids = [school_id]
    if len(ids) != 1:
        raise Invalid("This teacher works at several schools: name the school (school_id).")
    school = session.get(School, ids[0])
    assert school is not None
    return school


# Publishing ------------------------------------------------------------------------------------


def slots_of(draft: ConferenceCreate, school: School) -> list[tuple[datetime, int, str]]:
    """(start, minutes, place) of every time the blocks make, in order: each block's day from
    its start, one every `minutes`, while a whole meeting fits before its end."""
    zone = ZoneInfo(school.timezone)
    found: list[tuple[datetime, int, str]] = []
    for block in draft.blocks:
        at = datetime.combine(block.day, block.start, tzinfo=zone)
        end = datetime.combine(block.day, block.end, tzinfo=zone)
        if at + timedelta(minutes=block.minutes) > end:
            raise Invalid(
                f"No {block.minutes}-minute meeting fits between {block.start:%H:%M} and "
                f"{block.end:%H:%M} on {block.day}."
            )
        while at + timedelta(minutes=block.minutes) <= end:
            found.append((at, block.minutes, block.place))
            at += timedelta(minutes=block.minutes)
    found.sort()
    if len({start for start, _, _ in found}) != len(found):
        raise Invalid("Two of these times start at the same moment: check the blocks.")
    if found[0][0] <= utcnow():
        raise Invalid(f"The first time ({found[0][0]:%Y-%m-%d %H:%M}) has passed already.")
    if len(found) > MAX_SLOTS:
        raise Invalid(
            f"That makes {len(found)} times; one invitation offers at most {MAX_SLOTS} "
            "(families reply with one number). Publish the others as a second invitation."
        )
    return found


def create(session: Session, subject: AuthSubject, draft: ConferenceCreate) -> Conference:
    """Publish the times and text the invitation to the families of the teacher's students,
    each in its language, through the outbox (opt-outs and quiet hours apply)."""
    if not subject.is_teacher:
        subject.require_role("office", "publish conference times for a teacher")
    teacher = _teacher(session, subject, draft)
    school = _school(session, subject, teacher, draft.school_id)
    slots = slots_of(draft, school)
    own = set(session.scalars(schools.teacher_section_ids(teacher.id)))
    foreign = sorted(set(draft.section_ids) - own)
    if foreign:
        raise NotFound(f"No such section of this teacher: {foreign[0]}.")
    sections = list(draft.section_ids) or sorted(own)
    if not sections:
        raise Invalid("This teacher has no class: there are no families to invite.")
    reach = subject_for_staff(teacher, frozenset({"read", "send"}))
    people = broadcasts.recipients(session, reach, school.id, Audience(section_ids=sections))
    if not people:
        raise Invalid("Nobody to invite: no active family in this teacher's classes.")
    author = teacher.ui_language or school.default_language
    labels = questions.times_in([start.isoformat() for start, _, _ in slots], author)
    draft_question = QuestionDraft.model_construct(
        kind="choice",
        options=labels,
        times=[start for start, _, _ in slots],
        places=[1] * len(slots),
        deadline=slots[-1][0],
        remind_at=None,
        replace_answers=True,
    )
    question = questions.create(
        session, school_id=school.id, broadcast_id=None, draft=draft_question
    )
    conference = Conference(
        school_id=school.id,
        teacher_staff_id=teacher.id,
        question_id=question.id,
        title=draft.title,
        actor=subject.actor,
    )
    session.add(conference)
    session.flush()
    for number, (start, minutes, place) in enumerate(slots, start=1):
        session.add(
            ConferenceSlot(
                conference_id=conference.id,
                number=number,
                starts_at=start,
                minutes=minutes,
                place=place,
            )
        )
    places = list(dict.fromkeys(place for _, _, place in slots))
    name = identity.display_name(teacher)
    lengths = "/".join(str(m) for m in dict.fromkeys(m for _, m, _ in slots))

    def text(code: str) -> str | None:
        invite = questions.text_found(session, texts.INVITE, code, teacher=name, minutes=lengths)
        where = questions.text_found(session, texts.WHERE, code, place=" / ".join(places))
        how = questions.text_found(session, texts.HOW_SLOT, code)
        if invite is None or where is None or how is None:
            return None
        return f"{invite}\n{where}\n\n{questions.prompt(session, draft_question, code, author)}"

    translated = {
        code: _prepared(code, author, text(code), texts.INVITE)
        for code in {r.language for r in people}
    }
    _, message_id, ready = messaging.post_broadcast(
        session,
        school=school,
        author_staff_id=teacher.id,
        subject=draft.title,
        body=text(author) or text("en") or "",
        language=author,
        recipients=people,
        translated=translated,
        urgent=False,
    )
    question.message_id = message_id
    session.flush()
    audit.record(
        session,
        subject.actor,
        "conference.create",
        "conference",
        conference.id,
        school_id=school.id,
        details={"teacher_staff_id": teacher.id, "slots": len(slots), "invited": len(people)},
    )
    for first in range(0, len(ready), 200):
        enqueue_job(session, "delivery.send_batch", ready[first : first + 200])
    return conference


# Reading ---------------------------------------------------------------------------------------


def get(session: Session, subject: AuthSubject, conference_id: int) -> Conference:
    conference = session.scalar(readable(subject).where(Conference.id == conference_id))
    if conference is None:
        raise NotFound("No such conference.")
    return conference


def listing(session: Session, subject: AuthSubject) -> list[Conference]:
    return list(session.scalars(readable(subject).order_by(Conference.id.desc()).limit(100)))


def read(session: Session, conference: Conference) -> dict[str, Any]:
    """The conference with its times and who booked each: the family, its language, its
    children in the teacher's classes, and whether an interpreter is needed."""
    teacher = load_staff(session, conference.teacher_staff_id)
    assert teacher is not None
    question = session.get(Question, conference.question_id)
    assert question is not None
    booked = questions.bookings(session, question)
    speaks = {mt_code(teacher.ui_language)} | {mt_code(lang) for lang in teacher.interprets}
    slots = []
    for slot in session.scalars(
        select(ConferenceSlot)
        .where(ConferenceSlot.conference_id == conference.id)
        .order_by(ConferenceSlot.number)
    ):
        answer = booked.get(slot.number)
        booking = None
        if answer is not None:
            guardian = session.get(Guardian, answer.guardian_id)
            assert guardian is not None
            booking = {
                "guardian_id": guardian.id,
                "name": f"{guardian.given_name} {guardian.family_name}",
                "language": guardian.language,
                "phone": guardian.phone,
                "students": _students(session, conference, guardian.id),
                "interpreter_needed": mt_code(guardian.language) not in speaks,
                "booked_at": answer.answered_at,
            }
        slots.append(
            {
                "number": slot.number,
                "starts_at": slot.starts_at,
                "minutes": slot.minutes,
                "place": slot.place,
                "booking": booking,
            }
        )
    invited = questions.tally(session, question)["asked"] if question.message_id else 0
    return {
        "id": conference.id,
        "school_id": conference.school_id,
        "teacher_staff_id": conference.teacher_staff_id,
        "teacher_name": identity.display_name(teacher),
        "title": conference.title,
        "invited": invited,
        "created_at": conference.created_at,
        "slots": slots,
    }


def _students(session: Session, conference: Conference, guardian_id: int) -> list[str]:
    """The family's children in the teacher's classes."""
    rows = session.execute(
        select(Student.given_name, Student.family_name)
        .join(StudentGuardian, StudentGuardian.student_id == Student.id)
        .join(Enrollment, Enrollment.student_id == Student.id)
        .join(Section, Section.id == Enrollment.section_id)
        .where(
            StudentGuardian.guardian_id == guardian_id,
            Section.id.in_(schools.teacher_section_ids(conference.teacher_staff_id)),
        )
        .distinct()
    ).all()
    return sorted(f"{given} {family}" for given, family in rows)


def _prepared(code: str, author: str, text: str | None, key: str) -> PreparedTranslation:
    """A family language's text: written by people (or a model where no catalog has it); with
    neither, nothing in English: the messages' path opens an interpreter's task and the
    family's text waits for it. Marked as the catalogs' where they have text `key` (the
    family's page and the staff's then say so, not "machine translated")."""
    if text is None:
        return PreparedTranslation("unavailable", None, "no catalog or model for this language")
    if code == mt_code(author):
        return PreparedTranslation("same_language", text, origin="same_language")
    if questions.written_by_people(key, code):
        return PreparedTranslation("translated", text, engine="catalog", origin="human")
    return PreparedTranslation("translated", text)


# The day before --------------------------------------------------------------------------------


def remind_due(session: Session, now: datetime | None = None) -> list[int]:
    """Each booked time starting within a day, not yet reminded to the family that holds it
    now: one text to that family in its language, through the outbox (opt-outs and quiet hours
    apply). Returns the delivery ids ready to send."""
    now = now or utcnow()
    ready: list[int] = []
    due = session.execute(
        select(ConferenceSlot, Conference)
        .join(Conference, Conference.id == ConferenceSlot.conference_id)
        .where(ConferenceSlot.starts_at > now, ConferenceSlot.starts_at <= now + REMIND_BEFORE)
        .order_by(ConferenceSlot.starts_at)
    ).all()
    for slot, conference in due:
        question = session.get(Question, conference.question_id)
        assert question is not None
        answer = questions.bookings(session, question).get(slot.number)
        if answer is None or slot.reminded_guardian_id == answer.guardian_id:
            continue
        slot.reminded_guardian_id, slot.reminded_at = answer.guardian_id, now
        if answer.answered_at >= slot.starts_at - REMIND_BEFORE:
            continue  # booked within the day: its confirmation was the reminder
        ready += _remind(session, conference, slot, answer.guardian_id)
    session.flush()
    return ready


def _remind(
    session: Session, conference: Conference, slot: ConferenceSlot, guardian_id: int
) -> list[int]:
    teacher = load_staff(session, conference.teacher_staff_id)
    school = session.get(School, conference.school_id)
    assert teacher is not None and school is not None
    reach = subject_for_staff(teacher, frozenset({"read", "send"}))
    people = broadcasts.recipients(session, reach, school.id, Audience(guardian_ids=[guardian_id]))
    if not people:
        return []
    name = identity.display_name(teacher)
    author = teacher.ui_language or school.default_language

    def text(code: str) -> str | None:
        when = questions.when_in(slot.starts_at.astimezone(ZoneInfo(school.timezone)), code)
        lines = [
            questions.text_found(session, texts.MEETING_REMINDER, code, teacher=name, when=when),
            questions.text_found(session, texts.WHERE, code, place=slot.place),
        ]
        return None if None in lines else "\n".join(line or "" for line in lines)

    code = people[0].language
    _, _, ready = messaging.post_broadcast(
        session,
        school=school,
        author_staff_id=teacher.id,
        subject=f"{conference.title}: {questions.when_in(slot.starts_at, author)}"[:200],
        body=text(author) or text("en") or "",
        language=author,
        recipients=people,
        translated={code: _prepared(code, author, text(code), texts.MEETING_REMINDER)},
        urgent=False,
    )
    return ready
