"""A message's translations: one row per language its families read, written with the message,
filled by its translation job (one model call per language, never per recipient), and handed
to the outbox as the text each language's deliveries carry."""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.delivery.service import NO_TRANSLATION, TranslatedText
from app.messaging import identity
from app.messaging.models import Message, MessageTranslation, Thread
from app.people.models import Staff
from app.schools.models import School
from app.translation import service as translation
from app.translation.languages import mt_code
from app.translation.protect import Protection

SENDABLE = ("translated", "same_language")


@dataclass(frozen=True)
class PreparedTranslation:
    """A message's text in one language, made before the message is posted (a broadcast is
    rendered once per language first)."""

    status: str  # translated | same_language | unavailable
    text: str | None
    reason: str | None = None
    engine: str | None = None


def plan_translations(
    session: Session, message_id: int, source: str, targets: set[str]
) -> set[str]:
    """One translation row per distinct target language, in the message's transaction.
    Returns the MT codes that still need machine translation."""
    src = mt_code(source)
    pending: set[str] = set()
    for code in sorted({mt_code(t) for t in targets}):
        same = code == src
        session.add(
            MessageTranslation(
                message_id=message_id, language=code, status="same_language" if same else "pending"
            )
        )
        if not same:
            pending.add(code)
    return pending


def fill_translations(session: Session, message_id: int, protection: Protection) -> int:
    """Translates a message's pending rows: one model call per language, never per recipient.
    Returns how many languages were translated or found unavailable."""
    message = session.get(Message, message_id)
    if message is None:
        return 0
    rows = list(
        session.scalars(
            select(MessageTranslation).where(
                MessageTranslation.message_id == message_id, MessageTranslation.status == "pending"
            )
        )
    )
    for row in rows:
        result = translation.translate(
            session, [message.body], message.language, row.language, protection=protection
        )[0]
        row.status = result.status
        row.text = result.text
        row.engine = result.engine
        row.reason = result.reason
        row.cached = result.cached
    return len(rows)


def for_delivery(status: str, text: str | None) -> TranslatedText:
    """A translation as the outbox takes it: a text to send, one still to come, or none."""
    if status == "pending":
        return TranslatedText(pending=True)
    if status in SENDABLE and text:
        return TranslatedText(text)
    return NO_TRANSLATION


def texts_for_delivery(session: Session, message_id: int) -> dict[str, TranslatedText]:
    """Language → the text that language's deliveries of the message carry: for a one-to-one
    note, as the family's phone shows it (who wrote, the machine-translation mark, the
    invitation to reply: messaging.identity)."""
    rows = list(
        session.scalars(
            select(MessageTranslation).where(MessageTranslation.message_id == message_id)
        )
    )
    message = session.get(Message, message_id)
    if message is None or message.kind != "note":
        return {t.language: for_delivery(t.status, t.text) for t in rows}
    thread = session.get(Thread, message.thread_id)
    assert thread is not None
    school = session.get(School, thread.school_id)
    assert school is not None
    author = session.get(Staff, message.author_staff_id) if message.author_staff_id else None
    invite = identity.invites_reply(session, thread.id, message)
    texts: dict[str, TranslatedText] = {}
    for t in rows:
        body = message.body if t.status == "same_language" else t.text
        plain = for_delivery(t.status, body)
        if plain.text is None:
            texts[t.language] = plain
            continue
        texts[t.language] = TranslatedText(
            identity.family_text(
                session,
                school=school,
                author=author,
                language=t.language,
                body=plain.text,
                machine=t.status == "translated",
                invite=invite,
            )
        )
    return texts


def reader_translations(
    session: Session, message_ids: Iterable[int], language: str
) -> dict[int, str]:
    """Message id → its machine translation into `language` (an MT code), for those that
    have one: what a staff member reads beside a family's reply."""
    wanted = set(message_ids)
    if not wanted:
        return {}
    return {
        message_id: text
        for message_id, text in session.execute(
            select(MessageTranslation.message_id, MessageTranslation.text).where(
                MessageTranslation.message_id.in_(wanted),
                MessageTranslation.language == language,
                MessageTranslation.status == "translated",
                MessageTranslation.text.is_not(None),
            )
        )
    }
