"""What families send, read: a text (STOP/START/HELP, or a reply routed to its thread) and an
email reply. A reply keeps its original, gets its language detected and a translation into
the reader's language beside it, and the staff member is told by email.

A text is stored first (delivery.inbound) and the webhook answers at once; the
`messaging.route_sms` job reads it afterwards."""

import email
import email.policy
import logging
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.channels import SendError
from app.channels.email import Email, email_channel, text_as_html
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import Invalid, NotFound
from app.core.queue import after_commit, enqueue_job
from app.delivery import inbound, optouts, system_texts
from app.delivery.keywords import classify_keyword
from app.messaging import interpretation, translations
from app.messaging.models import Message, MessageTranslation, Thread, ThreadGuardian
from app.messaging.system_replies import confirm
from app.messaging.tokens import thread_from_token
from app.people.models import Guardian, Staff, StaffSchool, Student, StudentGuardian
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
    school = _school_for(session, row.params, row.to_number)
    if school is None:
        inbound.finish_sms(row, "unknown_sender")
        log.warning("inbound SMS to a number no school uses")
        return "unknown_sender"
    guardians = _guardians_at(session, row.from_number, school.id)
    guardian = guardians[0] if guardians else None
    preferred = guardian.language if guardian else school.default_language
    keyword = classify_keyword(row.body)
    sender = school.sms_sender or ""
    message_id = None
    if keyword == "stop":
        optouts.record_opt_out(
            session, row.from_number, sender, school.id, "keyword", row.body.strip()[:40]
        )
        after = [confirm(session, school, row.from_number, system_texts.STOP_CONFIRMED, preferred)]
        result = "opted_out"
    elif keyword == "start" and optouts.resume(session, row.from_number, sender):
        # Only a number that had opted out is resumed: from anyone else "Yes" is a reply.
        after = [confirm(session, school, row.from_number, system_texts.START_CONFIRMED, preferred)]
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
                contact=contact,
            )
        ]
        result = "help"
    else:
        thread = thread_for(session, school, guardian, row.from_number)
        message, after = add_reply(session, thread, school, guardian, row.body)
        message_id = message.id
        result = "routed"
    inbound.finish_sms(row, result, message_id)
    for send in after:  # replies and notifications go out once the reply is safely stored
        after_commit(session, send)
    return result


def _school_for(session: Session, params: dict[str, Any], to: str) -> School | None:
    service_sid = params.get("MessagingServiceSid")
    for sender in (to, service_sid):
        if sender:
            school = session.scalar(select(School).where(School.sms_sender == sender))
            if school is not None:
                return school
    return None


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


def thread_for(session: Session, school: School, guardian: Guardian | None, phone: str) -> Thread:
    """The thread a text from this family answers: its most recent one at the school within
    the reply window, else the school office's thread for this family (or number)."""
    window = utcnow() - timedelta(days=get_settings().reply_window_days)
    if guardian is not None:
        recent = session.scalar(
            select(Thread)
            .join(ThreadGuardian, ThreadGuardian.thread_id == Thread.id)
            .where(
                ThreadGuardian.guardian_id == guardian.id,
                Thread.school_id == school.id,
                Thread.last_activity_at >= window,
            )
            .order_by(Thread.last_activity_at.desc(), Thread.id.desc())
            .limit(1)
        )
        if recent is not None:
            return recent
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


# Replies ---------------------------------------------------------------------------------------


def add_reply(
    session: Session, thread: Thread, school: School, guardian: Guardian | None, body: str
) -> tuple[Message, list[Callable[[], None]]]:
    """A family's reply in its thread: the original kept, its language detected, a translation
    into the reader's language stored beside it. Returns the message and what to do once it is
    committed: email the staff member."""
    preferred = guardian.language if guardian else school.default_language
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
    result = translation.translate(session, [body], detection.language, reader_language)[0]
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
            ),
        )
        for staff in _readers(session, thread, owner)
    ]

    def notify() -> None:
        for staff_id, mail in emails:
            try:
                email_channel().send(mail)
            except SendError as exc:
                log.warning("could not notify staff %s of a reply: %s", staff_id, exc.code)

    return message, [notify]


def _readers(session: Session, thread: Thread, owner: Staff | None) -> list[Staff]:
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
    else:
        text = f"{family_name} replied:\n\n{original}\n\nOpen the conversation: {link}"
    return Email(
        to=staff.email,
        subject=f"Reply from {family_name}: {thread.subject or ''}".strip(),
        text=text,
        html=text_as_html(text, language),
        sender=settings.email_from,
        language=language,
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


def _text_of(part: email.message.EmailMessage) -> str:
    """A text part's content, however its charset is declared: an unknown or garbled charset
    is read as UTF-8, and undecodable bytes become U+FFFD."""
    try:
        text = part.get_content()
    except (LookupError, ValueError):
        payload = part.get_payload(decode=True)
        text = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    return inbound.storable(text)


def receive_email(session: Session, raw: bytes) -> Message:
    """A family's email reply (raw MIME) to the reply address of its thread."""
    try:
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception:
        raise Invalid("The body is not a MIME email message.") from None
    addresses = " ".join(
        str(parsed.get(h, "")) for h in ("To", "Cc", "Delivered-To", "X-Original-To")
    )
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
    sender = inbound.storable(email.utils.parseaddr(str(parsed.get("From", "")))[1]).lower()
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
    message, after = add_reply(session, thread, school, guardian, body[:5000])
    inbound.store_email(session, raw, message.id)
    for send in after:  # the staff are told once the reply is safely stored
        after_commit(session, send)
    return message
