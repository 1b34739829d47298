from datetime import datetime
from typing import TYPE_CHECKING, Literal

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, utcnow

if TYPE_CHECKING:
    from app.delivery.models import Delivery

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
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    thread: Mapped[Thread] = relationship(lazy="raise", back_populates="messages")
    translations: Mapped[list["MessageTranslation"]] = relationship(
        lazy="raise", order_by="MessageTranslation.language"
    )
    deliveries: Mapped[list["Delivery"]] = relationship(lazy="raise", order_by="Delivery.id")


class MessageTranslation(Base):
    """A message in one language: outbound into each recipient language, inbound into the
    staff member's. The original always stays on the message."""

    __tablename__ = "message_translations"
    __table_args__ = (UniqueConstraint("message_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(16))  # MT code: es, vi, zh, zt, pt...
    # pending | translated | same_language | unavailable
    status: Mapped[str] = mapped_column(String(16), default="pending")
    text: Mapped[str | None] = mapped_column(Text)
    engine: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(String(300))
    cached: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
