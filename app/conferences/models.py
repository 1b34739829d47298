from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow


class Conference(Base):
    """A teacher's conference times for the families of their students: sent as a choice of
    times (a question whose places take one family each), booked by text."""

    __tablename__ = "conferences"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    teacher_staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    # The invitation's question (its options are the slots, numbered from 1).
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), unique=True
    )
    title: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(64))  # who published it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConferenceSlot(Base):
    """One meeting time. Its booking is the current answer naming its number, and its one
    place (capacity 1, by a CHECK constraint) is what keeps two families out of it."""

    __tablename__ = "conference_slots"
    __table_args__ = (
        UniqueConstraint("conference_id", "number"),
        UniqueConstraint("conference_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # the option's number, from 1
    starts_at: Mapped[datetime]
    minutes: Mapped[int] = mapped_column(Integer)
    place: Mapped[str] = mapped_column(String(200))  # a room, a phone number, a video link
    # The day-before reminder went to this family (a new booking of the slot is reminded anew).
    reminded_guardian_id: Mapped[int | None] = mapped_column(ForeignKey("guardians.id"))
    reminded_at: Mapped[datetime | None]
