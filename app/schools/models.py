from datetime import datetime, time

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, utcnow


class School(Base):
    __tablename__ = "schools"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    default_language: Mapped[str] = mapped_column(String(35), default="en")
    # A Twilio phone number (E.164) or a Messaging Service SID (MG...): the school's own
    # number, the one the office writes from.
    sms_sender: Mapped[str | None] = mapped_column(String(64))
    # More numbers (E.164) of the school's pool: each family sees one of them per staff member
    # who writes to it, so that a reply to it belongs to that conversation (schools.senders).
    sms_pool: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    # Texts translated by machine end with a short "(machine translated)" in the language.
    # (No Python default: rows written against an older schema must not name the column.)
    mark_machine_translation: Mapped[bool] = mapped_column(Boolean, server_default=true())
    email_sender: Mapped[str | None] = mapped_column(String(254))
    quiet_hours_start: Mapped[time | None]
    quiet_hours_end: Mapped[time | None]
    # The number a family calls for help in its language: named in the one line an urgent
    # text carries where the family's language has no model and no human text.
    help_phone: Mapped[str | None] = mapped_column(String(20))
    # How long an interpretation task may stay open before it goes to the office.
    interpreter_hours: Mapped[int] = mapped_column(Integer, server_default=text("24"))
    # When a text carries the family's link to the family page: always | long (over two SMS
    # segments) | summary (over two segments: a short summary and the link instead) | never.
    family_link: Mapped[str] = mapped_column(String(8), server_default="long")
    # A note or broadcast with exactly one photo goes to US and Canadian numbers as MMS, the
    # photo in the text, rather than as a link to it. Off by default: MMS cost more.
    mms_images: Mapped[bool] = mapped_column(Boolean, server_default=false())
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


class SenderAssignment(Base):
    """The number of the school's pool a family sees for one conversation owner (a staff
    member; 0 in `owner_key`: the office, which always writes from the school's own number and
    has no row). One number per (family, owner) and one owner per (family, number): a text
    from the family to that number belongs to that owner's conversation, no guessing."""

    __tablename__ = "sender_assignments"
    __table_args__ = (
        UniqueConstraint("school_id", "guardian_id", "owner_key"),
        UniqueConstraint("school_id", "guardian_id", "sender"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    guardian_id: Mapped[int] = mapped_column(
        ForeignKey("guardians.id", ondelete="CASCADE"), index=True
    )
    owner_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    owner_key: Mapped[int] = mapped_column(Integer)  # the staff id, 0 for the office
    sender: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
