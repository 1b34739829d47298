from datetime import datetime
from typing import TYPE_CHECKING, Literal

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, utcnow
from app.translation.quality import Quality

if TYPE_CHECKING:
    from app.delivery.models import Attachment, Delivery, InboundMedia

ThreadStatus = Literal["open", "archived"]
Direction = Literal["outbound", "inbound"]
MessageKind = Literal["note", "broadcast", "reply", "system"]


class ThreadGuardian(Base):
    __tablename__ = "thread_guardians"

    thread_id: Mapped[int] = mapped_column(
        ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True
    )
    guardian_id: Mapped[int] = mapped_column(
        ForeignKey("guardians.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Thread(Base):
    __tablename__ = "threads"
    __table_args__ = (
        Index("ix_threads_school_id_last_activity_at", "school_id", "last_activity_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    # None: the thread belongs to the school office inbox.
    owner_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id"), index=True)
    subject: Mapped[str] = mapped_column(String(200), default="")
    # A family's thread answering a broadcast ("Re: <title>"): the broadcast's thread.
    notice_thread_id: Mapped[int | None] = mapped_column(
        ForeignKey("threads.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(16), default="open")
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The family replies up to this message are answered: a staff member (not an integration
    # key, not a system text) wrote after them or marked the thread done. A later reply needs
    # an answer.
    answered_through: Mapped[int | None]

    guardian_links: Mapped[list[ThreadGuardian]] = relationship(
        cascade="all, delete-orphan", lazy="raise"
    )
    messages: Mapped[list["Message"]] = relationship(
        lazy="raise", order_by="Message.id", back_populates="thread"
    )

    @property
    def guardian_ids(self) -> list[int]:
        return sorted(link.guardian_id for link in self.guardian_links)


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(16))
    author_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    author_guardian_id: Mapped[int | None] = mapped_column(ForeignKey("guardians.id"))
    body: Mapped[str] = mapped_column(Text)  # exactly as written
    language: Mapped[str] = mapped_column(String(35))
    kind: Mapped[str] = mapped_column(String(16), default="note")
    # A family's reply left on a call: where Twilio keeps the recording (the body is empty:
    # no speech model is installed to transcribe it). Unique: Twilio retries its callback.
    recording_url: Mapped[str | None] = mapped_column(String(500), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    thread: Mapped[Thread] = relationship(lazy="raise", back_populates="messages")
    translations: Mapped[list["MessageTranslation"]] = relationship(
        lazy="raise", order_by="MessageTranslation.language"
    )
    deliveries: Mapped[list["Delivery"]] = relationship(lazy="raise", order_by="Delivery.id")
    # Photos and PDFs sent with it (app/delivery/attachments.py).
    attachments: Mapped[list["Attachment"]] = relationship(
        lazy="selectin", order_by="Attachment.id", viewonly=True
    )
    # Photos a family sent by MMS, as fetched (app/delivery/inbound_media.py): the stored
    # ones are attachments too; the others are waiting, refused or failed.
    inbound_media: Mapped[list["InboundMedia"]] = relationship(
        lazy="selectin", order_by="InboundMedia.position", viewonly=True
    )
    # Who saw it on the family page (app/messaging/family.py), first seen first.
    seen: Mapped[list["MessageSeen"]] = relationship(
        lazy="raise", order_by="(MessageSeen.seen_at, MessageSeen.guardian_id)", viewonly=True
    )


class MessageTranslation(Base):
    """A message in one language: outbound into each recipient language, inbound into the
    staff member's. The original always stays on the message."""

    __tablename__ = "message_translations"
    __table_args__ = (UniqueConstraint("message_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(16))  # MT code: es, vi, zh, zt, pt...
    # pending | translated | same_language | unavailable | interpreter (an interpretation task
    # holds its deliveries) | fallback (an urgent text in the school's language with one line
    # in the family's: no model and no human text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    text: Mapped[str | None] = mapped_column(Text)
    engine: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(String(300))
    cached: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where the text comes from: mt | cache | human | phrasebook | same_language (None while
    # pending or when unavailable), and how far a machine translation can be trusted.
    origin: Mapped[str | None] = mapped_column(String(16))
    quality_level: Mapped[str | None] = mapped_column(String(8))  # good | check | poor
    quality_score: Mapped[float | None] = mapped_column(Float)
    quality_reasons: Mapped[list[str] | None] = mapped_column(JSON)
    # Made by a model built for tests: not for families.
    test_model: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def quality(self) -> Quality | None:
        if self.quality_level is None or self.quality_score is None:
            return None
        level = self.quality_level if self.quality_level in ("good", "check", "poor") else "check"
        return Quality(level, self.quality_score, list(self.quality_reasons or []))  # type: ignore[arg-type]

    @property
    def may_be_wrong(self) -> bool:
        """A machine translation staff should not take at its word: not judged good (or never
        judged). People's words (a catalog, an interpreter, the phrasebook) and the same
        language never are. A test model is said apart (`test_model`)."""
        if self.origin not in ("mt", "cache"):
            return False
        judged = self.quality
        return judged is None or judged.flagged


class ReadMark(Base):
    """How far one staff member has read a thread: the replies after it are new to them."""

    __tablename__ = "thread_read_marks"

    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True
    )
    thread_id: Mapped[int] = mapped_column(
        ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    message_id: Mapped[int] = mapped_column(default=0)
    read_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class InterpretationTask(Base):
    """A text a person must translate: an outgoing message for a family whose language has no
    model (or whose machine translation is poor, or on request), or a family's reply whose
    machine translation for staff is poor. The interpreter's text becomes the message's
    translation into `language` and is remembered for the same text later."""

    __tablename__ = "interpretation_tasks"
    __table_args__ = (
        UniqueConstraint("message_id", "language"),
        Index("ix_interpretation_tasks_school_id_status", "school_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(16))  # outbound | inbound (as the message)
    source_language: Mapped[str] = mapped_column(String(35))  # the message's
    language: Mapped[str] = mapped_column(String(16))  # MT code the text is wanted in
    family_language: Mapped[str] = mapped_column(String(16))  # MT code: whom it is given to
    reason: Mapped[str] = mapped_column(String(16))  # no_route | poor | requested
    machine_text: Mapped[str | None] = mapped_column(Text)  # the machine's try, if any
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | done
    text: Mapped[str | None] = mapped_column(Text)
    requested_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    done_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    done_at: Mapped[datetime | None]
    due_at: Mapped[datetime]
    escalated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FamilyLink(Base):
    """A guardian's secure link to the family page (/f/<token>): no app, no account. Only the
    token's SHA-256 is kept; the token itself is shown once (or put in one text). A link holds
    for one guardian, until it expires, is revoked, or the guardian's phone changes (`phone`:
    the number it was made for) or the guardian is deactivated."""

    __tablename__ = "family_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    guardian_id: Mapped[int] = mapped_column(
        ForeignKey("guardians.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # staff (made by a staff member or an integration, shown once) | text (put in a text)
    purpose: Mapped[str] = mapped_column(String(16), default="staff")
    phone: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # Replies sent from the page in the current hour (the per-link rate limit).
    replies_since: Mapped[datetime | None]
    replies_count: Mapped[int] = mapped_column(default=0)


class MessageSeen(Base):
    """A guardian opened the family page showing this message: "Seen by <name> <time>"."""

    __tablename__ = "message_seen"

    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    guardian_id: Mapped[int] = mapped_column(
        ForeignKey("guardians.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)
