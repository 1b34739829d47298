"""The outbox: planning deliveries with the message, sending each exactly once, retrying what
can be retried, failing over from SMS to email, and following Twilio's status callbacks."""

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, and_, bindparam, case, func, or_, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from app import channels
from app.channels import sms
from app.channels.email import email_channel
from app.channels.segments import count_segments
from app.channels.voice import voice_channel
from app.core import leases
from app.core.bulk import insert_rows
from app.core.config import get_settings
from app.core.db import each_statement_commits, utcnow
from app.core.queue import enqueue_job, schedule_job
from app.delivery import attachments, mms, optouts, voice
from app.delivery.emails import note_email
from app.delivery.models import FINAL, Delivery, DeliveryStatus
from app.delivery.ratelimit import rate_limit_for
from app.people.models import Guardian
from app.schools.models import School

log = logging.getLogger("hearth.delivery")

PHONE_CHANNELS = ("sms", "voice")  # a phone number: STOP and quiet hours hold for both
UNTRANSLATABLE = "No translation into this language is installed: needs an interpreter."
# A send whose claim is younger than this goes without checking the claim again.
FRESH_CLAIM_SECONDS = 1.0
STATUS_RANK = {"queued": 0, "sending": 1, "review": 1, "sent": 2, "delivered": 3}


@dataclass(frozen=True)
class TranslatedText:
    """A message's body in one language, as the outbox takes it: the text to send; or, with
    no text, its translation still on the way (`pending`: the deliveries wait) or impossible
    (they fail, never sent in another language)."""

    text: str | None = None
    pending: bool = False


NO_TRANSLATION = TranslatedText()


@dataclass(frozen=True)
class SmsBody:
    """What a family's phone gets: the text, and the photo (an attachment of the message) it
    carries as MMS, if any."""

    text: str
    media_id: int | None = None

    @property
    def segments(self) -> int:
        # Twilio bills an MMS per message, an SMS per segment.
        return 1 if self.media_id is not None else count_segments(self.text).segments


# (guardian id, language, text) → what a family's phone gets: a message's SMS go through it
# when given (messaging adds the family's link to the family page, or its photo as MMS).
SmsText = Callable[[int, str, str], SmsBody]


def release(
    session: Session,
    message_id: int,
    texts: Mapping[str, TranslatedText],
    sms_text: SmsText | None = None,
) -> list[int]:
    """Give waiting deliveries their translated body (`texts`: language → text). A language
    with no translation fails its deliveries with the reason: never sent in English to a
    family that reads something else. Returns the ids ready to send."""
    ready = []
    for row in session.scalars(
        select(Delivery).where(
            Delivery.message_id == message_id, Delivery.status == DeliveryStatus.QUEUED
        )
    ):
        if row.body is None:
            text = texts.get(row.language, NO_TRANSLATION)
            if text.text:
                row.body = text.text
                out = SmsBody(text.text)
                if row.channel == "sms" and sms_text is not None and row.guardian_id:
                    out = sms_text(row.guardian_id, row.language, text.text)
                    row.body, row.media_id = out.text, out.media_id
                row.segments = out.segments if row.channel == "sms" else 0
            elif text.pending:
                continue
            else:
                _finish(row, "failed", "untranslatable", UNTRANSLATABLE)
                continue
        ready.append(row.id)
    return ready


def is_urgent(session: Session, message_id: int) -> bool:
    """Whether a message's deliveries were planned as urgent (they go at once, quiet hours or
    not, and never wait for an interpreter)."""
    return bool(
        session.scalar(
            select(Delivery.id).where(Delivery.message_id == message_id, Delivery.urgent).limit(1)
        )
    )


def _finish(row: Delivery, status: str, code: str | None, text: str | None) -> None:
    row.status = status
    row.error_code = code
    row.error_text = text
    row.next_attempt_at = None


# Sending -------------------------------------------------------------------------------------


def quiet_until(school: School, now: datetime) -> datetime | None:
    """When a non-urgent SMS may go, if `now` is inside the school's quiet hours."""
    start, end = school.quiet_hours_start, school.quiet_hours_end
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(ZoneInfo(school.timezone))
    t = local.time().replace(tzinfo=None)
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    opens = datetime.combine(local.date(), end, tzinfo=local.tzinfo)
    if opens <= local:
        opens += timedelta(days=1)
    return opens.astimezone(now.tzinfo)


_DELIVERIES = cast(Table, Delivery.__table__)  # (typed as any FromClause)

# Whether the row's phone (none for an email) told the school STOP: a STOP holds for every
# number of the school, so opt-outs are kept under its own sender (the row's when the school
# has none).
_SAYS_STOP = and_(
    # (not IN: its list is expanded into the statement's text again at every execution)
    or_(*(_DELIVERIES.c.channel == channel for channel in PHONE_CHANNELS)),
    optouts.said_stop(
        _DELIVERIES.c.address,
        func.coalesce(
            select(func.nullif(School.sms_sender, ""))
            .where(School.id == _DELIVERIES.c.school_id)
            .correlate(_DELIVERIES)
            .scalar_subquery(),
            func.nullif(_DELIVERIES.c.sender, ""),
        ),
    ),
)
STOPPED = "This number replied STOP to the school."


def _unless_stop(value: Any, stopped: Any) -> Any:
    return case((_SAYS_STOP, stopped), else_=value)


# queued → sending, atomically: of any number of workers holding the job, one wins. A retry or
# a sweep's duplicate finds nothing to claim; the winner's row comes back with the claim
# (RETURNING), not in a second statement. A number that said STOP is suppressed instead, with
# its reason, by the same statement. Built once, on the table: the ORM's own UPDATE …
# RETURNING cost half as much again, for every text sent.
_CLAIM = (
    update(_DELIVERIES)
    .where(
        _DELIVERIES.c.id == bindparam("delivery_id"),
        _DELIVERIES.c.status == DeliveryStatus.QUEUED,
        _DELIVERIES.c.body.is_not(None),
        or_(
            _DELIVERIES.c.next_attempt_at.is_(None),
            _DELIVERIES.c.next_attempt_at <= bindparam("now"),
        ),
    )
    .values(
        status=_unless_stop(DeliveryStatus.SENDING, DeliveryStatus.SUPPRESSED),
        error_code=_unless_stop(_DELIVERIES.c.error_code, "opted_out"),
        error_text=_unless_stop(_DELIVERIES.c.error_text, STOPPED),
        next_attempt_at=_unless_stop(_DELIVERIES.c.next_attempt_at, None),
        attempts=_DELIVERIES.c.attempts + 1,
        updated_at=bindparam("now"),
        claimed_by=bindparam("owner"),
    )
    .returning(*_DELIVERIES.c)
)


def claim(session: Session, delivery_id: int) -> Delivery | None:
    """queued → sending (or suppressed, if its number said STOP), atomically (see _CLAIM).
    Committed by the caller, before the provider call."""
    params = {"delivery_id": delivery_id, "now": utcnow(), "owner": leases.current_owner()}
    claimed = session.execute(_CLAIM, params).mappings().one_or_none()
    if claimed is None:
        return None
    row = Delivery(**claimed)  # (each attribute is named as its column)
    make_transient_to_detached(row)  # as if loaded: nothing of it is left to write
    return session.merge(row, load=False)  # the session's own copy, if it had one, updated


def send(session: Session, delivery_id: int) -> str:
    """Send one delivery if it is due and nobody else is sending it. Returns what happened:
    sent | skipped | deferred | retry | failed | suppressed."""
    claimed = time.monotonic()
    # The claim is not committed as it runs (each_statement_commits): should the database fail
    # before the commit below, the claim is undone with the rest and the job's retry sends it;
    # committed alone, the row would stay `sending`, and an email or a call would go to review.
    row = claim(session, delivery_id)
    if row is None:
        return "skipped"
    if row.status == DeliveryStatus.SUPPRESSED:
        return "suppressed"
    if row.channel in PHONE_CHANNELS and not row.urgent:
        wait = quiet_until(session.get_one(School, row.school_id), utcnow())
        if wait is not None:
            row.status, row.next_attempt_at = "queued", wait
            row.attempts -= 1  # waiting for morning is not a failed attempt
            return "deferred"
    send_now = _prepare(session, row)
    # No transaction stays open across the provider call: it may take seconds, on SQLite the
    # write lock would stop every other writer meanwhile, and the dev backends write through a
    # session of their own.
    session.commit()  # commits on purpose: the claim holds, nothing stays open across the call
    if row.channel == "sms":
        settings = get_settings()
        rate_limit_for(settings.queue_url).acquire(
            row.sender or "", max(row.segments, 1), settings.sms_segments_per_second
        )
    # A claim made a moment ago is ours for sure (nobody takes a send as interrupted before
    # the call's timeout): only after a wait (the rate limit, a pause) is it checked again.
    stale = time.monotonic() - claimed > FRESH_CLAIM_SECONDS
    if stale and not _still_ours(session, row.id, row.attempts):
        return "skipped"
    try:
        provider_id = send_now()
    except channels.TransientError as exc:
        return _retry(session, row, exc)
    except channels.PermanentError as exc:
        return _fail(session, row, exc)
    _sent(session, row, provider_id)
    return "sent"


# The result of a text sent: written as it is rather than through the ORM's flush, which
# costs more than the statement (it runs for every text sent). The SET clause is the
# parameters' columns.
_SENT = update(_DELIVERIES).where(_DELIVERIES.c.id == bindparam("delivery_id"))


def _sent(session: Session, row: Delivery, provider_id: str) -> None:
    """sending → sent, in the database and in `row` (which then has nothing left to flush)."""
    now = utcnow()
    values = {
        "status": "sent",
        "provider_id": provider_id,
        "sent_at": now,
        "updated_at": now,
        "error_code": None,
        "error_text": None,
    }
    each_statement_commits(session)
    session.execute(_SENT, {"delivery_id": row.id, **values})
    session.commit()  # commits on purpose: what follows in the job is a transaction of its own
    for key, value in values.items():
        set_committed_value(row, key, value)


def _still_ours(session: Session, delivery_id: int, attempts: int) -> bool:
    """Right before the provider call: is this claim still ours? A process stalled past its
    lease (a rate-limit wait, a pause) may have been taken for dead and its send settled by
    another. The row is stamped now, so that no one takes a send as interrupted while its
    provider call can still be under way (see reconcile_interrupted)."""
    ours: int = session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.status == DeliveryStatus.SENDING,
            Delivery.attempts == attempts,
        )
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    session.commit()  # commits on purpose: the stamp holds before the provider call
    return ours == 1


def _prepare(session: Session, row: Delivery) -> Callable[[], str]:
    """Everything the send needs from the database, read now; the call itself, for later."""
    if row.channel == "sms":
        callback = get_settings().public_url.rstrip("/") + "/webhooks/twilio/status"
        sender, to, body = row.sender or "", row.address, row.body or ""
        media = mms.url(row.media_id) if row.media_id is not None else None
        return lambda: sms.sms_channel().send(sender, to, body, callback, media)
    if row.channel == "voice":
        return _prepare_call(row)
    files = [
        (a.filename, a.content_type, attachments.reader(a))
        for a in attachments.for_message(session, row.message_id)
    ]
    email = note_email(row, session.get_one(School, row.school_id), files)
    return lambda: email_channel().send(email)


def _prepare_call(row: Delivery) -> Callable[[], str]:
    sender, to, body = row.sender or "", row.address, row.body or ""
    if not voice.can_call(row.language):

        def no_voice() -> str:
            raise channels.PermanentError("no_voice", voice.NO_VOICE)

        return no_voice
    twiml_url, callback = voice.url(row, "twiml"), voice.status_callback_url()
    return lambda: voice_channel().call(sender, to, body, twiml_url, callback)


def retry_delays() -> list[timedelta]:
    """Backoff after each failed attempt (HEARTH_SEND_RETRY_SECONDS: 30 s, 2 min, 10 min);
    after the last one the delivery fails with the reason."""
    return [timedelta(seconds=s) for s in get_settings().send_retry_seconds]


def _retry(session: Session, row: Delivery, exc: channels.SendError) -> str:
    delays = retry_delays()
    if row.attempts > len(delays):
        _finish(row, "failed", exc.code, f"Gave up after {row.attempts} attempts: {exc.text}")
        return "failed"
    row.status = "queued"
    row.error_code, row.error_text = exc.code, exc.text
    row.next_attempt_at = utcnow() + delays[row.attempts - 1]
    log.info("delivery %s will retry after %s (%s)", row.id, delays[row.attempts - 1], exc.code)
    return "retry"


def _fail(session: Session, row: Delivery, exc: channels.PermanentError) -> str:
    _finish(row, "failed", exc.code, exc.text)
    _after_carrier_error(session, row, exc.code)
    return "failed"


def _after_carrier_error(session: Session, row: Delivery, code: str | None) -> None:
    """What a failed text's error code says about the number: opted out, or cannot take SMS."""
    if not code or not (code.isascii() and code.isdigit()):
        return
    if int(code) == channels.OPTED_OUT_CODE:
        school = session.get(School, row.school_id)
        sender = (school.sms_sender if school else None) or row.sender or ""
        optouts.record_opt_out(session, row.address, sender, row.school_id, "carrier", None)
    elif int(code) in channels.BAD_NUMBER_CODES:
        failover_to_email(session, row)


def failover_to_email(session: Session, row: Delivery) -> Delivery | None:
    """A number that cannot take SMS: the guardian's email gets the message instead."""
    guardian = session.get(Guardian, row.guardian_id)
    if guardian is None or not guardian.email:
        return None
    existing = session.scalar(
        select(Delivery).where(
            Delivery.message_id == row.message_id,
            Delivery.guardian_id == row.guardian_id,
            Delivery.channel == "email",
        )
    )
    if existing is not None:
        return None
    school = session.get(School, row.school_id)
    email = Delivery(
        message_id=row.message_id,
        guardian_id=row.guardian_id,
        school_id=row.school_id,
        channel="email",
        address=guardian.email,
        sender=email_sender(school),
        language=row.language,
        body=row.body,
        email_subject=row.email_subject,
        reply_to=row.reply_to,
        urgent=row.urgent,
        status="queued",
    )
    session.add(email)
    session.flush()
    enqueue_job(session, "delivery.send", email.id)
    return email


def cancel_queued(session: Session, message_id: int, reason: str) -> int:
    """What of a message has not left yet stays home: its queued deliveries are canceled
    (one being sent right now goes). Returns how many."""
    canceled: int = session.execute(
        update(Delivery)
        .where(Delivery.message_id == message_id, Delivery.status == DeliveryStatus.QUEUED)
        .values(status="canceled", error_text=reason, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return canceled


# Call callbacks ------------------------------------------------------------------------------


def mark_voicemail(row: Delivery) -> None:
    """An answering machine took the call: the message was left once, as a voicemail."""
    if row.status not in ("failed", "suppressed", "canceled"):
        row.error_code, row.error_text = "voicemail", voice.VOICEMAIL


def apply_call_status(
    session: Session, call_sid: str, status: str, answered_by: str | None = None
) -> bool:
    """A call's progress (Twilio's CallStatus): answered or completed → delivered; busy, no
    answer, failed → failed with the reason, a busy or unanswered call tried once more later
    first. Forward only, like a text's."""
    row = voice.delivery_for_call(session, call_sid)
    if row is None:
        return False
    if answered_by and answered_by.startswith("machine"):
        mark_voicemail(row)
    if row.status in FINAL:
        return False
    if status in ("in-progress", "answered", "completed"):
        row.status, row.delivered_at = "delivered", utcnow()
        return True
    reason = voice.CALL_FAILURES.get(status)
    if reason is None:
        return False  # queued, initiated, ringing: the row is `sent` already
    if status in ("busy", "no-answer") and row.attempts < 2:
        # One more try later: a new call, with a sid of its own.
        row.status, row.provider_id = "queued", None
        row.error_code, row.error_text = status, f"{reason} Calling once more later."
        row.next_attempt_at = utcnow() + timedelta(seconds=get_settings().voice_retry_seconds)
        schedule_job(session, "delivery.send", row.id, eta=row.next_attempt_at)
        return True
    _finish(row, "failed", status, reason)
    return True


def voice_call(session: Session, delivery_id: int) -> Delivery | None:
    """A call's delivery, for its TwiML and its recorded reply (None: no such call)."""
    row = session.get(Delivery, delivery_id)
    return row if row is not None and row.channel == "voice" else None


# Status callbacks and the sweeper --------------------------------------------------------------


def apply_status(session: Session, provider_id: str, status: str, error_code: str | None) -> bool:
    """Move a delivery forward only: never `delivered` over `failed`, never back to `sent`."""
    row = session.scalar(select(Delivery).where(Delivery.provider_id == provider_id))
    if row is None:
        return False
    status = {
        "accepted": "queued",
        "scheduled": "queued",
        "receiving": "sent",
        "received": "delivered",
        "read": "delivered",
    }.get(status, status)
    if row.status in FINAL or row.status == status:
        return False
    if error_code is not None:
        error_code = error_code[: Delivery.error_code.type.length]  # Twilio's are 5 digits
    if status in (DeliveryStatus.FAILED, DeliveryStatus.UNDELIVERED):
        row.status = status
        row.error_code = error_code or row.error_code
        row.error_text = f"Twilio reported the message {status}" + (
            f" (error {error_code})" if error_code else ""
        )
        _after_carrier_error(session, row, error_code)
    elif status in STATUS_RANK and STATUS_RANK[status] > STATUS_RANK.get(row.status, 0):
        row.status = status
        if status == DeliveryStatus.DELIVERED:
            row.delivered_at = utcnow()
    else:
        return False
    return True


def requeue_overdue(
    session: Session,
    now: datetime | None = None,
    limit: int = 5000,
    grace: timedelta | None = None,
) -> list[int]:
    """The overdue rows, each marked as just re-enqueued so that a long rate-limited backlog is
    not given a fresh duplicate job every minute."""
    now = now or utcnow()
    ids = overdue(session, now, limit, grace)
    if ids:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.status == DeliveryStatus.QUEUED)
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )
    return ids


def awaiting_translation(
    session: Session, now: datetime | None = None, grace: timedelta | None = None
) -> list[int]:
    """Messages whose deliveries still wait for their translation a grace period on: the job
    translating them was lost (a worker killed mid-translation, a flushed Redis). Marked as
    just handled, so that each is re-enqueued at most once per grace period."""
    now = now or utcnow()
    grace = _grace(grace)
    waiting = (
        Delivery.status == DeliveryStatus.QUEUED,
        Delivery.body.is_(None),
        Delivery.updated_at < now - grace,
    )
    ids = list(session.scalars(select(Delivery.message_id).where(*waiting).distinct().limit(500)))
    if ids:
        session.execute(
            update(Delivery)
            .where(Delivery.message_id.in_(ids), *waiting)
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )
    return ids


def call_timeout() -> timedelta:
    """How long a provider call can last: after it, a send is over one way or the other."""
    return timedelta(seconds=2 * get_settings().sms_send_timeout)


def still_sending(session: Session, owner: str) -> bool:
    """Sends a dead process claimed that are too recent to be taken as over (call_timeout)."""
    return (
        session.scalar(
            select(Delivery.id)
            .where(Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_by == owner)
            .limit(1)
        )
        is not None
    )


def _grace(grace: timedelta | None) -> timedelta:
    return timedelta(seconds=get_settings().outbox_grace_seconds) if grace is None else grace


def overdue(
    session: Session,
    now: datetime | None = None,
    limit: int = 5000,
    grace: timedelta | None = None,
) -> list[int]:
    """Queued rows whose time has come but whose job is not known to be on the queue: lost
    between commit and enqueue, with a Redis that was flushed, or with a process that died.
    `grace`: how old a row must be (default HEARTH_OUTBOX_GRACE_SECONDS; zero when a process
    died with jobs taken off the queue: a row whose job is still queued is claimed once anyway)."""
    now = now or utcnow()
    # Fresh rows have their job on the queue: a second job would only be skipped.
    grace = _grace(grace)
    return list(
        session.scalars(
            select(Delivery.id)
            .where(
                Delivery.status == DeliveryStatus.QUEUED,
                Delivery.body.is_not(None),
                or_(
                    and_(
                        Delivery.next_attempt_at.is_(None),
                        Delivery.updated_at < now - grace,
                    ),
                    Delivery.next_attempt_at <= now,
                ),
            )
            .order_by(Delivery.id)
            .limit(limit)
        )
    )


def reconcile_interrupted(
    session: Session, now: datetime | None = None, dead: Iterable[str] = ()
) -> dict[str, int]:
    """Rows stuck in `sending`: a worker died mid-send, so the provider may or may not have the
    message, and Twilio has no idempotency key. Ask it (and the dev phone) what it has: a match
    is recorded as sent; a clear "no" sends it again; anything unsure — an email, or a provider
    that does not answer — goes to `review` for a person, never out a second time blindly.
    Interrupted means claimed by a `dead` process (its lease expired), or `sending` for longer
    than HEARTH_SENDING_STALE_SECONDS."""
    now = now or utcnow()
    stale_after = timedelta(seconds=get_settings().sending_stale_seconds)
    interrupted = Delivery.updated_at < now - stale_after
    if dead := list(dead):
        # Stamped right before its provider call (_still_ours): a send older than the call's
        # timeout is over, whatever its process did after.
        settled = now - call_timeout()
        interrupted = or_(
            interrupted, and_(Delivery.claimed_by.in_(dead), Delivery.updated_at < settled)
        )
    counts = {"found": 0, "requeued": 0, "review": 0}
    # Plain values, read now: what was asked about must not change under a later refresh.
    stale = session.execute(
        select(
            Delivery.id,
            Delivery.attempts,
            Delivery.channel,
            Delivery.sender,
            Delivery.address,
            Delivery.body,
            Delivery.updated_at,
        ).where(Delivery.status == DeliveryStatus.SENDING, interrupted)
    ).all()
    # The provider is asked with no transaction open (SQLite's write lock; the dev phone
    # answers through a session of its own).
    session.commit()  # commits on purpose: nothing held open while the provider is asked
    answers: dict[int, str | None | bool] = {}
    for row in stale:
        answers[row.id] = False  # unknown: a person decides
        if row.channel == "sms":
            try:
                answers[row.id] = sms.sms_channel().find_sent(
                    row.sender or "",
                    row.address,
                    row.body or "",
                    since=row.updated_at - timedelta(minutes=2),
                )
            except channels.SendError:
                answers[row.id] = False
    for row in stale:
        found = answers[row.id]
        if isinstance(found, str):
            outcome, values = "found", {"status": "sent", "provider_id": found, "sent_at": now}
        elif found is None:
            # Due now: the overdue sweep that follows queues it again.
            outcome = "requeued"
            values = {"status": "queued", "next_attempt_at": now}
        else:
            outcome = "review"
            values = {
                "status": "review",
                "error_code": "interrupted",
                "error_text": "The worker stopped while sending; check before resending.",
                "next_attempt_at": None,
            }
        # Only the very attempt that was asked about: another sweeper may have settled it and a
        # worker claimed it again meanwhile (a new claim counts a new attempt), and that send
        # must not be put back on the queue behind its back.
        settled = session.execute(
            update(Delivery)
            .where(
                Delivery.id == row.id,
                Delivery.status == DeliveryStatus.SENDING,
                Delivery.attempts == row.attempts,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if settled == 1:
            counts[outcome] += 1
    return counts


# Many at once (broadcasts) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    guardian_id: int
    name: str
    tag: str  # the guardian's language tag
    language: str  # its MT code
    channels: tuple[str, ...]
    phone: str | None
    email: str | None


def email_sender(school: School | None) -> str:
    return (school.email_sender if school else None) or get_settings().email_from


def plan_many(
    session: Session,
    *,
    message_id: int,
    school: School,
    recipients: list[Recipient],
    texts: Mapping[str, TranslatedText],
    urgent: bool,
    email_subject: str | None = None,
    reply_to: str | None = None,
    sms_senders: Mapping[int, str] | None = None,
    sms_text: SmsText | None = None,
) -> list[int]:
    """One delivery per recipient and channel, in the message's transaction, in a few bulk
    INSERTs. `texts`: language → text; a pending language's deliveries wait for its
    translation (see `release`). `email_subject` and `reply_to`: the envelope of its emails.
    `sms_senders`: guardian id → the number of the school's pool its texts go from (else the
    school's own). `sms_text`: what each family's text goes through (`release`).
    Returns the ids ready to send now."""
    stopped = optouts.opted_out_phones(
        session, school.sms_sender, [r.phone for r in recipients if r.phone]
    )
    email_from = email_sender(school)
    segments = {lang: count_segments(t.text).segments if t.text else 0 for lang, t in texts.items()}
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for r in recipients:
        text = texts.get(r.language, NO_TRANSLATION)
        for channel in r.channels:
            address = r.phone if channel in PHONE_CHANNELS else r.email
            row: dict[str, Any] = {
                "message_id": message_id,
                "guardian_id": r.guardian_id,
                "school_id": school.id,
                "channel": channel,
                "address": address or "",
                "language": r.language,
                "sender": (sms_senders or {}).get(r.guardian_id, school.sms_sender)
                if channel in PHONE_CHANNELS
                else email_from,
                "body": text.text,
                "email_subject": email_subject,
                "reply_to": reply_to,
                "urgent": urgent,
                "status": "queued",
                "attempts": 0,
                "segments": segments.get(r.language, 0) if channel == "sms" else 0,
                "media_id": None,
                "error_code": None,
                "error_text": None,
                "created_at": now,
                "updated_at": now,
            }
            if not address:
                row.update(
                    status="failed",
                    error_code="no_address",
                    error_text=f"The guardian has no {channel} address.",
                )
            elif channel in PHONE_CHANNELS and not school.sms_sender:
                row.update(
                    status="failed",
                    error_code="no_sender",
                    error_text="The school has no SMS sender number.",
                )
            elif channel in PHONE_CHANNELS and address in stopped:
                row.update(
                    status="suppressed",
                    error_code="opted_out",
                    error_text=STOPPED,
                )
            elif text.pending:
                pass  # its translation is on the way
            elif not text.text:
                row.update(status="failed", error_code="untranslatable", error_text=UNTRANSLATABLE)
            queued = row["status"] == "queued"
            if channel == "sms" and sms_text is not None and text.text and queued:
                out = sms_text(r.guardian_id, r.language, text.text)
                row["body"], row["media_id"] = out.text, out.media_id
                row["segments"] = out.segments
            rows.append(row)
    ids = insert_rows(session, Delivery, rows, returning_ids=True)
    return [
        i
        for i, row in zip(ids, rows, strict=True)
        if row["status"] == DeliveryStatus.QUEUED and row["body"] is not None
    ]


def status_counts(session: Session, message_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Message id → its deliveries counted by status."""
    counts: dict[int, dict[str, int]] = {}
    wanted = set(message_ids)
    if not wanted:
        return counts
    rows = session.execute(
        select(Delivery.message_id, Delivery.status, func.count())
        .where(Delivery.message_id.in_(wanted))
        .group_by(Delivery.message_id, Delivery.status)
    )
    for message_id, status, count in rows:
        counts.setdefault(message_id, {})[status] = count
    return counts
