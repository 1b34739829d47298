from datetime import datetime

from sqlalchemy import Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow


class EngagementGoal(Base):
    """A goal an admin set for a term, for the whole district (school_id None) or one school:
    a share (0–1) of families reached in their language, of families who replied, of families
    needing an interpreter who got one, or a median staff response time in hours."""

    __tablename__ = "engagement_goals"
    __table_args__ = (UniqueConstraint("term", "school_id", "measure"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(String(16))  # 2026-fall | 2027-spring
    school_id: Mapped[int | None] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), index=True
    )
    measure: Mapped[str] = mapped_column(String(32))
    target: Mapped[float] = mapped_column(Float)
    set_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
