from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow


class CachedTranslation(Base):
    """One machine translation of one (masked, normalized) text, reused across messages."""

    __tablename__ = "translation_cache"
    __table_args__ = (UniqueConstraint("source", "target", "engine", "text_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(16))
    engine: Mapped[str] = mapped_column(String(200))  # engine + model versions of the route
    text_hash: Mapped[str] = mapped_column(String(64))
    translated: Mapped[str] = mapped_column(Text)
    # How far the translation can be trusted (app/translation/quality.py), kept with it so a
    # cache hit answers the same. NULL on rows from before quality existed: translated again.
    quality_level: Mapped[str | None] = mapped_column(String(8))  # good | check | poor
    quality_score: Mapped[float | None] = mapped_column(Float)
    quality_reasons: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GlossaryTerm(Base):
    """A school's fixed wording: kept as written, or rendered one way per language."""

    __tablename__ = "glossary_terms"
    __table_args__ = (UniqueConstraint("school_id", "term"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    term: Mapped[str] = mapped_column(String(100))
    keep: Mapped[bool] = mapped_column(Boolean, default=False)
    renderings: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LanguageEngine(Base):
    """The engine an admin chose for one language, for the whole district (one deployment).
    No row: the default order (app/translation/engines.py)."""

    __tablename__ = "language_engines"

    id: Mapped[int] = mapped_column(primary_key=True)
    language: Mapped[str] = mapped_column(String(16), unique=True)  # an MT code: ko, uk, zt...
    engine: Mapped[str] = mapped_column(String(16))  # argos | multilingual
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class HumanTranslation(Base):
    """Translation memory: a person's translation of a text (an interpreter's), used before
    the model whenever the same text is translated again for the same school. Only there:
    staff of one school never decide what another school's families read."""

    __tablename__ = "translation_memory"
    __table_args__ = (UniqueConstraint("school_id", "source", "target", "text_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The school of the task it was written for (None: written before memory was kept per
    # school and no task shows whose it was; never used).
    school_id: Mapped[int | None] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(16))
    text_hash: Mapped[str] = mapped_column(String(64))  # of the normalized source text
    translated: Mapped[str] = mapped_column(Text)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
