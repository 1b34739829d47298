from datetime import datetime, time

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, utcnow


class School(Base):
    __tablename__ = "schools"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    default_language: Mapped[str] = mapped_column(String(35), default="en")
    # A Twilio phone number (E.164) or a Messaging Service SID (MG...).
    sms_sender: Mapped[str | None] = mapped_column(String(64))
    email_sender: Mapped[str | None] = mapped_column(String(254))
    quiet_hours_start: Mapped[time | None]
    quiet_hours_end: Mapped[time | None]
    # The number a family calls for help in its language: named in the one line an urgent
    # text carries where the family's language has no model and no human text.
    help_phone: Mapped[str | None] = mapped_column(String(20))
    # How long an interpretation task may stay open before it goes to the office.
    interpreter_hours: Mapped[int] = mapped_column(Integer, server_default=text("24"))
    external_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SectionTeacher(Base):
    __tablename__ = "section_teachers"

    section_id: Mapped[int] = mapped_column(
        ForeignKey("sections.id", ondelete="CASCADE"), primary_key=True
    )
    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Enrollment(Base):
    __tablename__ = "enrollments"

    section_id: Mapped[int] = mapped_column(
        ForeignKey("sections.id", ondelete="CASCADE"), primary_key=True
    )
    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Section(Base):
    __tablename__ = "sections"
    __table_args__ = (UniqueConstraint("school_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    teacher_links: Mapped[list[SectionTeacher]] = relationship(
        cascade="all, delete-orphan", lazy="raise"
    )
    enrollments: Mapped[list[Enrollment]] = relationship(cascade="all, delete-orphan", lazy="raise")
