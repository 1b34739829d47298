"""A message's translations: one row per language its families read, written with the message,
filled by its translation job (one model call per language, never per recipient), and handed
to the outbox as the text each language's deliveries carry."""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.languages import mt_code
from app.delivery.service import NO_TRANSLATION, TranslatedText
from app.messaging import identity, interpretation
from app.messaging.models import InterpretationTask, Message, MessageTranslation, Thread
from app.people.models import Staff
from app.schools.models import School
from app.translation import service as translation
from app.translation.protect import Protection
from app.translation.quality import Quality

SENDABLE = ("translated", "same_language", "fallback")
# A row whose deliveries wait for an interpreter's text (an interpretation task is open).
WAITING = "interpreter"


# What follows a one-to-one note in each language (a question's how to answer), written by the
# domains that ask, which messaging does not know: (session, message id, MT code) → a text or
# None. Registered with `on_note_text`.
NoteText = Callable[[Session, int, str], str | None]
_NOTE_TEXTS: list[NoteText] = []


def on_note_text(render: NoteText) -> None:
    """Add what `render` gives after each family's text of a one-to-one note."""
    if render not in _NOTE_TEXTS:
        _NOTE_TEXTS.append(render)


@dataclass(frozen=True)
class PreparedTranslation:
    """A message's text in one language, made before the message is posted (a broadcast is
    rendered once per language first)."""

    status: str  # translated | same_language | unavailable
    text: str | None
    reason: str | None = None
    engine: str | None = None
    origin: str | None = None  # mt | cache | human | same_language (None: unavailable)
    quality: Quality | None = None  # for machine translations
    test_model: bool = False


def judged(origin: str | None, quality: Quality | None, test_model: bool) -> dict[str, Any]:
    """A translation row's columns that say where its text comes from and how far to trust it."""
    return {
        "origin": origin,
        "quality_level": quality.level if quality else None,
        "quality_score": quality.score if quality else None,
        "quality_reasons": list(quality.reasons) if quality else None,
        "test_model": test_model,
    }


def record(row: MessageTranslation, result: translation.TranslationResult) -> None:
    """A translation row filled from what the translation service said."""
    row.status = result.status
    row.text = result.text
    row.engine = result.engine
    row.reason = result.reason
    row.cached = result.cached
    for name, value in judged(result.origin, result.quality, result.test_model).items():
        setattr(row, name, value)


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


def add_prepared(
    session: Session, message_id: int, prepared: Mapping[str, PreparedTranslation]
) -> None:
    """The translation rows of texts made before the message was posted, by MT code."""
    session.add_all(
        MessageTranslation(
            message_id=message_id,
            language=code,
            status=t.status,
            text=t.text,
            reason=t.reason,
            engine=t.engine,
            **judged(t.origin, t.quality, t.test_model),
        )
        for code, t in prepared.items()
    )


def fill_translations(
    session: Session, message_id: int, protection: Protection, *, urgent: bool = False
) -> int:
    """Translates a message's pending rows: one model call per language, never per recipient.
    A language no model reaches, or reaches poorly while the school has an interpreter of it,
    is served by people (`serve_unreached`).
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
    unreached: list[tuple[MessageTranslation, str]] = []
    # Languages staff asked an interpreter for: the machine's text is kept for them to correct.
    asked = {
        task.language: task
        for task in session.scalars(
            select(InterpretationTask).where(
                InterpretationTask.message_id == message_id, InterpretationTask.status == "open"
            )
        )
    }
    thread = session.get(Thread, message.thread_id)
    school_id = thread.school_id if thread else 0
    for row in rows:
        result = translation.translate(
            session,
            [message.body],
            message.language,
            row.language,
            protection=protection,
            school_id=school_id,
        )[0]
        record(row, result)
        if row.language in asked:
            asked[row.language].machine_text = result.text
            row.status, row.text = WAITING, None
        elif row.status == "unavailable":
            unreached.append((row, interpretation.NO_ROUTE))
        elif (
            result.quality is not None
            and result.quality.level == "poor"
            and not urgent
            and interpretation.has_interpreter(session, school_id, row.language)
        ):
            unreached.append((row, interpretation.POOR))
    if unreached:
        serve_unreached(session, message, unreached, urgent=urgent)
    return len(rows)


def serve_unreached(
    session: Session,
    message: Message,
    rows: list[tuple[MessageTranslation, str]],
    *,
    urgent: bool,
    school_text: str | None = None,
) -> None:
    """Languages with no usable machine translation: an urgent message goes now as the
    school's text under one line in the family's language; one that can wait holds its
    deliveries for an interpreter (a poor machine translation is kept for them to correct)."""
    thread = session.get(Thread, message.thread_id)
    school = session.get(School, thread.school_id) if thread else None
    assert school is not None
    for row, reason in rows:
        if urgent and reason == interpretation.NO_ROUTE:
            row.status = interpretation.FALLBACK
            row.text = interpretation.fallback_text(
                school, row.language, school_text or message.body
            )
            continue
        interpretation.open_task(
            session,
            message,
            school,
            language=row.language,
            family_language=row.language,
            reason=reason,
            machine_text=row.text,
        )
        row.status, row.text = WAITING, None


def for_delivery(status: str, text: str | None) -> TranslatedText:
    """A translation as the outbox takes it: a text to send, one still to come, or none."""
    if status in ("pending", WAITING):
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
        text = identity.family_text(
            session,
            school=school,
            author=author,
            language=t.language,
            body=plain.text,
            machine=machine_made(t),
            invite=invite,
        )
        for render in _NOTE_TEXTS:
            more = render(session, message.id, t.language)
            if more:
                text = f"{text}\n\n{more}"
        texts[t.language] = TranslatedText(text)
    return texts


def machine_made(t: MessageTranslation) -> bool:
    """A text a model wrote, not people (a notice's catalog, an interpreter, the phrasebook)."""
    if t.status != "translated":
        return False
    if t.origin is not None:
        return t.origin in ("mt", "cache")
    return t.engine not in ("catalog", "interpreter")


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
        if text is not None
    }
