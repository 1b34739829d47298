from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, Boolean, ForeignKey, LargeBinary, String, Text, false
from sqlalchemy.orm import Mapped, deferred, mapped_column

from app.core.db import Base, utcnow

ImportKind = Literal["oneroster", "guardians_csv"]
ImportStatus = Literal["queued", "running", "succeeded", "failed"]
IMPORT_KINDS: tuple[str, ...] = ("oneroster", "guardians_csv")
IMPORT_STATUSES: tuple[str, ...] = ("queued", "running", "succeeded", "failed")


class RosterImport(Base):
    """One import run: what was uploaded, by whom, how it went, and its report."""

    __tablename__ = "roster_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    mode: Mapped[str | None] = mapped_column(String(8))  # bulk | delta | None: the manifest's
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    force: Mapped[bool] = mapped_column(Boolean, default=False)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    # Queued by someone who sees every school: a guardians CSV may then find a row's person
    # among other schools' families (a sibling's parent) and link and update them.
    across_schools: Mapped[bool] = mapped_column(Boolean, server_default=false())
    filename: Mapped[str] = mapped_column(String(255), default="")
    actor: Mapped[str] = mapped_column(String(64))
    # The uploaded file, kept only until the job has run (it holds every family's contacts).
    upload: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
