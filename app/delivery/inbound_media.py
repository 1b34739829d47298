"""Photos and PDFs families send by MMS. The webhook only notes Twilio's media URLs on the
reply (`record`: one row each, unique per reply and position, so a retried webhook or job adds
none); a job fetches them afterwards (`fetch`) with the account's credentials, and each becomes
an attachment of the reply, cleaned as every attachment is (app/delivery/attachments.py: type
from the bytes, photos re-encoded without their metadata, HEARTH_ATTACHMENT_MAX_MB).

A file refused (too large, not a photo or PDF, unreadable) stays on the reply as `refused`
with its reason, and one that could not be fetched after every try as `failed`: staff see that
a photo did not come through rather than nothing."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.channels import PermanentError, TransientError
from app.channels.twilio_http import fetch_media
from app.core.config import get_settings
from app.core.db import utcnow
from app.delivery import attachments
from app.delivery.models import InboundMedia

log = logging.getLogger("hearth.inbound")

# Tries before a file that cannot be fetched is given up on, and the wait before each retry.
MAX_ATTEMPTS = 5
RETRY_DELAYS = (30, 60, 120, 300)
# A pending file not tried for this long lost its job (a crash): the sweep queues it again.
STALLED_AFTER = timedelta(minutes=15)

# Why a file is not on the reply (staff pages say these in their own words).
REASONS = {
    attachments.TOO_LARGE: "too_large",
    attachments.EMPTY: "empty",
    attachments.UNSUPPORTED: "unsupported",
    attachments.NOT_A_PDF: "unsupported",
    attachments.NOT_AN_IMAGE: "unsupported",
    attachments.UNREADABLE_IMAGE: "unreadable",
    attachments.IMAGE_TOO_BIG: "too_large",
}


# HEIC/HEIF (what iPhones take): an ISO media file of these brands. Pillow cannot read it
# without a plug-in, so it is refused, and staff are told which kind of photo it was.
_HEIC_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")


def is_heic(data: bytes) -> bool:
    return len(data) >= 12 and data[4:8] == b"ftyp" and data[8:12] in _HEIC_BRANDS


def media_count(params: dict[str, str]) -> int:
    """How many files an inbound MMS carries (NumMedia), at most a message's limit."""
    raw = params.get("NumMedia", "0") or "0"
    count = int(raw) if raw.isdecimal() and len(raw) < 4 else 0
    return min(count, attachments.MAX_PER_MESSAGE)


def record(session: Session, message_id: int, params: dict[str, str]) -> int:
    """Note the media URLs of a signed inbound MMS on its reply, to be fetched by a job.
    Returns how many are waiting."""
    known = set(
        session.scalars(select(InboundMedia.position).where(InboundMedia.message_id == message_id))
    )
    added = 0
    for position in range(media_count(params)):
        url = params.get(f"MediaUrl{position}", "")
        if position in known or not url:
            continue
        session.add(
            InboundMedia(
                message_id=message_id,
                position=position,
                url=url[:1000],
                declared_type=params.get(f"MediaContentType{position}", "")[:100],
            )
        )
        added += 1
    session.flush()
    return added


@dataclass(frozen=True)
class Fetched:
    stored: int  # files now attachments of the reply
    refused: int  # refused or given up on
    retry_in: int | None  # seconds until the next try, when some are still pending


def fetch(session: Session, message_id: int, school_id: int, uploaded_by: str) -> Fetched:
    """Fetch the reply's waiting files once each: stored as its attachments, refused with the
    reason, or left waiting for a retry (given up on after MAX_ATTEMPTS)."""
    settings = get_settings()
    rows = list(
        session.scalars(
            select(InboundMedia)
            .where(InboundMedia.message_id == message_id, InboundMedia.status == "pending")
            .order_by(InboundMedia.position)
            # Two runs at once (a retry and the sweep's) never both fetch one file (PostgreSQL;
            # SQLite has one writer at a time anyway).
            .with_for_update(skip_locked=True)
        )
    )
    stored = refused = 0
    retry_in: int | None = None
    limit = settings.attachment_max_mb * 1024 * 1024
    for row in rows:
        row.attempts += 1
        try:
            data, _ = fetch_media(settings, row.url, limit)
        except TransientError as exc:
            log.warning(
                "inbound media %s: fetch failed (%s), try %s", row.id, exc.code, row.attempts
            )
            if row.attempts >= MAX_ATTEMPTS:
                row.status, row.reason = "failed", "failed"
                refused += 1
            else:
                delay = RETRY_DELAYS[min(row.attempts, len(RETRY_DELAYS)) - 1]
                retry_in = delay if retry_in is None else min(retry_in, delay)
            continue
        except PermanentError as exc:
            log.warning("inbound media %s: not fetchable (%s)", row.id, exc.code)
            row.status, row.reason = "failed", "failed"
            refused += 1
            continue
        # What the file is comes from its bytes alone (Twilio's declared type is the phone's
        # guess); its name is only what staff download it as.
        name = "document" if attachments.sniff(data) == attachments.PDF else "photo"
        try:
            attachment = attachments.store(session, uploaded_by, name, None, data)
        except attachments.Refused as exc:
            reason = REASONS.get(exc.msgid, "unsupported")
            row.status = "refused"
            row.reason = "heic" if reason == "unsupported" and is_heic(data) else reason
            refused += 1
            continue
        attachment.message_id, attachment.school_id = message_id, school_id
        row.status, row.attachment_id = "stored", attachment.id
        stored += 1
    session.flush()
    return Fetched(stored, refused, retry_in)


def stalled(session: Session, now: datetime | None = None) -> list[int]:
    """Replies with files still waiting whose job was lost (not tried for STALLED_AFTER)."""
    cutoff = (now or utcnow()) - STALLED_AFTER
    return list(
        session.scalars(
            select(InboundMedia.message_id)
            .where(InboundMedia.status == "pending", InboundMedia.updated_at < cutoff)
            .distinct()
            .limit(1000)
        )
    )


def for_messages(session: Session, message_ids: list[int]) -> dict[int, list[InboundMedia]]:
    """Message id → its MMS files not (yet) attachments: waiting, refused or failed."""
    found: dict[int, list[InboundMedia]] = {}
    if not message_ids:
        return found
    for row in session.scalars(
        select(InboundMedia)
        .where(InboundMedia.message_id.in_(message_ids), InboundMedia.status != "stored")
        .order_by(InboundMedia.message_id, InboundMedia.position)
    ):
        found.setdefault(row.message_id, []).append(row)
    return found
