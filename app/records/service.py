"""Records requests: how long message texts are kept, one family's data exported, one family's
data erased.

Retention erases *texts* — messages as written and their translations, the rendered bodies of
deliveries, families' raw texts and emails, broadcast texts, the translation cache — and keeps
what engagement reports count: who, when, channel, status, language. It never touches anything
still on its way: a delivery keeps its body until it is settled, and a message keeps its text
until none of its deliveries is queued, sending or in review and none of its translations is
pending.

Deleting a family empties the guardian row into a nameless, contactless, inactive shell rather
than removing it: deliveries and replies keep pointing at it, so old broadcasts' counts stay
right, while nothing left says who the family was. Threads shared with other families stay
intact for them."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Text,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, selectinload

from app.audit import service as audit
from app.audit.models import AuditEvent
from app.auth.models import SCOPES
from app.auth.service import AuthSubject
from app.broadcasts.models import Broadcast
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, Invalid
from app.delivery import attachments
from app.delivery.models import (
    FINAL,
    PENDING,
    Attachment,
    Delivery,
    DeliveryStatus,
    InboundEmail,
    InboundMedia,
    InboundSms,
    OptOut,
)
from app.messaging import service as messaging
from app.messaging.models import (
    InterpretationTask,
    Message,
    MessageTranslation,
    Thread,
    ThreadGuardian,
)
from app.messaging.translations import WAITING
from app.people import service as people
from app.people.models import Guardian, Student, StudentGuardian
from app.schools.models import School
from app.translation import service as translation
from app.translation.models import CachedTranslation, HumanTranslation

# messages.body is NOT NULL: an erased message keeps an empty text.
ERASED = ""
# A delivery whose body nothing will read again. `sent` counts: email never moves past it, and
# a text's carrier callback comes within days, not within a retention period.
SETTLED = FINAL | {DeliveryStatus.SENT}
UNSETTLED = PENDING
DELETED_NAME = "(deleted)"
BATCH = 2000
# What a purge erases, in the order it goes (a message after its deliveries).
ERASABLE = (
    "deliveries",
    "messages",
    "translations",
    "inbound_sms",
    "inbound_emails",
    "broadcasts",
    "translation_cache",
    "interpretations",
    "translation_memory",
    "attachments",
)


# A message's translation still on its way: the model's, or an interpreter's.
STILL_TO_COME = ("pending", WAITING)


def system_subject() -> AuthSubject:
    """The `hearth` command and the daily job: every school, every scope."""
    return AuthSubject(role="admin", scopes=frozenset(SCOPES), school_ids=None)


# Retention -----------------------------------------------------------------------------------


def _not_empty_json(column: Any) -> ColumnElement[bool]:
    # JSON has no portable equality; its text form does ('{}' on SQLite and PostgreSQL).
    return func.coalesce(cast(column, Text), "{}") != "{}"


def _message_settled() -> list[ColumnElement[bool]]:
    """Conditions on `messages` (correlated): nothing of the message is still on its way."""
    return [
        ~exists().where(Delivery.message_id == Message.id, Delivery.status.in_(UNSETTLED)),
        ~exists().where(
            MessageTranslation.message_id == Message.id, MessageTranslation.status == "pending"
        ),
    ]


def _sweep(
    session: Session,
    model: Any,
    conditions: Sequence[ColumnElement[bool]],
    values: dict[str, Any] | None,
    *,
    dry_run: bool,
) -> int:
    """Update (or delete, when `values` is None) every row meeting `conditions`, in batches
    walked by id, each its own short transaction: sending goes on meanwhile, and the
    conditions are checked again in each UPDATE, so a row that changed since it was read is
    left alone. Returns the rows changed (or that would be, on a dry run)."""
    if dry_run:
        return session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0
    done, last = 0, 0
    while True:
        ids = list(
            session.scalars(
                select(model.id).where(model.id > last, *conditions).order_by(model.id).limit(BATCH)
            )
        )
        if not ids:
            return done
        stmt = delete(model) if values is None else update(model).values(**values)
        result = session.execute(
            stmt.where(model.id.in_(ids), *conditions).execution_options(synchronize_session=False)
        )
        session.commit()  # commits on purpose: each batch is a short transaction of its own
        done += result.rowcount or 0  # type: ignore[attr-defined]
        last = ids[-1]


def purge(
    session: Session,
    *,
    days: int | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    actor: str = "system",
) -> dict[str, Any]:
    """Erase the texts older than `days` (default: HEARTH_RETENTION_DAYS; 0 keeps everything).
    Idempotent: a second run finds nothing more to erase. Commits each batch as it goes (what
    came before it included): do not call it with work of your own pending. The audit event at
    the end is the caller's transaction (the job runner's or the command's) to commit."""
    days = get_settings().retention_days if days is None else days
    if days < 0:
        raise Invalid("The retention period is a number of days, 0 (keep forever) or more.")
    report: dict[str, Any] = {
        "days": days,
        "cutoff": None,
        "dry_run": dry_run,
        **dict.fromkeys(ERASABLE, 0),
        "messages_held": 0,
    }
    if days == 0:
        return report
    cutoff = (now or utcnow()) - timedelta(days=days)
    report["cutoff"] = cutoff
    session.commit()  # commits on purpose: each batch below is a transaction of its own
    sweep = {"dry_run": dry_run}
    report["deliveries"] = _sweep(
        session,
        Delivery,
        [Delivery.created_at < cutoff, Delivery.body.is_not(None), Delivery.status.in_(SETTLED)],
        {"body": None},
        **sweep,
    )
    old_message = [Message.created_at < cutoff, *_message_settled()]
    report["messages"] = _sweep(
        session,
        Message,
        [*old_message, or_(Message.body != ERASED, Message.recording_url.is_not(None))],
        # A reply left on a call: the link to its recording goes too.
        {"body": ERASED, "recording_url": None},
        **sweep,
    )
    # Their photos and PDFs, files and all (in the caller's transaction, as the audit event).
    of_old_message = exists().where(Message.id == Attachment.message_id, *old_message)
    if dry_run:
        report["attachments"] = (
            session.scalar(select(func.count()).select_from(Attachment).where(of_old_message)) or 0
        )
    else:
        old_ids = list(session.scalars(select(Attachment.message_id).where(of_old_message)))
        # A family's MMS photos refused or not fetched yet: no attachment, only their URLs.
        old_ids += list(
            session.scalars(
                select(InboundMedia.message_id).where(
                    exists().where(Message.id == InboundMedia.message_id, *old_message)
                )
            )
        )
        report["attachments"] = attachments.remove_for_messages(
            session, sorted({i for i in old_ids if i is not None})
        )
    # Correlated, row by row through the index, rather than one IN list of every old message.
    of_erasable_message = exists().where(Message.id == MessageTranslation.message_id, *old_message)
    report["translations"] = _sweep(
        session,
        MessageTranslation,
        [MessageTranslation.text.is_not(None), of_erasable_message],
        {"text": None},
        **sweep,
    )
    report["inbound_sms"] = _sweep(
        session,
        InboundSms,
        [
            InboundSms.received_at < cutoff,
            InboundSms.status == "processed",  # a text not yet read keeps its words
            or_(InboundSms.body != ERASED, _not_empty_json(InboundSms.params)),
        ],
        {"body": ERASED, "params": {}},
        **sweep,
    )
    report["inbound_emails"] = _sweep(
        session,
        InboundEmail,
        [InboundEmail.received_at < cutoff, InboundEmail.raw != ERASED],
        {"raw": ERASED},
        **sweep,
    )
    report["broadcasts"] = _sweep(
        session,
        Broadcast,
        [
            Broadcast.created_at < cutoff,
            Broadcast.status.in_(("sent", "canceled")),
            or_(Broadcast.body.is_not(None), _not_empty_json(Broadcast.params)),
        ],
        {"body": None, "params": {}},
        **sweep,
    )
    report["translation_cache"] = _sweep(
        session, CachedTranslation, [CachedTranslation.created_at < cutoff], None, **sweep
    )
    of_erasable_task = exists().where(Message.id == InterpretationTask.message_id, *old_message)
    report["interpretations"] = _sweep(
        session,
        InterpretationTask,
        [
            or_(InterpretationTask.text.is_not(None), InterpretationTask.machine_text.is_not(None)),
            of_erasable_task,
        ],
        {"text": None, "machine_text": None},
        **sweep,
    )
    report["translation_memory"] = _sweep(
        session, HumanTranslation, [HumanTranslation.created_at < cutoff], None, **sweep
    )
    translation.forget_recent()  # nor kept in this process's memory
    # Old texts kept because something of their message is still on its way.
    report["messages_held"] = (
        session.scalar(
            select(func.count())
            .select_from(Message)
            .where(
                Message.created_at < cutoff,
                Message.body != ERASED,
                ~and_(*_message_settled()),
            )
        )
        or 0
    )
    erased = sum(report[k] for k in ERASABLE)
    if not dry_run and erased:
        audit.record(
            session,
            actor,
            "records.purge",
            "records",
            details={k: v for k, v in report.items() if k not in ("cutoff", "dry_run")}
            | {"cutoff": cutoff.isoformat()},
        )
    session.flush()
    return report


# One family ----------------------------------------------------------------------------------


def _guardian_for(session: Session, subject: AuthSubject, guardian_id: int, what: str) -> Guardian:
    subject.require_role("office", what)
    return people.get_guardian(session, subject, guardian_id)


def _family_threads(session: Session, subject: AuthSubject, guardian: Guardian) -> list[Thread]:
    """The threads the family is in or wrote into, and any thread their number started before
    Hearth knew it: the ones the caller may read."""
    linked = select(ThreadGuardian.thread_id).where(ThreadGuardian.guardian_id == guardian.id)
    wrote = select(Message.thread_id).where(Message.author_guardian_id == guardian.id)
    mine: list[ColumnElement[bool]] = [Thread.id.in_(linked), Thread.id.in_(wrote)]
    if guardian.phone:
        mine.append(Thread.subject == _unknown_number_subject(guardian.phone))
    return list(
        session.scalars(
            messaging.readable_threads(subject)
            .where(or_(*mine))
            .options(selectinload(Thread.messages).selectinload(Message.translations))
            .order_by(Thread.id)
        )
    )


def _unknown_number_subject(phone: str) -> str:
    # As the inbound SMS routing names a thread for a number no guardian has.
    return f"Unknown number {phone}"


def _is_theirs(message: Message, guardian_id: int, other_families: int) -> bool:
    """What the family received or wrote; another family's reply in a shared thread is not."""
    if message.direction == "outbound":
        return True
    if message.author_guardian_id == guardian_id:
        return True
    return message.author_guardian_id is None and other_families == 0


def _visible_senders(session: Session, subject: AuthSubject) -> list[str] | None:
    if subject.school_ids is None:
        return None
    return [
        s
        for s in session.scalars(select(School.sms_sender).where(School.id.in_(subject.school_ids)))
        if s
    ]


def export_guardian(
    session: Session, subject: AuthSubject, guardian_id: int, *, actor: str | None = None
) -> dict[str, Any]:
    """Everything Hearth holds about one family, as the caller may see it; recorded in the
    audit log."""
    guardian = _guardian_for(session, subject, guardian_id, "export a family's records")
    students = session.execute(
        select(Student, StudentGuardian.relationship)
        .join(StudentGuardian, StudentGuardian.student_id == Student.id)
        .where(
            StudentGuardian.guardian_id == guardian.id,
            Student.id.in_(people.readable_student_ids(subject)),
        )
        .order_by(Student.id)
    ).all()
    threads_out, message_ids, thread_ids = [], [], []
    for thread in _family_threads(session, subject, guardian):
        others = len([g for g in thread.guardian_ids if g != guardian.id])
        messages = [m for m in thread.messages if _is_theirs(m, guardian.id, others)]
        message_ids += [m.id for m in messages]
        thread_ids.append(thread.id)
        threads_out.append(
            {
                "id": thread.id,
                "school_id": thread.school_id,
                "student_id": thread.student_id,
                "subject": thread.subject,
                "status": thread.status,
                "created_at": thread.created_at,
                "last_activity_at": thread.last_activity_at,
                "other_families": others,
                "messages": [
                    {
                        "id": m.id,
                        "direction": m.direction,
                        "kind": m.kind,
                        "author_staff_id": m.author_staff_id,
                        "from_this_family": m.author_guardian_id == guardian.id,
                        "body": m.body,
                        "language": m.language,
                        "created_at": m.created_at,
                        "translations": m.translations,
                    }
                    for m in messages
                ],
            }
        )
    deliveries = select(Delivery).where(Delivery.guardian_id == guardian.id)
    if subject.school_ids is not None:
        deliveries = deliveries.where(Delivery.school_id.in_(subject.school_ids))
    senders = _visible_senders(session, subject)
    texts_from_number: list[ColumnElement[bool]] = [InboundSms.message_id.in_(message_ids)]
    opt_outs = select(OptOut).where(OptOut.phone == (guardian.phone or ""))
    if guardian.phone:
        from_number = InboundSms.from_number == guardian.phone
        if senders is not None:
            from_number = and_(from_number, InboundSms.to_number.in_(senders))
            opt_outs = opt_outs.where(OptOut.sender.in_(senders))
        texts_from_number.append(from_number)
    opt_out_rows = list(session.scalars(opt_outs.order_by(OptOut.id)))
    about = or_(
        and_(AuditEvent.object_type == "guardian", AuditEvent.object_id == str(guardian.id)),
        and_(AuditEvent.object_type == "thread", AuditEvent.object_id.in_(map(str, thread_ids))),
        and_(AuditEvent.object_type == "message", AuditEvent.object_id.in_(map(str, message_ids))),
    )
    audit_rows = list(session.scalars(select(AuditEvent).where(about).order_by(AuditEvent.id)))
    export = {
        "exported_at": utcnow(),
        "guardian": {
            "id": guardian.id,
            "given_name": guardian.given_name,
            "family_name": guardian.family_name,
            "phone": guardian.phone,
            "email": guardian.email,
            "external_id": guardian.external_id,
            "active": guardian.active,
            "created_at": guardian.created_at,
            "updated_at": guardian.updated_at,
        },
        "channel_settings": {
            "language": guardian.language,
            "language_confirmed": guardian.language_confirmed,
            "channels": guardian.channels,
            "channels_confirmed": guardian.channels_confirmed,
            "email_unsubscribed": any(e.action == "guardian.unsubscribe_email" for e in audit_rows),
            "sms_stopped_senders": sorted(o.sender for o in opt_out_rows if o.active),
        },
        "students": [
            {
                "id": s.id,
                "school_id": s.school_id,
                "external_id": s.external_id,
                "given_name": s.given_name,
                "family_name": s.family_name,
                "grade": s.grade,
                "active": s.active,
                "relationship": relationship,
            }
            for s, relationship in students
        ],
        "threads": threads_out,
        "deliveries": list(session.scalars(deliveries.order_by(Delivery.id))),
        "inbound_sms": list(
            session.scalars(
                select(InboundSms).where(or_(*texts_from_number)).order_by(InboundSms.id)
            )
        ),
        "inbound_emails": list(
            session.scalars(
                select(InboundEmail)
                .where(InboundEmail.message_id.in_(message_ids))
                .order_by(InboundEmail.id)
            )
        ),
        "opt_outs": opt_out_rows,
        "audit_events": audit_rows,
    }
    audit.record(
        session,
        actor or subject.actor,
        "guardian.export",
        "guardian",
        guardian.id,
        details={"threads": len(thread_ids), "messages": len(message_ids)},
    )
    session.flush()
    return export


def _shared(session: Session, guardian: Guardian) -> tuple[bool, bool]:
    """Whether another family (a spouse, say) uses the same phone or email: records tied only
    to the number or address, not to this guardian, then stay theirs too."""
    others = select(Guardian.id).where(Guardian.id != guardian.id)
    phone = bool(
        guardian.phone and session.scalar(others.where(Guardian.phone == guardian.phone).limit(1))
    )
    email = bool(
        guardian.email
        and session.scalar(
            others.where(func.lower(Guardian.email) == guardian.email.lower()).limit(1)
        )
    )
    return phone, email


def _scrub_subject(subject: str, full_name: str, phone: str | None) -> str:
    if full_name.strip() and full_name in subject:
        subject = subject.replace(full_name, DELETED_NAME)
    if phone and phone in subject:
        subject = subject.replace(phone, DELETED_NAME)
    return subject


def delete_guardian(
    session: Session, subject: AuthSubject, guardian_id: int, *, actor: str | None = None
) -> dict[str, Any]:
    """Erase one family: its name, phone, email, links, the messages only it received or
    wrote, and its deliveries' texts and addresses; cancel what had not gone out. One
    transaction, all or nothing. The STOP of its number is kept (see README). Returns counts."""
    guardian = _guardian_for(session, subject, guardian_id, "delete a family's records")
    school_ids = set(
        session.scalars(
            select(Student.school_id)
            .join(StudentGuardian, StudentGuardian.student_id == Student.id)
            .where(StudentGuardian.guardian_id == guardian.id)
        )
    )
    if subject.school_ids is not None and not school_ids <= subject.school_ids:
        raise Forbidden(
            "This family also has children at a school outside your reach: only a "
            "district-wide admin can delete its records."
        )
    now = utcnow()
    # Cancel first, then look for sends in flight: a worker claiming a row after this UPDATE
    # finds it canceled; one that claimed it before is seen below.
    canceled = session.execute(
        update(Delivery)
        .where(
            Delivery.guardian_id == guardian.id,
            Delivery.status.in_((DeliveryStatus.QUEUED, DeliveryStatus.REVIEW)),
        )
        .values(
            status="canceled",
            error_code="family_deleted",
            error_text="The family's records were deleted.",
            next_attempt_at=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    sending = session.scalar(
        select(func.count()).where(
            Delivery.guardian_id == guardian.id, Delivery.status == DeliveryStatus.SENDING
        )
    )
    if sending:
        session.rollback()
        raise Conflict(
            "A message to this family is being sent right now, so nothing was deleted. "
            "Try again in a few minutes."
        )

    phone, email = guardian.phone, guardian.email
    full_name = f"{guardian.given_name} {guardian.family_name}"
    phone_shared, email_shared = _shared(session, guardian)
    threads = list(
        session.scalars(
            select(Thread)
            .where(
                or_(
                    Thread.id.in_(
                        select(ThreadGuardian.thread_id).where(
                            ThreadGuardian.guardian_id == guardian.id
                        )
                    ),
                    Thread.id.in_(
                        select(Message.thread_id).where(Message.author_guardian_id == guardian.id)
                    ),
                    *(
                        [Thread.subject == _unknown_number_subject(phone)]
                        if phone and not phone_shared
                        else []
                    ),
                )
            )
            .options(selectinload(Thread.guardian_links))
        )
    )
    solo = [t.id for t in threads if not [g for g in t.guardian_ids if g != guardian.id]]
    erase = or_(Message.thread_id.in_(solo), Message.author_guardian_id == guardian.id)
    messages = session.execute(
        select(Message.id, Message.body, Message.direction).where(erase, Message.body != ERASED)
    ).all()
    message_ids = list(session.scalars(select(Message.id).where(erase)))

    # The cache keys their texts left, computed while names (protected spans) are still known.
    hashes, remembered = set(), set()
    for message_id, body, direction in messages:
        remembered.add(translation.memory_text_hash(body))
        hashes.add(translation.cache_text_hash(body))  # replies are translated unprotected
        if direction == "outbound":
            protection = messaging.protection_for(session, message_id)
            hashes.add(translation.cache_text_hash(body, protection))

    counts: dict[str, Any] = {"guardian_id": guardian.id, "deliveries_canceled": canceled}
    counts["attachments_deleted"] = attachments.remove_for_messages(session, message_ids)
    counts["messages_erased"] = len(messages)
    session.execute(
        update(Message)
        .where(Message.id.in_(message_ids))
        .values(body=ERASED, recording_url=None)
        .execution_options(synchronize_session=False)
    )
    counts["translations_erased"] = session.execute(
        update(MessageTranslation)
        .where(
            MessageTranslation.message_id.in_(message_ids),
            or_(
                MessageTranslation.text.is_not(None),
                MessageTranslation.status.in_(STILL_TO_COME),
            ),
        )
        .values(
            text=None,
            # A translation still to come has nothing left to translate.
            status=case(
                (MessageTranslation.status.in_(STILL_TO_COME), "unavailable"),
                else_=MessageTranslation.status,
            ),
            reason=case(
                (
                    MessageTranslation.status.in_(STILL_TO_COME),
                    "The family's records were deleted.",
                ),
                else_=MessageTranslation.reason,
            ),
        )
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    # An interpreter's work on them: the texts go, and a task still open has nothing left to do.
    counts["interpretations_erased"] = session.execute(
        update(InterpretationTask)
        .where(InterpretationTask.message_id.in_(message_ids))
        .values(text=None, machine_text=None, status="done")
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if remembered:
        session.execute(
            delete(HumanTranslation)
            .where(HumanTranslation.text_hash.in_(remembered))
            .execution_options(synchronize_session=False)
        )
    counts["deliveries_erased"] = session.execute(
        update(Delivery)
        .where(Delivery.guardian_id == guardian.id)
        .values(
            body=None,
            address="",
            provider_id=None,
            email_subject=None,
            reply_to=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    # Another family's copy of an erased message (a thread they have since left) loses its text.
    session.execute(
        update(Delivery)
        .where(Delivery.message_id.in_(message_ids), Delivery.body.is_not(None))
        .values(body=None)
        .execution_options(synchronize_session=False)
    )
    texts: list[ColumnElement[bool]] = [InboundSms.message_id.in_(message_ids)]
    if phone and not phone_shared:
        texts.append(InboundSms.from_number == phone)
    counts["inbound_sms_erased"] = session.execute(
        update(InboundSms)
        # A text not yet read is news from that number after the deletion; it is read as such.
        .where(or_(*texts), InboundSms.status == "processed")
        .values(body=ERASED, params={}, from_number="")
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    emails: list[ColumnElement[bool]] = [InboundEmail.message_id.in_(message_ids)]
    if email and not email_shared:
        emails.append(func.lower(InboundEmail.raw).contains(email.lower(), autoescape=True))
    counts["inbound_emails_erased"] = session.execute(
        update(InboundEmail)
        .where(or_(*emails), InboundEmail.raw != ERASED)
        .values(raw=ERASED)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    counts["translation_cache_deleted"] = (
        session.execute(
            delete(CachedTranslation)
            .where(CachedTranslation.text_hash.in_(hashes))
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if hashes
        else 0
    )
    translation.forget_recent()  # nor kept in this process's memory
    session.execute(
        update(Broadcast)
        .where(Broadcast.thread_id.in_(solo))
        .values(body=None, params={})
        .execution_options(synchronize_session=False)
    )
    for thread in threads:
        scrubbed = _scrub_subject(thread.subject, full_name, phone)
        if scrubbed != thread.subject:  # the emails planned in it carry the subject too
            session.execute(
                update(Delivery)
                .where(
                    Delivery.message_id.in_(
                        select(Message.id).where(Message.thread_id == thread.id)
                    ),
                    Delivery.email_subject.is_not(None),
                )
                .values(email_subject=scrubbed)
                .execution_options(synchronize_session=False)
            )
        thread.subject = scrubbed
    counts["threads_erased"] = len(solo)
    counts["threads_kept_for_other_families"] = len(threads) - len(solo)
    counts["student_links_removed"] = session.execute(
        delete(StudentGuardian)
        .where(StudentGuardian.guardian_id == guardian.id)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    counts["opt_outs_kept"] = (
        session.scalar(select(func.count()).where(OptOut.phone == phone)) if phone else 0
    ) or 0
    counts["phone_shared"], counts["email_shared"] = phone_shared, email_shared

    guardian.given_name, guardian.family_name = DELETED_NAME, ""
    guardian.phone = guardian.email = guardian.external_id = None
    guardian.channels, guardian.channels_confirmed = [], True
    guardian.active = False
    audit.record(
        session,
        actor or subject.actor,
        "guardian.delete",
        "guardian",
        guardian.id,
        details={k: v for k, v in counts.items() if k != "guardian_id"},
    )
    session.flush()
    return counts
