"""Questions on broadcasts: the question and its numbered options written into each family's
text in its language, answers read from the families' replies in any language, the tally, and
who has not answered.

How a reply is matched to a question: the latest question this family received (on the
broadcast or its reminder) within the reply window and before its deadline. A reply that answers
it is recorded (and still shown in the conversation); a later answer replaces the earlier one
unless the question says otherwise, the earlier kept as history. A short reply that cannot be
read gets one polite "please reply with 1 or 2" in the family's language; after that, or for a
longer text, it is a message for staff like any other."""

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.channels import SendError, sms
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.languages import ENGLISH, mt_code
from app.core.queue import after_commit
from app.delivery.models import FAILED, Delivery, DeliveryStatus, InboundSms
from app.messaging.models import Message
from app.notices import service as notices
from app.people.models import Guardian
from app.questions import answers, texts
from app.questions.models import Answer, Place, Question
from app.questions.schemas import QuestionDraft, QuestionKind
from app.schools.models import School
from app.translation import service as translation
from app.translation.protect import Protection

log = logging.getLogger("hearth.questions")
MAX_ATTEMPT_CHARS = 80  # a longer reply that is not an answer is a message, not an attempt
YES_NO_LABELS = {"yes": "Yes", "no": "No"}
NOT_RECEIVED = FAILED | {DeliveryStatus.CANCELED}


# Asking ----------------------------------------------------------------------------------------


def text_in(session: Session, key: str, language: str, **fields: str) -> str:
    """One of texts.TEXTS in `language`: as people translated it, else the English machine-
    translated where a model exists (numbers kept), else the English."""
    english = texts.TEXTS[key]
    written = notices.catalog_text(english, language)
    if written is not None:
        return written % fields
    code = mt_code(language)
    result = translation.translate(
        session,
        [english % fields],
        ENGLISH,
        code,
        protection=Protection(names=list(fields.values())),
    )[0]
    return result.text if result.status == "translated" and result.text else english % fields


def options_in(session: Session, options: list[str], source: str, language: str) -> list[str]:
    """A choice's options in `language`, translated like the message; as written where no
    model translates them."""
    if not options or mt_code(source) == mt_code(language):
        return list(options)
    results = translation.translate(session, options, source, mt_code(language))
    return [
        r.text if r.status == "translated" and r.text else option
        for r, option in zip(results, options, strict=True)
    ]


def prompt(session: Session, question: QuestionDraft, language: str, source: str) -> str:
    """What follows the message in `language`: how to answer, and a choice's numbered options
    (with the places left of a sign-up)."""
    how = {
        "yes_no": texts.HOW_YES_NO,
        "choice": texts.HOW_CHOICE,
        "number": texts.HOW_NUMBER,
        "text": texts.HOW_TEXT,
    }[question.kind]
    options = options_in(session, question.options, source, language)
    return "\n".join(
        [text_in(session, how, language), *_numbered(session, options, question.places, language)]
    )


def _numbered(
    session: Session, options: list[str], left: list[int] | None, language: str, only_open=False
) -> list[str]:
    lines = []
    for i, option in enumerate(options, start=1):
        if left is None:
            lines.append(f"{i}. {option}")
        elif left[i - 1] > 0 or not only_open:
            places = text_in(session, texts.PLACES_LEFT, language, count=str(left[i - 1]))
            lines.append(f"{i}. {option} {places}")
    return lines


def with_question(
    session: Session,
    question: QuestionDraft,
    rendered: Mapping[str, str | None],
    source: str,
) -> dict[str, str | None]:
    """Each language's text (MT code → text; None where there is none) with the question's
    prompt in that language after it."""
    return {
        code: None if text is None else f"{text}\n\n{prompt(session, question, code, source)}"
        for code, text in rendered.items()
    }


def create(session: Session, *, school_id: int, broadcast_id: int, draft: QuestionDraft) -> None:
    question = Question(
        school_id=school_id,
        broadcast_id=broadcast_id,
        kind=draft.kind,
        options=list(draft.options),
        deadline=draft.deadline,
        remind_at=draft.remind_at,
        replace_answers=draft.replace_answers,
    )
    session.add(question)
    session.flush()
    for number, capacity in enumerate(draft.places or [], start=1):
        session.add(Place(question_id=question.id, number=number, capacity=capacity, taken=0))
    session.flush()


def call_off_reminder(session: Session, broadcast_id: int) -> None:
    """No reminder for a canceled broadcast, even one already sent: marked as done."""
    question = for_broadcast(session, broadcast_id)
    if question is not None and question.reminded_at is None:
        question.reminded_at = utcnow()
        session.flush()


def places_left(session: Session, question: Question) -> list[int] | None:
    """Each option's places left, for a sign-up; None for a question without places."""
    rows = session.execute(
        select(Place.capacity, Place.taken)
        .where(Place.question_id == question.id)
        .order_by(Place.number)
        .execution_options(populate_existing=True)
    ).all()
    return [capacity - taken for capacity, taken in rows] if rows else None


def for_broadcast(session: Session, broadcast_id: int) -> Question | None:
    return session.scalar(select(Question).where(Question.broadcast_id == broadcast_id))


def draft_of(session: Session, question: Question) -> QuestionDraft:
    """The question as asked, a sign-up's places being those left now."""
    return QuestionDraft.model_construct(
        kind=cast(QuestionKind, question.kind),
        options=list(question.options),
        places=places_left(session, question),
        deadline=question.deadline,
        remind_at=question.remind_at,
        replace_answers=question.replace_answers,
    )


# Reading answers -------------------------------------------------------------------------------


def open_question(session: Session, guardian_id: int, now: datetime) -> Question | None:
    """The question this family received last (on the broadcast or its reminder), within the
    reply window and before its deadline. A text that never reached it asks it nothing."""
    since = now - timedelta(days=get_settings().reply_window_days)
    return session.scalar(
        select(Question)
        .join(
            Delivery,
            (Delivery.message_id == Question.message_id)
            | (Delivery.message_id == Question.reminder_message_id),
        )
        .where(
            Delivery.guardian_id == guardian_id,
            Delivery.created_at >= since,
            Delivery.status.not_in(NOT_RECEIVED),
            (Question.deadline.is_(None)) | (Question.deadline >= now),
        )
        # The question (or reminder) it got last, not the last one written.
        .order_by(Delivery.created_at.desc(), Delivery.id.desc())
        .limit(1)
    )


def read_reply(session: Session, message_id: int) -> str | None:
    """Record a family's reply as the answer to its open question, if it is one. Returns the
    answer's value, "unreadable", or None when there was no question to answer."""
    message = session.get(Message, message_id)
    if message is None or message.author_guardian_id is None:
        return None
    guardian = session.get(Guardian, message.author_guardian_id)
    assert guardian is not None
    now = message.created_at  # when the family answered, however late this job runs
    question = open_question(session, guardian.id, now)
    if question is None:
        return None
    source = _author_language(session, question)
    value = None
    for language in dict.fromkeys([message.language, guardian.language]):
        translated = options_in(session, question.options, source, language)
        value = answers.read(message.body, language, question.kind, question.options, translated)
        if value is not None:
            break
    current = session.scalar(
        select(Answer)
        .where(
            Answer.question_id == question.id,
            Answer.guardian_id == guardian.id,
            Answer.current.is_(True),
        )
        .order_by(Answer.id.desc())
        .limit(1)
    )
    answer = Answer(
        question_id=question.id,
        guardian_id=guardian.id,
        reply_message_id=message.id,
        value=value,
        text=message.body,
        language=message.language,
        answered_at=now,
    )
    if value is None:
        if current is not None or len(message.body) > MAX_ATTEMPT_CHARS:
            return None  # answered already, or a message: for staff only
        asked_again = session.scalar(
            select(Answer.id).where(
                Answer.question_id == question.id,
                Answer.guardian_id == guardian.id,
                Answer.value.is_(None),
            )
        )
        session.add(answer)
        if asked_again is None:
            _ask_again(session, question, guardian, message)
        return "unreadable"
    if current is not None and not question.replace_answers:
        session.add(answer)  # history: the first answer stands
        return current.value
    if current is not None and current.value == value:
        return value  # the same answer again
    if question.kind == "choice" and not _take_place(session, question, int(value)):
        _tell_full(session, question, guardian, message)
        return "full"
    if current is not None:
        if question.kind == "choice" and current.value and current.value.isdigit():
            _give_back_place(session, question, int(current.value))
        current.current = False
    answer.current = True
    session.add(answer)
    session.flush()
    return value


def _author_language(session: Session, question: Question) -> str:
    message = session.get(Message, question.message_id) if question.message_id else None
    return message.language if message is not None else ENGLISH


def _ask_again(session: Session, question: Question, guardian: Guardian, reply: Message) -> None:
    """Once per family and question, by text, to a family that texted: how to answer."""
    came_by_sms = session.scalar(select(InboundSms).where(InboundSms.message_id == reply.id))
    school = session.get(School, question.school_id)
    if came_by_sms is None or school is None or not guardian.phone:
        return
    if question.kind == "yes_no":
        text = text_in(session, texts.AGAIN_YES_NO, guardian.language)
    elif question.kind == "choice":
        count = str(len(question.options))
        text = text_in(session, texts.AGAIN_CHOICE, guardian.language, count=count)
    else:
        text = text_in(session, texts.AGAIN_NUMBER, guardian.language)
    after_commit(session, _send(came_by_sms.to_number, came_by_sms.from_number, text))


def _take_place(session: Session, question: Question, number: int) -> bool:
    """One place of option `number`, if one is left (True also for an option without places).
    A conditional UPDATE: of families answering at once for the last place, one gets it."""
    taken = session.execute(
        update(Place)
        .where(
            Place.question_id == question.id,
            Place.number == number,
            Place.taken < Place.capacity,
        )
        .values(taken=Place.taken + 1)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if taken == 1:
        return True
    limited = session.scalar(
        select(Place.id).where(Place.question_id == question.id, Place.number == number)
    )
    return limited is None


def _give_back_place(session: Session, question: Question, number: int) -> None:
    session.execute(
        update(Place)
        .where(Place.question_id == question.id, Place.number == number, Place.taken > 0)
        .values(taken=Place.taken - 1)
        .execution_options(synchronize_session=False)
    )


def _tell_full(session: Session, question: Question, guardian: Guardian, reply: Message) -> None:
    """The choice is full: the choices still open, in the family's language."""
    came_by_sms = session.scalar(select(InboundSms).where(InboundSms.message_id == reply.id))
    if came_by_sms is None:
        return
    left = places_left(session, question)
    options = options_in(
        session, question.options, _author_language(session, question), guardian.language
    )
    still = _numbered(session, options, left, guardian.language, only_open=True)
    key = texts.FULL if still else texts.ALL_FULL
    text = "\n".join([text_in(session, key, guardian.language), *still])
    after_commit(session, _send(came_by_sms.to_number, came_by_sms.from_number, text))


def _send(sender: str, phone: str, text: str) -> Callable[[], None]:
    def send() -> None:
        try:
            sms.sms_channel().send(sender, phone, text, None)
        except SendError as exc:
            log.warning("could not ask a family again: %s", exc.code)

    return send


# Results ---------------------------------------------------------------------------------------


def label(question: Question, key: str) -> str:
    if question.kind == "yes_no":
        return YES_NO_LABELS.get(key, key)
    if question.kind == "choice" and key.isdigit() and 1 <= int(key) <= len(question.options):
        return question.options[int(key) - 1]
    return key


def tally(session: Session, question: Question) -> dict[str, Any]:
    """Who was asked (every family with a delivery of the question), who answered what (the
    current answer of each), per option and per language, and who has not answered."""
    asked = (
        session.scalars(
            select(Guardian)
            .where(
                Guardian.id.in_(
                    select(Delivery.guardian_id).where(Delivery.message_id == question.message_id)
                )
            )
            .order_by(Guardian.family_name, Guardian.given_name, Guardian.id)
        ).all()
        if question.message_id
        else []
    )
    current: dict[int, Answer] = {}
    for latest in session.scalars(
        select(Answer)
        .where(Answer.question_id == question.id, Answer.current.is_(True))
        .order_by(Answer.id)
    ):
        current[latest.guardian_id] = latest  # the latest wins
    keys = (
        ["yes", "no"]
        if question.kind == "yes_no"
        else [str(i) for i in range(1, len(question.options) + 1)]
        if question.kind == "choice"
        else []
    )
    counts = dict.fromkeys(keys, 0)
    per_language: dict[str, dict[str, Any]] = {}
    answered, waiting = [], []
    for guardian in asked:
        lang = per_language.setdefault(
            guardian.language,
            {
                "language": guardian.language,
                "asked": 0,
                "answered": 0,
                "counts": dict.fromkeys(keys, 0),
            },
        )
        lang["asked"] += 1
        answer = current.get(guardian.id)
        name = f"{guardian.given_name} {guardian.family_name}"
        if answer is None or answer.value is None:
            waiting.append(
                {
                    "guardian_id": guardian.id,
                    "name": name,
                    "language": guardian.language,
                    "phone": guardian.phone,
                    "email": guardian.email,
                }
            )
            continue
        lang["answered"] += 1
        counts[answer.value] = counts.get(answer.value, 0) + 1
        lang["counts"][answer.value] = lang["counts"].get(answer.value, 0) + 1
        answered.append(
            {
                "guardian_id": guardian.id,
                "name": name,
                "language": guardian.language,
                "value": answer.value,
                "text": answer.text,
                "answered_at": answer.answered_at,
            }
        )
    capacity = dict(
        session.execute(
            select(Place.number, Place.capacity).where(Place.question_id == question.id)
        ).all()
    )
    per_option = [
        {
            "key": k,
            "label": label(question, k),
            "count": n,
            "places": capacity.get(int(k)) if k.isdigit() else None,
        }
        for k, n in counts.items()
    ]
    return {
        "kind": question.kind,
        "options": list(question.options),
        "deadline": question.deadline,
        "asked": len(asked),
        "answered": len(answered),
        "counts": counts,
        "per_option": per_option,
        "per_language": sorted(per_language.values(), key=lambda x: -x["asked"]),
        "not_answered": waiting,
        "answers": answered,
    }


def not_answered_ids(session: Session, question: Question) -> list[int]:
    return [row["guardian_id"] for row in tally(session, question)["not_answered"]]
