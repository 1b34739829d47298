from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow


class DeliveryStatus(StrEnum):
    """queued → sending → sent → delivered, or failed | undelivered | suppressed | canceled, or
    review: found in `sending` after a crash — it may or may not have gone out, and Twilio has
    no idempotency key, so a person decides instead of Hearth texting a family twice.

    The values are what the database and the API hold; a member equals its value."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    UNDELIVERED = "undelivered"
    SUPPRESSED = "suppressed"
    CANCELED = "canceled"
    REVIEW = "review"


# Every status, in the order of the way through the outbox (pages list them so).
STATUSES: tuple[DeliveryStatus, ...] = tuple(DeliveryStatus)
# Settled for good: no job and no callback moves these any more.
FINAL = frozenset(
    {
        DeliveryStatus.DELIVERED,
        DeliveryStatus.FAILED,
        DeliveryStatus.UNDELIVERED,
        DeliveryStatus.SUPPRESSED,
        DeliveryStatus.CANCELED,
    }
)
# Reached the family's phone or inbox (as far as the provider says).
REACHED = frozenset({DeliveryStatus.SENT, DeliveryStatus.DELIVERED})
# Did not reach the family (a canceled one was never meant to).
FAILED = frozenset({DeliveryStatus.FAILED, DeliveryStatus.UNDELIVERED, DeliveryStatus.SUPPRESSED})
# Still on its way (or waiting for a person to decide, for review).
PENDING = frozenset({DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.REVIEW})


class Delivery(Base):
    """The outbox: one row per recipient contact point (guardian × channel) of a message."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("message_id", "guardian_id", "channel"),
        Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardians.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    channel: Mapped[str] = mapped_column(String(8))  # sms | email | voice
    address: Mapped[str] = mapped_column(String(254))  # E.164 phone or email address
    sender: Mapped[str | None] = mapped_column(String(254))  # school number / MG… / from address
    language: Mapped[str] = mapped_column(String(16))  # MT code the body is in
    body: Mapped[str | None] = mapped_column(Text)  # None until its translation is ready
    # The envelope of the message as an email, set when it is planned (on every row of it: a
    # text that fails over to email takes it along). None: the school's name, no Reply-To.
    email_subject: Mapped[str | None] = mapped_column(String(200))
    reply_to: Mapped[str | None] = mapped_column(String(254))
    segments: Mapped[int] = mapped_column(Integer, default=0)
    # An SMS that goes as MMS with this photo of its message (delivery.mms); segments is then 1,
    # as Twilio bills an MMS per message.
    media_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id", ondelete="SET NULL"))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    # The process lease (app/core/leases.py) of whoever claimed it last: if that process dies
    # while the row is `sending`, the row is settled at once rather than after an age.
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    provider_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_text: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]


class OptOut(Base):
    """A phone number that said STOP to a school's sender. Outlives roster re-imports."""

    __tablename__ = "opt_outs"
    __table_args__ = (UniqueConstraint("phone", "sender"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    sender: Mapped[str] = mapped_column(String(64))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    keyword: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(16), default="keyword")  # keyword | carrier
    opted_out_at: Mapped[datetime] = mapped_column(default=utcnow)
    resumed_at: Mapped[datetime | None]


class InboundSms(Base):
    """A family's text exactly as Twilio delivered it, stored before anything else happens."""

    __tablename__ = "inbound_sms"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64), unique=True)
    from_number: Mapped[str] = mapped_column(String(32))
    to_number: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text, default="")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="received")  # received | processed
    result: Mapped[str | None] = mapped_column(String(40))  # routed | opted_out | resumed | help…
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]


class InboundEmail(Base):
    """A family's email reply exactly as received (raw MIME); the message holds the clean text."""

    __tablename__ = "inbound_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    raw: Mapped[str] = mapped_column(Text)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Attachment(Base):
    """A photo or PDF a staff member attached to a note or broadcast. The file itself is under
    `<data dir>/attachments/<sha256>` (app/delivery/attachments.py); the row says whose it is.
    Uploaded first (no message yet), then attached to one message when it is posted."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"))
    # A broadcast's: held for it until it goes out (then on its message too).
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="CASCADE"), index=True
    )
    uploaded_by: Mapped[str] = mapped_column(String(64))  # the actor: staff:<id> / key:<id>
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def url(self) -> str:
        return f"/api/v1/attachments/{self.id}"

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class InboundMedia(Base):
    """A photo or PDF a family sent by MMS, on the reply it came with: Twilio's media URL as
    the webhook gave it, fetched afterwards by a job (app/delivery/inbound_media.py). `pending`
    until fetched; then `stored` (its attachment), `refused` (too large, not a photo or PDF,
    unreadable: `reason`) or `failed` (could not be fetched after every try)."""

    __tablename__ = "inbound_media"
    __table_args__ = (UniqueConstraint("message_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)  # N of MediaUrlN
    url: Mapped[str] = mapped_column(String(1000))
    declared_type: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(String(40))  # too_large | unsupported | …
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    attachment_id: Mapped[int | None] = mapped_column(
        ForeignKey("attachments.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
