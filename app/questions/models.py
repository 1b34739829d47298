from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow

KINDS = ("yes_no", "choice", "number", "text", "permission")


class Question(Base):
    """A question asked with a broadcast: each family gets it in its language, with its options
    numbered, and answers by text."""

    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="CASCADE"), unique=True
    )
    # The message that carried it, and the reminder's, once they are written.
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    reminder_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    kind: Mapped[str] = mapped_column(String(12))  # yes_no | choice | number | text | permission
    options: Mapped[list[str]] = mapped_column(JSON, default=list)  # choice: in the author's words
    # A choice of times (conference slots): each option's start, ISO 8601 with its UTC offset,
    # written in each family's language and way rather than translated.
    times: Mapped[list[str] | None] = mapped_column(JSON)
    deadline: Mapped[datetime | None]
    remind_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    # A later answer replaces the earlier one (the earlier stays in the history); else the
    # first answer stands.
    replace_answers: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Answer(Base):
    """One family's reply to a question, as read: `value` is "yes"/"no", the option's number,
    the number given, or "text"; None when it could not be read (the family was asked again).
    Only one answer per family is `current`; the others are its history."""

    __tablename__ = "question_answers"
    __table_args__ = (
        Index("ix_question_answers_current", "question_id", "guardian_id", "current"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardians.id"), index=True)
    reply_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    value: Mapped[str | None] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)  # exactly as the family wrote it
    language: Mapped[str] = mapped_column(String(35))
    # A permission slip: the full name the guardian typed as a signature; and how it came.
    signature: Mapped[str | None] = mapped_column(String(120))
    channel: Mapped[str | None] = mapped_column(String(8))  # sms | email
    current: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)


class Place(Base):
    """The places of one option of a sign-up (volunteers, supplies, a conference slot): never
    more taken than there are, by a conditional UPDATE and a CHECK constraint, whatever number
    of families answer at once."""

    __tablename__ = "question_places"
    __table_args__ = (
        UniqueConstraint("question_id", "number"),
        CheckConstraint("taken >= 0 AND taken <= capacity", name="taken"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # the option's number, from 1
    capacity: Mapped[int] = mapped_column(Integer)
    taken: Mapped[int] = mapped_column(Integer, default=0)
