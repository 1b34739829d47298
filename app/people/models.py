from datetime import datetime
from typing import Literal

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, utcnow

Role = Literal["admin", "office", "teacher", "interpreter"]
ROLES: tuple[str, ...] = ("admin", "office", "teacher", "interpreter")
RELATIONSHIPS: tuple[str, ...] = ("mother", "father", "grandparent", "guardian", "other")
CHANNELS: tuple[str, ...] = ("sms", "email", "voice")


class StaffSchool(Base):
    __tablename__ = "staff_schools"

    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True
    )
    school_id: Mapped[int] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class StaffLanguage(Base):
    """A language a staff member can interpret (an MT code: es, hmn, zt)."""

    __tablename__ = "staff_languages"

    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(16), primary_key=True, index=True)


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # How texts to families name them ("Ms. Rivera"); None: `name`.
    display_name: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(16), default="teacher")
    ui_language: Mapped[str] = mapped_column(String(35), default="en")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    external_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # Lowercase ASCII of what people are searched by (app/people/search.py fills it).
    search_key: Mapped[str] = mapped_column(Text, server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    school_links: Mapped[list[StaffSchool]] = relationship(
        cascade="all, delete-orphan", lazy="raise"
    )
    language_links: Mapped[list[StaffLanguage]] = relationship(
        cascade="all, delete-orphan", lazy="raise"
    )

    @property
    def school_ids(self) -> list[int]:
        return sorted(link.school_id for link in self.school_links)

    @property
    def interprets(self) -> list[str]:
        return sorted(link.language for link in self.language_links)


class Student(Base):
    __tablename__ = "students"
    __table_args__ = (UniqueConstraint("school_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(255))
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    grade: Mapped[str | None] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Lowercase ASCII of what people are searched by (app/people/search.py fills it).
    search_key: Mapped[str] = mapped_column(Text, server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StudentGuardian(Base):
    __tablename__ = "student_guardians"

    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), primary_key=True
    )
    guardian_id: Mapped[int] = mapped_column(
        ForeignKey("guardians.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    relationship: Mapped[str] = mapped_column(String(16), default="guardian")


class Guardian(Base):
    __tablename__ = "guardians"

    id: Mapped[int] = mapped_column(primary_key=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(35), default="en")
    # False when the language was assumed (e.g. the school's default at import), not told.
    language_confirmed: Mapped[bool] = mapped_column(Boolean, default=True)
    channels: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["sms"])
    # True once a person chose the channels (API, web); imports then leave them alone.
    channels_confirmed: Mapped[bool] = mapped_column(
        Boolean,
        default=False,
        server_default=text("false"),  # portable: SQLite and PostgreSQL
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    external_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # Lowercase ASCII of what people are searched by (app/people/search.py fills it).
    search_key: Mapped[str] = mapped_column(Text, server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    student_links: Mapped[list[StudentGuardian]] = relationship(
        cascade="all, delete-orphan", lazy="raise"
    )

    @property
    def student_ids(self) -> list[int]:
        return sorted(link.student_id for link in self.student_links)
