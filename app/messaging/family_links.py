"""A family's secure link to the family page (/f/<token>): no app, no account.

- A token is 256 random bits (`secrets.token_urlsafe(32)`), bound to one guardian. Only its
  SHA-256 is stored: a token is shown once (to the staff member who made it) or put in one
  text, and is never made again, so two families never share one.
- A link holds until it expires (HEARTH_FAMILY_LINK_DAYS), is revoked (by staff, or all of a
  guardian's at once), the guardian's phone changes (each link keeps the number it was made
  for), or the guardian is deactivated. Any other token — tampered, expired, revoked — is a
  plain "not found" that says nothing more.
- A school decides when its texts carry the link (`School.family_link`): always, never, or
  `long` (the default): when the text is over two SMS segments, so that a long notice can be
  read (and heard) in full on the page.
"""

import hashlib
import secrets
from collections.abc import Callable, Collection, Mapping
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.service import AuthSubject
from app.channels.segments import count_segments
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import Invalid
from app.delivery.models import Attachment
from app.messaging.interpretation import FALLBACK
from app.messaging.models import FamilyLink, Message, MessageTranslation, Thread
from app.people import service as people
from app.people.models import Guardian
from app.schools.models import School

POLICIES = ("always", "long", "never")
# A text longer than this many segments carries the link under the `long` policy.
LONG_SEGMENTS = 2
TOKEN_BYTES = 32  # 256 bits; token_urlsafe gives 43 URL-safe characters
# What the preview shows in place of a family's token: as long, and of the same characters
# (the GSM alphabet has both), so the preview counts exactly the segments sent.
SAMPLE_TOKEN = "x" * 43


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def url_for(token: str) -> str:
    return f"{get_settings().public_url.rstrip('/')}/f/{token}"


def mint(
    session: Session, guardian: Guardian, purpose: str = "staff", *, flush: bool = True
) -> tuple[FamilyLink, str]:
    """A new link for this guardian: the row and the token (never stored, never shown again)."""
    return _mint(session, guardian.id, guardian.phone, purpose, flush=flush)


def _mint(
    session: Session, guardian_id: int, phone: str | None, purpose: str, *, flush: bool
) -> tuple[FamilyLink, str]:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    days = get_settings().family_link_days
    link = FamilyLink(
        guardian_id=guardian_id,
        token_hash=_hash(token),
        purpose=purpose,
        phone=phone,
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(link)
    if flush:
        session.flush()
    return link, token


def find(session: Session, token: str) -> tuple[FamilyLink, Guardian] | None:
    """The live link a token opens and its guardian, or None for any other string."""
    if not token or len(token) > 100 or not token.isascii():
        return None
    link = session.scalar(select(FamilyLink).where(FamilyLink.token_hash == _hash(token)))
    if link is None or link.revoked_at is not None or link.expires_at <= utcnow():
        return None
    guardian = session.get(Guardian, link.guardian_id)
    if guardian is None:
        return None
    if not guardian.active or (link.phone or None) != (guardian.phone or None):
        # Deactivated, or the number changed hands since: whoever holds the old one must not
        # read on, and a reactivation does not bring the link back.
        link.revoked_at = utcnow()
        session.flush()
        return None
    return link, guardian


def live_count(session: Session, guardian_id: int) -> int:
    """How many of a guardian's links still open the family page."""
    return len(
        session.scalars(
            select(FamilyLink.id).where(
                FamilyLink.guardian_id == guardian_id,
                FamilyLink.revoked_at.is_(None),
                FamilyLink.expires_at > utcnow(),
            )
        ).all()
    )


def revoke_all(session: Session, guardian_id: int) -> int:
    """Every live link of a guardian stops working. Returns how many."""
    revoked: int = session.execute(
        update(FamilyLink)
        .where(
            FamilyLink.guardian_id == guardian_id,
            FamilyLink.revoked_at.is_(None),
            FamilyLink.expires_at > utcnow(),
        )
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return revoked


def create_for_staff(
    session: Session, subject: AuthSubject, guardian_id: int
) -> tuple[FamilyLink, str]:
    """A staff member (or an integration) of the guardian's school makes a link, to give the
    family by hand: (row, URL), the URL shown this once. Audited."""
    guardian = people.get_guardian(session, subject, guardian_id)
    if not guardian.active:
        raise Invalid("This guardian is deactivated: reactivate them first.")
    link, token = mint(session, guardian, "staff")
    audit.record(
        session,
        subject.actor,
        "family_link.create",
        "guardian",
        guardian.id,
        details={"link_id": link.id},
    )
    session.flush()
    return link, url_for(token)


def revoke_for_staff(session: Session, subject: AuthSubject, guardian_id: int) -> int:
    """Every link of the guardian stops working (a lost phone, a link shared too widely).
    Audited. Returns how many were live."""
    guardian = people.get_guardian(session, subject, guardian_id)
    count = revoke_all(session, guardian.id)
    audit.record(
        session,
        subject.actor,
        "family_link.revoke",
        "guardian",
        guardian.id,
        details={"revoked": count},
    )
    session.flush()
    return count


# Links in texts --------------------------------------------------------------------------------


def wants_link(policy: str, text: str) -> bool:
    """Whether a text (as it would go without the link) carries the family's link."""
    if policy == "always":
        return True
    if policy == "long":
        return count_segments(text).segments > LONG_SEGMENTS
    return False


def policy_with(policy: str, has_attachments: bool) -> str:
    """The school's policy for a message's texts: a message with photos or PDFs always carries
    the link (the family page shows them; a text cannot), unless the school never sends one."""
    return "always" if has_attachments and policy != "never" else policy


def with_link(text: str, url: str) -> str:
    return f"{text}\n{url}"


def sample(policy: str, text: str) -> str:
    """A text as the preview shows it: with a link of the very length a family's will have."""
    return with_link(text, url_for(SAMPLE_TOKEN)) if wants_link(policy, text) else text


def linker(
    session: Session,
    policy: str,
    skip: Collection[str] = (),
    phones: Mapping[int, str | None] | None = None,
) -> Callable[[int, str, str], str] | None:
    """What a message's texts go through on their way out: (guardian id, language, text) → the
    text with the family's own new link when the school's policy wants one. One link per
    guardian per message. None when the school never sends links. `skip`: languages whose
    text is the urgent fallback (the school's text under one line asking to call): the page
    would show no more than the text does. `phones`: the recipients' numbers (active
    guardians), known already for a broadcast's thousands; others are read one by one."""
    if policy not in ("always", "long"):
        return None
    made: dict[int, str] = {}

    def add(guardian_id: int, language: str, text: str) -> str:
        if language in skip or not wants_link(policy, text):
            return text
        if guardian_id not in made:
            if phones is not None and guardian_id in phones:
                phone = phones[guardian_id]
            else:
                guardian = session.get(Guardian, guardian_id)
                if guardian is None or not guardian.active:
                    return text
                phone = guardian.phone
            _, token = _mint(session, guardian_id, phone, "text", flush=False)
            made[guardian_id] = url_for(token)
        return with_link(text, made[guardian_id])

    return add


def linker_for_message(session: Session, message_id: int) -> Callable[[int, str, str], str] | None:
    """`linker` for a staff member's note or a broadcast, by its school's policy."""
    message = session.get(Message, message_id)
    if message is None or message.kind not in ("note", "broadcast"):
        return None
    thread = session.get(Thread, message.thread_id)
    school = session.get(School, thread.school_id) if thread else None
    if school is None:
        return None
    fallback = session.scalars(
        select(MessageTranslation.language).where(
            MessageTranslation.message_id == message_id, MessageTranslation.status == FALLBACK
        )
    )
    with_files = session.scalar(
        select(Attachment.id).where(Attachment.message_id == message_id).limit(1)
    )
    return linker(session, policy_with(school.family_link, with_files is not None), set(fallback))
