"""A term's engagement figures for one school or the district: what the community report prints
and what goals are measured against.

Like the dashboard, every figure is a GROUP BY over the scope's rows; Python folds language tags
into the models' languages and takes the median of the staff response times."""

import statistics
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from app.core.languages import ENGLISH, mt_code
from app.delivery.models import REACHED, Delivery, DeliveryStatus
from app.messaging.interpretation import FALLBACK
from app.messaging.models import Message, MessageTranslation
from app.people.models import Guardian
from app.reports.service import (
    Scope,
    _delivery_school,
    _thread_ids,
    _utc_bounds,
    failures,
    family_languages,
    reply_rates,
)
from app.reports.terms import Term
from app.translation import packages

# What a goal can be set on. Shares are 0–1; the response time is in hours (lower is better).
MEASURES = ("reached_in_language", "reply_rate", "interpreter", "response_hours")
LOWER_IS_BETTER = frozenset({"response_hours"})


@dataclass
class TermLanguage:
    code: str
    name: str
    native_name: str
    needs_interpreter: bool  # no installed translation route, one way or the other (today)
    families: int = 0  # active families today
    sent_to: int = 0  # families Hearth tried to reach in the term
    reached: int = 0  # families a message reached
    in_language: int = 0  # families a message reached in their own language
    # Families an urgent message reached in the school's language under one line in theirs
    # (no translation): reached, but not in their language.
    one_line: int = 0
    replied: int = 0  # of the families reached, those who wrote back
    untranslatable: int = 0  # families a message could not be sent to: no translation


@dataclass
class TermFigures:
    term: Term
    languages: list[TermLanguage]
    notes: int = 0
    broadcasts: int = 0
    replies: int = 0  # messages families wrote
    answered: int = 0  # of them, those a staff member answered in the same conversation
    response_seconds: float | None = None  # median time to that answer
    failures: dict[str, int] = field(default_factory=dict)

    @property
    def families(self) -> int:
        return sum(lang.families for lang in self.languages)

    @property
    def reached(self) -> int:
        return sum(lang.reached for lang in self.languages)

    @property
    def in_language(self) -> int:
        return sum(lang.in_language for lang in self.languages)

    @property
    def one_line(self) -> int:
        return sum(lang.one_line for lang in self.languages)

    @property
    def replied(self) -> int:
        return sum(lang.replied for lang in self.languages)

    @property
    def interpreter_languages(self) -> list[TermLanguage]:
        """Languages with no translation route that families were written to in, or whose
        messages could not be sent for want of a translation."""
        return [
            lang
            for lang in self.languages
            if lang.untranslatable or (lang.needs_interpreter and lang.sent_to)
        ]

    @property
    def interpreter_needed(self) -> int:
        return sum(lang.sent_to for lang in self.languages if lang.needs_interpreter)

    @property
    def interpreter_given(self) -> int:
        return sum(lang.in_language for lang in self.languages if lang.needs_interpreter)

    def value(self, measure: str) -> float | None:
        """The term's figure for a goal's measure; None where there is nothing to measure."""
        if measure == "reached_in_language":
            return _share(self.in_language, self.families)
        if measure == "reply_rate":
            return _share(self.replied, self.reached)
        if measure == "interpreter":
            return _share(self.interpreter_given, self.interpreter_needed)
        if measure == "response_hours":
            return None if self.response_seconds is None else self.response_seconds / 3600
        raise ValueError(measure)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def term_figures(session: Session, scope: Scope, term: Term) -> TermFigures:
    start, end = _utc_bounds(scope.timezone, [term.start, term.end])
    languages: dict[str, TermLanguage] = {}

    def lang(tag: str) -> TermLanguage:
        code = mt_code(tag)
        if code not in languages:
            c = packages.coverage_for(code, ENGLISH)
            languages[code] = TermLanguage(
                code, c.name, c.native_name, "none" in (c.to_family, c.from_family)
            )
        return languages[code]

    for listed in family_languages(session, scope):
        lang(listed.code).families += listed.families
    for r in reply_rates(session, scope, start, end):
        lang(r.code).reached += r.reached
        lang(r.code).replied += r.replied

    in_term = (_delivery_school(scope), Delivery.created_at >= start, Delivery.created_at < end)
    families = func.count(func.distinct(Guardian.id))
    joined = select(Guardian.language, families).join(Delivery, Delivery.guardian_id == Guardian.id)
    for tag, count in session.execute(
        joined.where(*in_term, Delivery.status != DeliveryStatus.CANCELED).group_by(
            Guardian.language
        )
    ):
        lang(tag).sent_to += count
    for tag, count in session.execute(
        joined.where(*in_term, Delivery.error_code == "untranslatable").group_by(Guardian.language)
    ):
        lang(tag).untranslatable += count
    # Reached in their own language: the delivery's language is the family's (folded) one,
    # and its text a translation, not the school's text under the one line (FALLBACK: counted
    # apart, as reached with one line in their language).
    reached = (
        select(Guardian.language, Delivery.language, families)
        .join(Delivery, Delivery.guardian_id == Guardian.id)
        .outerjoin(
            MessageTranslation,
            (MessageTranslation.message_id == Delivery.message_id)
            & (MessageTranslation.language == Delivery.language),
        )
        .where(
            _delivery_school(scope),
            Delivery.status.in_(REACHED),
            Delivery.sent_at >= start,
            Delivery.sent_at < end,
        )
        .group_by(Guardian.language, Delivery.language)
    )
    translated = or_(MessageTranslation.status.is_(None), MessageTranslation.status != FALLBACK)
    for tag, body_language, count in session.execute(reached.where(translated)):
        if mt_code(tag) == body_language:
            lang(tag).in_language += count
    for tag, _body_language, count in session.execute(
        reached.where(MessageTranslation.status == FALLBACK)
    ):
        lang(tag).one_line += count

    figures = TermFigures(
        term=term,
        languages=sorted(languages.values(), key=lambda x: (-x.families, -x.sent_to, x.name)),
        failures=failures(session, scope, start, end),
    )
    threads = _thread_ids(scope)
    in_messages = (
        Message.thread_id.in_(threads),
        Message.created_at >= start,
        Message.created_at < end,
    )
    for direction, kind, count in session.execute(
        select(Message.direction, Message.kind, func.count())
        .where(*in_messages)
        .group_by(Message.direction, Message.kind)
    ):
        if direction == "inbound":
            figures.replies += count
        elif kind == "broadcast":
            figures.broadcasts += count
        else:
            figures.notes += count
    waits = _response_waits(session, in_messages)
    figures.answered = len(waits)
    figures.response_seconds = statistics.median(waits) if waits else None
    return figures


def _response_waits(session: Session, in_messages: tuple) -> list[float]:
    """Seconds from each family message to the next message a staff member wrote in the same
    conversation (unanswered ones are left out)."""
    answer = aliased(Message)
    first_answer = (
        select(func.min(answer.created_at))
        .where(
            answer.thread_id == Message.thread_id,
            answer.direction == "outbound",
            answer.author_staff_id.is_not(None),
            answer.created_at > Message.created_at,
        )
        .scalar_subquery()
    )
    rows = session.execute(
        select(Message.created_at, first_answer).where(*in_messages, Message.direction == "inbound")
    )
    return [(answered - asked).total_seconds() for asked, answered in rows if answered]
