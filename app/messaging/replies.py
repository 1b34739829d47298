"""What families send, read: a text (STOP/START/HELP, or a reply routed to its thread) and an
email reply. A reply keeps its original, gets its language detected and a translation into
the reader's language beside it, and the staff member is told by email.

A text is stored first (delivery.inbound) and the webhook answers at once; the
`messaging.route_sms` job reads it afterwards. Where a reply goes: ROUTING_RULE, below."""

import email
import email.policy
import logging
import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.channels import PermanentError, SendError, TransientError, twilio_http
from app.channels.email import Attached, Email, email_channel, text_as_html
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import Invalid, NotFound, Unavailable
from app.core.queue import after_commit, enqueue_job, schedule_job
from app.delivery import inbound, inbound_media, optouts, system_texts
from app.delivery import service as delivery
from app.delivery.keywords import classify_keyword
from app.messaging import interpretation, translations
from app.messaging.models import Message, MessageTranslation, Thread, ThreadGuardian
from app.messaging.system_replies import confirm
from app.messaging.tokens import thread_from_token
from app.people.models import Guardian, Staff, StaffSchool, Student, StudentGuardian
from app.schools import senders
from app.schools.models import School
from app.translation import detect
from app.translation import service as translation

log = logging.getLogger("hearth.inbound")

# Jobs run with the id of every family reply once it is stored (a question's answers are read
# so): registered by the domains that read replies, which messaging does not know.
_REPLY_JOBS: list[str] = []


def on_reply(job_name: str) -> None:
    """Run the job `job_name` with each family reply's message id once it is stored."""
    if job_name not in _REPLY_JOBS:
        _REPLY_JOBS.append(job_name)


ROUTING_RULE = """Where a family's reply goes (one rule, for texts and emails):

1. A family's reply goes to the conversation it answers, and no staff member who wrote to
   that family one-to-one within the reply window (HEARTH_REPLY_WINDOW_DAYS) loses sight of
   it: each is told by email, and the thread is about the child they wrote about.
2. A text to a pool number assigned to one staff member for this family (schools.senders)
   answers that staff member's conversation: their latest thread with the family, or a new
   one. No guessing.
3. A text to the school's own number (shared) answers the family's most recent thread within
   the reply window; with none, the office's thread for that family.
4. A broadcast is not a conversation: a reply to one opens (or joins) the family's own thread
   "Re: <broadcast title>", owned by the broadcast's author when a teacher sent it, else the
   office inbox. A teacher who wrote to the family one-to-one within the window sees it too
   (marked as a reply to the school's notice) and either may take it over. Nothing lands in
   a thread shared with other families.
5. Any staff member who can see a reply can move it to the right thread (audited).
"""


# Texts -----------------------------------------------------------------------------------------


def receive_sms(session: Session, params: dict[str, str], urls: list[str], signature: str) -> bool:
    """A signed text from Twilio's webhook: stored now, read by a job once this commits.
    Returns False when Twilio is retrying one already stored."""
    inbound_id = inbound.store_sms(session, params, urls, signature)
    if inbound_id is None:
        return False
    enqueue_job(session, "messaging.route_sms", inbound_id)
    log.info("inbound SMS %s stored", inbound_id)  # ids only: the number and words stay put
    return True


def route_sms(session: Session, inbound_id: int) -> str:
    """Read a stored text once: a keyword, or a reply to its thread. Returns what it was."""
    row = inbound.claim_sms(session, inbound_id)
    if row is None:
        return "skipped"
    school = senders.school_for_number(
        session, row.to_number, row.params.get("MessagingServiceSid")
    )
    if school is None:
        inbound.finish_sms(row, "unknown_sender")
        log.warning("inbound SMS to a number no school uses")
        return "unknown_sender"
    guardians = _guardians_at(session, row.from_number, school.id)
    guardian = guardians[0] if guardians else None
    preferred = guardian.language if guardian else school.default_language
    keyword = classify_keyword(row.body)
    # Opt-outs are kept under the school's own number and hold for its whole pool; the answer
    # comes from the number the family wrote to.
    sender = school.sms_sender or ""
    answer_from = row.to_number if row.to_number in senders.school_numbers(school) else None
    message_id = None
    if keyword == "stop":
        optouts.record_opt_out(
            session, row.from_number, sender, school.id, "keyword", row.body.strip()[:40]
        )
        after = [
            confirm(
                session,
                school,
                row.from_number,
                system_texts.STOP_CONFIRMED,
                preferred,
                answer_from,
            )
        ]
        result = "opted_out"
    elif keyword == "start" and optouts.resume(session, row.from_number, sender):
        # Only a number that had opted out is resumed: from anyone else "Yes" is a reply.
        after = [
            confirm(
                session,
                school,
                row.from_number,
                system_texts.START_CONFIRMED,
                preferred,
                answer_from,
            )
        ]
        result = "resumed"
    elif keyword == "help":
        contact = school.email_sender or school.sms_sender or school.name
        after = [
            confirm(
                session,
                school,
                row.from_number,
                system_texts.HELP_REPLY,
                preferred,
                answer_from,
                contact=contact,
            )
        ]
        result = "help"
    else:
        # An MMS: its photos are noted now and fetched by a job (never in the webhook's
        # request); a photo without words is a reply too.
        media = inbound_media.media_count(row.params)
        message, after = route_reply(
            session, school, guardian, row.body, row.from_number, row.to_number, media=media
        )
        if media and inbound_media.record(session, message.id, row.params):
            enqueue_job(session, "messaging.fetch_media", message.id)
        message_id = message.id
        result = "routed"
    inbound.finish_sms(row, result, message_id)
    for send in after:  # replies and notifications go out once the reply is safely stored
        after_commit(session, send)
    return result


def route_reply(
    session: Session,
    school: School,
    guardian: Guardian | None,
    body: str,
    phone: str,
    to: str = "",
    *,
    media: int = 0,
    files: Sequence[Attached] = (),
) -> tuple[Message, list[Callable[[], None]]]:
    """A family's reply (a text, or one written on the family page as an answer to the last
    text it got from `to`) stored in the thread the routing rule (ROUTING_RULE) gives, with
    its translation for staff. Returns the message and what to do once it is committed.
    `media`: photos arriving by MMS; `files`: photos already stored (the family page's), sent
    with the staff's email."""
    thread = thread_for(session, school, guardian, phone, to)
    return add_reply(session, thread, school, guardian, body, media=media, files=files)


def _guardians_at(session: Session, phone: str, school_id: int) -> list[Guardian]:
    return list(
        session.scalars(
            select(Guardian)
            .where(
                Guardian.phone == phone,
                Guardian.id.in_(
                    select(StudentGuardian.guardian_id)
                    .join(Student, Student.id == StudentGuardian.student_id)
                    .where(Student.school_id == school_id)
                ),
            )
            .order_by(Guardian.active.desc(), Guardian.id)
        )
    )


def is_broadcast_thread(session: Session, thread_id: int) -> bool:
    """A broadcast's own thread: every family it went to, never a conversation."""
    return (
        session.scalar(
            select(Message.id)
            .where(Message.thread_id == thread_id, Message.kind == "broadcast")
            .limit(1)
        )
        is not None
    )


def _not_broadcast() -> Any:
    return (
        ~select(Message.id)
        .where(Message.thread_id == Thread.id, Message.kind == "broadcast")
        .exists()
    )


def thread_for(
    session: Session, school: School, guardian: Guardian | None, phone: str, to: str = ""
) -> Thread:
    """The thread a text from this family answers, by the routing rule (ROUTING_RULE)."""
    if guardian is not None:
        assigned = senders.owner_of_number(session, school, [guardian.id], to)
        if assigned is not None:
            return _owner_thread(session, school, guardian, assigned.owner_staff_id)
        window = utcnow() - timedelta(days=get_settings().reply_window_days)
        answered = session.scalar(
            select(Thread)
            .join(ThreadGuardian, ThreadGuardian.thread_id == Thread.id)
            .where(
                ThreadGuardian.guardian_id == guardian.id,
                Thread.school_id == school.id,
                Thread.last_activity_at >= window,
                # Staff with a number of their own for this family are answered there.
                or_(
                    Thread.owner_staff_id.is_(None),
                    Thread.owner_staff_id.not_in(
                        senders.owners_with_numbers(school.id, guardian.id)
                    ),
                ),
            )
            .order_by(Thread.last_activity_at.desc(), Thread.id.desc())
            .limit(1)
        )
        if answered is not None:
            if is_broadcast_thread(session, answered.id):
                return notice_reply_thread(session, school, guardian, answered)
            return answered
        subject = f"Messages from {guardian.given_name} {guardian.family_name}"
    else:
        subject = f"Unknown number {phone}"
    office = session.scalar(
        select(Thread).where(
            Thread.school_id == school.id,
            Thread.owner_staff_id.is_(None),
            Thread.subject == subject,
            Thread.status == "open",
        )
    )
    if office is None:
        office = Thread(
            school_id=school.id,
            owner_staff_id=None,
            subject=subject,
            guardian_links=[ThreadGuardian(guardian_id=guardian.id)] if guardian else [],
        )
        session.add(office)
        session.flush()
    return office


def _owner_thread(
    session: Session, school: School, guardian: Guardian, owner_staff_id: int | None
) -> Thread:
    """A staff member's conversation with a family: their latest thread with it (never a
    broadcast's), else a new one."""
    thread = session.scalar(
        select(Thread)
        .join(ThreadGuardian, ThreadGuardian.thread_id == Thread.id)
        .where(
            ThreadGuardian.guardian_id == guardian.id,
            Thread.school_id == school.id,
            Thread.owner_staff_id == owner_staff_id,
            _not_broadcast(),
        )
        .order_by(Thread.last_activity_at.desc(), Thread.id.desc())
        .limit(1)
    )
    if thread is None:
        thread = Thread(
            school_id=school.id,
            owner_staff_id=owner_staff_id,
            student_id=_student_of(session, school, guardian, owner_staff_id),
            subject=f"Messages from {guardian.given_name} {guardian.family_name}",
            guardian_links=[ThreadGuardian(guardian_id=guardian.id)],
        )
        session.add(thread)
        session.flush()
    return thread


def notice_reply_thread(
    session: Session, school: School, guardian: Guardian, notice: Thread
) -> Thread:
    """The family's own thread answering a broadcast, "Re: <title>", opened on its first
    reply: owned by the broadcast's author when a teacher sent it, else the office inbox. It
    is about the child a teacher who wrote to the family lately wrote about, so that teacher
    sees it too."""
    thread = session.scalar(
        select(Thread)
        .join(ThreadGuardian, ThreadGuardian.thread_id == Thread.id)
        .where(ThreadGuardian.guardian_id == guardian.id, Thread.notice_thread_id == notice.id)
        .order_by(Thread.id.desc())
        .limit(1)
    )
    if thread is not None:
        return thread
    author = session.get(Staff, notice.owner_staff_id) if notice.owner_staff_id else None
    owner = author.id if author is not None and author.role == "teacher" else None
    thread = Thread(
        school_id=school.id,
        owner_staff_id=owner,
        student_id=_student_of(session, school, guardian, owner),
        subject=f"Re: {notice.subject}"[:200],
        notice_thread_id=notice.id,
        guardian_links=[ThreadGuardian(guardian_id=guardian.id)],
    )
    session.add(thread)
    session.flush()
    return thread


def _student_of(
    session: Session, school: School, guardian: Guardian, owner_staff_id: int | None
) -> int | None:
    """The child a new thread with this family is about: the one of the latest one-to-one
    thread with it within the reply window (its owner's first), else its only child here."""
    window = utcnow() - timedelta(days=get_settings().reply_window_days)
    rows = session.execute(
        select(Thread.student_id, Thread.owner_staff_id)
        .join(ThreadGuardian, ThreadGuardian.thread_id == Thread.id)
        .where(
            ThreadGuardian.guardian_id == guardian.id,
            Thread.school_id == school.id,
            Thread.student_id.is_not(None),
            Thread.last_activity_at >= window,
        )
        .order_by(Thread.last_activity_at.desc(), Thread.id.desc())
    ).all()
    for student_id, owner in rows:
        if owner_staff_id is not None and owner == owner_staff_id:
            return student_id
    if rows:
        return rows[0][0]
    children = list(
        session.scalars(
            select(Student.id)
            .join(StudentGuardian, StudentGuardian.student_id == Student.id)
            .where(StudentGuardian.guardian_id == guardian.id, Student.school_id == school.id)
        )
    )
    return children[0] if len(children) == 1 else None


def one_to_one_writers(
    session: Session, school_id: int, guardian_id: int, exclude_thread_id: int
) -> list[Staff]:
    """Staff members who wrote to this family one-to-one (a note, not a broadcast) within the
    reply window, in a thread other than `exclude_thread_id`: they do not lose sight of its
    replies."""
    window = utcnow() - timedelta(days=get_settings().reply_window_days)
    return list(
        session.scalars(
            select(Staff)
            .where(
                Staff.active.is_(True),
                Staff.id.in_(
                    select(Message.author_staff_id)
                    .join(Thread, Thread.id == Message.thread_id)
                    .join(ThreadGuardian, ThreadGuardian.thread_id == Thread.id)
                    .where(
                        ThreadGuardian.guardian_id == guardian_id,
                        Thread.school_id == school_id,
                        Thread.id != exclude_thread_id,
                        Message.kind == "note",
                        Message.direction == "outbound",
                        Message.created_at >= window,
                    )
                ),
            )
            .order_by(Staff.id)
        )
    )


# Replies ---------------------------------------------------------------------------------------


def add_reply(
    session: Session,
    thread: Thread,
    school: School,
    guardian: Guardian | None,
    body: str,
    recording_url: str | None = None,
    *,
    media: int = 0,
    files: Sequence[Attached] = (),
) -> tuple[Message, list[Callable[[], None]]]:
    """A family's reply in its thread: the original kept, its language detected, a translation
    into the reader's language stored beside it. Returns the message and what to do once it is
    committed: email the staff member. A reply recorded on a call (`recording_url`) has no
    text to detect or translate: no speech model is installed to transcribe it."""
    preferred = guardian.language if guardian else school.default_language
    if recording_url is not None:
        return _add_wordless_reply(
            session, thread, school, guardian, preferred, recording_url=recording_url
        )
    if not body.strip() and (media or files):
        return _add_wordless_reply(
            session, thread, school, guardian, preferred, media=media, files=files
        )
    candidates = set(
        session.scalars(
            select(Guardian.language)
            .join(StudentGuardian, StudentGuardian.guardian_id == Guardian.id)
            .join(Student, Student.id == StudentGuardian.student_id)
            .where(Student.school_id == school.id)
            .distinct()
        )
    )
    detection = detect.detect(body, preferred, candidates | {school.default_language})
    owner = session.get(Staff, thread.owner_staff_id) if thread.owner_staff_id else None
    reader_language = owner.ui_language if owner else school.default_language
    message = Message(
        thread_id=thread.id,
        direction="inbound",
        kind="reply",
        author_guardian_id=guardian.id if guardian else None,
        body=body,
        language=detection.language,
    )
    session.add(message)
    thread.last_activity_at = utcnow()
    thread.status = "open"
    session.flush()
    if guardian is not None:
        for job_name in _REPLY_JOBS:
            enqueue_job(session, job_name, message.id)
    result = translation.translate(
        session, [body], detection.language, reader_language, school_id=thread.school_id
    )[0]
    row = MessageTranslation(message_id=message.id, language=result.target)
    translations.record(row, result)
    session.add(row)
    poor = (
        result.quality is not None
        and result.quality.level == "poor"
        and interpretation.has_interpreter(session, school.id, result.source)
    )
    if result.status == "unavailable" or poor:  # an interpreter reads it for staff
        interpretation.open_task(
            session,
            message,
            school,
            language=result.target,
            family_language=result.source,
            reason=interpretation.POOR if poor else interpretation.NO_ROUTE,
            machine_text=result.text,
        )
    family = f"{guardian.given_name} {guardian.family_name}" if guardian else "Unknown number"
    emails = [
        (
            staff.id,
            reply_notification(
                staff,
                thread,
                family,
                body,
                detection.language,
                result.text,
                reader_language,
                may_be_wrong=row.may_be_wrong,
                media=media,
                files=files,
            ),
        )
        for staff in _readers(session, thread, owner, guardian)
    ]
    return message, [_notifier(emails)]


def fetch_media(session: Session, message_id: int) -> inbound_media.Fetched | None:
    """Fetch the photos a family's MMS reply carries (app/delivery/inbound_media.py); what
    could not be fetched yet is tried again later, by this same job."""
    message = session.get(Message, message_id)
    if message is None:
        return None
    thread = session.get(Thread, message.thread_id)
    assert thread is not None
    who = f"guardian:{message.author_guardian_id}" if message.author_guardian_id else "family"
    result = inbound_media.fetch(session, message_id, thread.school_id, who)
    if result.retry_in is not None:
        schedule_job(
            session,
            "messaging.fetch_media",
            message_id,
            eta=utcnow() + timedelta(seconds=result.retry_in),
        )
    return result


def _add_wordless_reply(
    session: Session,
    thread: Thread,
    school: School,
    guardian: Guardian | None,
    language: str,
    *,
    recording_url: str | None = None,
    media: int = 0,
    files: Sequence[Attached] = (),
) -> tuple[Message, list[Callable[[], None]]]:
    """A reply with no words to detect or translate: only photos (or PDFs), or a recording
    left on a call."""
    owner = session.get(Staff, thread.owner_staff_id) if thread.owner_staff_id else None
    message = Message(
        thread_id=thread.id,
        direction="inbound",
        kind="reply",
        author_guardian_id=guardian.id if guardian else None,
        body="",
        language=language,
        recording_url=recording_url,
    )
    session.add(message)
    thread.last_activity_at = utcnow()
    thread.status = "open"
    session.flush()
    family = f"{guardian.given_name} {guardian.family_name}" if guardian else "Unknown number"
    text = f"{VOICE_REPLY} {recording_link(thread.id, message.id)}" if recording_url else ""
    reader = owner.ui_language if owner else school.default_language
    emails = [
        (
            staff.id,
            reply_notification(
                staff, thread, family, text, language, None, reader, media=media, files=files
            ),
        )
        for staff in _readers(session, thread, owner, guardian)
    ]
    return message, [_notifier(emails)]


VOICE_REPLY = "A voice reply was recorded on the school's call (no transcript). Listen:"
# A 2-minute recording is about 2 MB as WAV.
RECORDING_MAX_BYTES = 20 * 1024 * 1024


def recording_link(thread_id: int, message_id: int) -> str:
    """Where staff listen to a reply left on a call: Hearth's page, not Twilio's address."""
    base = get_settings().public_url.rstrip("/")
    return f"{base}/threads/{thread_id}/messages/{message_id}/recording"


def recording(message: Message) -> tuple[bytes, str]:
    """The audio of a reply left on a call, fetched from Twilio with the account's credentials
    (Twilio keeps it; an account may require them for its recordings), so that staff pages
    play it from Hearth and staff browsers never ask Twilio. The caller checks that the viewer
    may read the thread. NotFound when Twilio no longer has it; Unavailable when it did not
    answer."""
    if not message.recording_url:
        raise NotFound("This message has no recording.")
    try:
        data, kind = twilio_http.fetch_media(
            get_settings(), message.recording_url, RECORDING_MAX_BYTES
        )
    except PermanentError:
        raise NotFound("The recording is no longer kept by the phone provider.") from None
    except TransientError:
        raise Unavailable("The phone provider did not send the recording: try again.") from None
    if len(data) > RECORDING_MAX_BYTES:
        raise Invalid("The recording is too large to play here.")
    return data, kind if kind.startswith("audio/") else "audio/wav"


def receive_voice_reply(session: Session, delivery_id: int, recording_url: str) -> Message | None:
    """A reply a family recorded on a call, routed like a text from that phone to the number
    that called (ROUTING_RULE). Twilio's retried callback finds the reply already stored.
    None when there is no such call."""
    call = delivery.voice_call(session, delivery_id)
    if call is None:
        return None
    existing = session.scalar(select(Message).where(Message.recording_url == recording_url))
    if existing is not None:
        return existing
    school = session.get(School, call.school_id)
    guardian = session.get(Guardian, call.guardian_id)
    assert school is not None
    thread = thread_for(session, school, guardian, call.address, call.sender or "")
    message, after = add_reply(session, thread, school, guardian, "", recording_url=recording_url)
    for send in after:  # the staff are told once the reply is safely stored
        after_commit(session, send)
    log.info("voice reply %s stored", message.id)
    return message


def _notifier(emails: list[tuple[int, Email]]) -> Callable[[], None]:
    """Email each staff member told of a reply (once it is committed)."""

    def notify() -> None:
        for staff_id, mail in emails:
            try:
                email_channel().send(mail)
            except SendError as exc:
                log.warning("could not notify staff %s of a reply: %s", staff_id, exc.code)

    return notify


def _readers(
    session: Session, thread: Thread, owner: Staff | None, guardian: Guardian | None
) -> list[Staff]:
    """Who is told of a reply: the thread's owner (or the school's office), and every staff
    member who wrote to the family one-to-one within the reply window elsewhere."""
    readers = _owners(session, thread, owner)
    if guardian is not None:
        known = {r.id for r in readers}
        readers += [
            staff
            for staff in one_to_one_writers(session, thread.school_id, guardian.id, thread.id)
            if staff.id not in known
        ]
    return readers


def _owners(session: Session, thread: Thread, owner: Staff | None) -> list[Staff]:
    if owner is not None:
        return [owner] if owner.active else []
    return list(
        session.scalars(
            select(Staff)
            .join(StaffSchool, StaffSchool.staff_id == Staff.id)
            .where(
                StaffSchool.school_id == thread.school_id,
                Staff.role == "office",
                Staff.active.is_(True),
            )
        )
    )


MAY_BE_WRONG = "Machine translation, may be wrong: check the original below."


def reply_notification(
    staff: Staff,
    thread: Thread,
    family_name: str,
    original: str,
    original_language: str,
    translated: str | None,
    language: str,
    *,
    may_be_wrong: bool = False,
    media: int = 0,
    files: Sequence[Attached] = (),
) -> Email:
    """The email telling a staff member a family replied, with its translation (and a warning
    when the machine translation may be wrong: the original is always there too)."""
    settings = get_settings()
    link = f"{settings.public_url.rstrip('/')}/threads/{thread.id}"
    if translated and translated != original:
        warning = f"{MAY_BE_WRONG}\n\n" if may_be_wrong else ""
        text = (
            f"{family_name} replied ({original_language}):\n\n{warning}{translated}\n\n"
            f"Original:\n{original}\n\nOpen the conversation: {link}"
        )
    elif original:
        text = f"{family_name} replied:\n\n{original}\n\nOpen the conversation: {link}"
    else:
        text = f"{family_name} replied.\n\nOpen the conversation: {link}"
    if files:
        text += f"\n\n{PHOTOS_ATTACHED % {'count': len(files)}}"
    elif media:
        text += f"\n\n{PHOTOS_ARRIVING % {'count': media, 'link': link}}"
    return Email(
        to=staff.email,
        subject=f"Reply from {family_name}: {thread.subject or ''}".strip(),
        text=text,
        html=text_as_html(text, language),
        sender=settings.email_from,
        language=language,
        attachments=list(files),
    )


PHOTOS_ATTACHED = "The family sent %(count)s photo(s) or PDF(s): attached to this email."
PHOTOS_ARRIVING = (
    "The family sent %(count)s photo(s) or PDF(s) by MMS: see them in the conversation: %(link)s"
)


# Email replies ---------------------------------------------------------------------------------

_TOKEN_RE = re.compile(r"reply\+([0-9]+\.[0-9a-f]+)@", re.I)
_QUOTE_START = re.compile(
    r"^(On .+wrote:|El .+escribió:|Le .+a écrit ?:|Em .+escreveu:|-----Original Message-----|"
    r"From: .+|De: .+|________________________________)\s*$",
    re.M,
)


def visible_reply(text: str) -> str:
    """The new part of an email reply: quoted history and signatures' separators dropped."""
    match = _QUOTE_START.search(text)
    if match:
        text = text[: match.start()]
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(">")]
    cleaned = "\n".join(lines).split("\n-- \n")[0]
    return cleaned.strip()


def _text_of(part: email.message.MIMEPart) -> str:
    """A text part's content, however its charset is declared: an unknown or garbled charset
    is read as UTF-8, and undecodable bytes become U+FFFD."""
    try:
        text = part.get_content()
    except (LookupError, ValueError):
        payload = part.get_payload(decode=True)
        text = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    return inbound.storable(text)


def _header(parsed: email.message.EmailMessage, name: str) -> str:
    """A header's value, "" where it is absent or one the standard library fails to parse
    (`Cc: a@[` raises inside it): anyone writing the email controls its headers."""
    try:
        return str(parsed.get(name, ""))
    except Exception:
        return ""


def receive_email(session: Session, raw: bytes) -> Message:
    """A family's email reply (raw MIME) to the reply address of its thread."""
    try:
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception:
        raise Invalid("The body is not a MIME email message.") from None
    addresses = " ".join(_header(parsed, h) for h in ("To", "Cc", "Delivered-To", "X-Original-To"))
    match = _TOKEN_RE.search(addresses)
    thread_id = thread_from_token(match.group(1)) if match else None
    if thread_id is None:
        raise NotFound("This email is not a reply to a Hearth conversation.")
    thread = session.get(Thread, thread_id)
    if thread is None:
        raise NotFound("This conversation no longer exists.")
    part = parsed.get_body(preferencelist=("plain", "html"))
    if part is None:
        raise Invalid("The email has no text.")
    text = _text_of(part)
    if part.get_content_type() == "text/html":
        text = re.sub(r"<[^>]+>", " ", text)
    sender = inbound.storable(email.utils.parseaddr(_header(parsed, "From"))[1]).lower()
    guardian = session.scalar(
        select(Guardian)
        .join(ThreadGuardian, ThreadGuardian.guardian_id == Guardian.id)
        # Compared whole: with LIKE, a '%' in a forged From would match any family.
        .where(ThreadGuardian.thread_id == thread.id, func.lower(Guardian.email) == sender)
    )
    school = session.get(School, thread.school_id)
    assert school is not None
    body = visible_reply(text) or text.strip()
    if not body:
        raise Invalid("The email reply is empty.")
    if is_broadcast_thread(session, thread.id):  # a broadcast is not a conversation
        thread = (
            notice_reply_thread(session, school, guardian, thread)
            if guardian is not None
            else thread_for(session, school, None, sender)
        )
    message, after = add_reply(session, thread, school, guardian, body[:5000])
    inbound.store_email(session, raw, message.id)
    for send in after:  # the staff are told once the reply is safely stored
        after_commit(session, send)
    return message
