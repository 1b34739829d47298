"""The family page: what one guardian sees of its conversation with the school, what it has
seen there, and its replies from the page.

What a guardian sees starts from one readable statement (`visible_messages`), like staff's:
the staff's messages (notes and broadcasts) in the threads it belongs to, and its own replies —
never another family's reply, even in a thread shared by many (a broadcast's)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session, selectinload

from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import HearthError, Invalid
from app.core.languages import mt_code
from app.core.queue import after_commit
from app.delivery import attachments as files
from app.delivery.models import Delivery
from app.messaging import identity, replies
from app.messaging.identity import N_
from app.messaging.models import FamilyLink, Message, MessageSeen, Thread, ThreadGuardian
from app.messaging.translations import SENDABLE, WAITING
from app.people.models import Guardian, Staff, Student, StudentGuardian
from app.schools.models import School

# The page shows the latest messages; older ones are in the texts the family got.
SHOWN = 100
# A translation still being made, by a model or an interpreter: the message waits, as its
# texts do.
HELD = ("pending", WAITING)
MAX_REPLY = 1600  # characters, as ten SMS segments

# What the page says when a reply is refused, in the family's language (the `messages`
# catalog: babel.cfg extracts this file).
EMPTY = N_("Write a message first.")
TOO_LONG = N_("Your message is too long.")
TOO_MANY = N_("Too many messages for now. Please try again in an hour.")
# TRANSLATORS: the family page's reply form was sent without its secret (an old page, or
# another site posting): nothing was sent.
STALE_FORM = N_("The page was open too long. Please send your message again.")
# A photo (or PDF) sent with a reply from the page, refused: nothing was sent.
PHOTO_TOO_LARGE = N_("This photo is too large to send (the most is %(mb)s MB). Nothing was sent.")
PHOTO_NOT_ACCEPTED = N_(
    "Only a photo (JPEG, PNG, WebP, GIF) or a PDF can be sent. Nothing was sent."
)
PHOTO_UNREADABLE = N_("This photo could not be read. Please try another one. Nothing was sent.")


class PhotoRefused(Invalid):
    """A file from the family page that cannot be sent, said in the family's words (`msgid`
    of the `messages` catalog, with its `values`)."""

    def __init__(self, msgid: str, **values: object) -> None:
        super().__init__(msgid % values if values else msgid)
        self.msgid = msgid
        self.values = values


def _family_words(refused: files.Refused) -> PhotoRefused:
    if refused.msgid == files.TOO_LARGE:
        return PhotoRefused(PHOTO_TOO_LARGE, mb=get_settings().attachment_max_mb)
    if refused.msgid in (files.UNREADABLE_IMAGE, files.IMAGE_TOO_BIG):
        # Too many pixels or frames: "try another one" is what the family can do.
        return PhotoRefused(PHOTO_UNREADABLE)
    return PhotoRefused(PHOTO_NOT_ACCEPTED)


class TooManyReplies(HearthError):
    status_code = 429
    code = "too_many_replies"


def visible_messages(guardian_id: int) -> Select[Message]:
    """Every message this guardian may read on its page."""
    return (
        select(Message)
        .join(ThreadGuardian, ThreadGuardian.thread_id == Message.thread_id)
        .where(
            ThreadGuardian.guardian_id == guardian_id,
            or_(
                and_(
                    Message.direction == "outbound",
                    Message.kind.in_(("note", "broadcast")),
                ),
                and_(Message.direction == "inbound", Message.author_guardian_id == guardian_id),
            ),
        )
    )


@dataclass
class FamilyMessage:
    id: int
    mine: bool  # the family's own reply
    author: str  # "Ms. Rivera, Riverside Elementary" (empty for the family's own)
    text: str  # in the family's language where there is a translation
    language: str  # the language tag `text` is in
    original: str | None  # the original, when `text` is a translation
    original_language: str
    machine: bool  # `text` was translated by a machine
    at: datetime


def conversation(session: Session, guardian: Guardian) -> list[FamilyMessage]:
    """The guardian's messages, oldest first, each in the family's language when it has one."""
    rows = list(
        session.scalars(
            visible_messages(guardian.id)
            .options(selectinload(Message.translations))
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(SHOWN)
        )
    )
    rows.reverse()
    code = mt_code(guardian.language)
    staff_ids = {m.author_staff_id for m in rows if m.author_staff_id}
    staff = {s.id: s for s in session.scalars(select(Staff).where(Staff.id.in_(staff_ids)))}
    schools = _schools_of(session, {m.thread_id for m in rows})
    out = []
    for m in rows:
        if m.direction == "inbound":
            if not m.body and not m.attachments:
                continue  # a reply recorded on a call: no text to show
            out.append(
                FamilyMessage(
                    m.id, True, "", m.body, m.language, None, m.language, False, m.created_at
                )
            )
            continue
        school = schools.get(m.thread_id)
        author = staff.get(m.author_staff_id) if m.author_staff_id else None
        who = identity.signature(author, school).rstrip(":") if school else ""
        mine = next((t for t in m.translations if t.language == code), None)
        if mine is not None and mine.status in HELD:
            continue  # the family gets it once it is in its language, here as by text
        if mt_code(m.language) == code or mine is None or mine.status not in SENDABLE:
            text, language, original, machine = m.body, m.language, None, False
            if mine is not None and mine.status == "fallback" and mine.text:
                text, language, original = mine.text, guardian.language, m.body
        else:
            text = mine.text or m.body
            language, original = guardian.language, m.body
            machine = mine.origin in ("mt", "cache") or (
                mine.origin is None and mine.engine not in ("catalog", "interpreter")
            )
            if machine and m.kind == "broadcast":
                # A broadcast's text carries the mark for the family's phone; the page shows
                # its own under it.
                mark = identity.family_line(session, identity.MACHINE_MARK, code)
                text = text.replace(f" {mark}", "", 1)
        out.append(
            FamilyMessage(
                m.id, False, who, text, language, original, m.language, machine, m.created_at
            )
        )
    return out


def _schools_of(session: Session, thread_ids: set[int]) -> dict[int, School]:
    rows = session.execute(
        select(Thread.id, School)
        .join(School, School.id == Thread.school_id)
        .where(Thread.id.in_(thread_ids))
    ).all()
    return {thread_id: school for thread_id, school in rows}


def page_school(session: Session, guardian: Guardian) -> School | None:
    """The school the page speaks for: the one of the family's last text, else of its latest
    thread, else of its first child."""
    school_id = session.scalar(
        select(Delivery.school_id)
        .where(Delivery.guardian_id == guardian.id)
        .order_by(Delivery.id.desc())
        .limit(1)
    ) or session.scalar(
        select(Student.school_id)
        .join(StudentGuardian, StudentGuardian.student_id == Student.id)
        .where(StudentGuardian.guardian_id == guardian.id)
        .order_by(Student.id)
        .limit(1)
    )
    return session.get(School, school_id) if school_id else None


def mark_seen(session: Session, guardian: Guardian, messages: list[FamilyMessage]) -> int:
    """The staff's messages the page showed are seen by this guardian (the first time counts).
    Returns how many were new."""
    shown = [m.id for m in messages if not m.mine]
    if not shown:
        return 0
    known = set(
        session.scalars(
            select(MessageSeen.message_id).where(
                MessageSeen.guardian_id == guardian.id, MessageSeen.message_id.in_(shown)
            )
        )
    )
    fresh = [MessageSeen(message_id=i, guardian_id=guardian.id) for i in shown if i not in known]
    session.add_all(fresh)
    session.flush()
    return len(fresh)


def seen_by(session: Session, message_ids: list[int]) -> dict[int, list[tuple[Guardian, datetime]]]:
    """Message id → who saw it on the family page and when, first seen first."""
    if not message_ids:
        return {}
    out: dict[int, list[tuple[Guardian, datetime]]] = {}
    for seen, guardian in session.execute(
        select(MessageSeen, Guardian)
        .join(Guardian, Guardian.id == MessageSeen.guardian_id)
        .where(MessageSeen.message_id.in_(message_ids))
        .order_by(MessageSeen.seen_at, MessageSeen.guardian_id)
    ):
        out.setdefault(seen.message_id, []).append((guardian, seen.seen_at))
    return out


def reply(
    session: Session,
    link: FamilyLink,
    guardian: Guardian,
    body: str,
    upload: tuple[str, str | None, bytes] | None = None,
) -> Message:
    """A reply written on the page: routed and translated for staff exactly as a text from the
    family answering the last text it got (replies.route_reply). A few an hour per link.
    `upload`: a photo or PDF sent with it (file name, declared type, bytes), checked and
    cleaned as every attachment is; a reply may be only that. Refused (HearthError) before
    anything is written."""
    body = body.strip()
    if upload is not None and not upload[2] and not upload[0]:
        upload = None  # the file input left empty
    if not body and upload is None:
        raise Invalid(EMPTY)
    if len(body) > MAX_REPLY:
        raise Invalid(TOO_LONG)
    cleaned = None
    if upload is not None:
        try:
            cleaned = files.clean(*upload)
        except files.Refused as refused:
            raise _family_words(refused) from None
    last_text = session.execute(
        select(Delivery.school_id, Delivery.sender)
        .where(Delivery.guardian_id == guardian.id, Delivery.channel == "sms")
        .order_by(Delivery.id.desc())
        .limit(1)
    ).first()
    school = (
        session.get(School, last_text.school_id)
        if last_text is not None
        else page_school(session, guardian)
    )
    if school is None:
        raise Invalid("This family has no school to write to.")
    to = (last_text.sender if last_text is not None else None) or school.sms_sender or ""
    _count_reply(link)  # the last check: nothing is written before it passes
    stored = []
    if cleaned is not None and upload is not None:
        row = files.store_cleaned(session, f"guardian:{guardian.id}", upload[0], cleaned)
        stored.append((row.filename, row.content_type, files.reader(row)))
    message, after = replies.route_reply(
        session, school, guardian, body, guardian.phone or "", to, files=stored
    )
    if cleaned is not None:
        row.message_id, row.school_id = message.id, school.id
        session.flush()
    for send in after:  # the staff are told once the reply is safely stored
        after_commit(session, send)
    return message


def _count_reply(link: FamilyLink) -> None:
    now = utcnow()
    limit = get_settings().family_page_replies_per_hour
    if link.replies_since is None or link.replies_since <= now - timedelta(hours=1):
        link.replies_since, link.replies_count = now, 0
    if link.replies_count >= limit:
        raise TooManyReplies(TOO_MANY)
    link.replies_count += 1
