"""A family's secure link to the family page (/f/<token>): no app, no account.

- A token is 256 random bits (`secrets.token_urlsafe(32)`), bound to one guardian. Only its
  SHA-256 is stored: a token is shown once (to the staff member who made it) or put in one
  text, and is never made again, so two families never share one.
- A link holds until it expires (HEARTH_FAMILY_LINK_DAYS), is revoked (by staff, or all of a
  guardian's at once), the guardian's phone changes (each link keeps the number it was made
  for), or the guardian is deactivated. Any other token — tampered, expired, revoked — is a
  plain "not found" that says nothing more.
- A school decides when its texts carry the link (`School.family_link`): always, never,
  `long` (the default): when the text is over two SMS segments, so that a long notice can be
  read (and heard) in full on the page; or `summary`: a text over two segments goes as its
  first sentence(s), cut to fit with the link, and the whole note is read on the page.
- A message with exactly one photo goes to US and Canadian numbers as MMS where the school
  allows it (`School.mms_images`, delivery.mms): the photo is in the text, so the text carries
  the link only as the school's policy says for its words.
"""

import bisect
import hashlib
import re
import secrets
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import timedelta
from functools import lru_cache

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.service import AuthSubject
from app.channels.segments import count_segments, is_gsm7
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import Invalid
from app.delivery import attachments as files_of
from app.delivery import mms
from app.delivery.models import Attachment
from app.delivery.service import SmsBody
from app.messaging.interpretation import FALLBACK
from app.messaging.models import FamilyLink, Message, MessageTranslation, Thread
from app.people import service as people
from app.people.models import Guardian
from app.schools.models import School

POLICIES = ("always", "long", "summary", "never")
# A message with photos or PDFs under the `summary` policy: the link always, and a long text
# shortened (not a school's choice: what `policy_with` makes of `summary`).
SUMMARY_WITH_FILES = "summary+"
# A text longer than this many segments carries the link under the `long` and `summary`
# policies (and is shortened under `summary`).
LONG_SEGMENTS = 2
# A summary says at least this much (GSM-7 septets or UCS-2 units): where the link leaves less
# room in one segment (a UCS-2 text has 70 units), the summary and the link take two.
MIN_SUMMARY_UNITS = 40
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
    if policy in ("always", SUMMARY_WITH_FILES):
        return True
    if policy in ("long", "summary"):
        return count_segments(text).segments > LONG_SEGMENTS
    return False


def shortens(policy: str, text: str) -> bool:
    """Whether a text goes as its summary (and the link) rather than whole."""
    return policy in ("summary", SUMMARY_WITH_FILES) and (
        count_segments(text).segments > LONG_SEGMENTS
    )


def policy_with(policy: str, has_attachments: bool) -> str:
    """The school's policy for a message's texts: a message with photos or PDFs always carries
    the link (the family page shows them; a text cannot), unless the school never sends one."""
    if not has_attachments or policy == "never":
        return policy
    return SUMMARY_WITH_FILES if policy == "summary" else "always"


def with_link(text: str, url: str) -> str:
    return f"{text}\n{url}"


# Where a summary may end: after a sentence (its full stop and any closing quote), else between
# words; CJK text has no spaces, so it may end after any of its characters.
_SENTENCE_END = re.compile(
    r"[.!?\u0589\u061f\u06d4\u3002\uff01\uff1f][\"'\u201d\u300d)\uff09]*(?=\s|$)|[\u3002\uff01\uff1f]|\n"
)
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")


def _cuts(text: str) -> tuple[list[int], list[int]]:
    """Where a summary of `text` may end: (after whole sentences, between words), ascending."""
    sentences = sorted({m.end() for m in _SENTENCE_END.finditer(text) if m.end() < len(text)})
    words = sorted({i for i in range(1, len(text)) if text[i].isspace() or _CJK.match(text[i - 1])})
    return sentences, words


def _fits(text: str, end: int, tail: str, segments: int) -> bool:
    return count_segments(text[:end].rstrip() + tail).segments <= segments


def _longest(text: str, cuts: list[int], tail: str, segments: int) -> int | None:
    """The longest cut whose summary fits (summaries grow with the cut: a binary search)."""
    fitting = bisect.bisect_right(
        range(len(cuts)), 0, key=lambda i: 0 if _fits(text, cuts[i], tail, segments) else 1
    )
    return cuts[fitting - 1] if fitting else None


@lru_cache(maxsize=256)
def _summary(text: str, url_length: int) -> str:
    """The summary of `text` with its ellipsis: what goes before a link `url_length` long."""
    ellipsis = "..." if is_gsm7(text) else "\u2026"  # "…" alone would make GSM-7 text UCS-2
    tail = ellipsis + "\n" + "x" * url_length  # a link's characters are all GSM-7, 1 unit each
    sentences, words = _cuts(text)
    for segments in range(1, LONG_SEGMENTS + 1):
        enough = MIN_SUMMARY_UNITS if segments == 1 else 0
        for cuts in (sentences, words):
            end = _longest(text, cuts, tail, segments)
            if end is not None and count_segments(text[:end]).units >= enough:
                return text[:end].rstrip(" ,;:\n\u3001\uff0c") + ellipsis
    return ellipsis  # a link too long for any summary: the link says it all


def summarized(text: str, url: str) -> str:
    """A long text as it goes under the `summary` policy: its first sentence(s), cut on a
    sentence (else word) boundary so that with "…" and the link it fits one segment (two for
    UCS-2 text, whose 70 units leave no room for both), then the link to the whole note."""
    return with_link(_summary(text, len(url)), url)


def render(policy: str, text: str, url: str) -> str:
    """A text with the family's link `url`, as the policy says: whole, with the link, or its
    summary and the link."""
    if shortens(policy, text):
        return summarized(text, url)
    return with_link(text, url) if wants_link(policy, text) else text


def sample(policy: str, text: str) -> str:
    """A text as the preview shows it: with a link of the very length a family's will have."""
    return render(policy, text, url_for(SAMPLE_TOKEN))


def linker(
    session: Session,
    policy: str,
    skip: Collection[str] = (),
    phones: Mapping[int, str | None] | None = None,
    *,
    files: Sequence[Attachment] = (),
    mms_images: bool = False,
) -> Callable[[int, str, str], SmsBody] | None:
    """What a message's texts go through on their way out: (guardian id, language, text) → the
    text with the family's own new link when the school's `policy` wants one (or its summary
    and the link), and the message's photo as MMS where it goes so (`files`: the message's,
    `mms_images`: the school allows MMS). One link per guardian per message. None when
    nothing changes a text. `skip`: languages whose text is the urgent fallback (the school's
    text under one line asking to call): the page would show no more than the text does.
    `phones`: the recipients' numbers (active guardians), known already for a broadcast's
    thousands; others are read one by one."""
    image = mms.image_for(mms_images, files)
    with_files = policy_with(policy, bool(files))
    if with_files == "never" and image is None:
        return None
    made: dict[int, str] = {}
    numbers: dict[int, str | None] = dict(phones or {})

    def phone_of(guardian_id: int) -> tuple[bool, str | None]:
        """(an active guardian, their number)."""
        if guardian_id in numbers:
            return True, numbers[guardian_id]
        guardian = session.get(Guardian, guardian_id)
        if guardian is None or not guardian.active:
            return False, None
        numbers[guardian_id] = guardian.phone
        return True, guardian.phone

    def add(guardian_id: int, language: str, text: str) -> SmsBody:
        if language in skip:
            return SmsBody(text)
        rule = with_files
        if image is None and not wants_link(rule, text):
            return SmsBody(text)
        active, phone = phone_of(guardian_id)
        if not active:
            return SmsBody(text)
        media = image if image is not None and mms.reaches(phone) else None
        if media is not None:
            rule = policy  # the photo is in the text: the link only for the words
        if not wants_link(rule, text):
            return SmsBody(text, media)
        if guardian_id not in made:
            _, token = _mint(session, guardian_id, phone, "text", flush=False)
            made[guardian_id] = url_for(token)
        return SmsBody(render(rule, text, made[guardian_id]), media)

    return add


def linker_for_message(
    session: Session, message_id: int
) -> Callable[[int, str, str], SmsBody] | None:
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
    return linker(
        session,
        school.family_link,
        set(fallback),
        files=files_of.for_message(session, message_id),
        mms_images=school.mms_images,
    )
