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
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton, format_time
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.service import AuthSubject
from app.channels import SendError, sms
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import Invalid, NotFound
from app.core.languages import ENGLISH, mt_code
from app.core.queue import after_commit
from app.delivery.models import FAILED, Delivery, DeliveryStatus, InboundSms
from app.messaging import service as messaging
from app.messaging import translations
from app.messaging.models import Message, Thread
from app.messaging.schemas import MessageCreate
from app.messaging.translations import PreparedTranslation
from app.notices import service as notices
from app.people.models import Guardian, Student, StudentGuardian
from app.questions import answers, texts
from app.questions.models import Answer, Place, Question
from app.questions.schemas import QuestionDraft, QuestionKind
from app.schools.models import Enrollment, School, Section
from app.translation import phrasebook
from app.translation import service as translation
from app.translation.protect import Protection

log = logging.getLogger("hearth.questions")
MAX_ATTEMPT_CHARS = 80  # a longer reply that is not an answer is a message, not an attempt
YES_NO_LABELS = {"yes": "Yes", "no": "No"}
CANCEL_PHRASE, CHANGE_PHRASE = "Cancel the meeting", "Change the time"
NOT_RECEIVED = FAILED | {DeliveryStatus.CANCELED}


# Asking ----------------------------------------------------------------------------------------


def text_in(session: Session, key: str, language: str, **fields: str) -> str:
    """One of texts.TEXTS in `language`: as people translated it, else the English machine-
    translated where a model exists (numbers kept), else the English."""
    found = text_found(session, key, language, **fields)
    return found if found is not None else texts.TEXTS[key] % fields


def written_by_people(key: str, language: str) -> bool:
    """Whether the catalogs (people's translations) have text `key` in `language`."""
    return notices.catalog_text(texts.TEXTS[key], language) is not None


def text_found(session: Session, key: str, language: str, **fields: str) -> str | None:
    """As text_in, but None where neither people nor a model put it in `language` (a text
    that can wait then waits for an interpreter rather than going in English)."""
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
    return result.text if result.status == "translated" and result.text else None


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


def times_in(times: list[str] | list[datetime], language: str) -> list[str]:
    """A choice of times in `language`'s way ("Tue, Dec 15, 3:00 PM", "mar, 15 dic, 15:00"),
    each in its own UTC offset (the school's local time when it was written)."""
    return [
        when_in(datetime.fromisoformat(t) if isinstance(t, str) else t, language) for t in times
    ]


def when_in(when: datetime, language: str) -> str:
    locale = babel_locale(language)
    day = format_skeleton("MMMEd", when, locale=locale)
    return f"{day}, {format_time(when, 'short', locale=locale)}"


def babel_locale(language: str) -> str:
    try:
        return str(Locale.parse(language.replace("-", "_")))
    except (ValueError, UnknownLocaleError):
        return "en"


def option_labels(session: Session, question: Question, language: str) -> list[str]:
    """The options as a family reading `language` sees them."""
    if question.times:
        return times_in(question.times, language)
    return options_in(session, question.options, _author_language(session, question), language)


def prompt(session: Session, question: QuestionDraft, language: str, source: str) -> str:
    """What follows the message in `language`: how to answer, and a choice's numbered options
    (with the places left of a sign-up)."""
    how = {
        "yes_no": texts.HOW_YES_NO,
        "choice": texts.HOW_SLOT if question.times else texts.HOW_CHOICE,
        "number": texts.HOW_NUMBER,
        "text": texts.HOW_TEXT,
        "permission": texts.HOW_PERMISSION,
    }[question.kind]
    options = (
        times_in(question.times, language)
        if question.times
        else options_in(session, question.options, source, language)
    )
    # A time is open or taken: only the open ones are offered, without a count.
    numbered = _numbered(session, options, question.places, language, times=bool(question.times))
    return "\n".join([text_in(session, how, language), *numbered])


def _numbered(
    session: Session,
    options: list[str],
    left: list[int] | None,
    language: str,
    only_open: bool = False,
    times: bool = False,
) -> list[str]:
    lines = []
    for i, option in enumerate(options, start=1):
        if left is None:
            lines.append(f"{i}. {option}")
        elif times:
            if left[i - 1] > 0:
                lines.append(f"{i}. {option}")  # a time is open or not offered
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


def create(
    session: Session, *, school_id: int, broadcast_id: int | None, draft: QuestionDraft
) -> Question:
    question = Question(
        school_id=school_id,
        broadcast_id=broadcast_id,
        kind=draft.kind,
        options=list(draft.options),
        times=[t.isoformat() for t in draft.times] if draft.times else None,
        deadline=draft.deadline,
        remind_at=draft.remind_at,
        replace_answers=draft.replace_answers,
    )
    session.add(question)
    session.flush()
    for number, capacity in enumerate(draft.places or [], start=1):
        session.add(Place(question_id=question.id, number=number, capacity=capacity, taken=0))
    session.flush()
    return question


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
        times=[datetime.fromisoformat(t) for t in question.times] if question.times else None,
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
    if session.scalar(select(Answer.id).where(Answer.reply_message_id == message.id)):
        return None  # answered already (a button of the family page), or read before
    guardian = session.get(Guardian, message.author_guardian_id)
    assert guardian is not None
    now = message.created_at  # when the family answered, however late this job runs
    question = open_question(session, guardian.id, now)
    if question is None:
        return None
    if question.kind == "permission":
        return _read_permission(session, question, guardian, message)
    if question.times and _booking_request(session, question, guardian, message):
        return "handled"
    source = _author_language(session, question)
    value = None
    for language in dict.fromkeys([message.language, guardian.language]):
        translated = (
            times_in(question.times, language)
            if question.times
            else options_in(session, question.options, source, language)
        )
        value = answers.read(message.body, language, question.kind, question.options, translated)
        if value is not None:
            break
    return _record(session, question, guardian, message, value, _channel(session, message))


def _record(
    session: Session,
    question: Question,
    guardian: Guardian,
    message: Message,
    value: str | None,
    channel: str,
) -> str | None:
    """A reply read as `value` (None: not read) recorded as this family's answer: the same
    for a text, an email and a button of the family page."""
    current = _current(session, question, guardian)
    answer = Answer(
        question_id=question.id,
        guardian_id=guardian.id,
        reply_message_id=message.id,
        value=value,
        text=message.body,
        language=message.language,
        channel=channel,
        answered_at=message.created_at,
    )
    if value is None:
        return _unreadable(session, question, guardian, message, answer, current)
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
    if question.times:
        when = times_in([question.times[int(value) - 1]], guardian.language)[0]
        _reply(session, question, guardian, message, texts.BOOKED, when=when)
    return value


def _current(session: Session, question: Question, guardian: Guardian) -> Answer | None:
    return session.scalar(
        select(Answer)
        .where(
            Answer.question_id == question.id,
            Answer.guardian_id == guardian.id,
            Answer.current.is_(True),
        )
        .order_by(Answer.id.desc())
        .limit(1)
    )


def _unreadable(
    session: Session,
    question: Question,
    guardian: Guardian,
    message: Message,
    answer: Answer,
    current: Answer | None,
) -> str | None:
    """A reply that does not answer: a short one is kept (not counted) and the family asked
    once more how to answer; a longer one, or one after an answer, is a message for staff."""
    if current is not None or len(message.body) > MAX_ATTEMPT_CHARS:
        return None  # answered already, or a message: for staff only
    asked_again = session.scalar(
        select(Answer.id).where(
            Answer.question_id == question.id,
            Answer.guardian_id == guardian.id,
            Answer.value.is_(None),
        )
    )
    answer.value = None
    session.add(answer)
    if asked_again is None:
        _ask_again(session, question, guardian, message)
    return "unreadable"


def _channel(session: Session, message: Message) -> str:
    came_by_sms = session.scalar(select(InboundSms.id).where(InboundSms.message_id == message.id))
    return "sms" if came_by_sms is not None else "email"


def _read_permission(
    session: Session, question: Question, guardian: Guardian, message: Message
) -> str | None:
    """A permission slip: yes or no, and the full name typed as a signature ("1 Maria Lopez",
    "sí, María López"). A yes without a name is kept aside and the family asked for its name;
    its next reply that is a name signs it. Each signed answer is recorded in the audit log."""
    value, name = None, None
    for language in dict.fromkeys([message.language, guardian.language]):
        value, name = answers.permission(message.body, language)
        if value is not None:
            break
    latest = session.scalar(
        select(Answer)
        .where(Answer.question_id == question.id, Answer.guardian_id == guardian.id)
        .order_by(Answer.id.desc())
        .limit(1)
    )
    waiting_for_name = (
        latest is not None
        and latest.value == "yes"
        and latest.signature is None
        and not latest.current
    )
    if value is None and waiting_for_name:
        name = answers.signature_in(message.body)
        value = "yes" if name is not None else None
    return _record_permission(
        session, question, guardian, message, value, name, _channel(session, message)
    )


def _record_permission(
    session: Session,
    question: Question,
    guardian: Guardian,
    message: Message,
    value: str | None,
    name: str | None,
    channel: str,
) -> str | None:
    current = _current(session, question, guardian)
    answer = Answer(
        question_id=question.id,
        guardian_id=guardian.id,
        reply_message_id=message.id,
        value=value,
        text=message.body,
        language=message.language,
        signature=name,
        channel=channel,
        answered_at=message.created_at,
    )
    if value is None:
        return _unreadable(session, question, guardian, message, answer, current)
    if value == "yes" and name is None:
        session.add(answer)  # not counted until signed
        _reply(session, question, guardian, message, texts.ASK_SIGNATURE)
        return "awaiting_signature"
    if current is not None and not question.replace_answers:
        session.add(answer)  # history: the first answer stands
        return current.value
    if current is not None:
        current.current = False
    answer.current = True
    session.add(answer)
    session.flush()
    audit.record(
        session,
        f"guardian:{guardian.id}",
        "question.permission",
        "question",
        question.id,
        school_id=question.school_id,
        details={
            "answer_id": answer.id,
            "guardian_id": guardian.id,
            "answer": value,
            "signature": name,
            "channel": answer.channel,
            "answered_at": answer.answered_at.isoformat(),
            "message_id": message.id,
        },
    )
    if name is not None:
        _reply(session, question, guardian, message, texts.SIGNED, name=name)
    return value


def _reply(
    session: Session,
    question: Question,
    guardian: Guardian,
    message: Message,
    key: str,
    **fields: str,
) -> None:
    """An answer at once, by text, to a family that texted (a confirmation, how to go on)."""
    came_by_sms = session.scalar(select(InboundSms).where(InboundSms.message_id == message.id))
    if came_by_sms is None or not guardian.phone:
        return
    text = text_in(session, key, guardian.language, **fields)
    after_commit(session, _send(came_by_sms.to_number, came_by_sms.from_number, text))


def _booking_request(
    session: Session, question: Question, guardian: Guardian, message: Message
) -> bool:
    """A reply to a choice of times that cancels ("0", or "cancel the meeting" as the
    phrasebook knows it; a bare CANCEL is a carrier's opt-out word) or asks to change (the
    phrasebook's "change"): handled here. True when it was one."""
    number = answers.number_in(message.body)
    phrase = None
    if number is None:
        for language in dict.fromkeys([message.language, guardian.language]):
            phrase = phrasebook.find(message.body, mt_code(language))
            if phrase in (CANCEL_PHRASE, CHANGE_PHRASE):
                break
    cancel = number == 0 or phrase == CANCEL_PHRASE
    if not cancel and phrase != CHANGE_PHRASE:
        return False
    current = _current(session, question, guardian)
    if cancel:
        if current is None or not (current.value or "").isdigit():
            return False
        _give_back_place(session, question, int(current.value or 0))
        current.current = False
        session.add(
            Answer(
                question_id=question.id,
                guardian_id=guardian.id,
                reply_message_id=message.id,
                value="canceled",
                text=message.body,
                language=message.language,
                channel=_channel(session, message),
                answered_at=message.created_at,
            )
        )
        session.flush()
        when = times_in([(question.times or [])[int(current.value or 0) - 1]], guardian.language)[0]
        _reply(session, question, guardian, message, texts.CANCELED, when=when)
        return True
    _tell_open(session, question, guardian, message, texts.CHANGE)
    return True


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
    elif question.kind == "permission":
        text = text_in(session, texts.AGAIN_PERMISSION, guardian.language)
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
    _tell_open(session, question, guardian, reply, texts.FULL)


def _tell_open(
    session: Session, question: Question, guardian: Guardian, reply: Message, key: str
) -> None:
    """The choices still open, numbered, after `key`, in the family's language."""
    came_by_sms = session.scalar(select(InboundSms).where(InboundSms.message_id == reply.id))
    if came_by_sms is None:
        return
    left = places_left(session, question)
    options = option_labels(session, question, guardian.language)
    still = _numbered(
        session, options, left, guardian.language, only_open=True, times=bool(question.times)
    )
    key = key if still else texts.ALL_FULL
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
    if question.kind in ("yes_no", "permission"):
        return YES_NO_LABELS.get(key, key)
    if question.kind == "choice" and key.isdigit() and 1 <= int(key) <= len(question.options):
        return question.options[int(key) - 1]
    return key


def bookings(session: Session, question: Question) -> dict[int, Answer]:
    """A choice's current answers by option number (a conference: who booked each time)."""
    found: dict[int, Answer] = {}
    for answer in session.scalars(
        select(Answer)
        .where(Answer.question_id == question.id, Answer.current.is_(True))
        .order_by(Answer.id)
    ):
        if answer.value and answer.value.isdigit():
            found[int(answer.value)] = answer
    return found


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
        if question.kind in ("yes_no", "permission")
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
                "signature": answer.signature,
                "channel": answer.channel,
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
    groups = _groups(session, question.school_id, [g.id for g in asked])
    return {
        "kind": question.kind,
        "options": list(question.options),
        "per_grade": _per_group(groups["grade"], asked, current, keys),
        "per_section": _per_group(groups["section"], asked, current, keys),
        "deadline": question.deadline,
        "asked": len(asked),
        "answered": len(answered),
        "counts": counts,
        "per_option": per_option,
        "per_language": sorted(per_language.values(), key=lambda x: -x["asked"]),
        "not_answered": waiting,
        "answers": answered,
    }


def _groups(
    session: Session, school_id: int, guardian_ids: list[int]
) -> dict[str, dict[int, set[str]]]:
    """Each family's children's grades and classes (sections) at the school: a family with
    children in two grades counts in both."""
    found: dict[str, dict[int, set[str]]] = {"grade": {}, "section": {}}
    for start in range(0, len(guardian_ids), 5000):
        chunk = guardian_ids[start : start + 5000]
        for guardian_id, grade in session.execute(
            select(StudentGuardian.guardian_id, Student.grade)
            .join(Student, Student.id == StudentGuardian.student_id)
            .where(
                StudentGuardian.guardian_id.in_(chunk),
                Student.school_id == school_id,
                Student.active.is_(True),
            )
        ):
            found["grade"].setdefault(guardian_id, set()).add(grade or "")
        for guardian_id, section in session.execute(
            select(StudentGuardian.guardian_id, Section.name)
            .join(Student, Student.id == StudentGuardian.student_id)
            .join(Enrollment, Enrollment.student_id == Student.id)
            .join(Section, Section.id == Enrollment.section_id)
            .where(
                StudentGuardian.guardian_id.in_(chunk),
                Student.school_id == school_id,
                Student.active.is_(True),
                Section.active.is_(True),
            )
        ):
            found["section"].setdefault(guardian_id, set()).add(section)
    return found


def _per_group(
    groups: dict[int, set[str]],
    asked: Sequence[Guardian],
    current: dict[int, Answer],
    keys: list[str],
) -> list[dict[str, Any]]:
    """Asked, answered and the counts per option, per grade (or class), in its order."""
    rows: dict[str, dict[str, Any]] = {}
    for guardian in asked:
        answer = current.get(guardian.id)
        for name in groups.get(guardian.id, set()):
            row = rows.setdefault(
                name, {"name": name, "asked": 0, "answered": 0, "counts": dict.fromkeys(keys, 0)}
            )
            row["asked"] += 1
            if answer is not None and answer.value is not None:
                row["answered"] += 1
                row["counts"][answer.value] = row["counts"].get(answer.value, 0) + 1
    return [rows[k] for k in sorted(rows, key=_grade_order)]


def _grade_order(name: str) -> tuple[int, int, str]:
    """PK, K, 1, 2 … 12 in school order; other names after, alphabetically."""
    early = {"pk": -2, "prek": -2, "pre-k": -2, "tk": -2, "k": -1, "kg": -1}
    key = name.strip().lower()
    if key in early:
        return (0, early[key], key)
    if key.isdigit():
        return (0, int(key), key)
    return (1, 0, key)


def not_answered_ids(session: Session, question: Question) -> list[int]:
    return [row["guardian_id"] for row in tally(session, question)["not_answered"]]


# A question on a one-to-one note ---------------------------------------------------------------


def ask_in_note(
    session: Session,
    subject: AuthSubject,
    thread_id: int,
    data: MessageCreate,
    prepared: Mapping[str, PreparedTranslation] | None = None,
) -> Message:
    """A teacher's note that asks its family a question: the note as any other (messaging), the
    question written with it, its how-to-answer after each family's text (`note_prompt`)."""
    draft = data.question
    assert draft is not None
    if draft.times:
        raise Invalid("A note's question has no times: publish conference times instead.")
    if draft.remind_at is not None:
        raise Invalid("A note's question sends no reminder: leave remind_at out.")

    def attach(message: Message, thread: Thread) -> None:
        question = create(session, school_id=thread.school_id, broadcast_id=None, draft=draft)
        question.message_id = message.id
        session.flush()

    return messaging.post_message(session, subject, thread_id, data, prepared, on_posted=attach)


def on_message(session: Session, message_id: int) -> Question | None:
    """The question a note (or a broadcast) asks, if it asks one."""
    return session.scalar(
        select(Question).where(Question.message_id == message_id).order_by(Question.id).limit(1)
    )


def on_messages(session: Session, message_ids: Sequence[int]) -> dict[int, Question]:
    if not message_ids:
        return {}
    return {
        q.message_id: q
        for q in session.scalars(select(Question).where(Question.message_id.in_(message_ids)))
        if q.message_id is not None
    }


def note_prompt(session: Session, message_id: int, language: str) -> str | None:
    """How to answer a note's question, in `language` (after the note in each family's text)."""
    question = on_message(session, message_id)
    if question is None or question.broadcast_id is not None:
        return None
    source = _author_language(session, question)
    return prompt(session, draft_of(session, question), language, source)


# Messaging writes each family's text of a note; what follows it for a question is ours.
translations.on_note_text(note_prompt)


def note_answers(
    session: Session, subject: AuthSubject, thread_id: int, message_id: int
) -> dict[str, Any]:
    """The answers to the question of a note in a thread the caller can see."""
    thread = messaging.get_thread(session, subject, thread_id)
    message = session.get(Message, message_id)
    if message is None or message.thread_id != thread.id:
        raise NotFound("No such message in this thread.")
    question = on_message(session, message.id)
    if question is None:
        raise NotFound("This message asks no question.")
    return tally(session, question)


def current_answers(
    session: Session, question_ids: Sequence[int], guardian_id: int | None = None
) -> dict[int, list[Answer]]:
    """Each question's current answers (of one family, if given), oldest first."""
    if not question_ids:
        return {}
    stmt = select(Answer).where(Answer.question_id.in_(question_ids), Answer.current.is_(True))
    if guardian_id is not None:
        stmt = stmt.where(Answer.guardian_id == guardian_id)
    found: dict[int, list[Answer]] = {}
    for answer in session.scalars(stmt.order_by(Answer.id)):
        found.setdefault(answer.question_id, []).append(answer)
    return found


# Answering with the family page's buttons ------------------------------------------------------

# What the family page says when an answer is refused: in the family's language (texts.py).
NOT_AN_OPTION, NOT_A_NUMBER, NO_SIGNATURE = (
    texts.NOT_AN_OPTION,
    texts.NOT_A_NUMBER,
    texts.NO_SIGNATURE,
)
CHOICE_FULL, CLOSED, EMPTY_ANSWER = texts.CHOICE_FULL, texts.CLOSED, texts.EMPTY_ANSWER
MAX_PAGE_TEXT = 500


def asked_of(session: Session, guardian_id: int, question_id: int) -> Question | None:
    """A question this family received (a delivery of its message reached it, or was sent
    to it): another family's question is none of its business."""
    return session.scalar(
        select(Question)
        .join(Delivery, Delivery.message_id == Question.message_id)
        .where(
            Question.id == question_id,
            Delivery.guardian_id == guardian_id,
            Delivery.status.not_in(NOT_RECEIVED),
        )
        .limit(1)
    )


def given_answer(
    question: Question,
    value: str,
    signature: str,
    left: list[int] | None,
    now: datetime,
) -> tuple[str, str | None]:
    """A button's answer checked before anything is written: (value, signature). Invalid with
    a message for the family (in the `messages` catalog) when it is no answer to this question."""
    if question.deadline is not None and question.deadline < now:
        raise Invalid(CLOSED)
    value = value.strip()
    if question.kind in ("yes_no", "permission"):
        if value not in ("yes", "no"):
            raise Invalid(NOT_AN_OPTION)
        if question.kind == "permission" and value == "yes":
            name = answers.signature_in(signature)
            if name is None:
                raise Invalid(NO_SIGNATURE)
            return value, name
        return value, None
    if question.kind == "choice":
        if not value.isdigit() or not 1 <= int(value) <= len(question.options):
            raise Invalid(NOT_AN_OPTION)
        if left is not None and left[int(value) - 1] <= 0:
            raise Invalid(CHOICE_FULL)
        return str(int(value)), None
    if question.kind == "number":
        number = answers.number_in(value)
        if number is None:
            raise Invalid(NOT_A_NUMBER)
        return str(number), None
    if not value:
        raise Invalid(EMPTY_ANSWER)
    if len(value) > MAX_PAGE_TEXT:
        raise Invalid(NOT_AN_OPTION)
    return "text", None


def answer_from_page(
    session: Session,
    question: Question,
    guardian: Guardian,
    message: Message,
    value: str,
    signature: str | None,
) -> str | None:
    """The family's answer given with a button of its page, `message` its reply (as staff read
    it): recorded exactly as a text answering it would be."""
    if question.kind == "permission":
        return _record_permission(session, question, guardian, message, value, signature, "page")
    result = _record(session, question, guardian, message, value, "page")
    if result == "full":
        raise Invalid(CHOICE_FULL)
    return result
