"""What families send, kept exactly as it came before anything reads it: a text from Twilio's
webhook (signature checked, unique on its MessageSid, so that Twilio's retries change nothing)
and an email reply's raw MIME. Reading them is the conversation's work (messaging.replies);
the outbox only stores, hands out and marks them."""

import re
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import Forbidden, Invalid
from app.delivery.models import InboundEmail, InboundSms

_SURROGATE = re.compile("[\ud800-\udfff]")


def verify_twilio(params: dict[str, str], urls: list[str], signature: str) -> None:
    validator = RequestValidator(get_settings().webhook_auth_token())
    if not signature or not any(validator.validate(url, params, signature) for url in urls):
        raise Forbidden("The request is not signed by Twilio for this server.")


def refuse_nul(params: dict[str, str]) -> None:
    """Twilio's fields are text; a NUL is no SMS and cannot be stored (PostgreSQL refuses it)."""
    if any("\x00" in key or "\x00" in value for key, value in params.items()):
        raise Invalid("The request holds a NUL character (\\u0000), which no SMS field can.")


def store_sms(
    session: Session, params: dict[str, str], urls: list[str], signature: str
) -> int | None:
    """Store a signed inbound SMS durably. Returns its id, or None when Twilio is retrying one
    already stored."""
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
    return result.scalar()


def unprocessed(session: Session, grace: timedelta | None = None) -> list[int]:
    """Texts stored but never read: lost between commit and enqueue, or a worker died.
    `grace`: how old (default HEARTH_OUTBOX_GRACE_SECONDS; zero after a process died)."""
    if grace is None:
        grace = timedelta(seconds=get_settings().outbox_grace_seconds)
    return list(
        session.scalars(
            select(InboundSms.id)
            .where(InboundSms.status == "received", InboundSms.received_at < utcnow() - grace)
            .limit(1000)
        )
    )


def claim_sms(session: Session, inbound_id: int) -> InboundSms | None:
    """received → processing, once: a job and a sweep's duplicate never both answer the same
    text. None when someone else has it (or it is gone)."""
    claimed = session.execute(
        update(InboundSms)
        .where(InboundSms.id == inbound_id, InboundSms.status == "received")
        .values(status="processing")
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    session.commit()  # commits on purpose: claimed before it is answered, by one job only
    row = session.get(InboundSms, inbound_id)
    return row if claimed and row is not None else None


def finish_sms(row: InboundSms, result: str, message_id: int | None = None) -> None:
    """What reading the text came to: routed (to `message_id`), opted_out, resumed, help or
    unknown_sender."""
    row.status, row.result, row.processed_at = "processed", result, utcnow()
    if message_id is not None:
        row.message_id = message_id


def storable(text: str) -> str:
    """Text a database can hold: NULs dropped, lone surrogates (8-bit bytes that the parser
    kept as escapes) shown as U+FFFD."""
    return _SURROGATE.sub("\ufffd", text.replace("\x00", ""))


def store_email(session: Session, raw: bytes, message_id: int) -> InboundEmail:
    """An email reply exactly as received, beside the message made of it."""
    row = InboundEmail(raw=storable(raw.decode("utf-8", errors="replace")), message_id=message_id)
    session.add(row)
    return row
