"""What families send: SMS through Twilio's webhook, email replies as raw MIME.

A text is stored before anything else (unique on its MessageSid, so Twilio's retries change
nothing), the webhook answers at once, and a job then reads it: STOP/START/HELP keywords, or a
reply routed to its thread, its language detected, translated for the staff member, who is
notified by email."""

import email
import email.policy
import logging
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from app import channels
from app.channels import sms
from app.channels.email import email_channel
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import Forbidden, Invalid, NotFound
from app.core.queue import after_commit, enqueue_job
from app.delivery import optouts, system_texts
from app.delivery.emails import reply_notification
from app.delivery.keywords import classify_keyword
from app.delivery.models import InboundEmail, InboundSms
from app.messaging.models import Message, MessageTranslation, Thread, ThreadGuardian
from app.messaging.tokens import thread_from_token
from app.people.models import Guardian, Staff, StaffSchool, Student, StudentGuardian
from app.schools.models import School
from app.translation import detect
from app.translation import service as translation
from app.translation.languages import ENGLISH, mt_code
from app.translation.protect import Protection

log = logging.getLogger("hearth.inbound")


def verify_twilio(params: dict[str, str], urls: list[str], signature: str) -> None:
    validator = RequestValidator(get_settings().webhook_auth_token())
    if not signature or not any(validator.validate(url, params, signature) for url in urls):
        raise Forbidden("The request is not signed by Twilio for this server.")


def refuse_nul(params: dict[str, str]) -> None:
    """Twilio's fields are text; a NUL is no SMS and cannot be stored (PostgreSQL refuses it)."""
    if any("\x00" in key or "\x00" in value for key, value in params.items()):
        raise Invalid("The request holds a NUL character (\\u0000), which no SMS field can.")


def receive_sms(session: Session, params: dict[str, str], urls: list[str], signature: str) -> bool:
    """Store a signed inbound SMS durably. Returns False when Twilio is retrying one we have."""
    verify_twilio(params, urls, signature)
    refuse_nul(params)
    sid = params.get("MessageSid") or params.get("SmsSid")
    sender, to = params.get("From"), params.get("To")
    if not sid or not sender or not to:
        raise Invalid("An inbound SMS needs MessageSid, From and To.")
    values = {
        "message_sid": sid[:64],
        "from_number": sender[:32],
        "to_number": to[:64],
        "body": params.get("Body", ""),
        "params": params,
        "received_at": utcnow(),
    }
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    result = session.execute(
        insert(InboundSms)
        .values(values)
        .on_conflict_do_nothing(index_elements=["message_sid"])
        .returning(InboundSms.id)
    )
    inbound_id = result.scalar()
    if inbound_id is not None:
        enqueue_job(session, "messaging.route_sms", inbound_id)
    if inbound_id is not None:  # ids only: the number and the words stay in the database
        log.info("inbound SMS %s stored", inbound_id)
    return inbound_id is not None


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


def _confirm(
    session: Session,
    school: School,
    phone: str,
    key: str,
    language: str,
    **fields: str,
) -> Callable[[], None]:
    """A system reply (`key` of `system_texts`), written now and sent once the transaction is
    over: as people translated it, else the English machine-translated when a model is
    installed (the school's name and contact kept as written), else the English. It goes
    straight through the SMS channel: carriers expect the STOP confirmation even though the
    number is now opted out."""
    code = mt_code(language)
    values = {"school": school.name, **fields}
    text = system_texts.system_text(key, language, **values)
    if text is None:
        english = system_texts.english_text(key, **values)
        kept = Protection(names=list(values.values()))
        result = translation.translate(session, [english], ENGLISH, code, protection=kept)[0]
        text = result.text if result.status == "translated" and result.text else english
    sender = school.sms_sender or ""

    def send() -> None:
        try:
            sms.sms_channel().send(sender, phone, text, None)
        except channels.SendError as exc:
            log.warning("could not send the %s confirmation: %s", code, exc.code)

    return send


def unprocessed(session: Session) -> list[int]:
    """Texts stored but never read: lost between commit and enqueue, or a worker died."""
    grace = timedelta(seconds=get_settings().outbox_grace_seconds)
    return list(
        session.scalars(
            select(InboundSms.id)
            .where(InboundSms.status == "received", InboundSms.received_at < utcnow() - grace)
            .limit(1000)
        )
    )


def process_sms(session: Session, inbound_id: int) -> str:
    # Claim it, so that a job and a sweep's duplicate never both answer the same text.
    claimed = session.execute(
        update(InboundSms)
        .where(InboundSms.id == inbound_id, InboundSms.status == "received")
        .values(status="processing")
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()  # commits on purpose: claimed before it is answered, by one job only
    row = session.get(InboundSms, inbound_id)
    if not claimed or row is None:
        return "skipped"
    school = _school_for(session, row.params, row.to_number)
    if school is None:
        row.status, row.result, row.processed_at = "processed", "unknown_sender", utcnow()
        log.warning("inbound SMS to a number no school uses")
        return "unknown_sender"
    guardians = _guardians_at(session, row.from_number, school.id)
    guardian = guardians[0] if guardians else None
    preferred = guardian.language if guardian else school.default_language
    keyword = classify_keyword(row.body)
    sender = school.sms_sender or ""
    if keyword == "stop":
        optouts.record_opt_out(
            session, row.from_number, sender, school.id, "keyword", row.body.strip()[:40]
        )
        after = [_confirm(session, school, row.from_number, system_texts.STOP_CONFIRMED, preferred)]
        result = "opted_out"
    elif keyword == "start" and optouts.resume(session, row.from_number, sender):
        # Only a number that had opted out is resumed: from anyone else "Yes" is a reply.
        after = [
            _confirm(session, school, row.from_number, system_texts.START_CONFIRMED, preferred)
        ]
        result = "resumed"
    elif keyword == "help":
        contact = school.email_sender or school.sms_sender or school.name
        after = [
            _confirm(
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
        thread = _thread_for(session, school, guardian, row.from_number)
        message, after = add_reply(session, thread, school, guardian, row.body)
        row.message_id = message.id
        result = "routed"
    row.status, row.result, row.processed_at = "processed", result, utcnow()
    for send in after:  # replies and notifications go out once the reply is safely stored
        after_commit(session, send)
    return result


def _thread_for(session: Session, school: School, guardian: Guardian | None, phone: str) -> Thread:
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
    result = translation.translate(session, [body], detection.language, reader_language)[0]
    session.add(
        MessageTranslation(
            message_id=message.id,
            language=result.target,
            status=result.status,
            text=result.text,
            engine=result.engine,
            reason=result.reason,
            cached=result.cached,
        )
    )
    family = f"{guardian.given_name} {guardian.family_name}" if guardian else "Unknown number"
    emails = [
        (
            staff.id,
            reply_notification(
                staff, thread, family, body, detection.language, result.text, reader_language
            ),
        )
        for staff in _readers(session, thread, owner)
    ]

    def notify() -> None:
        for staff_id, mail in emails:
            try:
                email_channel().send(mail)
            except channels.SendError as exc:
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


# Email replies ---------------------------------------------------------------------------------

_TOKEN_RE = re.compile(r"reply\+([0-9]+\.[0-9a-f]+)@", re.I)
_SURROGATE = re.compile("[\ud800-\udfff]")
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


def _storable(text: str) -> str:
    """Text a database can hold: NULs dropped, lone surrogates (8-bit bytes that the parser
    kept as escapes) shown as U+FFFD."""
    return _SURROGATE.sub("\ufffd", text.replace("\x00", ""))


def _text_of(part: email.message.EmailMessage) -> str:
    """A text part's content, however its charset is declared: an unknown or garbled charset
    is read as UTF-8, and undecodable bytes become U+FFFD."""
    try:
        text = part.get_content()
    except (LookupError, ValueError):
        payload = part.get_payload(decode=True)
        text = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    return _storable(text)


def receive_email(session: Session, raw: bytes) -> Message:
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
    sender = _storable(email.utils.parseaddr(str(parsed.get("From", "")))[1]).lower()
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
    stored_raw = _storable(raw.decode("utf-8", errors="replace"))
    session.add(InboundEmail(raw=stored_raw, message_id=message.id))
    for send in after:  # the staff are told once the reply is safely stored
        after_commit(session, send)
    return message
