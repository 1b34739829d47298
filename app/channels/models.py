import uuid
from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, get_sessionmaker, utcnow


class DevOutbox(Base):
    """What the dev SMS, voice and email backends "sent": the dev phone and mail pages show it."""

    __tablename__ = "dev_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))  # sms | email | voice
    provider_id: Mapped[str] = mapped_column(String(255), unique=True)
    sender: Mapped[str] = mapped_column(String(254))
    to: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[str | None] = mapped_column(Text)
    media_url: Mapped[str | None] = mapped_column(Text)  # an MMS's picture (its URL)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def dev_store(
    channel: str,
    sender: str,
    to: str,
    body: str,
    subject: str | None = None,
    html: str | None = None,
    headers: str | None = None,
    media_url: str | None = None,
) -> str:
    """Keep what a dev backend "sent" and return its provider id. Called with no transaction
    open, like a real provider: the send happens between the outbox's transactions."""
    prefix = {"sms": "DEVSM", "voice": "DEVCA"}.get(channel, "DEVEM")
    provider_id = prefix + uuid.uuid4().hex
    # The dev phone and outbox stand in for the provider: what they received is recorded in a
    # transaction of its own, whatever becomes of the sender's.
    with get_sessionmaker().begin() as session:  # commits on purpose: the provider's own record
        session.add(
            DevOutbox(
                channel=channel,
                provider_id=provider_id,
                sender=sender,
                to=to,
                body=body,
                subject=subject,
                html=html,
                headers=headers,
                media_url=media_url,
            )
        )
    return provider_id
